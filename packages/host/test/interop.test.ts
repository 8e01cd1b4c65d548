import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { quic as stockQuic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, identifyPush } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp as stockTcp } from '@libp2p/tcp'
import { AddrTTL } from '@tswarm/core'
import { quic } from '@tswarm/transport-quic'
import { tcp } from '@tswarm/transport-tcp'
import { createLibp2p } from 'libp2p'
import { IDENTIFY_PROTOCOL, IDENTIFY_PUSH_PROTOCOL, IdentifyMetadata, OptimisticStream, PING_PROTOCOL, createHost } from '../src/index.js'
import { readAll, waitFor } from './helpers.js'
import type { Host } from '../src/index.js'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { Stream as Libp2pStream } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'

const ECHO = '/interop/echo/1.0.0'
const MiB = 1024 * 1024
const PAYLOAD = randomBytes(10 * MiB)
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const utf8 = new TextDecoder()

type StockNode = Libp2p<{ identify: Identify, identifyPush: IdentifyPush, ping: Ping }>

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
  listen: string
  /** The component every address of this transport has. */
  marker: string
}

const variants: Variant[] = [
  { name: 'TCP (noise + yamux)', listen: '/ip4/127.0.0.1/tcp/0', marker: 'tcp' },
  { name: 'QUIC-v1', listen: '/ip4/127.0.0.1/udp/0/quic-v1', marker: 'quic-v1' }
]

const has = (addrs: readonly Multiaddr[], marker: string): boolean => addrs.some(a => a.getComponents().some(c => c.name === marker))

for (const v of variants) {
  describe(`interop with a stock js-libp2p 3.x node over ${v.name}`, () => {
    let stock: StockNode
    let host: Host

    before(async () => {
      stock = await createLibp2p({
        addresses: { listen: [v.listen] },
        transports: [stockTcp(), stockQuic()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        // the fresh-connection tests below reconnect many times a second; the default (5 a second per remote host)
        // would refuse them
        connectionManager: { inboundConnectionThreshold: 1000 },
        services: { identify: identify(), identifyPush: identifyPush({ debounce: 50 }), ping: ping() }
      })
      await stock.handle(ECHO, stockEcho)
      host = await createHost({ modules: [tcp(), quic()], listen: [v.listen], host: { identify: { pushDebounce: 20 } } })
      host.handle(ECHO, async stream => {
        for await (const chunk of stream) await stream.write(chunk)
        await stream.closeWrite()
      })
    })

    after(async () => {
      await host?.close()
      await stock?.stop()
    })

    /** Drops every connection on both sides, so the next test starts from a fresh dial. */
    async function disconnect (): Promise<void> {
      await host.swarm.closePeer(stock.peerId)
      await waitFor(() => stock.getConnections(host.peerId).length === 0, 'the stock node to drop the connection')
    }

    /** What each side must know of the other after identify. */
    async function assertIdentified (): Promise<void> {
      // tswarm's view of the stock node
      await waitFor(() => host.peerstore.getProtocols(stock.peerId).includes(ECHO), 'tswarm to learn the stock protocols')
      const protocols = host.peerstore.getProtocols(stock.peerId)
      for (const p of [IDENTIFY_PROTOCOL, IDENTIFY_PUSH_PROTOCOL, PING_PROTOCOL, ECHO]) assert.ok(protocols.includes(p), `tswarm lacks stock protocol ${p}: ${protocols.join(', ')}`)
      const addrs = host.peerstore.addrs(stock.peerId)
      assert.ok(has(addrs, v.marker), `tswarm has no ${v.marker} address of the stock node: ${addrs.map(String).join(', ')}`)
      for (const a of stock.getMultiaddrs()) {
        const bare = a.decapsulateCode(421)
        assert.ok(addrs.some(b => b.equals(bare)), `tswarm lacks the stock listen address ${bare.toString()}`)
      }
      assert.match(String(host.peerstore.get(stock.peerId, IdentifyMetadata.AGENT_VERSION)), /libp2p\/3\./)
      assert.equal(host.peerstore.get(stock.peerId, IdentifyMetadata.PROTOCOL_VERSION), 'ipfs/0.1.0')
      assert.ok(host.peerstore.get(stock.peerId, IdentifyMetadata.SIGNED_PEER_RECORD) instanceof Uint8Array, 'the stock signed peer record was not kept')
      assert.ok(host.peerstore.pubKey(stock.peerId)?.equals(stock.peerId.publicKey), 'tswarm has the wrong key for the stock node')

      // the stock node's view of tswarm
      await waitFor(() => stock.getConnections(host.peerId).length > 0, 'the stock node to list the connection')
      let peer = await stock.peerStore.get(host.peerId)
      for (let i = 0; i < 100 && !peer.protocols.includes(ECHO); i++) {
        await new Promise(resolve => setTimeout(resolve, 20))
        peer = await stock.peerStore.get(host.peerId)
      }
      for (const p of host.getProtocols()) assert.ok(peer.protocols.includes(p), `the stock node lacks tswarm protocol ${p}: ${peer.protocols.join(', ')}`)
      const agent = peer.metadata.get('AgentVersion')
      assert.ok(agent !== undefined, 'the stock node has no agent version for tswarm')
      assert.equal(utf8.decode(agent), host.config.agentVersion)
      const stockAddrs = peer.addresses.map(a => a.multiaddr)
      for (const a of host.addrs()) assert.ok(stockAddrs.some(b => b.equals(a)), `the stock node lacks tswarm address ${a.toString()}`)
      assert.ok(peer.addresses.every(a => a.isCertified), 'the stock node did not take tswarm addresses from the signed peer record')
    }

    it('tswarm dials: identify runs both ways and each peerstore shows the other', async () => {
      const conn = await host.connect(stock.peerId, stock.getMultiaddrs())
      assert.equal(conn.stat().direction, 'outbound')
      await assertIdentified()
      await disconnect()
    })

    it('the stock node dials: identify runs both ways and each peerstore shows the other', async () => {
      host.peerstore.removePeer(stock.peerId)
      await stock.peerStore.delete(host.peerId)
      const addr = host.addrs()[0].encapsulate(`/p2p/${host.peerId.toString()}`)
      await stock.dial(addr)
      await waitFor(() => host.swarm.connectedness(stock.peerId) === 'connected', 'tswarm to accept the connection')
      assert.equal(host.swarm.connsToPeer(stock.peerId)[0].stat().direction, 'inbound')
      await assertIdentified()
    })

    it('ping works both ways', async () => {
      const rtt = await host.ping(stock.peerId)
      assert.ok(rtt > 0 && rtt < 5000, `tswarm → stock RTT ${rtt}`)
      const rtts = await host.pings(stock.peerId, 5)
      assert.equal(rtts.length, 5)
      const stockRtt = await stock.services.ping.ping(host.peerId)
      assert.ok(stockRtt >= 0 && stockRtt < 5000, `stock → tswarm RTT ${stockRtt}`)
    })

    it('identify push works both ways', async () => {
      const mine = `/interop/pushed-by-tswarm/${v.marker}`
      host.handle(mine, async stream => { stream.reset() })
      for (let i = 0; i < 250; i++) {
        if ((await stock.peerStore.get(host.peerId)).protocols.includes(mine)) break
        await new Promise(resolve => setTimeout(resolve, 20))
      }
      assert.ok((await stock.peerStore.get(host.peerId)).protocols.includes(mine), 'the stock node did not receive the push')
      host.unhandle(mine)

      const theirs = `/interop/pushed-by-stock/${v.marker}`
      await stock.handle(theirs, async stream => { stream.abort(new Error('unused')) })
      await waitFor(() => host.peerstore.getProtocols(stock.peerId).includes(theirs), 'tswarm to receive the stock push')
      await stock.unhandle(theirs)
      await waitFor(() => !host.peerstore.getProtocols(stock.peerId).includes(theirs), 'tswarm to see the protocol removed')
    })

    it('echoes 10 MiB on a custom protocol, tswarm → stock', async () => {
      const stream = await host.newStream(stock.peerId, ECHO)
      const reading = readAll(stream)
      for (let off = 0; off < PAYLOAD.length; off += 64 * 1024) await stream.write(PAYLOAD.subarray(off, off + 64 * 1024))
      await stream.closeWrite()
      const echoed = await reading
      assert.equal(echoed.byteLength, PAYLOAD.byteLength)
      assert.equal(sha(echoed), sha(PAYLOAD))
    })

    it('echoes 10 MiB on a custom protocol, stock → tswarm', async () => {
      const stream = await stock.dialProtocol(host.peerId, ECHO)
      const reading = stockReadAll(stream)
      for (let off = 0; off < PAYLOAD.length; off += 64 * 1024) {
        if (!stream.send(PAYLOAD.subarray(off, off + 64 * 1024))) await stream.onDrain()
      }
      await stream.close()
      const echoed = await reading
      assert.equal(echoed.byteLength, PAYLOAD.byteLength)
      assert.equal(sha(echoed), sha(PAYLOAD))
    })

    /** Each round on a fresh connection: the stock listener is busiest (identify both ways) right after connecting. */
    async function freshConnection (): Promise<void> {
      if (host.swarm.connectedness(stock.peerId) === 'connected') await disconnect()
      // dialPeer, not connect: the stream must open while identify still runs, as an application's first one does
      host.peerstore.addAddrs(stock.peerId, stock.getMultiaddrs(), AddrTTL.TEMP)
      await host.swarm.dialPeer(stock.peerId)
    }

    /** One echo of `message` on an optimistic stream closed for writing right away, on the current connection. */
    async function shortEcho (message: string, round: number): Promise<void> {
      const stream = await host.newStream(stock.peerId, ECHO)
      assert.ok(stream instanceof OptimisticStream)
      // a stock handler that never sees our end of stream never ends its own: fail instead of hanging
      stream.setReadDeadline(Date.now() + 5000)
      if (message !== '') await stream.write(message)
      await stream.closeWrite()
      const echoed = await readAll(stream).catch((err: unknown) => {
        throw new Error(`round ${round}: the echo did not end: ${String(err)}`, { cause: err })
      })
      assert.equal(utf8.decode(echoed), message, `round ${round}`)
    }

    it('a short optimistic echo with closeWrite completes, 20 times, each on a fresh connection', async () => {
      for (let i = 0; i < 20; i++) {
        await freshConnection()
        await shortEcho(`message ${i}`, i)
      }
    })

    it('a short optimistic echo with closeWrite completes, 20 times on one connection', async () => {
      await freshConnection()
      for (let i = 0; i < 20; i++) await shortEcho(`message ${i}`, i)
    })

    it('an optimistic stream closed for writing with nothing written ends on the stock side too, 10 times', async () => {
      for (let i = 0; i < 10; i++) {
        await freshConnection()
        await shortEcho('', i)
      }
    })
  })
}
