import { isIPv4, isIPv6 } from 'node:net'
import { CODE_IP4, CODE_IP6, CODE_IP6ZONE, isMultiaddr } from '@multiformats/multiaddr'
import { InvalidCidrError, InvalidIpAddressError } from '../errors.js'
import type { Component, Multiaddr } from '@multiformats/multiaddr'

/** 4 for IPv4, 6 for IPv6. */
export type IpFamily = 4 | 6

/**
 * An IPv4 or IPv6 address. An IPv4-mapped IPv6 address (`::ffff:192.0.2.7`, what a dual-stack socket reports for an
 * IPv4 peer) is the IPv4 address it maps, as Go's `net.IP.To4` reads it, so a subnet `192.0.2.0/24` contains it
 * whichever way it arrived.
 */
export class IpAddress {
  /** 4 bytes for IPv4, 16 for IPv6, network order. */
  readonly bytes: Uint8Array
  readonly family: IpFamily
  #text?: string

  /** @throws InvalidIpAddressError when `bytes` is not 4 (IPv4) or 16 (IPv6) long */
  constructor (family: IpFamily, bytes: Uint8Array) {
    if (bytes.length !== (family === 4 ? 4 : 16)) throw new InvalidIpAddressError(`${bytes.length} bytes`, `an IPv${family} address has ${family === 4 ? 4 : 16} bytes`)
    this.family = family
    this.bytes = bytes
  }

  /** The prefix length of one address of this family (32 or 128). */
  get maxPrefixLength (): number {
    return this.family === 4 ? 32 : 128
  }

  /** Whether this is a loopback address: 127.0.0.0/8 or ::1 (Go's `net.IP.IsLoopback`). */
  get isLoopback (): boolean {
    if (this.family === 4) return this.bytes[0] === 127
    return this.bytes.every((b, i) => b === (i === 15 ? 1 : 0))
  }

  /** Whether this is `0.0.0.0` or `::` (Go's `net.IP.IsUnspecified`). */
  get isUnspecified (): boolean {
    return this.bytes.every(b => b === 0)
  }

  /**
   * The subnet of `bits` leading bits this address is in, as a string key (`4:c0000200/24`); equal keys, same
   * subnet. `bits` is clamped to the family's range.
   */
  prefixKey (bits: number): string {
    const n = Math.max(0, Math.min(bits, this.maxPrefixLength))
    return `${this.family}:${hex(mask(this.bytes, n))}/${n}`
  }

  equals (other: IpAddress): boolean {
    return this.family === other.family && this.bytes.every((b, i) => b === other.bytes[i])
  }

  /** The canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as `::`). */
  toString (): string {
    this.#text ??= this.family === 4 ? [...this.bytes].join('.') : formatIPv6(this.bytes)
    return this.#text
  }
}

/**
 * A subnet: an address with its host bits cleared, and a prefix length. The one CIDR type of tswarm: the gaters'
 * subnet rules, the resource manager's allow list and the address classes (`addr-class.ts`) all use it.
 */
export class Cidr {
  readonly network: IpAddress

  /** @throws InvalidCidrError when `prefixLength` is not 0 to 32 (IPv4) or 0 to 128 (IPv6) */
  constructor (network: IpAddress, readonly prefixLength: number) {
    if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > network.maxPrefixLength) {
      throw new InvalidCidrError(`${network.toString()}/${prefixLength}`, `an IPv${network.family} prefix length is 0 to ${network.maxPrefixLength}`)
    }
    this.network = new IpAddress(network.family, mask(network.bytes, prefixLength))
  }

  get family (): IpFamily {
    return this.network.family
  }

  /** The key every address of this subnet shares (see {@link IpAddress.prefixKey}). */
  get key (): string {
    return this.network.prefixKey(this.prefixLength)
  }

  /**
   * Whether `ip` is in this subnet. Only addresses of the subnet's family can be: an IPv4 subnet holds IPv4 addresses
   * (IPv4-mapped IPv6 ones included, see {@link IpAddress}), an IPv6 subnet IPv6 ones, as Go's `net.IPNet.Contains`.
   *
   * @throws InvalidIpAddressError when `ip` is a string that is not an IP address
   */
  contains (ip: IpAddress | string): boolean {
    const addr = typeof ip === 'string' ? parseIp(ip) : ip
    if (addr.family !== this.family) return false
    const net = this.network.bytes
    const bytes = addr.bytes
    for (let i = 0; i * 8 < this.prefixLength; i++) {
      const keep = Math.min(8, this.prefixLength - 8 * i)
      const m = (0xff << (8 - keep)) & 0xff
      if ((bytes[i] & m) !== net[i]) return false
    }
    return true
  }

  /** Canonical CIDR text, host bits cleared: `10.0.0.0/8`, `2001:db8::/32`. */
  toString (): string {
    return `${this.network.toString()}/${this.prefixLength}`
  }
}

/**
 * Parses an IPv4 or IPv6 address (an IPv6 zone, `%eth0`, is ignored: rules are about addresses, not interfaces).
 * An IPv4-mapped IPv6 address is returned as the IPv4 address.
 *
 * @throws InvalidIpAddressError when `input` is not one
 */
export function parseIp (input: string): IpAddress {
  if (typeof input !== 'string') throw new InvalidIpAddressError(String(input), `expected a string, got ${typeof input}`)
  const ip = tryParseIp(input)
  if (ip === undefined) throw new InvalidIpAddressError(input)
  return ip
}

/** {@link parseIp}, or undefined when `input` is not an IP address. */
export function tryParseIp (input: string): IpAddress | undefined {
  if (isIPv4(input)) return new IpAddress(4, Uint8Array.from(input.split('.'), Number))
  if (!isIPv6(input)) return undefined
  const zone = input.indexOf('%')
  const bytes = parseIPv6(zone < 0 ? input : input.slice(0, zone))
  // ::ffff:a.b.c.d
  if (isMapped(bytes)) return new IpAddress(4, bytes.slice(12))
  return new IpAddress(6, bytes)
}

/**
 * Parses a subnet in CIDR notation. Host bits are cleared, as Go's net.ParseCIDR does (`10.1.2.3/8` is
 * `10.0.0.0/8`). A bare address is the subnet of that one address (/32 or /128). An IPv4-mapped prefix
 * (`::ffff:10.0.0.0/104`) is the IPv4 subnet it maps (`10.0.0.0/8`).
 *
 * @throws InvalidCidrError when `input` is not one
 */
export function parseCidr (input: string): Cidr {
  if (typeof input !== 'string') throw new InvalidCidrError(String(input), `expected a string, got ${typeof input}`)
  const slash = input.indexOf('/')
  const addrPart = slash < 0 ? input : input.slice(0, slash)
  const ip = tryParseIp(addrPart)
  if (ip === undefined) throw new InvalidCidrError(input, `"${addrPart.slice(0, 60)}" is not an IPv4 or IPv6 address`)
  if (slash < 0) return new Cidr(ip, ip.maxPrefixLength)
  const bitsPart = input.slice(slash + 1)
  if (!/^\d{1,3}$/.test(bitsPart)) throw new InvalidCidrError(input, `the prefix length "${bitsPart.slice(0, 20)}" is not a number`)
  const bits = Number(bitsPart)
  // An IPv4-mapped address with a v6 prefix length (::ffff:10.0.0.0/104) names the IPv4 subnet /(bits - 96).
  const mapped = ip.family === 4 && isIPv6(addrPart)
  const prefixLength = mapped ? bits - 96 : bits
  if (prefixLength < 0 || prefixLength > ip.maxPrefixLength) {
    throw new InvalidCidrError(input, `an IPv${mapped ? '4-mapped IPv6' : ip.family} prefix length is ${mapped ? '96 to 128' : `0 to ${ip.maxPrefixLength}`}`)
  }
  return new Cidr(ip, prefixLength)
}

/**
 * The IP address a multiaddr starts with (`/ip4/…`, `/ip6/…`, `/ip6zone/…/ip6/…`), or undefined when it starts with
 * anything else (`/dns4/…`, `/memory/…`): those name no address a rule could match. A relayed address
 * (`…/p2p-circuit`) gives the relay's address, the one the socket connects to, as go-libp2p's manet.ToIP does.
 */
export function ipOfMultiaddr (addr: Multiaddr): IpAddress | undefined {
  const components = addr.getComponents()
  const c = components[components[0]?.code === CODE_IP6ZONE ? 1 : 0]
  return c === undefined ? undefined : ipOfComponent(c)
}

/** The address of an `/ip4` or `/ip6` component (IPv4-mapped ones as IPv4), undefined for any other component. */
export function ipOfComponent (c: Component): IpAddress | undefined {
  if ((c.code !== CODE_IP4 && c.code !== CODE_IP6) || c.value === undefined) return undefined
  return tryParseIp(c.value)
}

/**
 * An IP address from an address string (`192.0.2.7`, `2001:db8::7`) or a multiaddr (string or object) that starts
 * with one.
 *
 * @throws InvalidIpAddressError otherwise
 */
export function toIp (input: string | Multiaddr | IpAddress): IpAddress {
  if (input instanceof IpAddress) return input
  if (isMultiaddr(input)) {
    const ip = ipOfMultiaddr(input)
    if (ip === undefined) throw new InvalidIpAddressError(input.toString(), 'the multiaddr does not start with /ip4 or /ip6')
    return ip
  }
  if (typeof input === 'string' && input.startsWith('/')) {
    const match = /^\/(?:ip6zone\/[^/]+\/)?ip[46]\/([^/]+)/.exec(input)
    if (match === null) throw new InvalidIpAddressError(input, 'the multiaddr does not start with /ip4 or /ip6')
    return parseIp(match[1])
  }
  return parseIp(input)
}

/** `input` as a subnet: a Cidr as is, a string parsed with {@link parseCidr}. */
export function toCidr (input: string | Cidr): Cidr {
  return input instanceof Cidr ? input : parseCidr(input)
}

function isMapped (bytes: Uint8Array): boolean {
  return bytes.length === 16 && bytes.subarray(0, 10).every(b => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff
}

function parseIPv6 (s: string): Uint8Array {
  // Only called on strings node:net accepted, so the shape is known good; what is left is expanding it.
  const out = new Uint8Array(16)
  const halves = s.split('::')
  const groups = (part: string): number[] => {
    if (part === '') return []
    const words: number[] = []
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const [a, b, c, d] = g.split('.').map(Number)
        words.push((a << 8) | b, (c << 8) | d)
      } else {
        words.push(parseInt(g, 16))
      }
    }
    return words
  }
  const head = groups(halves[0])
  const tail = halves.length > 1 ? groups(halves[1]) : []
  const words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]
  words.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff })
  return out
}

function formatIPv6 (bytes: Uint8Array): string {
  const words = Array.from({ length: 8 }, (_, i) => (bytes[2 * i] << 8) | bytes[2 * i + 1])
  // RFC 5952: the longest run of two or more zero words becomes "::", the first such run on a tie.
  let bestStart = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > bestLen) { bestStart = i; bestLen = j - i }
    i = j
  }
  const text = (ws: number[]): string => ws.map(w => w.toString(16)).join(':')
  if (bestStart < 0) return text(words)
  return `${text(words.slice(0, bestStart))}::${text(words.slice(bestStart + bestLen))}`
}

function mask (bytes: Uint8Array, bits: number): Uint8Array {
  const out = new Uint8Array(bytes.length)
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i))
    out[i] = bytes[i] & (0xff << (8 - keep)) & 0xff
  }
  return out
}

function hex (bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}
