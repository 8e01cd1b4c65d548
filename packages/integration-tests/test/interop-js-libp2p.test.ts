import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { quic as stockQuic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp as stockTcp } from '@libp2p/tcp'
import { AddrTTL, createSwarm } from '@tswarm/core'
import { readAll, waitFor } from '@tswarm/core/testing'
import { quic } from '@tswarm/transport-quic'
import { tcp } from '@tswarm/transport-tcp'
import { createLibp2p } from 'libp2p'
import type { Stream as Libp2pStream } from '@libp2p/interface'
import type { Swarm } from '@tswarm/core'
import type { Libp2p } from 'libp2p'

const ECHO = '/interop/echo/1.0.0'
const PAYLOAD = randomBytes(1024 * 1024)
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** Echoes a stock stream: every message back, then closes our write side when the remote closes its. */
async function stockEcho (stream: Libp2pStream): Promise<void> {
  for await (const chunk of stream) {
    if (!stream.send(chunk)) await stream.onDrain()
  }
  await stream.close()
}

async function stockReadAll (stream: Libp2pStream): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const chunk of stream) parts.push(chunk.subarray())
  return Buffer.concat(parts)
}

interface Variant {
  name: string
  stockListen: string
  listen: string
  security: string
  muxer: string
  transport: string
}

const variants: Variant[] = [
  { name: 'tcp + noise + yamux', stockListen: '/ip4/127.0.0.1/tcp/0', listen: '/ip4/127.0.0.1/tcp/0', security: '/noise', muxer: '/yamux/1.0.0', transport: 'tcp' },
  { name: 'quic-v1', stockListen: '/ip4/127.0.0.1/udp/0/quic-v1', listen: '/ip4/127.0.0.1/udp/0/quic-v1', security: 'tls', muxer: 'quic', transport: 'quic-v1' }
]

for (const v of variants) describe(`interop with a stock js-libp2p 3.x node over ${v.name}`, () => {
  let stock: Libp2p
  let swarm: Swarm

  before(async () => {
    stock = await createLibp2p({
      addresses: { listen: [v.stockListen] },
      transports: [stockTcp(), stockQuic()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()]
    })
    await stock.handle(ECHO, stockEcho)
    swarm = await createSwarm({ modules: [tcp(), quic()], listen: [v.listen] })
    swarm.setStreamHandler(async stream => {
      await swarm.negotiateInbound(stream, [ECHO])
      for await (const chunk of stream) await stream.write(chunk)
      await stream.closeWrite()
    })
  })

  after(async () => {
    await swarm.close()
    await stock.stop()
  })

  it('tswarm dials the stock node and echoes 1 MiB on a negotiated stream', async () => {
    swarm.peerstore.addAddrs(stock.peerId, stock.getMultiaddrs(), AddrTTL.PERMANENT)
    const stream = await swarm.newStream(stock.peerId, { protocols: [ECHO] })
    assert.equal(stream.protocol, ECHO)
    const reading = readAll(stream)
    for (let off = 0; off < PAYLOAD.length; off += 32 * 1024) await stream.write(PAYLOAD.subarray(off, off + 32 * 1024))
    await stream.closeWrite()
    const echoed = await reading
    assert.equal(echoed.byteLength, PAYLOAD.byteLength)
    assert.equal(sha(echoed), sha(PAYLOAD))
    const conn = stream.conn
    assert.equal(conn.remotePeer.toString(), stock.peerId.toString())
    assert.equal(conn.stat().security, v.security)
    assert.equal(conn.stat().muxer, v.muxer)
    assert.equal(conn.stat().transport, v.transport)
    assert.ok(stock.getConnections(swarm.localPeer).length > 0, 'the stock node does not list the connection')
    await conn.close()
    // The stock node keeps a just-closed connection listed for a moment; the next test must dial afresh.
    await waitFor(() => stock.getConnections(swarm.localPeer).length === 0, 'the stock node to drop the closed connection')
  })

  it('the stock node dials tswarm and echoes 1 MiB on a negotiated stream', async () => {
    const addr = swarm.listenAddresses()[0].encapsulate(`/p2p/${swarm.localPeer.toString()}`)
    const stream = await stock.dialProtocol(addr, ECHO)
    const reading = stockReadAll(stream)
    for (let off = 0; off < PAYLOAD.length; off += 32 * 1024) {
      if (!stream.send(PAYLOAD.subarray(off, off + 32 * 1024))) await stream.onDrain()
    }
    await stream.close()
    const echoed = await reading
    assert.equal(sha(echoed), sha(PAYLOAD))
    assert.equal(swarm.connectedness(stock.peerId), 'connected')
    const [conn] = swarm.connsToPeer(stock.peerId)
    assert.equal(conn.stat().direction, 'inbound')
    assert.equal(conn.stat().transport, v.transport)
    assert.equal(conn.remotePublicKey.equals(stock.peerId.publicKey), true)
  })
})
