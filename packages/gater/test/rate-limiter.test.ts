import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ManualClock } from '@tswarm/core/testing'
import { parseIp } from '../src/ip.js'
import { ConnectionRateLimiter, DEFAULT_RATE_LIMITS } from '../src/rate-limiter.js'

describe('ConnectionRateLimiter', () => {
  it('lets a burst through, then one per refill interval', () => {
    const clock = new ManualClock()
    const limiter = new ConnectionRateLimiter({ ipv4: [{ prefixLength: 32, perSecond: 2, burst: 3 }], ipv6: [] }, clock)
    const ip = parseIp('192.0.2.7')
    assert.deepEqual([1, 2, 3, 4].map(() => limiter.allow(ip)), [true, true, true, false])
    clock.advance(499)
    assert.equal(limiter.allow(ip), false, 'not a whole token yet')
    clock.advance(1)
    assert.equal(limiter.allow(ip), true)
    assert.equal(limiter.allow(ip), false)
    clock.advance(10_000)
    assert.deepEqual([1, 2, 3, 4].map(() => limiter.allow(ip)), [true, true, true, false], 'the bucket never holds more than the burst')
  })

  it('keeps one bucket per subnet of the prefix length', () => {
    const clock = new ManualClock()
    const limiter = new ConnectionRateLimiter({ ipv4: [{ prefixLength: 24, perSecond: 0, burst: 1 }], ipv6: [] }, clock)
    assert.equal(limiter.allow(parseIp('192.0.2.1')), true)
    assert.equal(limiter.allow(parseIp('192.0.2.200')), false, 'same /24')
    assert.equal(limiter.allow(parseIp('192.0.3.1')), true, 'another /24')
  })

  it('takes from every bucket only when all have a token (go\'s IPv6 defaults: /56 and /48)', () => {
    const clock = new ManualClock()
    const limiter = new ConnectionRateLimiter(DEFAULT_RATE_LIMITS, clock)
    // 80 hosts' worth of /56s inside one /48: the /48 bucket (burst 80) runs out before any /56 bucket (16).
    let allowed = 0
    for (let host = 0; host < 10; host++) {
      for (let i = 0; i < 16; i++) if (limiter.allow(parseIp(`2001:db8:0:${(host << 8).toString(16)}::${i + 1}`))) allowed++
    }
    assert.equal(allowed, 80)
    assert.equal(limiter.allow(parseIp('2001:db8:1::1')), true, 'another /48 has its own budget')
  })

  it('drops buckets that refilled, so memory follows recent sources only', () => {
    const clock = new ManualClock()
    const limiter = new ConnectionRateLimiter({ ipv4: [{ prefixLength: 32, perSecond: 1, burst: 2 }], ipv6: [] }, clock)
    for (let i = 0; i < 100; i++) limiter.allow(parseIp(`10.0.0.${i}`))
    assert.equal(limiter.size, 100)
    clock.advance(60_000)
    limiter.allow(parseIp('10.0.1.1'))
    assert.equal(limiter.size, 1)
  })
})
