#!/usr/bin/env node
// Ping round trips and perf throughput between two tswarm hosts on loopback, over TCP (Noise + Yamux) and QUIC-v1.
// Build first, then: node scripts/bench.mjs [MiB per direction, default 256]
import { quic } from '@tswarm/transport-quic'
import { tcp } from '@tswarm/transport-tcp'
import { createHost } from '../dist/src/index.js'

const MiB = 1024 * 1024
const size = Number(process.argv[2] ?? 256) * MiB

function stats (values) {
  const sorted = [...values].sort((a, b) => a - b)
  const at = q => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  return `median ${at(0.5).toFixed(3)} ms, p90 ${at(0.9).toFixed(3)} ms, min ${sorted[0].toFixed(3)} ms`
}

const variants = [
  { name: 'TCP + Noise + Yamux', listen: '/ip4/127.0.0.1/tcp/0', marker: 'tcp' },
  { name: 'QUIC-v1', listen: '/ip4/127.0.0.1/udp/0/quic-v1', marker: 'quic-v1' }
]

for (const v of variants) {
  const client = await createHost({ modules: [tcp(), quic()], listen: [] })
  const server = await createHost({ modules: [tcp(), quic()], listen: [v.listen], host: { perf: { enabled: true } } })
  try {
    await client.connect(server.peerId, server.addrs())
    // warm up: JIT, window growth
    await client.pings(server.peerId, 50)
    await client.perf(server.peerId, { uploadBytes: 16 * MiB, downloadBytes: 16 * MiB })

    const onOneStream = await client.pings(server.peerId, 1000)
    const perStream = []
    for (let i = 0; i < 200; i++) perStream.push(await client.ping(server.peerId))
    console.log(`${v.name}`)
    console.log(`  ping, 1000 on one stream:          ${stats(onOneStream)}`)
    console.log(`  ping, 200 each on a new stream:    ${stats(perStream)} (optimistic select: no extra round trip)`)

    const runs = []
    for (let i = 0; i < 3; i++) runs.push(await client.perf(server.peerId, { uploadBytes: size, downloadBytes: size }))
    const best = key => Math.max(...runs.map(r => r[key])) / 1e6
    const median = key => runs.map(r => r[key]).sort((a, b) => a - b)[1] / 1e6
    console.log(`  perf, ${size / MiB} MiB each way, 3 runs:  upload median ${median('uploadBitsPerSecond').toFixed(0)} Mbit/s ` +
      `(best ${best('uploadBitsPerSecond').toFixed(0)}), download median ${median('downloadBitsPerSecond').toFixed(0)} Mbit/s ` +
      `(best ${best('downloadBitsPerSecond').toFixed(0)})`)
  } finally {
    await Promise.all([client.close(), server.close()])
  }
}
