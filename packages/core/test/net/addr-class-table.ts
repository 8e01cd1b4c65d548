import type { AddrClass } from '../../src/net/addr-class.js'

/** go manet predicates, by the names the table uses. */
export type Flag = 'loopback' | 'unspecified' | 'ip6-link-local' | 'private' | 'public' | 'nat64'

/**
 * Multiaddrs, their class, and which of go's manet predicates hold for them (space-separated, in any order):
 * `loopback` IsIPLoopback, `unspecified` IsIPUnspecified, `ip6-link-local` IsIP6LinkLocal, `private` IsPrivateAddr,
 * `public` IsPublicAddr, `nat64` IsNAT64IPv4ConvertedIPv6Addr. Every predicate not listed is false. The flags were
 * checked against go-multiaddr v0.16.1's manet (the version interop/go-peer builds with).
 */
export const ADDR_TABLE: ReadonlyArray<readonly [addr: string, cls: AddrClass, flags: string]> = [
  // IPv4: unspecified, loopback, link-local
  ['/ip4/0.0.0.0/tcp/4001', 'unspecified', 'unspecified'],
  ['/ip4/127.0.0.1/tcp/1', 'loopback', 'loopback private'],
  ['/ip4/127.255.255.254', 'loopback', 'loopback private'],
  ['/ip4/169.254.0.1/tcp/1', 'link-local', 'private'],
  ['/ip4/169.254.255.255', 'link-local', 'private'],
  // IPv4 private: RFC 1918 and carrier-grade NAT (RFC 6598), with their edges
  ['/ip4/10.0.0.1/tcp/1', 'private', 'private'],
  ['/ip4/10.255.255.255', 'private', 'private'],
  ['/ip4/172.16.0.1', 'private', 'private'],
  ['/ip4/172.31.255.255', 'private', 'private'],
  ['/ip4/172.15.255.255', 'public', 'public'],
  ['/ip4/172.32.0.1', 'public', 'public'],
  ['/ip4/192.168.1.1/udp/1/quic-v1', 'private', 'private'],
  ['/ip4/100.64.0.1', 'private', 'private'],
  ['/ip4/100.127.255.255', 'private', 'private'],
  ['/ip4/100.63.255.255', 'public', 'public'],
  ['/ip4/100.128.0.1', 'public', 'public'],
  // IPv4 unroutable: this network, IETF assignments (/26 only), documentation, 6to4 relay, benchmarking, multicast,
  // reserved, broadcast
  ['/ip4/0.1.2.3', 'unroutable', ''],
  ['/ip4/192.0.0.1', 'unroutable', ''],
  ['/ip4/192.0.0.63', 'unroutable', ''],
  ['/ip4/192.0.0.170', 'public', 'public'],
  ['/ip4/192.0.2.1/tcp/1', 'unroutable', ''],
  ['/ip4/198.51.100.7', 'unroutable', ''],
  ['/ip4/203.0.113.9/udp/1/quic-v1', 'unroutable', ''],
  ['/ip4/192.88.99.1', 'unroutable', ''],
  ['/ip4/198.18.0.1', 'unroutable', ''],
  ['/ip4/198.19.255.255', 'unroutable', ''],
  ['/ip4/198.20.0.1', 'public', 'public'],
  ['/ip4/224.0.0.251/udp/5353', 'unroutable', ''],
  ['/ip4/239.255.255.250', 'unroutable', ''],
  ['/ip4/240.0.0.1', 'unroutable', ''],
  ['/ip4/255.255.255.255', 'unroutable', ''],
  // IPv4 public, including ranges @libp2p/utils counts private but go does not
  ['/ip4/1.1.1.1/tcp/443', 'public', 'public'],
  ['/ip4/8.8.8.8/udp/53', 'public', 'public'],
  ['/ip4/192.31.196.1', 'public', 'public'],
  ['/ip4/192.175.48.1', 'public', 'public'],
  ['/ip4/223.255.255.255', 'public', 'public'],
  // IPv6: unspecified, loopback, link-local (unicast and link-local multicast)
  ['/ip6/::/tcp/1', 'unspecified', 'unspecified'],
  ['/ip6/::1/tcp/1', 'loopback', 'loopback private'],
  ['/ip6/fe80::1/tcp/1', 'link-local', 'ip6-link-local private'],
  ['/ip6/febf:ffff::1', 'link-local', 'ip6-link-local private'],
  ['/ip6/ff02::1', 'link-local', 'ip6-link-local'],
  ['/ip6/ff12::fb', 'link-local', 'ip6-link-local'],
  // IPv6 private: unique local (fc00::/7)
  ['/ip6/fc00::1', 'private', 'private'],
  ['/ip6/fd12:3456:789a::1/udp/1/quic-v1', 'private', 'private'],
  // IPv6 unroutable: multicast beyond link scope, documentation
  ['/ip6/ff05::2', 'unroutable', ''],
  ['/ip6/ff0e::1', 'unroutable', ''],
  ['/ip6/2001:db8::1/tcp/1', 'unroutable', ''],
  ['/ip6/2001:db8:ffff:ffff::1', 'unroutable', ''],
  // IPv6 public: global unicast 2000::/3, Teredo, ORCHID and 6to4 included (go only excludes documentation)
  ['/ip6/2600::1/tcp/1', 'public', 'public'],
  ['/ip6/2a00:1450:4001::200e/udp/443/quic-v1', 'public', 'public'],
  ['/ip6/2001:db9::1', 'public', 'public'],
  ['/ip6/2001::1/udp/1/quic-v1', 'public', 'public'],
  ['/ip6/2001:10::1', 'public', 'public'],
  ['/ip6/2001:20::1', 'public', 'public'],
  ['/ip6/2002:c000:204::1', 'public', 'public'],
  ['/ip6/3fff::1', 'public', 'public'],
  // IPv6 outside 2000::/3 and every list: neither private nor public
  ['/ip6/::2', 'other', ''],
  ['/ip6/100::1', 'other', ''],
  ['/ip6/4000::1', 'other', ''],
  ['/ip6/fec0::1', 'other', ''],
  ['/ip6/::102:304', 'other', ''],
  // NAT64: public whatever IPv4 address it embeds
  ['/ip6/64:ff9b::102:304/tcp/1', 'public', 'public nat64'],
  ['/ip6/64:ff9b::a00:1', 'public', 'public nat64'],
  ['/ip6/64:ff9b:1::1', 'public', 'public nat64'],
  ['/ip6/64:ff9b:1:ffff::1', 'public', 'public nat64'],
  ['/ip6/64:ff9b:2::1', 'other', ''],
  // IPv4-mapped IPv6 in an /ip6 component: never private or public; loopback, link-local, unspecified as IPv4
  ['/ip6/::ffff:1.2.3.4/tcp/1', 'other', ''],
  ['/ip6/::ffff:10.0.0.1', 'other', ''],
  ['/ip6/::ffff:127.0.0.1/tcp/1', 'loopback', 'loopback'],
  ['/ip6/::ffff:169.254.1.1', 'link-local', 'ip6-link-local'],
  ['/ip6/::ffff:224.0.0.1', 'link-local', 'ip6-link-local'],
  ['/ip6/::ffff:0.0.0.0', 'unspecified', 'unspecified'],
  ['/ip6/::ffff:0:102:304', 'other', ''],
  // zones: IsPrivateAddr/IsPublicAddr skip every /ip6zone; the IsIP* predicates one, which must precede /ip6
  ['/ip6zone/eth0/ip6/fe80::1/tcp/1', 'link-local', 'ip6-link-local private'],
  ['/ip6zone/eth0/ip6/::1/tcp/1', 'loopback', 'loopback private'],
  ['/ip6zone/eth0/ip6/::/tcp/1', 'unspecified', 'unspecified'],
  ['/ip6zone/eth0/ip6/fd00::1', 'private', 'private'],
  ['/ip6zone/eth0/ip6/2600::1/udp/1', 'public', 'public'],
  ['/ip6zone/eth0/ip6/64:ff9b::102:304', 'public', 'public'],
  ['/ip6zone/a/ip6zone/b/ip6/fe80::1', 'link-local', 'private'],
  ['/ip6zone/eth0/ip4/127.0.0.1', 'loopback', 'private'],
  ['/ip6zone/eth0', 'non-ip', ''],
  // DNS names: localhost (private), special-use (neither), any other (public); compared as written, as go does
  ['/dns4/localhost/tcp/1', 'localhost', 'private'],
  ['/dns/localhost', 'localhost', 'private'],
  ['/dns6/node.localhost/tcp/1', 'localhost', 'private'],
  ['/dnsaddr/localhost', 'localhost', 'private'],
  ['/dns4/example.com/tcp/1', 'dns', 'public'],
  ['/dnsaddr/bootstrap.libp2p.io', 'dns', 'public'],
  ['/dns4/localhost.example.com/tcp/1', 'dns', 'public'],
  ['/dns4/LOCALHOST/tcp/1', 'dns', 'public'],
  ['/dns4/notlocal/tcp/1', 'dns', 'public'],
  ['/dns4/printer.local/tcp/1', 'special-use-name', ''],
  ['/dns/local', 'special-use-name', ''],
  ['/dns6/a.test', 'special-use-name', ''],
  ['/dns4/router.home.arpa', 'special-use-name', ''],
  ['/dns/x.invalid', 'special-use-name', ''],
  ['/dns/1.0.0.127.in-addr.arpa', 'special-use-name', ''],
  ['/dns/1.0.ip6.arpa', 'special-use-name', ''],
  // no IP or name first
  ['/memory/1234', 'non-ip', ''],
  ['/onion3/vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd:1234', 'non-ip', ''],
  ['/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/p2p-circuit', 'non-ip', ''],
  // the first component decides, relays included
  ['/ip4/1.2.3.4/tcp/1/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/p2p-circuit', 'public', 'public'],
  ['/ip4/10.0.0.1/udp/1/quic-v1/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/p2p-circuit', 'private', 'private'],
  ['/ip4/1.2.3.4/udp/1/quic-v1/webtransport', 'public', 'public']
]

/** IP strings, their class: IPv4-mapped strings are the IPv4 address (go's manet.FromIP makes them /ip4). */
export const IP_TABLE: ReadonlyArray<readonly [ip: string, cls: AddrClass]> = [
  ['0.0.0.0', 'unspecified'],
  ['127.0.0.1', 'loopback'],
  ['169.254.7.7', 'link-local'],
  ['10.1.2.3', 'private'],
  ['100.64.0.1', 'private'],
  ['192.0.2.1', 'unroutable'],
  ['224.0.0.1', 'unroutable'],
  ['1.2.3.4', 'public'],
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['fe80::1%eth0', 'link-local'],
  ['FE80::1', 'link-local'],
  ['fd00::1', 'private'],
  ['2001:db8::1', 'unroutable'],
  ['2600::1', 'public'],
  ['64:ff9b::1.2.3.4', 'public'],
  ['100::1', 'other'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:1.2.3.4', 'public'],
  ['::ffff:0.0.0.0', 'unspecified']
]
