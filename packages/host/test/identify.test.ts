import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { AddrTTL, createSwarm } from '@tswarm/core'
import { tcp } from '@tswarm/transport-tcp'
import { Identify } from '../src/identify/pb/identify.js'
import { lengthPrefixed } from '@tswarm/core'
import { IDENTIFY_PROTOCOL, IdentifyMetadata, filterAddrs, openPeerRecord } from '../src/index.js'
import { ECHO, LOOPBACK_TCP, closeAll, connectHosts, echo, tcpHost, waitFor } from './helpers.js'
import type { Host } from '../src/index.js'
import type { Stream, Swarm } from '@tswarm/core'

const ma = (s: string): ReturnType<typeof multiaddr> => multiaddr(s)

describe('identify between two hosts', () => {
  let a: Host
  let b: Host

  before(async () => {
    a = await tcpHost({ host: { agentVersion: 'host-a/1.2.3', identify: { pushDebounce: 10 } } })
    b = await tcpHost({ host: { agentVersion: 'host-b/4.5.6', protocolVersion: 'test/9.9.9', identify: { pushDebounce: 10 } } })
    b.handle(ECHO, echo)
    await connectHosts(a, b)
  })

  after(async () => { await closeAll(a, b) })

  it('records the remote protocols, addresses (CONNECTED), key, versions and signed record on both sides', async () => {
    assert.deepEqual(a.peerstore.getProtocols(b.peerId).sort(), b.getProtocols().sort())
    assert.deepEqual(a.peerstore.addrs(b.peerId).map(String), b.addrs().map(String))
    assert.ok(a.peerstore.pubKey(b.peerId)?.equals(b.peerId.publicKey))
    assert.equal(a.peerstore.get(b.peerId, IdentifyMetadata.AGENT_VERSION), 'host-b/4.5.6')
    assert.equal(a.peerstore.get(b.peerId, IdentifyMetadata.PROTOCOL_VERSION), 'test/9.9.9')
    const envelope = a.peerstore.get(b.peerId, IdentifyMetadata.SIGNED_PEER_RECORD)
    assert.ok(envelope instanceof Uint8Array)
    const record = await openPeerRecord(b.peerId, envelope)
    assert.deepEqual(record.multiaddrs.map(String), b.addrs().map(String))

    // b identified a on the same connection
    await waitFor(() => b.peerstore.get(a.peerId, IdentifyMetadata.AGENT_VERSION) === 'host-a/1.2.3', 'b to identify a')
    assert.deepEqual(b.peerstore.addrs(a.peerId).map(String), a.addrs().map(String))
  })

  it('tells each side its observed address', async () => {
    const conn = a.swarm.connsToPeer(b.peerId)[0]
    const observed = a.identify.observedAddrs()
    assert.equal(observed.length, 1)
    assert.match(observed[0].toString(), /^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/)
    assert.equal(a.peerstore.get(b.peerId, IdentifyMetadata.OBSERVED_ADDR), observed[0].toString())
    if (conn.localMultiaddr !== undefined) assert.equal(observed[0].toString(), conn.localMultiaddr.toString())
  })

  it('identify() reports a certified result', async () => {
    const result = await a.identify.identify(a.swarm.connsToPeer(b.peerId)[0])
    assert.equal(result.certified, true)
    assert.equal(result.agentVersion, 'host-b/4.5.6')
    assert.ok(result.protocols.includes(ECHO))
    assert.ok(result.observedAddr !== undefined)
  })

  it('pushes protocol changes to connected peers', async () => {
    const P = '/test/pushed/1.0.0'
    b.handle(P, echo)
    await waitFor(() => a.peerstore.getProtocols(b.peerId).includes(P), 'a to learn the new protocol')
    b.unhandle(P)
    await waitFor(() => !a.peerstore.getProtocols(b.peerId).includes(P), 'a to learn the protocol is gone')
  })

  it('pushes address changes to connected peers', async () => {
    await b.swarm.listen(LOOPBACK_TCP)
    assert.equal(b.addrs().length, 2)
    await waitFor(() => a.peerstore.addrs(b.peerId).length === 2, 'a to learn the new address')
    assert.deepEqual(a.peerstore.addrs(b.peerId).map(String).sort(), b.addrs().map(String).sort())
  })

  it('keeps the addresses for RECENTLY_CONNECTED after a disconnect', async () => {
    const c = await tcpHost()
    try {
      await connectHosts(a, c)
      await a.swarm.closePeer(c.peerId)
      await waitFor(() => a.swarm.connectedness(c.peerId) === 'notConnected', 'the disconnect')
      assert.deepEqual(a.peerstore.addrs(c.peerId).map(String), c.addrs().map(String))
      // and a reconnect needs no address from the caller
      await a.connect(c.peerId)
    } finally {
      await c.close()
    }
  })
})

describe('identify with misbehaving peers', () => {
  let host: Host
  let liar: Swarm
  let answer: (stream: Stream) => Promise<void>

  before(async () => {
    host = await tcpHost({ host: { identify: { timeout: 500, runOnConnect: false } } })
    liar = await createSwarm({ modules: [tcp()], listen: [LOOPBACK_TCP] })
    liar.setStreamHandler(async stream => {
      const protocol = await liar.negotiateInbound(stream, [IDENTIFY_PROTOCOL])
      if (protocol === IDENTIFY_PROTOCOL) await answer(stream)
    })
    host.peerstore.addAddrs(liar.localPeer, liar.listenAddresses(), AddrTTL.PERMANENT)
  })

  after(async () => {
    await host.close()
    await liar.close()
  })

  async function identifyLiar (): Promise<unknown> {
    const conn = await host.swarm.dialPeer(liar.localPeer)
    return await host.identify.identify(conn).then(() => undefined, (err: unknown) => err)
  }

  it('rejects a public key that is not the peer\'s', async () => {
    const other = await generateKeyPair('Ed25519')
    answer = async stream => {
      await stream.write(lengthPrefixed(Identify.encode({ publicKey: publicKeyToProtobuf(other.publicKey), listenAddrs: [], protocols: ['/x'] })))
      await stream.closeWrite()
    }
    const err = await identifyLiar()
    assert.ok(err instanceof Error && err.name === 'IdentifyError' && /does not match the peer ID/.test(err.message), String(err))
    assert.deepEqual(host.peerstore.getProtocols(liar.localPeer), [])
  })

  it('ignores a signed peer record of another peer and keeps the plain addresses', async () => {
    const other = await generateKeyPair('Ed25519')
    const forged = await RecordEnvelope.seal(new PeerRecord({ peerId: peerIdFromPrivateKey(other), multiaddrs: [ma('/ip4/127.0.0.9/tcp/9')] }), other)
    answer = async stream => {
      await stream.write(lengthPrefixed(Identify.encode({
        listenAddrs: [ma('/ip4/127.0.0.1/tcp/1234').bytes],
        protocols: ['/liar/1.0.0'],
        signedPeerRecord: forged.marshal()
      })))
      await stream.closeWrite()
    }
    const err = await identifyLiar()
    assert.equal(err, undefined)
    assert.deepEqual(host.peerstore.getProtocols(liar.localPeer), ['/liar/1.0.0'])
    assert.ok(host.peerstore.addrs(liar.localPeer).some(a => a.toString() === '/ip4/127.0.0.1/tcp/1234'))
    assert.equal(host.peerstore.get(liar.localPeer, IdentifyMetadata.SIGNED_PEER_RECORD), undefined)
  })

  it('refuses a message over the size limit', async () => {
    answer = async stream => {
      await stream.write(lengthPrefixed(Identify.encode({ listenAddrs: [], protocols: Array.from({ length: 2000 }, (_, i) => `/p/${i}`) })))
      await stream.closeWrite()
    }
    const err = await identifyLiar()
    assert.ok(err instanceof Error && err.name === 'IdentifyError' && /exceeds the limit of 8192/.test(String((err as Error & { cause?: Error }).cause?.message)), String(err))
  })

  it('times out on a peer that never answers, and identifyWait still resolves', async () => {
    answer = async stream => { await stream.read() }
    const started = Date.now()
    const err = await identifyLiar()
    assert.ok(err instanceof Error && err.name === 'IdentifyError', String(err))
    assert.ok(Date.now() - started < 3000)
    const conn = host.swarm.connsToPeer(liar.localPeer)[0]
    await host.identify.identifyWait(conn)
  })
})

describe('identify helpers', () => {
  it('openPeerRecord accepts the sender\'s record and refuses others\' and garbage', async () => {
    const key = await generateKeyPair('Ed25519')
    const peer = peerIdFromPrivateKey(key)
    const envelope = await RecordEnvelope.seal(new PeerRecord({ peerId: peer, multiaddrs: [ma('/ip4/1.2.3.4/tcp/1')] }), key)
    const record = await openPeerRecord(peer, envelope.marshal())
    assert.equal(record.multiaddrs[0].toString(), '/ip4/1.2.3.4/tcp/1')
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    await assert.rejects(openPeerRecord(other, envelope.marshal()), { name: 'InvalidSignedPeerRecordError', message: /signed by another peer/ })
    await assert.rejects(openPeerRecord(peer, new Uint8Array([1, 2, 3])), { name: 'InvalidSignedPeerRecordError' })
    const tampered = envelope.marshal().slice()
    tampered[tampered.length - 1] ^= 0xff
    await assert.rejects(openPeerRecord(peer, tampered), { name: 'InvalidSignedPeerRecordError' })
  })

  it('filterAddrs follows go: everything over loopback, no loopback over a LAN, only public over the internet', () => {
    const addrs = [ma('/ip4/127.0.0.1/tcp/1'), ma('/ip4/192.168.1.5/tcp/1'), ma('/ip4/8.8.8.8/tcp/1')]
    assert.equal(filterAddrs(addrs, ma('/ip4/127.0.0.1/tcp/9')).length, 3)
    assert.deepEqual(filterAddrs(addrs, ma('/ip4/10.0.0.1/tcp/9')).map(String), ['/ip4/192.168.1.5/tcp/1', '/ip4/8.8.8.8/tcp/1'])
    assert.deepEqual(filterAddrs(addrs, ma('/ip4/1.1.1.1/tcp/9')).map(String), ['/ip4/8.8.8.8/tcp/1'])
  })

  it('filterAddrs uses go\'s manet classes: IPv4-mapped loopback is loopback, special-use names and mapped addresses are not public', () => {
    const addrs = [ma('/ip6/::ffff:127.0.0.1/tcp/1'), ma('/ip4/100.64.0.9/tcp/1'), ma('/dns4/printer.local/tcp/1'),
      ma('/ip6/::ffff:8.8.8.8/tcp/1'), ma('/ip6/2001::1/tcp/1'), ma('/dns4/example.com/tcp/1')]
    assert.equal(filterAddrs(addrs, ma('/ip6/::ffff:127.0.0.1/tcp/9')).length, 6, 'a mapped loopback remote is on loopback')
    assert.equal(filterAddrs(addrs, ma('/ip4/100.64.0.1/tcp/9')).length, 5, 'over CGNAT (private): all but loopback')
    assert.deepEqual(filterAddrs(addrs, ma('/ip4/1.1.1.1/tcp/9')).map(String), ['/ip6/2001::1/tcp/1', '/dns4/example.com/tcp/1'])
    assert.equal(filterAddrs(addrs, ma('/ip6/::ffff:8.8.8.8/tcp/9')).length, 6, 'a remote go counts neither private nor public: no filter')
  })
})
