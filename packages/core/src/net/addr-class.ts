import { CODE_DNS, CODE_DNS4, CODE_DNS6, CODE_DNSADDR, CODE_IP4, CODE_IP6, CODE_IP6ZONE } from '@multiformats/multiaddr'
import { ipOfComponent, parseCidr, parseIp } from './ip.js'
import type { Cidr, IpAddress } from './ip.js'
import type { Component, Multiaddr } from '@multiformats/multiaddr'

/**
 * The one address classifier of tswarm, with go-libp2p's rules (go-multiaddr's `manet`: `IsIPLoopback`,
 * `IsIPUnspecified`, `IsIP6LinkLocal`, `IsPrivateAddr`, `IsPublicAddr`, `IsNAT64IPv4ConvertedIPv6Addr`), so that
 * tswarm and go nodes agree on which addresses are local (dial timeouts, ranking delays), public (black-hole
 * detection, the TCP handshake grace, identify's address filter) and undialable (unspecified, link-local).
 */

/**
 * The class of one IP address. Exactly one applies; the first that matches, in this order:
 *
 * | class | IPv4 | IPv6 |
 * | --- | --- | --- |
 * | `unspecified` | 0.0.0.0 | :: |
 * | `loopback` | 127.0.0.0/8 | ::1 |
 * | `link-local` | 169.254.0.0/16 | fe80::/10, link-local multicast ffX2::/16 |
 * | `private` | 10/8, 100.64/10 (CGNAT), 172.16/12, 192.168/16 | fc00::/7 (ULA) |
 * | `unroutable` | 0/8, 192.0.0/26, 192.0.2/24, 192.88.99/24, 198.18/15, 198.51.100/24, 203.0.113/24, 224/4, 240/4, 255.255.255.255 | ff00::/8 (multicast), 2001:db8::/32 (documentation) |
 * | `public` | anything else | 2000::/3 (global unicast) and NAT64 (64:ff9b::/96, 64:ff9b:1::/48) |
 * | `other` | never | anything else (100::/64, ::/96 IPv4-compatible, 4000::/2, …): go counts it neither private nor public |
 *
 * An IPv4-mapped IPv6 address given as an IP (a string, an {@link IpAddress}) is the IPv4 address, as go's
 * `manet.FromIP` makes it an `/ip4` component. Written in an `/ip6` multiaddr component it is classed as go's
 * predicates see that component (see {@link classifyAddr}).
 */
export type IpClass = 'unspecified' | 'loopback' | 'link-local' | 'private' | 'unroutable' | 'public' | 'other'

/**
 * The class of a multiaddr, decided by its first component after any `/ip6zone` (as go's `IsPrivateAddr` and
 * `IsPublicAddr` look): an {@link IpClass} for `/ip4` and `/ip6`; for `/dns`, `/dns4`, `/dns6` and `/dnsaddr`,
 * `localhost` (`localhost`, `*.localhost`: private, never public), `special-use-name` (names that resolve to no
 * public address: `*.local`, `*.test`, `*.home.arpa`, `*.invalid`, `*.in-addr.arpa`, `*.ip6.arpa`; neither private
 * nor public) or `dns` (any other name: public); `non-ip` for anything else (`/memory`, `/onion3`, `/unix`).
 */
export type AddrClass = IpClass | 'localhost' | 'special-use-name' | 'dns' | 'non-ip'

const cidrs = (list: string[]): readonly Cidr[] => Object.freeze(list.map(parseCidr))

/** go's `manet.Private4`: loopback, RFC 1918, carrier-grade NAT (RFC 6598) and link-local. */
export const PRIVATE_IP4_RANGES = cidrs(['127.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'])
/** go's `manet.Private6`: loopback, unique local (RFC 4193) and link-local. */
export const PRIVATE_IP6_RANGES = cidrs(['::1/128', 'fc00::/7', 'fe80::/10'])
/**
 * go's `manet.Unroutable4`: "this network", IETF protocol assignments (the first /26 only, as go), the documentation
 * nets TEST-NET-1/2/3, the 6to4 relay anycast, benchmarking (RFC 2544), multicast, reserved and broadcast.
 */
export const UNROUTABLE_IP4_RANGES = cidrs(['0.0.0.0/8', '192.0.0.0/26', '192.0.2.0/24', '192.88.99.0/24', '198.18.0.0/15',
  '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4', '255.255.255.255/32'])
/** go's `manet.Unroutable6`: multicast and documentation (RFC 3849). */
export const UNROUTABLE_IP6_RANGES = cidrs(['ff00::/8', '2001:db8::/32'])
/** The IPv6 global unicast allocation: outside it, an IPv6 address is not public (unless NAT64). */
export const GLOBAL_UNICAST_IP6_RANGE = parseCidr('2000::/3')
/**
 * NAT64 prefixes: the well-known one (RFC 6052) and the local-use one (RFC 8215). go counts both public: the
 * well-known prefix can only embed public IPv4 addresses, and what a local-use one embeds cannot be known.
 */
export const NAT64_RANGES = cidrs(['64:ff9b::/96', '64:ff9b:1::/48'])

/** RFC 6761: localhost names always resolve to loopback. */
const LOCALHOST_DOMAIN = '.localhost'
/** Names that resolve to no address (reverse lookups; RFC 6761 `.invalid`). */
const UNRESOLVABLE_DOMAINS = ['.in-addr.arpa', '.ip6.arpa', '.invalid']
/** Names for private use with no central authority (RFC 8375 `.home.arpa`, mDNS `.local`, RFC 6761 `.test`). */
const PRIVATE_USE_DOMAINS = ['.home.arpa', '.local', '.test']

/**
 * The class of an IP address (see {@link IpClass}).
 *
 * @throws InvalidIpAddressError when `ip` is a string that is not an IP address
 */
export function classifyIp (ip: string | IpAddress): IpClass {
  return ipClass(typeof ip === 'string' ? parseIp(ip) : ip, false)
}

/** The class of a multiaddr (see {@link AddrClass}). */
export function classifyAddr (addr: Multiaddr): AddrClass {
  return classifyComponents(addr.getComponents())
}

/** {@link classifyAddr} on a multiaddr already split into its components. */
function classifyComponents (components: readonly Component[]): AddrClass {
  const c = components.find(c => c.code !== CODE_IP6ZONE)
  if (c === undefined) return 'non-ip'
  if (c.code === CODE_IP4 || c.code === CODE_IP6) {
    const ip = ipOfComponent(c)
    return ip === undefined ? 'non-ip' : ipClass(ip, c.code === CODE_IP6)
  }
  if (isDnsCode(c.code)) {
    const name = c.value ?? ''
    if (isSubdomain(name, LOCALHOST_DOMAIN)) return 'localhost'
    if (UNRESOLVABLE_DOMAINS.some(d => isSubdomain(name, d)) || PRIVATE_USE_DOMAINS.some(d => isSubdomain(name, d))) return 'special-use-name'
    return 'dns'
  }
  return 'non-ip'
}

/**
 * go's `manet.IsIPLoopback`: the address starts (after at most one `/ip6zone`, which must be followed by `/ip6`)
 * with 127.0.0.0/8, ::1 or an IPv4-mapped 127.0.0.0/8 (`/ip6/::ffff:127.0.0.1`). A `localhost` name is not (it is
 * private, see {@link isPrivateAddr}).
 */
export function isIpLoopback (addr: Multiaddr): boolean {
  return zonelessIp(addr.getComponents())?.ip.isLoopback ?? false
}

/**
 * go's `manet.IsIPUnspecified`: the address starts (after at most one `/ip6zone` followed by `/ip6`) with 0.0.0.0,
 * :: or ::ffff:0.0.0.0. Listenable, never dialable.
 */
export function isIpUnspecified (addr: Multiaddr): boolean {
  return zonelessIp(addr.getComponents())?.ip.isUnspecified ?? false
}

/**
 * go's `manet.IsIP6LinkLocal`: the address starts (after at most one `/ip6zone`) with an `/ip6` component holding a
 * link-local unicast (fe80::/10) or link-local multicast (ffX2::/16) address, or, IPv4-mapped, 169.254.0.0/16 or
 * 224.0.0.0/24. Not dialable without knowing the interface; go's swarm drops them, zone or not. `/ip4/169.254.x.x`
 * is not IPv6 and so not counted (it is private).
 */
export function isIp6LinkLocal (addr: Multiaddr): boolean {
  const found = zonelessIp(addr.getComponents())
  return found !== undefined && found.code === CODE_IP6 && isLinkLocalIp(found.ip)
}

/**
 * go's `manet.IsPrivateAddr`: the first component after any `/ip6zone` is an `/ip4` address in 127/8, 10/8,
 * 100.64/10, 172.16/12, 192.168/16 or 169.254/16 ({@link PRIVATE_IP4_RANGES}), an `/ip6` address in ::1, fc00::/7
 * or fe80::/10 ({@link PRIVATE_IP6_RANGES}), or a DNS name `localhost` / `*.localhost`. An IPv4-mapped `/ip6`
 * address is never private (go compares it with the IPv6 ranges only). Private-use names (`*.local`) are not
 * private: they may resolve to public addresses.
 */
export function isPrivateAddr (addr: Multiaddr): boolean {
  return isPrivateComponents(addr.getComponents())
}

/** {@link isPrivateAddr} on a multiaddr already split into its components. */
export function isPrivateComponents (components: readonly Component[]): boolean {
  const c = components.find(c => c.code !== CODE_IP6ZONE)
  if (c === undefined) return false
  if (c.code === CODE_IP4 || c.code === CODE_IP6) {
    const ip = ipOfComponent(c)
    return ip !== undefined && inRanges(ip, c.code === CODE_IP4 ? PRIVATE_IP4_RANGES : PRIVATE_IP6_RANGES)
  }
  if (isDnsCode(c.code)) return isSubdomain(c.value ?? '', LOCALHOST_DOMAIN)
  return false
}

/**
 * go's `manet.IsPublicAddr`: the first component after any `/ip6zone` is an `/ip4` address in neither the private
 * nor the unroutable ranges, an `/ip6` address in 2000::/3 but not in the unroutable ranges, or in a NAT64 prefix,
 * or a DNS name that is not `localhost` or a special-use name (see {@link AddrClass}). Public exactly when
 * {@link classifyAddr} says `public` or `dns`. An IPv4-mapped `/ip6` address is never public.
 */
export function isPublicAddr (addr: Multiaddr): boolean {
  const cls = classifyAddr(addr)
  return cls === 'public' || cls === 'dns'
}

/**
 * go's `manet.IsNAT64IPv4ConvertedIPv6Addr`: the first component is an `/ip6` address in 64:ff9b::/96 or
 * 64:ff9b:1::/48 ({@link NAT64_RANGES}); no `/ip6zone` may come first.
 */
export function isNat64Addr (addr: Multiaddr): boolean {
  const c = addr.getComponents()[0]
  if (c?.code !== CODE_IP6) return false
  const ip = ipOfComponent(c)
  return ip !== undefined && inRanges(ip, NAT64_RANGES)
}

/**
 * The class of `ip`. `fromIp6Component`: the address was written in an `/ip6` multiaddr component, where go sees an
 * IPv4-mapped address as a 16-byte IPv6 address for the range lists (none contains it) and as IPv4 for its
 * net.IP methods (loopback, link-local, unspecified).
 */
function ipClass (ip: IpAddress, fromIp6Component: boolean): IpClass {
  if (ip.isUnspecified) return 'unspecified'
  if (ip.isLoopback) return 'loopback'
  if (ip.family === 4) {
    if (fromIp6Component) return isLinkLocalIp(ip) ? 'link-local' : 'other'
    if (ip.bytes[0] === 169 && ip.bytes[1] === 254) return 'link-local'
    if (inRanges(ip, PRIVATE_IP4_RANGES)) return 'private'
    if (inRanges(ip, UNROUTABLE_IP4_RANGES)) return 'unroutable'
    return 'public'
  }
  if (isLinkLocalIp(ip)) return 'link-local'
  if (inRanges(ip, PRIVATE_IP6_RANGES)) return 'private'
  if (inRanges(ip, UNROUTABLE_IP6_RANGES)) return 'unroutable'
  if (GLOBAL_UNICAST_IP6_RANGE.contains(ip) || inRanges(ip, NAT64_RANGES)) return 'public'
  return 'other'
}

/**
 * Go's `net.IP.IsLinkLocalUnicast() || IsLinkLocalMulticast()`: 169.254.0.0/16 and 224.0.0.0/24 for IPv4,
 * fe80::/10 and ffX2::/16 for IPv6.
 */
function isLinkLocalIp (ip: IpAddress): boolean {
  const b = ip.bytes
  if (ip.family === 4) return (b[0] === 169 && b[1] === 254) || (b[0] === 224 && b[1] === 0 && b[2] === 0)
  return (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) || (b[0] === 0xff && (b[1] & 0x0f) === 0x02)
}

/**
 * go's `zoneless` then first component: an `/ip6zone` is skipped when an `/ip6` follows it (any other component
 * after a zone, or a second zone, gives nothing); the IP of the component reached, with its code.
 */
function zonelessIp (components: readonly Component[]): { ip: IpAddress, code: number } | undefined {
  let c = components[0]
  if (c?.code === CODE_IP6ZONE) {
    c = components[1]
    if (c?.code !== CODE_IP6) return undefined
  }
  if (c === undefined) return undefined
  const ip = ipOfComponent(c)
  return ip === undefined ? undefined : { ip, code: c.code }
}

function inRanges (ip: IpAddress, ranges: readonly Cidr[]): boolean {
  for (const r of ranges) if (r.contains(ip)) return true
  return false
}

function isDnsCode (code: number): boolean {
  return code === CODE_DNS || code === CODE_DNS4 || code === CODE_DNS6 || code === CODE_DNSADDR
}

/** go's isSubdomain: `name` is `domain` (given with its leading dot) or ends with it. Compared as written, as go. */
function isSubdomain (name: string, domain: string): boolean {
  return name.endsWith(domain) || name === domain.slice(1)
}
