import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { AddrPipeline } from '../../src/dial/addr-pipeline.js'
import { BlackHoleDetector, BlackHoleSuccessCounter } from '../../src/dial/black-hole.js'
import { AddrTTL } from '../../src/interfaces/peerstore.js'
import { MemoryPeerstore } from '../../src/peerstore/memory-peerstore.js'
import { ManualClock } from '../../src/testing/index.js'
import type { AddrPipelineInit } from '../../src/dial/addr-pipeline.js'
import type { DnsResolver } from '../../src/interfaces/dial.js'
import type { ConnectionGater } from '../../src/interfaces/gater.js'
import type { Transport } from '../../src/interfaces/transport.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const peer: PeerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
/** A transport that dials TCP and QUIC-v1 only. */
const tcpAndQuic = { name: 'fake' } as unknown as Transport
const transportFor = (a: Multiaddr): Transport | undefined =>
  a.getComponents().some(c => c.name === 'tcp' || c.name === 'quic-v1') ? tcpAndQuic : undefined
const noDns: DnsResolver = {
  resolve4: async () => [],
  resolve6: async () => [],
  resolveTxt: async () => []
}

function pipeline (overrides: Partial<AddrPipelineInit> = {}): { pipe: AddrPipeline, peerstore: MemoryPeerstore } {
  const peerstore = new MemoryPeerstore(new ManualClock())
  const pipe = new AddrPipeline({
    peerstore,
    transportFor,
    resolver: noDns,
    maxDnsRecursion: 4,
    maxResolvedAddrs: 100,
    blackHoles: new BlackHoleDetector({ udp: null, ipv6: null }),
    ownAddrs: () => [],
    gaters: [],
    ...overrides
  })
  return { pipe, peerstore }
}

const signal = new AbortController().signal

describe('AddrPipeline', () => {
  it('keeps dialable addresses and says why each other one was dropped, in go\'s order', async () => {
    const own = multiaddr('/ip4/10.0.0.1/tcp/4001')
    const refused = multiaddr('/ip4/10.0.0.9/tcp/4001')
    // go's hooks: true allows
    const gater: ConnectionGater = { interceptAddrDial: (_p, a) => !a.equals(refused) }
    const { pipe } = pipeline({ ownAddrs: () => [own], gaters: [gater] })
    const input = [
      '/ip4/1.2.3.4/tcp/4001',
      '/ip4/1.2.3.4/udp/4001/quic',
      '/ip4/1.2.3.4/udp/4001/webrtc-direct',
      '/ip4/0.0.0.0/tcp/4001',
      '/ip6/fe80::1/tcp/4001',
      '/ip4/10.0.0.1/tcp/4001',
      '/ip4/10.0.0.9/tcp/4001',
      '/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit'
    ].map(a => multiaddr(a))
    const { addrs, errors, filtered } = await pipe.filter(peer, input, true)
    assert.deepEqual(addrs.map(String), ['/ip4/1.2.3.4/tcp/4001'])
    assert.equal(errors.length, input.length - 1)
    assert.equal(filtered.length, input.length - 1)
    const reason = (a: string): string => errors.find(e => e.addr.toString() === a)?.cause?.toString() ?? 'kept'
    assert.match(reason('/ip4/1.2.3.4/udp/4001/quic'), /draft-29/)
    assert.match(reason('/ip4/1.2.3.4/udp/4001/webrtc-direct'), /register a transport/)
    assert.match(reason('/ip4/0.0.0.0/tcp/4001'), /unspecified/)
    assert.match(reason('/ip6/fe80::1/tcp/4001'), /link-local/)
    assert.match(reason('/ip4/10.0.0.1/tcp/4001'), /DialToSelfError|dial to self|ourselves|self/i)
    assert.match(reason('/ip4/10.0.0.9/tcp/4001'), /GaterDisallowedError|gater|disallowed/i)
    assert.match(reason(input[7].toString()), /force-direct/)
  })

  it('records black-holed addresses with their own outcome', async () => {
    const udp = new BlackHoleSuccessCounter({ name: 'UDP', n: 5, minSuccesses: 1 })
    for (let i = 0; i < 5; i++) udp.recordResult(false)
    const { pipe } = pipeline({ blackHoles: new BlackHoleDetector({ udp, ipv6: null }) })
    const { addrs, filtered } = await pipe.filter(peer, [multiaddr('/ip4/1.2.3.4/udp/4001/quic-v1'), multiaddr('/ip4/1.2.3.4/tcp/4001')], false)
    assert.deepEqual(addrs.map(String), ['/ip4/1.2.3.4/tcp/4001'])
    assert.equal(filtered[0].outcome, 'black-hole')
  })

  it('resolves, deduplicates (with and without /p2p) and remembers the survivors for a while', async () => {
    const resolver: DnsResolver = { ...noDns, resolve4: async () => ['5.6.7.8'] }
    const { pipe, peerstore } = pipeline({ resolver })
    peerstore.addAddrs(peer, [
      multiaddr('/dns4/example.test/tcp/4001'),
      multiaddr('/ip4/5.6.7.8/tcp/4001'),
      multiaddr(`/ip4/5.6.7.8/tcp/4001/p2p/${peer.toString()}`)
    ], AddrTTL.PERMANENT)
    const { addrs } = await pipe.addrsForDial(peer, signal, false)
    assert.deepEqual(addrs.map(String), ['/ip4/5.6.7.8/tcp/4001'])
    assert.ok(peerstore.addrs(peer).some(a => a.toString() === '/ip4/5.6.7.8/tcp/4001'))
  })

  it('fails with NoAddressesError, or NoGoodAddressesError carrying every refusal and the plan', async () => {
    const { pipe, peerstore } = pipeline()
    await assert.rejects(pipe.addrsForDial(peer, signal, false), (err: Error) => err.name === 'DialError' && (err.cause as Error).name === 'NoAddressesError')
    peerstore.addAddrs(peer, [multiaddr('/ip4/0.0.0.0/tcp/1'), multiaddr('/ip4/1.2.3.4/udp/1/webrtc-direct')], AddrTTL.PERMANENT)
    await assert.rejects(pipe.addrsForDial(peer, signal, false), (err: Error & { errors?: unknown[], plan?: { entries: unknown[] } }) => {
      assert.equal(err.name, 'DialError')
      assert.equal((err.cause as Error).name, 'NoGoodAddressesError')
      assert.equal(err.errors?.length, 2)
      assert.equal(err.plan?.entries.length, 2)
      return true
    })
  })
})
