import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import {
  DefaultDialRanker,
  NoDelayDialRanker,
  PRIVATE_OTHER_DELAY,
  PRIVATE_QUIC_DELAY,
  PRIVATE_TCP_DELAY,
  PUBLIC_OTHER_DELAY,
  PUBLIC_QUIC_DELAY,
  PUBLIC_TCP_DELAY,
  RELAY_DELAY,
  isPrivateAddr,
  isRelayAddr
} from '../../src/dial/ranker.js'
import type { AddrDelay, DialRanker } from '../../src/interfaces/dial.js'
import type { Multiaddr } from '@multiformats/multiaddr'

const ma = multiaddr
const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'

/** go's sortAddrDelays: by delay, then by address string, so that results compare regardless of order. */
function sorted (list: readonly AddrDelay[]): Array<[string, number]> {
  return list
    .map((d): [string, number] => [d.addr.toString(), d.delay])
    .sort((a, b) => a[1] !== b[1] ? a[1] - b[1] : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
}

function assertRanks (ranker: DialRanker, addrs: Multiaddr[], expected: Array<[Multiaddr, number]>): void {
  const res = ranker.rank(addrs)
  assert.equal(res.length, expected.length)
  assert.deepEqual(sorted(res), sorted(expected.map(([addr, delay]) => ({ addr, delay }))))
}

const defaultRanker = new DefaultDialRanker()
const noDelayRanker = new NoDelayDialRanker()

describe('dial ranker constants', () => {
  it('match go-libp2p', () => {
    assert.equal(PUBLIC_QUIC_DELAY, 250)
    assert.equal(PUBLIC_TCP_DELAY, 250)
    assert.equal(PRIVATE_QUIC_DELAY, 30)
    assert.equal(PRIVATE_TCP_DELAY, 30)
    assert.equal(RELAY_DELAY, 500)
    assert.equal(PUBLIC_OTHER_DELAY, 1000)
    assert.equal(PRIVATE_OTHER_DELAY, 100)
  })
})

describe('TestNoDelayDialRanker', () => {
  it('quic+webtransport filtered when quicv1: all at 0, none dropped', () => {
    // As in go, q1 and q1v1 (and q2/q2v1, q3/q3v1) are the same address given twice; both copies come back.
    const q1 = ma('/ip4/1.2.3.4/udp/1/quic-v1')
    const q1v1 = ma('/ip4/1.2.3.4/udp/1/quic-v1')
    const wt1 = ma('/ip4/1.2.3.4/udp/1/quic-v1/webtransport/')
    const q2 = ma('/ip4/1.2.3.4/udp/2/quic-v1')
    const q2v1 = ma('/ip4/1.2.3.4/udp/2/quic-v1')
    const q3 = ma('/ip4/1.2.3.4/udp/3/quic-v1')
    const q3v1 = ma('/ip4/1.2.3.4/udp/3/quic-v1')
    const q4 = ma('/ip4/1.2.3.4/udp/4/quic-v1')
    const t1 = ma('/ip4/1.2.3.5/tcp/1/')
    const wrtc1 = ma('/ip4/1.1.1.1/udp/1/webrtc-direct')
    const addrs = [q1, q2, q3, q4, q1v1, q2v1, q3v1, wt1, t1, wrtc1]
    assertRanks(noDelayRanker, addrs, addrs.map(a => [a, 0]))
  })
})

describe('TestDelayRankerQUICDelay', () => {
  const P = PUBLIC_QUIC_DELAY
  const q1v1 = ma('/ip4/1.2.3.4/udp/1/quic-v1')
  const wt1 = ma('/ip4/1.2.3.4/udp/1/quic-v1/webtransport/')
  const q2v1 = ma('/ip4/1.2.3.4/udp/2/quic-v1')
  const q3v1 = ma('/ip4/1.2.3.4/udp/3/quic-v1')
  const q1v16 = ma('/ip6/1::2/udp/1/quic-v1')
  const q2v16 = ma('/ip6/1::2/udp/2/quic-v1')
  const q3v16 = ma('/ip6/1::2/udp/3/quic-v1')

  it('quic-ipv4', () => {
    assertRanks(defaultRanker, [q1v1, q2v1, q3v1], [[q1v1, 0], [q2v1, P], [q3v1, P]])
  })

  it('quic-ipv6', () => {
    assertRanks(defaultRanker, [q1v16, q2v16, q3v16], [[q1v16, 0], [q2v16, P], [q3v16, P]])
  })

  it('quic-ip4-ip6', () => {
    assertRanks(defaultRanker, [q1v16, q2v1], [[q1v16, 0], [q2v1, P]])
  })

  it('quic-quic-v1-webtransport', () => {
    assertRanks(defaultRanker, [q1v16, q1v1, q2v1, q3v1, wt1],
      [[q1v16, 0], [q1v1, P], [q2v1, 2 * P], [q3v1, 2 * P], [wt1, 2 * P]])
  })

  it('wt-ranking', () => {
    assertRanks(defaultRanker, [q1v16, q2v16, q3v16, wt1], [[q1v16, 0], [wt1, P], [q2v16, 2 * P], [q3v16, 2 * P]])
  })
})

describe('TestDelayRankerTCPDelay', () => {
  const P = PUBLIC_QUIC_DELAY
  const T = PUBLIC_TCP_DELAY
  const q1v1 = ma('/ip4/1.2.3.4/udp/1/quic-v1')
  const q2v1 = ma('/ip4/1.2.3.4/udp/2/quic-v1')
  const q1v16 = ma('/ip6/1::2/udp/1/quic-v1')
  const q2v16 = ma('/ip6/1::2/udp/2/quic-v1')
  const q3v16 = ma('/ip6/1::2/udp/3/quic-v1')
  const t1 = ma('/ip4/1.2.3.5/tcp/1/')
  const t1v6 = ma('/ip6/1::2/tcp/1')
  const t2 = ma('/ip4/1.2.3.4/tcp/2')
  const t3 = ma('/ip4/1.2.3.4/tcp/3')

  it('quic-with-tcp-ip6-ip4', () => {
    assertRanks(defaultRanker, [q1v1, q1v16, q2v16, q3v16, q2v1, t1, t1v6, t2, t3], [
      [q1v16, 0], [q1v1, P], [q2v16, 2 * P], [q3v16, 2 * P], [q2v1, 2 * P],
      [t1v6, 3 * P], [t1, 4 * P], [t2, 5 * P], [t3, 5 * P]
    ])
  })

  it('quic-ip4-with-tcp', () => {
    assertRanks(defaultRanker, [q1v1, t2, t1v6, t1], [[q1v1, 0], [t1v6, P], [t1, 2 * P], [t2, 3 * P]])
  })

  it('quic-ip4-with-tcp-ipv4', () => {
    assertRanks(defaultRanker, [q1v1, t2, t3, t1], [[q1v1, 0], [t1, T], [t2, 2 * P], [t3, 2 * T]])
  })

  it('quic-ip4-with-two-tcp', () => {
    assertRanks(defaultRanker, [q1v1, t1v6, t2], [[q1v1, 0], [t1v6, T], [t2, 2 * T]])
  })

  it('tcp-ip4-ip6', () => {
    assertRanks(defaultRanker, [t1, t2, t1v6, t3], [[t1v6, 0], [t1, T], [t2, 2 * T], [t3, 2 * T]])
  })

  it('empty', () => {
    assertRanks(defaultRanker, [], [])
  })
})

describe('TestDelayRankerRelay', () => {
  it('relay address delayed', () => {
    const q1 = ma('/ip4/1.2.3.4/udp/1/quic-v1')
    const q2 = ma('/ip4/1.2.3.4/udp/2/quic-v1')
    const r1 = ma(`/ip4/1.2.3.4/tcp/1/p2p-circuit/p2p/${PEER}`)
    const r2 = ma(`/ip4/1.2.3.4/udp/1/quic/p2p-circuit/p2p/${PEER}`)
    assertRanks(defaultRanker, [q1, q2, r1, r2],
      [[q1, 0], [q2, PUBLIC_QUIC_DELAY], [r2, RELAY_DELAY], [r1, PUBLIC_TCP_DELAY + RELAY_DELAY]])
  })
})

describe('TestDelayRankerOtherTransportDelay', () => {
  const P = PUBLIC_QUIC_DELAY
  const O = PUBLIC_OTHER_DELAY
  const q1v1 = ma('/ip4/1.2.3.4/udp/1/quic-v1')
  const q1v16 = ma('/ip6/1::2/udp/1/quic-v1')
  const t1 = ma('/ip4/1.2.3.5/tcp/1/')
  const t1v6 = ma('/ip6/1::2/tcp/1')
  const wrtc1 = ma('/ip4/1.2.3.4/udp/1/webrtc-direct')
  const wrtc1v6 = ma('/ip6/1::2/udp/1/webrtc-direct')
  const onion1 = ma('/onion3/vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd:1234')
  const onlyIP = ma('/ip4/1.2.3.4/')

  it('quic-with-other', () => {
    assertRanks(defaultRanker, [q1v1, q1v16, wrtc1, wrtc1v6, onion1, onlyIP], [
      [q1v16, 0], [q1v1, P], [wrtc1, P + O], [wrtc1v6, P + O], [onlyIP, P + O], [onion1, P + 2 * O]
    ])
  })

  it('quic-and-tcp-with-other', () => {
    assertRanks(defaultRanker, [q1v1, t1, t1v6, wrtc1, wrtc1v6, onion1, onlyIP], [
      [q1v1, 0], [t1v6, P], [t1, 2 * P], [wrtc1, 2 * P + O], [wrtc1v6, 2 * P + O], [onlyIP, 2 * P + O],
      [onion1, 2 * P + 2 * O]
    ])
  })

  it('only-non-ip-addr', () => {
    assertRanks(defaultRanker, [onion1], [[onion1, O]])
  })
})

describe('DefaultDialRanker beyond go\'s tests', () => {
  it('empty input gives empty output from both rankers', () => {
    assert.deepEqual(defaultRanker.rank([]), [])
    assert.deepEqual(noDelayRanker.rank([]), [])
  })

  it('private addresses (127.0.0.1, 192.168.x, ::1) use the 30 ms and 100 ms delays', () => {
    const q1 = ma('/ip4/127.0.0.1/udp/1/quic-v1')
    const q2 = ma('/ip4/127.0.0.1/udp/2/quic-v1')
    const t1 = ma('/ip4/127.0.0.1/tcp/1')
    assertRanks(defaultRanker, [t1, q2, q1], [[q1, 0], [q2, PRIVATE_QUIC_DELAY], [t1, PRIVATE_QUIC_DELAY + PRIVATE_TCP_DELAY]])

    const q6 = ma('/ip6/::1/udp/5/quic-v1')
    const lanQ1 = ma('/ip4/192.168.1.10/udp/1/quic-v1')
    const lanQ2 = ma('/ip4/192.168.1.10/udp/2/quic-v1')
    const lanT6 = ma('/ip6/fe80::1/tcp/7')
    const lanT = ma('/ip4/192.168.1.10/tcp/1')
    const lanT2 = ma('/ip4/192.168.1.10/tcp/2')
    const lanWrtc = ma('/ip4/10.0.0.1/udp/9/webrtc-direct')
    assertRanks(defaultRanker, [lanWrtc, lanT2, lanT, lanT6, lanQ2, lanQ1, q6], [
      [q6, 0],
      [lanQ1, 30],
      [lanQ2, 60],
      [lanT6, 90], // last QUIC (60) + PRIVATE_TCP_DELAY
      [lanT, 120],
      [lanT2, 150],
      [lanWrtc, 250] // last TCP (150) + PRIVATE_OTHER_DELAY
    ])
  })

  it('ranks private and public groups independently, so they are dialed in parallel', () => {
    const pvt1 = ma('/ip4/192.168.0.2/udp/1/quic-v1')
    const pvt2 = ma('/ip4/192.168.0.2/tcp/1')
    const pub1 = ma('/ip4/1.2.3.4/udp/1/quic-v1')
    const pub2 = ma('/ip4/1.2.3.4/tcp/1')
    assertRanks(defaultRanker, [pub2, pvt2, pub1, pvt1], [[pvt1, 0], [pvt2, 30], [pub1, 0], [pub2, 250]])
  })

  it('does not hold relays back when the peer has no public direct address', () => {
    const pvt = ma('/ip4/127.0.0.1/udp/1/quic-v1')
    const relay = ma(`/ip4/1.2.3.4/udp/1/quic-v1/p2p/${PEER}/p2p-circuit`)
    assertRanks(defaultRanker, [relay, pvt], [[pvt, 0], [relay, 0]])
    assertRanks(defaultRanker, [relay], [[relay, 0]])
  })

  it('moves the best IPv4 TCP address second even behind several IPv6 ones', () => {
    const t1v6 = ma('/ip6/1::2/tcp/1')
    const t2v6 = ma('/ip6/1::2/tcp/2')
    const t1 = ma('/ip4/1.2.3.4/tcp/1')
    assertRanks(defaultRanker, [t2v6, t1, t1v6], [[t1v6, 0], [t1, 250], [t2v6, 500]])
    const q1v6 = ma('/ip6/1::2/udp/1/quic-v1')
    const q2v6 = ma('/ip6/1::2/udp/2/quic-v1')
    const q1 = ma('/ip4/1.2.3.4/udp/1/quic-v1')
    assertRanks(defaultRanker, [q2v6, q1, q1v6, t2v6, t1, t1v6],
      [[q1v6, 0], [q1, 250], [q2v6, 500], [t1v6, 750], [t1, 1000], [t2v6, 1250]])
  })

  it('dials lower ports first among otherwise equal addresses', () => {
    const high = ma('/ip4/1.2.3.4/udp/4001/quic-v1')
    const low = ma('/ip4/1.2.3.4/udp/443/quic-v1')
    assertRanks(defaultRanker, [high, low], [[low, 0], [high, 250]])
    const tHigh = ma('/ip6/1::2/tcp/4001')
    const tLow = ma('/ip6/1::2/tcp/80')
    assertRanks(defaultRanker, [tHigh, tLow], [[tLow, 0], [tHigh, 250]])
  })

  it('returns addresses in go\'s order: score order, then the happy-eyeballs moves', () => {
    const q1v6 = ma('/ip6/1::2/udp/5/quic-v1')
    const draftV6 = ma('/ip6/1::2/udp/1/quic')
    const q1v4 = ma('/ip4/1.2.3.4/udp/1/quic-v1')
    const draftV4 = ma('/ip4/1.2.3.4/udp/1/quic')
    const wtV6 = ma('/ip6/1::2/udp/1/quic-v1/webtransport')
    const wtV4 = ma('/ip4/1.2.3.4/udp/1/quic-v1/webtransport')
    const tV6 = ma('/ip6/1::2/tcp/1')
    const tV4 = ma('/ip4/1.2.3.4/tcp/1')
    const wrtc = ma('/ip4/1.2.3.4/udp/1/webrtc-direct')
    const bare = ma('/ip4/1.2.3.4')
    const input = [bare, tV4, wrtc, wtV4, draftV4, tV6, q1v4, wtV6, draftV6, q1v6]
    const res = defaultRanker.rank(input)
    assert.deepEqual(res.map(r => [r.addr.toString(), r.delay]), [
      [q1v6, 0], [q1v4, 250], [draftV6, 500], [draftV4, 500], [wtV6, 500], [wtV4, 500],
      [tV6, 750], [tV4, 1000], [wrtc, 2000], [bare, 2000]
    ].map(([a, d]) => [a.toString(), d]))
    assert.deepEqual(noDelayRanker.rank(input).map(r => r.addr), res.map(r => r.addr))
  })

  it('treats a DNS name as non-IP, except localhost, which is private', () => {
    const q = ma('/ip4/1.2.3.4/udp/1/quic-v1')
    const dns = ma('/dns4/example.com/tcp/443')
    const local = ma('/dns4/localhost/tcp/1')
    assertRanks(defaultRanker, [dns, local, q], [[local, 0], [q, 0], [dns, 1000]])
  })

  it('dials non-IP addresses one second after the last ranked address, as go does', () => {
    // go takes the delay of the last entry, here the public group's only address (0), not the private group's
    // later TCP dial (30).
    const pvtQ = ma('/ip4/127.0.0.1/udp/1/quic-v1')
    const pvtT = ma('/ip4/127.0.0.1/tcp/1')
    const pub = ma('/ip4/1.2.3.4/udp/1/quic-v1')
    const onion = ma('/onion3/vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd:1234')
    assertRanks(defaultRanker, [onion, pvtT, pvtQ, pub], [[pvtQ, 0], [pvtT, 30], [pub, 0], [onion, 1000]])
  })

  it('does not change the input array', () => {
    const input = [ma('/ip4/1.2.3.4/tcp/1'), ma(`/ip4/1.2.3.4/tcp/2/p2p/${PEER}/p2p-circuit`), ma('/ip6/1::2/udp/1/quic-v1')]
    const copy = [...input]
    defaultRanker.rank(input)
    noDelayRanker.rank(input)
    assert.deepEqual(input, copy)
  })

  it('returns every address exactly once for 200 random mixes', () => {
    const random = mulberry32(0x5eed)
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]
    const hosts4 = ['1.2.3.4', '8.8.8.8', '127.0.0.1', '192.168.1.7', '10.1.2.3', '100.64.0.9', '192.0.0.170']
    const hosts6 = ['1::2', '2001:db8::5', '::1', 'fe80::1', 'fd00::3']
    const transports = ['udp/$p/quic-v1', 'udp/$p/quic', 'udp/$p/quic-v1/webtransport', 'tcp/$p', 'tcp/$p/ws',
      'udp/$p/webrtc-direct', '']
    const ports = ['1', '2', '443', '4001', '65535']
    const oneAddr = (): Multiaddr => {
      const kind = random()
      if (kind < 0.05) return ma('/onion3/vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd:1234')
      if (kind < 0.1) return ma(`/dns4/${pick(['example.com', 'localhost', 'a.localhost'])}/tcp/${pick(ports)}`)
      const ip = random() < 0.5 ? `/ip4/${pick(hosts4)}` : `/ip6/${pick(hosts6)}`
      const transport = pick(transports).replace('$p', pick(ports))
      const base = transport === '' ? ip : `${ip}/${transport}`
      return ma(random() < 0.2 ? `${base}/p2p/${PEER}/p2p-circuit` : base)
    }
    for (let round = 0; round < 200; round++) {
      const input = Array.from({ length: Math.floor(random() * 25) }, oneAddr)
      // Some inputs repeat an address object: each occurrence must come back.
      if (input.length > 0 && random() < 0.3) input.push(pick(input))
      for (const ranker of [defaultRanker, noDelayRanker]) {
        const res = ranker.rank(input)
        assert.equal(res.length, input.length)
        assert.deepEqual(countByIdentity(res.map(r => r.addr)), countByIdentity(input))
        for (const r of res) {
          assert.ok(Number.isFinite(r.delay) && r.delay >= 0, `bad delay ${r.delay}`)
          if (ranker === noDelayRanker) assert.equal(r.delay, 0)
        }
      }
    }
  })
})

describe('address classification (go\'s manet.IsPrivateAddr and isRelayAddr)', () => {
  it('counts go\'s private ranges, loopback and localhost names as private', () => {
    for (const addr of ['/ip4/127.0.0.1/tcp/1', '/ip4/10.0.0.1/tcp/1', '/ip4/100.64.1.1/tcp/1', '/ip4/172.31.255.255/tcp/1',
      '/ip4/192.168.0.1/udp/1/quic-v1', '/ip4/169.254.1.1/tcp/1', '/ip6/::1/tcp/1', '/ip6/fd12::1/tcp/1',
      '/ip6/fe80::1/tcp/1', '/ip6zone/eth0/ip6/fe80::1/tcp/1', '/dns4/localhost/tcp/1', '/dns/node.localhost/tcp/1']) {
      assert.equal(isPrivateAddr(ma(addr)), true, addr)
    }
  })

  it('counts everything else as not private, unlike @libp2p/utils for reserved ranges', () => {
    for (const addr of ['/ip4/1.2.3.4/tcp/1', '/ip4/192.0.0.170/tcp/1', '/ip4/172.32.0.1/tcp/1', '/ip4/100.128.0.1/tcp/1',
      '/ip6/2001:db8::1/tcp/1', '/ip6/1::2/tcp/1', '/ip6/::ffff:127.0.0.1/tcp/1', '/dns4/example.local/tcp/1',
      '/dns4/localhost.example.com/tcp/1', '/onion3/vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd:1234']) {
      assert.equal(isPrivateAddr(ma(addr)), false, addr)
    }
  })

  it('recognises relay addresses by /p2p-circuit', () => {
    assert.equal(isRelayAddr(ma(`/ip4/1.2.3.4/tcp/1/p2p/${PEER}/p2p-circuit`)), true)
    assert.equal(isRelayAddr(ma(`/ip4/1.2.3.4/tcp/1/p2p/${PEER}`)), false)
  })
})

function countByIdentity (addrs: readonly Multiaddr[]): Map<Multiaddr, number> {
  const counts = new Map<Multiaddr, number>()
  for (const a of addrs) counts.set(a, (counts.get(a) ?? 0) + 1)
  return counts
}

/** A small seeded PRNG, so that a failing mix can be reproduced. */
function mulberry32 (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
