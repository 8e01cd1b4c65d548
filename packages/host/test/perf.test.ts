import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { errorIs } from '@tswarm/core'
import { PERF_PROTOCOL } from '../src/index.js'
import { closeAll, connectHosts, tcpHost } from './helpers.js'
import type { Host } from '../src/index.js'

const MiB = 1024 * 1024

describe('perf between two tswarm hosts', () => {
  let client: Host
  let server: Host
  let plain: Host

  before(async () => {
    client = await tcpHost()
    server = await tcpHost({ host: { perf: { enabled: true, maxSendBytes: 256 * MiB } } })
    plain = await tcpHost()
    await connectHosts(client, server)
    await connectHosts(client, plain)
  })

  after(async () => { await closeAll(client, server, plain) })

  it('uploads and downloads the amounts asked for and reports timings', async t => {
    assert.ok(server.getProtocols().includes(PERF_PROTOCOL))
    const result = await client.perf(server.peerId, { uploadBytes: 32 * MiB, downloadBytes: 32 * MiB })
    assert.equal(result.uploadBytes, 32 * MiB)
    assert.equal(result.downloadBytes, 32 * MiB)
    assert.ok(result.uploadMs > 0 && result.downloadMs > 0)
    assert.ok(Math.abs(result.totalMs - result.uploadMs - result.downloadMs) < 1)
    const mbps = (bps: number): string => (bps / 1e6).toFixed(0)
    t.diagnostic(`perf over TCP loopback (noise + yamux), 32 MiB each way: upload ${mbps(result.uploadBitsPerSecond)} Mbit/s, ` +
      `download ${mbps(result.downloadBitsPerSecond)} Mbit/s, total ${result.totalMs.toFixed(0)} ms`)
  })

  it('handles empty transfers', async () => {
    const result = await client.perf(server.peerId, { uploadBytes: 0, downloadBytes: 0 })
    assert.equal(result.downloadBytes, 0)
  })

  it('refuses requests over maxSendBytes', async () => {
    await assert.rejects(client.perf(server.peerId, { uploadBytes: 1, downloadBytes: 512 * MiB }), (err: unknown) => errorIs(err, 'PerfError') && errorIs(err, 'StreamResetError'))
  })

  it('is not served unless enabled', async () => {
    assert.ok(!plain.getProtocols().includes(PERF_PROTOCOL))
    await assert.rejects(client.perf(plain.peerId, { uploadBytes: 10, downloadBytes: 10 }), (err: unknown) => errorIs(err, 'PerfError') && errorIs(err, 'ProtocolNegotiationError'))
  })

  it('validates the byte counts', async () => {
    await assert.rejects(client.perf(server.peerId, { uploadBytes: -1, downloadBytes: 0 }), { name: 'PerfError' })
  })
})
