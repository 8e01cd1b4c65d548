import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseCidr } from '../src/ip.js'

// The address and subnet types are core's (packages/core/test/net/ip.test.ts tests them); the gater re-exports them.
describe('one CIDR type', () => {
  it('re-exports core\'s address and subnet types and errors, so rules and core share them', async () => {
    const core = await import('@tswarm/core')
    const gater = await import('../src/index.js')
    assert.equal(gater.Cidr, core.Cidr)
    assert.equal(gater.IpAddress, core.IpAddress)
    assert.equal(gater.parseCidr, core.parseCidr)
    assert.equal(gater.parseIp, core.parseIp)
    assert.equal(gater.InvalidCidrError, core.InvalidCidrError)
    assert.equal(gater.InvalidIpAddressError, core.InvalidIpAddressError)
    assert.ok(parseCidr('10.0.0.0/8') instanceof core.Cidr)
  })
})
