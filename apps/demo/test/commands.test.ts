import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { quic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { LISTEN, runCli, spawnMain, stop } from './support.js'
import type { Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'



/** A demo node started through the CLI with --json; resolves with its first (started) event. */
async function startCli (dataDir: string): Promise<{ child: ChildProcessWithoutNullStreams, addrs: string[], peerId: string }> {
  const child = spawnMain([...LISTEN, '--data-dir', dataDir, '--json'])
  let out = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`the node did not start:\n${out}`)) }, 30_000)
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString()
      // Only whole lines: a chunk may end in the middle of one.
      const line = out.split('\n').slice(0, -1).find(l => l.includes('"event":"started"'))
      if (line !== undefined) {
        clearTimeout(timer)
        const started = JSON.parse(line) as { addrs: string[], peerId: string }
        resolve({ child, addrs: started.addrs, peerId: started.peerId })
      }
    })
    child.stderr.on('data', (b: Buffer) => { out += b.toString() })
  })
}


async function stockEcho (stream: Stream): Promise<void> {
  for await (const chunk of stream) {
    if (!stream.send(chunk)) await stream.onDrain()
  }
  await stream.close()
}

describe('demo commands: ping, perf, peers, and a stock js-libp2p node both ways', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tswarm-cmds-'))
  let stock: Libp2p<{ identify: Identify, ping: Ping }>
  let node: Awaited<ReturnType<typeof startCli>>

  before(async () => {
    stock = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/udp/0/quic-v1'] },
      transports: [tcp(), quic()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), ping: ping() }
    })
    await stock.handle('/echo/1.0.0', stockEcho)
    node = await startCli(join(dir, 'node'))
  })

  after(async () => {
    await stop(node.child)
    await stock.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('ping measures round trips to a tswarm node', async () => {
    const r = await runCli(['ping', node.addrs.find(a => a.includes('/tcp/')) ?? '', '--count', '3', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const result = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { rtts: number[], median: number }
    assert.equal(result.rtts.length, 3)
    assert.ok(result.rtts.every(ms => ms > 0 && ms < 5_000))
  })

  it('says for each address why a dial failed: another peer there, nothing listening', async () => {
    const tcpAddr = node.addrs.find(a => a.includes('/tcp/')) ?? ''
    const wrong = stock.peerId.toString()
    const r = await runCli(['ping', tcpAddr.replace(/\/p2p\/.*$/, `/p2p/${wrong}`)])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /could not ping/)
    assert.match(r.stderr, new RegExp(`the remote is ${node.peerId}, not ${wrong}`), r.stderr)
    const json = await runCli(['echo', tcpAddr.replace(/\/tcp\/\d+/, '/tcp/1').replace(/\/p2p\/.*$/, `/p2p/${node.peerId}`), '--json'])
    assert.equal(json.code, 1)
    const reported = JSON.parse(json.stdout.trim()) as { error: string, addresses: Array<{ addr: string, reason: string }> }
    assert.match(reported.error, /could not reach/)
    assert.deepEqual(reported.addresses.map(a => a.addr), ['/ip4/127.0.0.1/tcp/1'])
    assert.match(reported.addresses[0].reason, /^ECONNREFUSED: nothing listens there/)
  })

  it('perf moves the asked bytes both ways and reports throughput', async () => {
    const r = await runCli(['perf', node.addrs.find(a => a.includes('/quic-v1/')) ?? '', '--upload', '4', '--download', '8', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const result = JSON.parse(r.stdout.trim()) as { transport: string, uploadBytes: number, downloadBytes: number, uploadMbps: number, downloadMbps: number }
    assert.equal(result.transport, 'quic-v1')
    assert.equal(result.uploadBytes, 4 * 1024 * 1024)
    assert.equal(result.downloadBytes, 8 * 1024 * 1024)
    assert.ok(result.uploadMbps > 0 && result.downloadMbps > 0)
  })

  it('pings and echoes a stock js-libp2p node over TCP and QUIC', async () => {
    const addrs = stock.getMultiaddrs().map(String)
    for (const transport of ['/tcp/', '/quic-v1/']) {
      const addr = addrs.find(a => a.includes(transport)) ?? ''
      const p = await runCli(['ping', addr, '--count', '2', '--json'])
      assert.equal(p.code, 0, `${transport}: ${p.stderr}`)
      const e = await runCli(['echo', addr, 'to', 'stock', '--json'])
      assert.equal(e.code, 0, `${transport}: ${e.stderr}`)
      assert.equal((JSON.parse(e.stdout) as { reply: string }).reply, 'to stock')
    }
  })

  it('is dialed by a stock js-libp2p node, which echoes and pings through it, and learns its protocols', async () => {
    for (const transport of ['/tcp/', '/quic-v1/']) {
      const addr = multiaddr(node.addrs.find(a => a.includes(transport)) ?? '')
      const stream = await stock.dialProtocol(addr, '/echo/1.0.0')
      stream.send(new TextEncoder().encode(`from stock over ${transport}`))
      await stream.close()
      let reply = ''
      for await (const chunk of stream) reply += new TextDecoder().decode(chunk.subarray())
      assert.equal(reply, `from stock over ${transport}`)
      const rtt = await stock.services.ping.ping(addr)
      assert.ok(rtt >= 0)
    }
    const info = await stock.peerStore.get((await stock.dial(multiaddr(node.addrs[0]))).remotePeer)
    assert.ok(info.protocols.includes('/echo/1.0.0'), `stock learned ${info.protocols.join(', ')}`)
  })

  it('peers lists what the node learned, from its stored peerstore, after it stopped', async () => {
    assert.equal(await stop(node.child), 0)
    const r = await runCli(['peers', '--data-dir', join(dir, 'node'), '--json'])
    assert.equal(r.code, 0, r.stderr)
    const known = r.stdout.trim().split('\n').map(l => JSON.parse(l) as { peer: string, agent?: string, protocols: string[] })
    const stockEntry = known.find(k => k.peer === stock.peerId.toString())
    assert.ok(stockEntry !== undefined, `the stock node is not among ${known.map(k => k.peer).join(', ')}`)
    assert.match(String(stockEntry.agent), /js-libp2p/)
    assert.ok(stockEntry.protocols.includes('/ipfs/ping/1.0.0'))
    node = await startCli(join(dir, 'node')) // for after()
  })
})
