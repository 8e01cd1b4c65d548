/**
 * The stock js-libp2p interop peer: a plain `createLibp2p` node (TCP, QUIC-v1, Noise, Yamux, identify and push,
 * ping) that speaks the control protocol of interop/PROTOCOL.md, so the suite drives it exactly as it drives the go
 * and rust peers. Run as `node dist/src/js-peer.js [--listen <multiaddr>]...`.
 */
import { createHash, randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { quic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, identifyPush } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { userAgent as stockUserAgent } from 'libp2p/user-agent'
import { version } from 'libp2p/version'
import { emit, intArg, serveCommands, stringArg } from './control.js'
import { ECHO, DIGEST, OBSERVE, PERF, RESET } from './protocols.js'
import type { CommandArgs, CommandHandler } from './control.js'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { IdentifyResult, PeerId, Stream } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Libp2p } from 'libp2p'

type Node = Libp2p<{ identify: Identify, identifyPush: IdentifyPush, ping: Ping }>

/** Streams per protocol per connection: the matrix opens 100 echo streams at once (js-libp2p's default is 32). */
const MAX_STREAMS = 256
const CHUNK = 64 * 1024

function parseArgs (argv: string[]): { listen: string[] } {
  const listen: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = argv[i + 1]
    if (flag === '--listen' && value !== undefined) {
      listen.push(value)
      i++
    } else if (flag === '--security' && value !== undefined) {
      // TLS is not among this peer's packages; say so rather than silently offering Noise only.
      if (value !== 'noise') throw new Error(`--security ${value}: this peer offers noise only`)
      i++
    } else {
      throw new Error(`unknown argument ${flag}; usage: js-peer [--listen <multiaddr>]... [--security noise]`)
    }
  }
  return { listen }
}

async function send (stream: Stream, data: Uint8Array): Promise<void> {
  if (!stream.send(data)) await stream.onDrain()
}

async function sendRandom (stream: Stream, bytes: number, hash: ReturnType<typeof createHash>): Promise<void> {
  for (let off = 0; off < bytes; off += CHUNK) {
    const chunk = randomBytes(Math.min(CHUNK, bytes - off))
    hash.update(chunk)
    await send(stream, chunk)
  }
}

async function drain (stream: Stream, hash?: ReturnType<typeof createHash>): Promise<number> {
  let n = 0
  for await (const chunk of stream) {
    const bytes = chunk.subarray()
    hash?.update(bytes)
    n += bytes.byteLength
  }
  return n
}

async function echoRun (node: Node, peer: PeerId, bytes: number): Promise<Record<string, unknown>> {
  const started = performance.now()
  const stream = await node.dialProtocol(peer, ECHO, { maxOutboundStreams: MAX_STREAMS })
  const sent = createHash('sha256')
  const received = createHash('sha256')
  const [receivedBytes] = await Promise.all([drain(stream, received), sendRandom(stream, bytes, sent).then(async () => { await stream.close() })])
  return { sent: bytes, received: receivedBytes, sentSha256: sent.digest('hex'), receivedSha256: received.digest('hex'), ms: performance.now() - started }
}

/** Serves `/echo/1.0.0`: back as it reads, then a half-close. */
async function echoHandler (stream: Stream): Promise<void> {
  for await (const chunk of stream) await send(stream, chunk.subarray())
  await stream.close()
}

function isReset (err: unknown): boolean {
  return (err as Error | undefined)?.name === 'StreamResetError'
}

async function main (): Promise<void> {
  const { listen } = parseArgs(process.argv.slice(2))
  // js-libp2p's own default, made explicit so the ready line can report what identify sends.
  const userAgent = stockUserAgent()
  const node: Node = await createLibp2p({
    nodeInfo: { userAgent },
    addresses: { listen },
    transports: [tcp(), quic()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // The matrix reconnects often from one address; the default (5 a second per host) would refuse it.
    connectionManager: { inboundConnectionThreshold: 1000 },
    services: { identify: identify(), identifyPush: identifyPush({ debounce: 50 }), ping: ping() }
  })
  const identified = new Map<string, IdentifyResult>()
  node.addEventListener('peer:identify', evt => { identified.set(evt.detail.peerId.toString(), evt.detail) })

  const options = { maxInboundStreams: MAX_STREAMS, maxOutboundStreams: MAX_STREAMS }
  await node.handle(ECHO, echoHandler, options)
  await node.handle(DIGEST, async stream => {
    const hash = createHash('sha256')
    await drain(stream, hash)
    await send(stream, hash.digest())
    await stream.close()
  }, options)
  await node.handle(RESET, async stream => {
    for await (const chunk of stream) {
      if (chunk.byteLength > 0) break
    }
    stream.abort(new Error('reset on purpose by /interop/reset/1.0.0'))
  }, options)
  await node.handle(OBSERVE, async (stream, connection) => {
    let bytes = 0
    const peer = connection.remotePeer.toString()
    try {
      for await (const chunk of stream) bytes += chunk.byteLength
      emit({ event: 'stream-end', protocol: OBSERVE, peer, outcome: 'eof', bytes })
      await stream.close()
    } catch (err) {
      const outcome = isReset(err) ? 'reset' : 'error'
      emit({ event: 'stream-end', protocol: OBSERVE, peer, outcome, bytes, ...(outcome === 'error' ? { error: (err as Error).message } : {}) })
    }
  }, options)
  await node.handle(PERF, async stream => {
    const header: Uint8Array[] = []
    let headerBytes = 0
    let wanted: bigint | undefined
    for await (const chunk of stream) {
      if (wanted !== undefined) continue
      header.push(chunk.subarray())
      headerBytes += chunk.byteLength
      if (headerBytes >= 8) wanted = Buffer.concat(header).readBigUInt64BE(0)
    }
    if (wanted === undefined) throw new Error('perf request ended before its 8-byte header')
    const zeros = new Uint8Array(CHUNK)
    for (let left = Number(wanted); left > 0; left -= CHUNK) await send(stream, zeros.subarray(0, Math.min(CHUNK, left)))
    await stream.close()
  }, options)

  const peerArg = (args: CommandArgs): PeerId => peerIdFromString(stringArg(args, 'peer'))

  const waitIdentified = async (peer: PeerId, deadline: number): Promise<IdentifyResult> => {
    for (;;) {
      const result = identified.get(peer.toString())
      if (result !== undefined) return result
      if (Date.now() > deadline) throw new Error(`no identify from ${peer.toString()}`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }

  const handlers: Record<string, CommandHandler> = {
    connect: async args => {
      const addr = multiaddr(stringArg(args, 'addr'))
      const started = performance.now()
      const conn = await node.dial(addr)
      const ms = performance.now() - started
      return { peer: conn.remotePeer.toString(), ms, remoteAddr: conn.remoteAddr.toString() }
    },
    ping: async args => {
      const peer = peerArg(args)
      const rttMs: number[] = []
      for (let i = intArg(args, 'count', 1); i > 0; i--) rttMs.push(await node.services.ping.ping(peer))
      return { rttMs }
    },
    identify: async args => {
      const peer = peerArg(args)
      const deadline = Date.now() + (typeof args.timeoutMs === 'number' ? args.timeoutMs : 30_000)
      const result = await waitIdentified(peer, deadline)
      const want = typeof args.waitProtocol === 'string' ? args.waitProtocol : undefined
      let protocols = (await node.peerStore.get(peer)).protocols
      while (want !== undefined && !protocols.includes(want)) {
        if (Date.now() > deadline) throw new Error(`${peer.toString()} never listed ${want}`)
        await new Promise(resolve => setTimeout(resolve, 20))
        protocols = (await node.peerStore.get(peer)).protocols
      }
      const record = result.signedPeerRecord
      return {
        protocols,
        agentVersion: result.agentVersion,
        protocolVersion: result.protocolVersion,
        listenAddrs: result.listenAddrs.map(a => a.toString()),
        observedAddr: result.observedAddr?.toString(),
        // js-libp2p's identify keeps a record only after RecordEnvelope.openAndCertify verified it against the peer.
        signedPeerRecord: record === undefined ? null : { verified: true, seq: Number(record.seq), addrs: record.addresses.map(a => a.toString()) }
      }
    },
    echo: async args => echoRun(node, peerArg(args), intArg(args, 'bytes')),
    echoMany: async args => {
      const peer = peerArg(args)
      const streams = intArg(args, 'streams')
      const bytes = intArg(args, 'bytes')
      const runs = await Promise.allSettled(Array.from({ length: streams }, async () => echoRun(node, peer, bytes)))
      const errors = runs.flatMap(r => r.status === 'rejected' ? [(r.reason as Error).message] : [])
      const okStreams = runs.filter(r => r.status === 'fulfilled' && r.value.sentSha256 === r.value.receivedSha256 && r.value.received === bytes).length
      return { streams, okStreams, errors: errors.slice(0, 5) }
    },
    digest: async args => {
      const stream = await node.dialProtocol(peerArg(args), DIGEST)
      const sent = createHash('sha256')
      await sendRandom(stream, intArg(args, 'bytes'), sent)
      await stream.close()
      const parts: Uint8Array[] = []
      for await (const chunk of stream) parts.push(chunk.subarray())
      return { sentSha256: sent.digest('hex'), receivedSha256: Buffer.concat(parts).toString('hex') }
    },
    awaitReset: async args => {
      const stream = await node.dialProtocol(peerArg(args), RESET)
      await send(stream, new Uint8Array([1]))
      try {
        await drain(stream)
        return { outcome: 'eof' }
      } catch (err) {
        return isReset(err) ? { outcome: 'reset' } : { outcome: 'error', error: (err as Error).message }
      }
    },
    sendReset: async args => {
      const stream = await node.dialProtocol(peerArg(args), OBSERVE)
      await send(stream, new Uint8Array(1024))
      stream.abort(new Error('reset on purpose by sendReset'))
      return {}
    },
    perf: async args => {
      const upload = intArg(args, 'upload')
      const download = intArg(args, 'download')
      const started = performance.now()
      const stream = await node.dialProtocol(peerArg(args), PERF)
      const header = Buffer.alloc(8)
      header.writeBigUInt64BE(BigInt(download))
      await send(stream, header)
      const zeros = new Uint8Array(CHUNK)
      for (let left = upload; left > 0; left -= CHUNK) await send(stream, zeros.subarray(0, Math.min(CHUNK, left)))
      await stream.close()
      const downloaded = await drain(stream)
      return { uploaded: upload, downloaded, ms: performance.now() - started }
    },
    handle: async args => {
      await node.handle(stringArg(args, 'protocol'), echoHandler, options)
      return {}
    },
    connections: async args => {
      const connections = node.getConnections(peerArg(args)).map(c => ({
        remoteAddr: c.remoteAddr.toString(),
        direction: c.direction,
        security: c.encryption,
        muxer: c.multiplexer,
        transport: c.remoteAddr.getComponents().some(p => p.name === 'quic-v1') ? 'quic-v1' : 'tcp'
      }))
      return { connections }
    },
    disconnect: async args => {
      await node.hangUp(peerArg(args))
      return {}
    }
  }

  emit({
    event: 'ready',
    peerId: node.peerId.toString(),
    addrs: node.getMultiaddrs().map(a => a.decapsulateCode(421).toString()),
    agentVersion: userAgent,
    protocolVersion: 'ipfs/0.1.0',
    protocols: node.getProtocols(),
    implementation: 'js-libp2p',
    version
  })
  await serveCommands(handlers, async () => { await node.stop() })
}

main().catch(err => {
  process.stderr.write(`js-peer: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
