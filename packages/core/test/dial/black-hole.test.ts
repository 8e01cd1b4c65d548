import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { BlackHoleDetector, BlackHoleSuccessCounter, isPublicAddr } from '../../src/dial/black-hole.js'
import type { BlackHoleFilterResult } from '../../src/dial/black-hole.js'
import type { Multiaddr } from '@multiformats/multiaddr'

// go's tests use 2001::1 as a public IPv6 address; @libp2p/utils counts 2001::/32 (Teredo) as private, so a plainly
// global address stands in for it here.
const PUBLIC6 = '2600::1'

/** Order-insensitive comparison by string form (go's require.ElementsMatch). */
function assertSameAddrs (actual: readonly Multiaddr[], expected: readonly Multiaddr[]): void {
  assert.deepEqual(actual.map(String).sort(), expected.map(String).sort())
}

function assertFiltered (got: BlackHoleFilterResult, allowed: readonly Multiaddr[], blackHoled: readonly Multiaddr[]): void {
  assertSameAddrs(got.allowed, allowed)
  assertSameAddrs(got.blackHoled, blackHoled)
}

describe('BlackHoleSuccessCounter (go black_hole_detector_test)', () => {
  it('has go\'s defaults', () => {
    const c = new BlackHoleSuccessCounter()
    assert.equal(c.n, 100)
    assert.equal(c.minSuccesses, 5)
    assert.equal(c.state(), 'probing')
  })

  it('TestBlackHoleSuccessCounterReset: probes up to n, then every n-th request, and resets on a success', () => {
    const n = 10
    const c = new BlackHoleSuccessCounter({ n, minSuccesses: 2, name: 'test' })
    for (let i = 1; i <= n; i++) {
      assert.equal(c.handleRequest(), 'probing', `request ${i}`)
      assert.equal(c.state(), 'probing')
      c.recordResult(false)
    }

    for (let i = n + 1; i < 42; i++) {
      assert.equal(c.handleRequest(), i % n === 0 ? 'probing' : 'blocked', `request ${i}`)
      assert.equal(c.state(), 'blocked')
    }

    c.recordResult(true)
    for (let i = 0; i < n; i++) {
      assert.equal(c.handleRequest(), 'probing', `request ${i} after reset`)
      assert.equal(c.state(), 'probing')
      c.recordResult(false)
    }

    assert.equal(c.handleRequest(), 'blocked')
    assert.equal(c.state(), 'blocked')
  })

  describe('TestBlackHoleSuccessCounterSuccessFraction: allowed iff successes >= minSuccesses', () => {
    const n = 10
    const cases = [
      { minSuccesses: 5, successes: 5, result: 'allowed' },
      { minSuccesses: 3, successes: 3, result: 'allowed' },
      { minSuccesses: 5, successes: 4, result: 'blocked' },
      { minSuccesses: 5, successes: 7, result: 'allowed' },
      { minSuccesses: 3, successes: 1, result: 'blocked' },
      { minSuccesses: 0, successes: 0, result: 'allowed' },
      { minSuccesses: 10, successes: 10, result: 'allowed' }
    ] as const
    cases.forEach((tc, i) => {
      it(`case-${i}: ${tc.successes}/${n} with minSuccesses ${tc.minSuccesses} is ${tc.result}`, () => {
        const c = new BlackHoleSuccessCounter({ n, minSuccesses: tc.minSuccesses })
        for (let j = 0; j < tc.successes; j++) c.recordResult(true)
        for (let j = 0; j < n - tc.successes; j++) c.recordResult(false)
        assert.equal(c.handleRequest(), tc.result)
      })
    })
  })

  it('keeps a sliding window of the last n results', () => {
    const c = new BlackHoleSuccessCounter({ n: 4, minSuccesses: 2 })
    for (const r of [true, true, false, false]) c.recordResult(r)
    assert.equal(c.state(), 'allowed')
    c.recordResult(false) // the oldest success falls out: 1 of 4
    assert.equal(c.state(), 'blocked')
    assert.deepEqual(c.stats(), { name: '', state: 'blocked', successFraction: 0.25, nextRequestAllowedAfter: 4 })
  })

  it('hasPassedRequest counts a request and says whether it may go ahead', () => {
    const c = new BlackHoleSuccessCounter({ n: 3, minSuccesses: 1 })
    for (let i = 0; i < 3; i++) c.recordResult(false)
    assert.deepEqual([c.hasPassedRequest(), c.hasPassedRequest(), c.hasPassedRequest(), c.hasPassedRequest()], [false, false, true, false])
  })

  it('stats() reports state, success fraction and requests until the next probe (go info())', () => {
    const c = new BlackHoleSuccessCounter({ n: 5, minSuccesses: 1, name: 'UDP' })
    assert.deepEqual(c.stats(), { name: 'UDP', state: 'probing', successFraction: 0, nextRequestAllowedAfter: 0 })
    c.recordResult(true)
    c.recordResult(false)
    assert.deepEqual(c.stats(), { name: 'UDP', state: 'probing', successFraction: 0.5, nextRequestAllowedAfter: 0 })
    for (let i = 0; i < 5; i++) c.recordResult(false)
    assert.equal(c.state(), 'blocked')
    c.handleRequest()
    c.handleRequest()
    assert.deepEqual(c.stats(), { name: 'UDP', state: 'blocked', successFraction: 0, nextRequestAllowedAfter: 3 })
  })

  it('validates its options', () => {
    for (const n of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new BlackHoleSuccessCounter({ n }), { name: 'InvalidOptionError' })
    }
    for (const minSuccesses of [-1, 11, 0.5]) {
      assert.throws(() => new BlackHoleSuccessCounter({ n: 10, minSuccesses }), { name: 'InvalidOptionError' })
    }
    assert.doesNotThrow(() => new BlackHoleSuccessCounter({ n: 1, minSuccesses: 0 }))
  })
})

describe('BlackHoleDetector (go black_hole_detector_test)', () => {
  it('TestBlackHoleDetectorInApplicableAddress: public TCP and private UDP/IPv6 are never filtered', () => {
    const d = new BlackHoleDetector({
      udp: new BlackHoleSuccessCounter({ n: 10, minSuccesses: 5 }),
      ipv6: new BlackHoleSuccessCounter({ n: 10, minSuccesses: 5 })
    })
    const addrs = [
      multiaddr('/ip4/1.2.3.4/tcp/1234'),
      multiaddr('/ip4/1.2.3.4/tcp/1233'),
      multiaddr('/ip6/::1/udp/1234/quic-v1'),
      multiaddr('/ip4/192.168.1.5/udp/1234/quic-v1')
    ]
    for (let i = 0; i < 1000; i++) {
      assertFiltered(d.filterAddrs(addrs), addrs, [])
      for (const a of addrs) d.recordResult(a, false)
    }
    assert.equal(d.udp?.state(), 'probing')
    assert.equal(d.ipv6?.state(), 'probing')
  })

  it('TestBlackHoleDetectorUDPDisabled: with no UDP counter, UDP failures never filter', () => {
    const d = new BlackHoleDetector({ udp: null, ipv6: new BlackHoleSuccessCounter({ n: 10, minSuccesses: 5 }) })
    const publicAddr = multiaddr('/ip4/1.2.3.4/udp/1234/quic-v1')
    const privAddr = multiaddr('/ip4/192.168.1.5/udp/1234/quic-v1')
    for (let i = 0; i < 100; i++) d.recordResult(publicAddr, false)
    assertFiltered(d.filterAddrs([publicAddr, privAddr]), [publicAddr, privAddr], [])
  })

  it('TestBlackHoleDetectorIPv6Disabled: with no IPv6 counter, IPv6 failures never filter', () => {
    const d = new BlackHoleDetector({ udp: new BlackHoleSuccessCounter({ n: 10, minSuccesses: 5 }), ipv6: null })
    const publicAddr = multiaddr(`/ip6/${PUBLIC6}/tcp/1234`)
    const privAddr = multiaddr('/ip6/::1/tcp/1234')
    for (let i = 0; i < 100; i++) d.recordResult(publicAddr, false)
    assertFiltered(d.filterAddrs([publicAddr, privAddr]), [publicAddr, privAddr], [])
  })

  it('TestBlackHoleDetectorProbes: a UDP-over-IPv6 address passes when either counter probes', () => {
    const d = new BlackHoleDetector({
      udp: new BlackHoleSuccessCounter({ n: 2, minSuccesses: 1, name: 'udp' }),
      ipv6: new BlackHoleSuccessCounter({ n: 3, minSuccesses: 1, name: 'ipv6' })
    })
    const udp6 = multiaddr(`/ip6/${PUBLIC6}/udp/1234/quic-v1`)
    for (let i = 0; i < 3; i++) d.recordResult(udp6, false)
    assert.equal(d.udp?.state(), 'blocked')
    assert.equal(d.ipv6?.state(), 'blocked')
    for (let i = 1; i < 100; i++) {
      const { allowed, blackHoled } = d.filterAddrs([udp6])
      if (i % 2 === 0 || i % 3 === 0) {
        assert.equal(allowed.length, 1, `request ${i} should be a probe`)
        assert.equal(blackHoled.length, 0)
      } else {
        assert.equal(allowed.length, 0, `request ${i} should be blocked`)
        assert.equal(blackHoled.length, 1)
      }
    }
  })

  describe('TestBlackHoleDetectorAddrFiltering: udp/tcp × v4/v6 × public/private', () => {
    const udp6Pub = multiaddr(`/ip6/${PUBLIC6}/udp/1234/quic-v1`)
    const udp6Pri = multiaddr('/ip6/::1/udp/1234/quic-v1')
    const udp4Pub = multiaddr('/ip4/1.2.3.4/udp/1234/quic-v1')
    const udp4Pri = multiaddr('/ip4/192.168.1.5/udp/1234/quic-v1')
    const tcp6Pub = multiaddr(`/ip6/${PUBLIC6}/tcp/1234/quic-v1`)
    const tcp6Pri = multiaddr('/ip6/::1/tcp/1234/quic-v1')
    const tcp4Pub = multiaddr('/ip4/1.2.3.4/tcp/1234/quic-v1')
    const tcp4Pri = multiaddr('/ip4/192.168.1.5/tcp/1234/quic-v1')
    const all = [udp6Pub, udp6Pri, udp4Pub, udp4Pri, tcp6Pub, tcp6Pri, tcp4Pub, tcp4Pri]

    function makeDetector (udpBlocked: boolean, ipv6Blocked: boolean): BlackHoleDetector {
      const d = new BlackHoleDetector({
        udp: new BlackHoleSuccessCounter({ n: 100, minSuccesses: 10, name: 'udp' }),
        ipv6: new BlackHoleSuccessCounter({ n: 100, minSuccesses: 10, name: 'ipv6' })
      })
      for (let i = 0; i < 100; i++) d.recordResult(udp4Pub, !udpBlocked)
      for (let i = 0; i < 100; i++) d.recordResult(tcp6Pub, !ipv6Blocked)
      return d
    }

    it('UDP blocked: public udp4 and udp6 are removed', () => {
      assertFiltered(makeDetector(true, false).filterAddrs(all),
        [udp6Pri, udp4Pri, tcp6Pub, tcp6Pri, tcp4Pub, tcp4Pri], [udp6Pub, udp4Pub])
    })

    it('IPv6 blocked: public udp6 and tcp6 are removed', () => {
      assertFiltered(makeDetector(false, true).filterAddrs(all),
        [udp6Pri, udp4Pub, udp4Pri, tcp6Pri, tcp4Pub, tcp4Pri], [udp6Pub, tcp6Pub])
    })

    it('both blocked: the union is removed', () => {
      assertFiltered(makeDetector(true, true).filterAddrs(all),
        [udp6Pri, udp4Pri, tcp6Pri, tcp4Pub, tcp4Pri], [udp6Pub, tcp6Pub, udp4Pub])
    })

    it('neither blocked: nothing is removed, and the input order is kept', () => {
      const { allowed, blackHoled } = makeDetector(false, false).filterAddrs(all)
      assert.deepEqual(allowed.map(String), all.map(String))
      assert.deepEqual(blackHoled, [])
    })
  })

  it('TestBlackHoleDetectorReadOnlyMode: refuses unless allowed, never learns, sees a shared counter\'s learning', () => {
    const d = new BlackHoleDetector({
      udp: new BlackHoleSuccessCounter({ n: 10, minSuccesses: 5 }),
      ipv6: new BlackHoleSuccessCounter({ n: 10, minSuccesses: 5 }),
      readOnly: true
    })
    const publicAddr = multiaddr('/ip4/1.2.3.4/udp/1234/quic-v1')
    const privAddr = multiaddr('/ip6/::1/tcp/1234')
    for (let i = 0; i < 100; i++) d.recordResult(publicAddr, true)
    // Still probing, since the read-only detector recorded nothing; read-only refuses anything not known to work.
    assert.equal(d.udp?.state(), 'probing')
    assertFiltered(d.filterAddrs([privAddr, publicAddr]), [privAddr], [publicAddr])

    const writer = new BlackHoleDetector({ udp: d.udp, ipv6: d.ipv6, readOnly: false })
    for (let i = 0; i < 100; i++) writer.recordResult(publicAddr, true)
    assertFiltered(d.filterAddrs([privAddr, publicAddr]), [privAddr, publicAddr], [])
  })

  it('read-only mode does not count requests, so a shared counter\'s probe schedule is unchanged', () => {
    const udp = new BlackHoleSuccessCounter({ n: 3, minSuccesses: 1 })
    const readOnly = new BlackHoleDetector({ udp, ipv6: null, readOnly: true })
    const writer = new BlackHoleDetector({ udp, ipv6: null })
    const addr = multiaddr('/ip4/1.2.3.4/udp/1234/quic-v1')
    for (let i = 0; i < 3; i++) writer.recordResult(addr, false)
    for (let i = 0; i < 10; i++) assert.equal(readOnly.filterAddrs([addr]).allowed.length, 0)
    assert.equal(udp.stats().nextRequestAllowedAfter, 3)
  })

  it('a filter call with no address of a class does not count a request on that class', () => {
    const udp = new BlackHoleSuccessCounter({ n: 3, minSuccesses: 1 })
    const d = new BlackHoleDetector({ udp, ipv6: null })
    const udpAddr = multiaddr('/ip4/1.2.3.4/udp/1234/quic-v1')
    for (let i = 0; i < 3; i++) d.recordResult(udpAddr, false)
    for (let i = 0; i < 5; i++) d.filterAddrs([multiaddr('/ip4/1.2.3.4/tcp/1234'), multiaddr('/ip4/10.0.0.1/udp/1')])
    assert.equal(udp.stats().nextRequestAllowedAfter, 3)
  })

  it('uses go\'s default counters (n=100, minSuccesses=5, named UDP and IPv6) unless given, and null disables', () => {
    const d = new BlackHoleDetector()
    assert.equal(d.udp?.name, 'UDP')
    assert.equal(d.ipv6?.name, 'IPv6')
    assert.equal(d.udp?.n, 100)
    assert.equal(d.ipv6?.minSuccesses, 5)
    assert.equal(d.readOnly, false)
    const none = new BlackHoleDetector({ udp: null, ipv6: null })
    assert.equal(none.udp, null)
    assert.equal(none.ipv6, null)
  })

  it('a success while blocked resets the counter, letting the class through again', () => {
    const d = new BlackHoleDetector({ udp: new BlackHoleSuccessCounter({ n: 5, minSuccesses: 1 }), ipv6: null })
    const addr = multiaddr('/ip4/1.2.3.4/udp/1234/quic-v1')
    for (let i = 0; i < 5; i++) d.recordResult(addr, false)
    assert.equal(d.filterAddrs([addr]).blackHoled.length, 1)
    d.recordResult(addr, true)
    assert.equal(d.udp?.state(), 'probing')
    assert.equal(d.filterAddrs([addr]).allowed.length, 1)
  })
})

describe('isPublicAddr (which addresses the detector counts)', () => {
  it('counts public IP and DNS addresses', () => {
    for (const a of ['/ip4/1.2.3.4/udp/1/quic-v1', `/ip6/${PUBLIC6}/tcp/1`, '/dns4/example.com/udp/1/quic-v1', '/ip6/64:ff9b::102:304/tcp/1']) {
      assert.equal(isPublicAddr(multiaddr(a)), true, a)
    }
  })

  it('ignores private, loopback, link-local, unspecified and non-IP addresses', () => {
    for (const a of ['/ip4/10.0.0.1/udp/1', '/ip4/127.0.0.1/udp/1', '/ip6/::1/udp/1', '/ip4/169.254.1.1/udp/1',
      '/ip6/fe80::1/udp/1', '/ip6zone/eth0/ip6/fe80::1/udp/1', '/ip6/fd00::1/udp/1', '/ip4/0.0.0.0/udp/1',
      '/ip6/::/udp/1', '/dns4/localhost/udp/1', '/memory/x']) {
      assert.equal(isPublicAddr(multiaddr(a)), false, a)
    }
  })

  it('treats 2001::/32 (Teredo) as public, as go does (it used to follow @libp2p/utils isPrivate, which does not)', () => {
    assert.equal(isPublicAddr(multiaddr('/ip6/2001::1/udp/1234/quic-v1')), true)
  })

  it('ignores what go counts neither private nor public: unroutable, special-use names, IPv4-mapped', () => {
    for (const a of ['/ip4/192.0.2.1/udp/1', '/ip4/224.0.0.1/udp/1', '/ip6/2001:db8::1/udp/1', '/ip6/ff0e::1/udp/1',
      '/dns4/printer.local/udp/1', '/dns4/node.localhost/udp/1', '/ip6/::ffff:1.2.3.4/udp/1', '/ip6/100::1/udp/1']) {
      assert.equal(isPublicAddr(multiaddr(a)), false, a)
    }
  })

  it('counts a zoned public IPv6 address as IPv6, as go (an ip6 component anywhere)', () => {
    const d = new BlackHoleDetector({ udp: null, ipv6: new BlackHoleSuccessCounter({ n: 2, minSuccesses: 1 }) })
    const zoned = multiaddr('/ip6zone/eth0/ip6/2600::1/tcp/1')
    d.recordResult(zoned, false)
    d.recordResult(zoned, false)
    assert.equal(d.ipv6?.state(), 'blocked')
  })
})
