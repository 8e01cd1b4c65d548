import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import * as core from '../../src/index.js'
import {
  classifyAddr, classifyIp, isIp6LinkLocal, isIpLoopback, isIpUnspecified, isNat64Addr, isPrivateAddr, isPublicAddr
} from '../../src/net/addr-class.js'
import { parseIp } from '../../src/net/ip.js'
import { ADDR_TABLE, IP_TABLE } from './addr-class-table.js'
import type { Flag } from './addr-class-table.js'
import type { Multiaddr } from '@multiformats/multiaddr'

const PREDICATES: Record<Flag, (addr: Multiaddr) => boolean> = {
  loopback: isIpLoopback,
  unspecified: isIpUnspecified,
  'ip6-link-local': isIp6LinkLocal,
  private: isPrivateAddr,
  public: isPublicAddr,
  nat64: isNat64Addr
}

describe('address classes (go-multiaddr manet as the reference)', () => {
  it(`classes ${ADDR_TABLE.length} multiaddrs as go does`, () => {
    const failures: string[] = []
    for (const [text, cls, flags] of ADDR_TABLE) {
      const addr = multiaddr(text)
      const expected = new Set(flags.split(' ').filter(f => f !== ''))
      for (const f of expected) assert.ok(f in PREDICATES, `${text}: unknown flag ${f}`)
      const got = classifyAddr(addr)
      if (got !== cls) failures.push(`${text}: class ${got}, expected ${cls}`)
      for (const [flag, predicate] of Object.entries(PREDICATES)) {
        const value = predicate(addr)
        if (value !== expected.has(flag)) failures.push(`${text}: ${flag} is ${String(value)}, expected ${String(!value)}`)
      }
    }
    assert.deepEqual(failures, [])
  })

  it(`classes ${IP_TABLE.length} IP strings, IPv4-mapped ones as IPv4`, () => {
    for (const [ip, cls] of IP_TABLE) {
      assert.equal(classifyIp(ip), cls, ip)
      assert.equal(classifyIp(parseIp(ip)), cls, `${ip} as an IpAddress`)
    }
  })

  it('is public exactly when the class is public or dns', () => {
    for (const [text] of ADDR_TABLE) {
      const addr = multiaddr(text)
      const cls = classifyAddr(addr)
      assert.equal(isPublicAddr(addr), cls === 'public' || cls === 'dns', text)
    }
  })

  it('expands unspecified listen addresses to interface addresses of the family, leaving link-local ones out', async () => {
    const { expandUnspecified } = await import('../../src/swarm/addrs.js')
    assert.deepEqual(expandUnspecified(multiaddr('/ip4/1.2.3.4/tcp/1')).map(String), ['/ip4/1.2.3.4/tcp/1'])
    assert.deepEqual(expandUnspecified(multiaddr('/ip6zone/eth0/ip6/::/tcp/1')).map(String), ['/ip6zone/eth0/ip6/::/tcp/1'],
      'as go\'s ResolveUnspecifiedAddress, only a first IP component is expanded')
    const v4 = expandUnspecified(multiaddr('/ip4/0.0.0.0/tcp/1'))
    assert.ok(v4.length > 0 && v4.every(a => a.toString().startsWith('/ip4/') && a.toString().endsWith('/tcp/1') && !isIpUnspecified(a)), v4.join(', '))
    assert.ok(v4.some(a => isIpLoopback(a)), 'loopback is an interface address')
    const v6 = expandUnspecified(multiaddr('/ip6/::/udp/1/quic-v1'))
    assert.ok(v6.every(a => a.toString().startsWith('/ip6/') && !isIp6LinkLocal(a) && !isIpUnspecified(a)), v6.join(', '))
  })

  it('refuses IP strings that are not addresses with an InvalidIpAddressError', () => {
    for (const bad of ['', 'localhost', '10.0.0.0/8', '1.2.3']) {
      assert.throws(() => classifyIp(bad), { name: 'InvalidIpAddressError' }, bad)
    }
  })

  it('is the one classifier: core exports it, and the old homes of its predicates re-export the same functions', async () => {
    const ranker = await import('../../src/dial/ranker.js')
    const blackHole = await import('../../src/dial/black-hole.js')
    const addrs = await import('../../src/swarm/addrs.js')
    assert.equal(core.isPrivateAddr, isPrivateAddr)
    assert.equal(core.isPublicAddr, isPublicAddr)
    assert.equal(core.isIpLoopback, isIpLoopback)
    assert.equal(ranker.isPrivateAddr, isPrivateAddr)
    assert.equal(blackHole.isPublicAddr, isPublicAddr)
    assert.equal(addrs.isIp6LinkLocal, isIp6LinkLocal)
    for (const [text, , flags] of ADDR_TABLE) {
      assert.equal(addrs.isUnspecified(multiaddr(text)), flags.split(' ').includes('unspecified'), text)
    }
  })
})
