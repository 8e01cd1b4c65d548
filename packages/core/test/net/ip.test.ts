import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { InvalidCidrError, SwarmError, errorIs } from '../../src/errors.js'
import { Cidr, IpAddress, ipOfMultiaddr, parseCidr, parseIp, toCidr, toIp, tryParseIp } from '../../src/net/ip.js'

describe('parseIp', () => {
  it('parses IPv4 and IPv6, printing canonical text', () => {
    assert.equal(parseIp('192.0.2.7').toString(), '192.0.2.7')
    assert.equal(parseIp('2001:DB8:0:0:0:0:0:7').toString(), '2001:db8::7')
    assert.equal(parseIp('::').toString(), '::')
    assert.equal(parseIp('::1').toString(), '::1')
    assert.equal(parseIp('1:0:0:2:0:0:0:3').toString(), '1:0:0:2::3', 'the longest zero run is compressed')
    assert.equal(parseIp('1:0:0:2:3:0:0:4').toString(), '1::2:3:0:0:4', 'the first run wins a tie')
    assert.equal(parseIp('1:2:3:4:5:6:0:8').toString(), '1:2:3:4:5:6:0:8', 'a single zero word is not compressed')
    assert.equal(parseIp('fe80::1%eth0').toString(), 'fe80::1', 'the zone is dropped')
  })

  it('reads IPv4-mapped IPv6 addresses as the IPv4 address', () => {
    const ip = parseIp('::ffff:192.0.2.7')
    assert.equal(ip.family, 4)
    assert.equal(ip.toString(), '192.0.2.7')
    assert.equal(parseIp('::ffff:c000:207').toString(), '192.0.2.7')
  })

  it('knows loopback and unspecified addresses', () => {
    assert.ok(parseIp('127.0.0.1').isLoopback)
    assert.ok(parseIp('127.255.0.9').isLoopback)
    assert.ok(parseIp('::1').isLoopback)
    assert.ok(parseIp('::ffff:127.0.0.1').isLoopback)
    assert.ok(!parseIp('128.0.0.1').isLoopback)
    assert.ok(!parseIp('::2').isLoopback)
    assert.ok(parseIp('0.0.0.0').isUnspecified)
    assert.ok(parseIp('::').isUnspecified)
    assert.ok(parseIp('::ffff:0.0.0.0').isUnspecified)
    assert.ok(!parseIp('::1').isUnspecified)
  })

  it('refuses anything else with an InvalidIpAddressError', () => {
    for (const bad of ['', '1.2.3', '256.1.1.1', '01.2.3.4', ' 1.2.3.4', '1:2:3:4:5:6:7:8:9', 'localhost', '10.0.0.0/8']) {
      assert.throws(() => parseIp(bad), (err: Error) => err.name === 'InvalidIpAddressError' && err.message.includes(bad), bad)
      assert.equal(tryParseIp(bad), undefined, bad)
    }
    assert.throws(() => parseIp(7 as unknown as string), { name: 'InvalidIpAddressError' })
    assert.throws(() => new IpAddress(4, new Uint8Array(16)), { name: 'InvalidIpAddressError' })
  })
})

describe('Cidr', () => {
  it('parses subnets, clearing host bits', () => {
    assert.equal(parseCidr('10.1.2.3/8').toString(), '10.0.0.0/8')
    assert.equal(parseCidr('2001:db8:ffff::1/32').toString(), '2001:db8::/32')
    assert.equal(parseCidr('0.0.0.0/0').toString(), '0.0.0.0/0')
    assert.equal(parseCidr('192.0.2.7').toString(), '192.0.2.7/32', 'a bare address is its own subnet')
    assert.equal(parseCidr('2001:db8::7').toString(), '2001:db8::7/128')
    assert.equal(parseCidr('::ffff:10.0.0.0/104').toString(), '10.0.0.0/8', 'a mapped subnet is the IPv4 subnet')
    assert.equal(parseCidr('fe80::/10').toString(), 'fe80::/10')
    assert.equal(parseCidr('100.64.0.0/10').prefixLength, 10)
    assert.equal(parseCidr('100.64.0.0/10').family, 4)
    assert.equal(parseCidr('fc00::/7').family, 6)
    assert.equal(parseCidr('10.0.0.0/8').key, parseIp('10.9.9.9').prefixKey(8))
  })

  it('matches addresses of its family only', () => {
    const v4 = parseCidr('10.0.0.0/8')
    assert.ok(v4.contains(parseIp('10.255.1.2')))
    assert.ok(v4.contains(parseIp('::ffff:10.0.0.1')))
    assert.ok(!v4.contains(parseIp('11.0.0.0')))
    assert.ok(!v4.contains(parseIp('::a00:1')), 'an IPv6 address with the same low bits is not in an IPv4 subnet')
    const v6 = parseCidr('2001:db8::/33')
    assert.ok(v6.contains(parseIp('2001:db8:7fff::1')))
    assert.ok(!v6.contains(parseIp('2001:db8:8000::1')))
    assert.ok(parseCidr('::/0').contains(parseIp('2001:db8::1')))
    assert.ok(!parseCidr('::/0').contains(parseIp('1.2.3.4')))
  })

  it('contains the addresses of its range and no others, at odd prefix lengths too', () => {
    const cgnat = parseCidr('100.64.0.0/10')
    for (const ip of ['100.64.0.0', '100.100.100.100', '100.127.255.255']) assert.ok(cgnat.contains(ip), ip)
    for (const ip of ['100.63.255.255', '100.128.0.0', '::ffff:100.128.0.0']) assert.ok(!cgnat.contains(ip), ip)
    const ula = parseCidr('fc00::/7')
    assert.ok(ula.contains('fc00::'))
    assert.ok(ula.contains('fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'))
    assert.ok(!ula.contains('fe00::'))
    assert.ok(!ula.contains('fbff::'))
    const one = parseCidr('192.0.2.7/32')
    assert.ok(one.contains('192.0.2.7'))
    assert.ok(!one.contains('192.0.2.6'))
    assert.ok(parseCidr('0.0.0.0/0').contains('255.255.255.255'))
    assert.ok(parseCidr('::1/128').contains('::1'))
    assert.ok(!parseCidr('::1/128').contains('::'))
    assert.throws(() => cgnat.contains('not-an-ip'), { name: 'InvalidIpAddressError' })
  })

  it('refuses malformed subnets with an InvalidCidrError', () => {
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0/8', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8/8', 'ten/8', '/8', '10.0.0.0/0x8', '::ffff:10.0.0.0/90',
      '', '10.0.0.0/8 ', '10.0.0.0/ 8', '10.0.0.0/1000', 'fe80::/200', 'fe80::%eth0/10x']) {
      assert.throws(() => parseCidr(bad), (err: Error) => {
        assert.equal(err.name, 'InvalidCidrError', bad)
        assert.ok(err instanceof SwarmError, bad)
        assert.ok(err instanceof InvalidCidrError, bad)
        assert.ok(errorIs(err, 'InvalidCidrError'))
        assert.match(err.message, /invalid CIDR/)
        assert.equal((err as InvalidCidrError).input, bad)
        assert.ok((err as InvalidCidrError).problem.length > 0)
        return true
      })
    }
    assert.throws(() => parseCidr(8 as unknown as string), { name: 'InvalidCidrError' })
    assert.throws(() => new Cidr(parseIp('10.0.0.0'), 33), { name: 'InvalidCidrError' })
    assert.throws(() => new Cidr(parseIp('::'), 1.5), { name: 'InvalidCidrError' })
  })

  it('says what is wrong', () => {
    assert.throws(() => parseCidr('10.0.0.0/33'), /an IPv4 prefix length is 0 to 32/)
    assert.throws(() => parseCidr('::/129'), /an IPv6 prefix length is 0 to 128/)
    assert.throws(() => parseCidr('::ffff:10.0.0.0/90'), /an IPv4-mapped IPv6 prefix length is 96 to 128/)
    assert.throws(() => parseCidr('ten/8'), /"ten" is not an IPv4 or IPv6 address/)
    assert.throws(() => parseCidr('10.0.0.0/x'), /the prefix length "x" is not a number/)
    assert.throws(() => parseCidr(`${'1'.repeat(300)}/8`), (err: Error) => err.message.length < 400)
  })

  it('toCidr takes a Cidr as is and parses a string', () => {
    const c = parseCidr('10.0.0.0/8')
    assert.equal(toCidr(c), c)
    assert.equal(toCidr('10.0.0.0/8').toString(), '10.0.0.0/8')
  })
})

describe('IP addresses from multiaddrs', () => {
  it('takes the address a multiaddr starts with', () => {
    assert.equal(ipOfMultiaddr(multiaddr('/ip4/192.0.2.7/tcp/1'))?.toString(), '192.0.2.7')
    assert.equal(ipOfMultiaddr(multiaddr('/ip6/2001:db8::7/udp/1/quic-v1'))?.toString(), '2001:db8::7')
    assert.equal(ipOfMultiaddr(multiaddr('/ip6zone/eth0/ip6/fe80::1/tcp/1'))?.toString(), 'fe80::1')
    assert.equal(ipOfMultiaddr(multiaddr('/ip6/::ffff:192.0.2.7/tcp/1'))?.toString(), '192.0.2.7')
    assert.equal(ipOfMultiaddr(multiaddr('/dns4/example.com/tcp/1')), undefined)
    assert.equal(ipOfMultiaddr(multiaddr('/memory/x')), undefined)
  })

  it('accepts addresses and multiaddrs as rule input, and says what is wrong otherwise', () => {
    assert.equal(toIp('/ip4/192.0.2.7/tcp/1').toString(), '192.0.2.7')
    assert.equal(toIp(multiaddr('/ip6/::1/tcp/1')).toString(), '::1')
    assert.throws(() => toIp('/dns4/example.com/tcp/1'), /does not start with \/ip4 or \/ip6/)
    assert.throws(() => toIp(multiaddr('/memory/x')), { name: 'InvalidIpAddressError' })
  })
})
