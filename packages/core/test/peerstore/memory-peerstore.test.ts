import 'reflect-metadata'
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { container } from 'tsyringe'
import { generateIdentity, parsePeerId, peerIdOf } from '../../src/identity.js'
import { AddrTTL } from '../../src/interfaces/peerstore.js'
import { MAX_ADDRS_PER_PEER, MAX_PROTOCOLS_PER_PEER, MemoryPeerstore } from '../../src/peerstore/memory-peerstore.js'
import { ManualClock } from '../../src/testing/manual-clock.js'
import { CLOCK } from '../../src/tokens.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const MINUTE = 60 * 1000
const YEAR = 365 * 24 * 60 * MINUTE

async function newPeer (): Promise<PeerId> {
  return peerIdOf(await generateIdentity())
}

function setup (): { clock: ManualClock, ps: MemoryPeerstore } {
  const clock = new ManualClock()
  return { clock, ps: new MemoryPeerstore(clock) }
}

function strings (addrs: readonly Multiaddr[]): string[] {
  return addrs.map(a => a.toString()).sort()
}

function ids (peers: readonly PeerId[]): string[] {
  return peers.map(p => p.toString()).sort()
}

const A = multiaddr('/ip4/1.2.3.4/tcp/4001')
const B = multiaddr('/ip4/5.6.7.8/udp/4001/quic-v1')

describe('MemoryPeerstore: address TTLs', () => {
  it('expires an address once its TTL has passed', async () => {
    const { clock, ps } = setup()
    const peer = await newPeer()
    ps.addAddrs(peer, [A], AddrTTL.TEMP)
    assert.deepEqual(strings(ps.addrs(peer)), [A.toString()])
    clock.advance(AddrTTL.TEMP - 1)
    assert.equal(ps.addrs(peer).length, 1)
    clock.advance(1)
    assert.deepEqual(ps.addrs(peer), [])
    assert.deepEqual(ps.peersWithAddrs(), [])
    assert.deepEqual(ps.peers(), [])
  })

  it('extends with a longer TTL and never shortens with a shorter one', async () => {
    const { clock, ps } = setup()
    const peer = await newPeer()
    ps.addAddrs(peer, [A], AddrTTL.TEMP)
    ps.addAddrs(peer, [A], AddrTTL.RECENTLY_CONNECTED)
    clock.advance(AddrTTL.TEMP + 1)
    assert.equal(ps.addrs(peer).length, 1, 'extended past TEMP')

    ps.addAddrs(peer, [A], AddrTTL.TEMP)
    clock.advance(AddrTTL.RECENTLY_CONNECTED - AddrTTL.TEMP - 2)
    assert.equal(ps.addrs(peer).length, 1, 'not shortened by the TEMP add')
    clock.advance(1)
    assert.deepEqual(ps.addrs(peer), [])
  })

  it('sets TTLs exactly with setAddrs, shortening them, and removes with ttl <= 0', async () => {
    const { clock, ps } = setup()
    const peer = await newPeer()
    ps.addAddrs(peer, [A, B], AddrTTL.PERMANENT)
    ps.setAddrs(peer, [A], AddrTTL.TEMP)
    clock.advance(AddrTTL.TEMP)
    assert.deepEqual(strings(ps.addrs(peer)), [B.toString()])

    ps.setAddrs(peer, [B], 0)
    assert.deepEqual(ps.addrs(peer), [])
    ps.setAddrs(peer, [A], -1)
    assert.deepEqual(ps.peers(), [])
  })

  it('ignores addAddrs with ttl <= 0', async () => {
    const { ps } = setup()
    const peer = await newPeer()
    ps.addAddrs(peer, [A], 0)
    assert.deepEqual(ps.addrs(peer), [])
    assert.deepEqual(ps.peers(), [])
  })

  it('moves CONNECTED addresses to RECENTLY_CONNECTED, which then expire after 15 minutes', async () => {
    const { clock, ps } = setup()
    const peer = await newPeer()
    ps.addAddrs(peer, [A], AddrTTL.CONNECTED)
    ps.addAddrs(peer, [B], AddrTTL.PERMANENT)
    clock.advance(10 * YEAR)
    assert.equal(ps.addrs(peer).length, 2)

    ps.updateAddrs(peer, AddrTTL.CONNECTED, AddrTTL.RECENTLY_CONNECTED)
    clock.advance(15 * MINUTE - 1)
    assert.equal(ps.addrs(peer).length, 2)
    clock.advance(1)
    assert.deepEqual(strings(ps.addrs(peer)), [B.toString()], 'the PERMANENT address is untouched')
  })

  it('updateAddrs finds an address that was also added with a shorter TTL while connected', async () => {
    const { clock, ps } = setup()
    const peer = await newPeer()
    ps.addAddrs(peer, [A], AddrTTL.CONNECTED)
    ps.addAddrs(peer, [A], AddrTTL.TEMP)
    ps.updateAddrs(peer, AddrTTL.CONNECTED, AddrTTL.RECENTLY_CONNECTED)
    clock.advance(AddrTTL.RECENTLY_CONNECTED)
    assert.deepEqual(ps.addrs(peer), [])
  })

  it('updateAddrs changes only addresses with the old TTL, and removes them with newTtl <= 0', async () => {
    const { clock, ps } = setup()
    const peer = await newPeer()
    ps.addAddrs(peer, [A], AddrTTL.TEMP)
    ps.addAddrs(peer, [B], AddrTTL.PROVIDER)
    ps.updateAddrs(peer, AddrTTL.TEMP, AddrTTL.PERMANENT)
    clock.advance(YEAR)
    assert.deepEqual(strings(ps.addrs(peer)), [A.toString()])
    ps.updateAddrs(peer, AddrTTL.PERMANENT, 0)
    assert.deepEqual(ps.addrs(peer), [])
  })

  it('never expires PERMANENT addresses', async () => {
    const { clock, ps } = setup()
    const peer = await newPeer()
    ps.addAddrs(peer, [A], AddrTTL.PERMANENT)
    clock.advance(1000 * YEAR)
    assert.equal(ps.addrs(peer).length, 1)
    assert.ok(ps.peersWithAddrs()[0]?.equals(peer))
  })

  it('lists only peers with unexpired addresses in peersWithAddrs', async () => {
    const { clock, ps } = setup()
    const [p1, p2, p3] = await Promise.all([newPeer(), newPeer(), newPeer()])
    ps.addAddrs(p1, [A], AddrTTL.TEMP)
    ps.addAddrs(p2, [A], AddrTTL.PERMANENT)
    ps.addProtocols(p3, ['/ipfs/id/1.0.0'])
    assert.deepEqual(ids(ps.peersWithAddrs()), ids([p1, p2]))
    clock.advance(AddrTTL.TEMP)
    assert.deepEqual(ids(ps.peersWithAddrs()), ids([p2]))
    assert.deepEqual(ids(ps.peers()), ids([p2, p3]))
  })

  it('clearAddrs forgets the addresses', async () => {
    const { ps } = setup()
    const peer = await newPeer()
    ps.addAddrs(peer, [A, B], AddrTTL.PERMANENT)
    ps.clearAddrs(peer)
    assert.deepEqual(ps.addrs(peer), [])
    assert.deepEqual(ps.peers(), [])
  })

  it('returns PeerId objects', async () => {
    const { ps } = setup()
    const peer = await newPeer()
    ps.addAddrs(peer, [A], AddrTTL.PERMANENT)
    const [got] = ps.peersWithAddrs()
    assert.ok(got?.equals(peer))
    assert.equal(got?.type, 'Ed25519')
  })

  it('rejects a NaN ttl', async () => {
    const { ps } = setup()
    const peer = await newPeer()
    assert.throws(() => { ps.addAddrs(peer, [A], Number.NaN) }, { name: 'InvalidOptionError' })
  })
})

describe('MemoryPeerstore: address identity', () => {
  it('deduplicates addresses by their bytes', async () => {
    const { ps } = setup()
    const peer = await newPeer()
    ps.addAddrs(peer, [multiaddr('/ip6/::1/tcp/1'), multiaddr('/ip6/0:0::0001/tcp/1')], AddrTTL.PERMANENT)
    ps.addAddrs(peer, [multiaddr('/ip6/::1/tcp/1')], AddrTTL.TEMP)
    assert.equal(ps.addrs(peer).length, 1)
  })

  it('stores an address ending in /p2p/<own id> without the suffix, whatever its spelling', async () => {
    const { ps } = setup()
    const peer = await newPeer()
    ps.addAddrs(peer, [multiaddr(`${A.toString()}/p2p/${peer.toString()}`)], AddrTTL.PERMANENT)
    ps.addAddrs(peer, [multiaddr(`${A.toString()}/p2p/${peer.toCID().toString()}`)], AddrTTL.PERMANENT)
    ps.addAddrs(peer, [A], AddrTTL.PERMANENT)
    assert.deepEqual(strings(ps.addrs(peer)), [A.toString()])
  })

  it('skips addresses for another peer, and a bare /p2p/<id>', async () => {
    const { ps } = setup()
    const [peer, other] = await Promise.all([newPeer(), newPeer()])
    ps.addAddrs(peer, [multiaddr(`${A.toString()}/p2p/${other.toString()}`), B], AddrTTL.PERMANENT)
    ps.setAddrs(peer, [multiaddr(`${A.toString()}/p2p/${other.toString()}`)], AddrTTL.PERMANENT)
    ps.addAddrs(peer, [multiaddr(`/p2p/${peer.toString()}`)], AddrTTL.PERMANENT)
    assert.deepEqual(strings(ps.addrs(peer)), [B.toString()])
    ps.addAddrs(other, [multiaddr(`${A.toString()}/p2p/${peer.toString()}`)], AddrTTL.PERMANENT)
    assert.deepEqual(ps.addrs(other), [])
    assert.deepEqual(ids(ps.peers()), ids([peer]))
  })

  it('keeps a relay address whose /p2p names the relay', async () => {
    const { ps } = setup()
    const [peer, relay] = await Promise.all([newPeer(), newPeer()])
    const circuit = multiaddr(`${A.toString()}/p2p/${relay.toString()}/p2p-circuit`)
    ps.addAddrs(peer, [circuit, multiaddr(`${circuit.toString()}/p2p/${peer.toString()}`)], AddrTTL.PERMANENT)
    assert.deepEqual(strings(ps.addrs(peer)), [circuit.toString()])
  })
})

describe('MemoryPeerstore: keys', () => {
  it('records a public key that belongs to the peer', async () => {
    const { ps } = setup()
    for (const type of ['Ed25519', 'secp256k1', 'RSA', 'ECDSA'] as const) {
      const key = await generateIdentity(type)
      const peer = peerIdOf(key)
      ps.addPubKey(peer, key.publicKey)
      assert.ok(ps.pubKey(peer)?.equals(key.publicKey), type)
    }
  })

  it('throws PeerIdMismatchError for a key of another peer', async () => {
    const { ps } = setup()
    const peer = await newPeer()
    const other = await generateIdentity()
    assert.throws(() => { ps.addPubKey(peer, other.publicKey) }, { name: 'PeerIdMismatchError' })
    assert.deepEqual(ps.peers(), [])
  })

  it('falls back to the key embedded in the peer ID', async () => {
    const { ps } = setup()
    const key = await generateIdentity()
    assert.ok(ps.pubKey(parsePeerId(peerIdOf(key).toString()))?.equals(key.publicKey))
    // An RSA peer ID is a hash: parsed from its string it carries no key.
    const rsa = peerIdOf(await generateIdentity('RSA'))
    assert.equal(ps.pubKey(parsePeerId(rsa.toString())), undefined)
  })
})

describe('MemoryPeerstore: protocols', () => {
  it('keeps insertion order without duplicates', async () => {
    const { ps } = setup()
    const peer = await newPeer()
    ps.addProtocols(peer, ['/a', '/b'])
    ps.addProtocols(peer, ['/c', '/a'])
    assert.deepEqual(ps.getProtocols(peer), ['/a', '/b', '/c'])
    ps.removeProtocols(peer, ['/b'])
    assert.deepEqual(ps.getProtocols(peer), ['/a', '/c'])
    ps.setProtocols(peer, ['/z', '/y', '/z'])
    assert.deepEqual(ps.getProtocols(peer), ['/z', '/y'])
  })

  it('supportsProtocols answers in the order given', async () => {
    const { ps } = setup()
    const peer = await newPeer()
    ps.addProtocols(peer, ['/a', '/b', '/c'])
    assert.deepEqual(ps.supportsProtocols(peer, ['/c', '/x', '/a']), ['/c', '/a'])
    assert.deepEqual(ps.supportsProtocols(await newPeer(), ['/a']), [])
  })

  it('returns a copy', async () => {
    const { ps } = setup()
    const peer = await newPeer()
    ps.addProtocols(peer, ['/a'])
    ps.getProtocols(peer).push('/b')
    assert.deepEqual(ps.getProtocols(peer), ['/a'])
  })

  it('forgets a peer whose last protocol is removed', async () => {
    const { ps } = setup()
    const peer = await newPeer()
    ps.addProtocols(peer, ['/a'])
    ps.setProtocols(peer, [])
    assert.deepEqual(ps.peers(), [])
  })
})

describe('MemoryPeerstore: metadata', () => {
  it('gets what was put, per peer', async () => {
    const { ps } = setup()
    const [p1, p2] = await Promise.all([newPeer(), newPeer()])
    const value = { agent: 'go-libp2p/0.40' }
    ps.put(p1, 'AgentVersion', value)
    assert.equal(ps.get(p1, 'AgentVersion'), value)
    assert.equal(ps.get(p2, 'AgentVersion'), undefined)
    assert.equal(ps.get(p1, 'ProtocolVersion'), undefined)
    assert.deepEqual(ids(ps.peers()), ids([p1]))
    ps.put(p1, 'AgentVersion', undefined)
    assert.deepEqual(ps.peers(), [])
  })
})

describe('MemoryPeerstore: peers and removePeer', () => {
  it('lists every peer with anything, and removePeer forgets all of it', async () => {
    const { ps } = setup()
    const key = await generateIdentity('RSA')
    const peer = peerIdOf(key)
    const [withAddrs, withMeta] = await Promise.all([newPeer(), newPeer()])
    ps.addAddrs(withAddrs, [A], AddrTTL.PERMANENT)
    ps.put(withMeta, 'k', 1)
    ps.addPubKey(peer, key.publicKey)
    ps.addAddrs(peer, [A], AddrTTL.PERMANENT)
    ps.addProtocols(peer, ['/a'])
    ps.put(peer, 'k', 'v')
    assert.deepEqual(ids(ps.peers()), ids([peer, withAddrs, withMeta]))

    ps.removePeer(peer)
    assert.deepEqual(ids(ps.peers()), ids([withAddrs, withMeta]))
    assert.deepEqual(ps.addrs(peer), [])
    assert.deepEqual(ps.getProtocols(peer), [])
    assert.equal(ps.get(peer, 'k'), undefined)
    assert.equal(ps.pubKey(parsePeerId(peer.toString())), undefined) // a parsed RSA peer ID does not embed its key
  })
})

describe('MemoryPeerstore: bounds', () => {
  function manyAddrs (n: number, from = 0): Multiaddr[] {
    return Array.from({ length: n }, (_, i) => multiaddr(`/ip4/10.${((from + i) >> 16) & 255}.${((from + i) >> 8) & 255}.${(from + i) & 255}/tcp/1`))
  }

  it(`keeps at most ${MAX_ADDRS_PER_PEER} addresses, dropping those that expire first`, async () => {
    const { clock, ps } = setup()
    const peer = await newPeer()
    const connected = manyAddrs(10)
    ps.addAddrs(peer, connected, AddrTTL.CONNECTED)
    ps.addAddrs(peer, manyAddrs(MAX_ADDRS_PER_PEER, 10), AddrTTL.TEMP)
    clock.advance(1)
    ps.addAddrs(peer, manyAddrs(20, 100_000), AddrTTL.PROVIDER)
    const kept = new Set(ps.addrs(peer).map(a => a.toString()))
    assert.equal(kept.size, MAX_ADDRS_PER_PEER)
    for (const a of connected) assert.ok(kept.has(a.toString()), 'connected addresses outlive the rest')
    for (const a of manyAddrs(20, 100_000)) assert.ok(kept.has(a.toString()), 'the later-expiring new addresses are kept')
  })

  it(`keeps at most ${MAX_PROTOCOLS_PER_PEER} protocols`, async () => {
    const { ps } = setup()
    const peer = await newPeer()
    const protocols = Array.from({ length: MAX_PROTOCOLS_PER_PEER + 100 }, (_, i) => `/p/${i}`)
    ps.setProtocols(peer, protocols)
    assert.equal(ps.getProtocols(peer).length, MAX_PROTOCOLS_PER_PEER)
    ps.addProtocols(peer, ['/one-more'])
    assert.equal(ps.getProtocols(peer).length, MAX_PROTOCOLS_PER_PEER)
    assert.deepEqual(ps.getProtocols(peer).slice(0, 2), ['/p/0', '/p/1'])
  })
})

describe('MemoryPeerstore: dependency injection', () => {
  it('resolves with the CLOCK from the container', async () => {
    const child = container.createChildContainer()
    const clock = new ManualClock()
    child.register(CLOCK, { useValue: clock })
    const ps = child.resolve(MemoryPeerstore)
    const peer = await newPeer()
    ps.addAddrs(peer, [A], AddrTTL.TEMP)
    clock.advance(AddrTTL.TEMP)
    assert.deepEqual(ps.addrs(peer), [])
  })
})
