import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseIp } from '../src/ip.js'
import { DEFAULT_SUBNET_LIMITS, SubnetConnLimiter } from '../src/subnet-limiter.js'

describe('SubnetConnLimiter', () => {
  it('caps an IPv4 address at 8 by default and gives slots back', () => {
    const limiter = new SubnetConnLimiter(DEFAULT_SUBNET_LIMITS)
    const ip = parseIp('192.0.2.7')
    const held = Array.from({ length: 8 }, () => limiter.tryAdd(ip))
    assert.ok(held.every(r => r !== undefined))
    assert.equal(limiter.tryAdd(ip), undefined)
    assert.ok(limiter.tryAdd(parseIp('192.0.2.8')) !== undefined, 'another address has its own cap')
    limiter.release(held[0] ?? [])
    assert.ok(limiter.tryAdd(ip) !== undefined)
    assert.equal(limiter.count(ip), 8)
  })

  it('applies go\'s IPv6 defaults: 8 per /56 and 64 per /48', () => {
    const limiter = new SubnetConnLimiter(DEFAULT_SUBNET_LIMITS)
    let allowed = 0
    for (let site = 0; site < 10; site++) {
      for (let i = 0; i < 10; i++) if (limiter.tryAdd(parseIp(`2001:db8:0:${(site << 8).toString(16)}::${i + 1}`)) !== undefined) allowed++
    }
    assert.equal(allowed, 64, 'eight /56s of 8 fill the /48')
    assert.equal(limiter.count(parseIp('2001:db8::1'), 1), 64)
  })

  it('counts nothing when a cap refuses', () => {
    const limiter = new SubnetConnLimiter({ ipv4: [{ prefixLength: 32, maxConnections: 5 }, { prefixLength: 24, maxConnections: 1 }], ipv6: [] })
    assert.ok(limiter.tryAdd(parseIp('192.0.2.1')) !== undefined)
    assert.equal(limiter.tryAdd(parseIp('192.0.2.2')), undefined)
    assert.equal(limiter.count(parseIp('192.0.2.2')), 0, 'the /32 count was not taken')
  })
})
