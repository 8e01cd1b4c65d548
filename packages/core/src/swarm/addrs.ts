import { networkInterfaces } from 'node:os'
import { multiaddr } from '@multiformats/multiaddr'
import { InvalidMultiaddrError } from '../errors.js'
import { classifyIp, isIp6LinkLocal, isIpUnspecified } from '../net/addr-class.js'
import { ipOfComponent, tryParseIp } from '../net/ip.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Parses user input into a multiaddr, with a typed error that says what a good one looks like. */
export function parseMultiaddr (input: Multiaddr | string): Multiaddr {
  if (typeof input !== 'string') return input
  try {
    return multiaddr(input)
  } catch (err) {
    throw new InvalidMultiaddrError(input, err)
  }
}

/** The address without a trailing `/p2p/<peer>`. */
export function stripPeerId (addr: Multiaddr): Multiaddr {
  const parts = addr.getComponents()
  if (parts.length > 0 && parts[parts.length - 1].name === 'p2p') return multiaddr(parts.slice(0, -1))
  return addr
}

/**
 * `0.0.0.0`, `::` or `::ffff:0.0.0.0` (after at most one `/ip6zone`): listenable, never dialable. go's
 * `manet.IsIPUnspecified`, from the one address classifier (`isIpUnspecified`).
 */
export function isUnspecified (addr: Multiaddr): boolean {
  return isIpUnspecified(addr)
}

/**
 * Replaces an unspecified IP in the first component by each of this machine's interface addresses of the same
 * family, as go's `manet.ResolveUnspecifiedAddress`. IPv6 link-local interface addresses (fe80::/10) are left out:
 * they are not dialable without a zone.
 */
export function expandUnspecified (addr: Multiaddr): Multiaddr[] {
  const [ip, ...rest] = addr.getComponents()
  if (ip === undefined || ipOfComponent(ip)?.isUnspecified !== true) return [addr]
  const family = ip.name === 'ip4' ? 'IPv4' : 'IPv6'
  const out: Multiaddr[] = []
  for (const infos of Object.values(networkInterfaces())) {
    for (const info of infos ?? []) {
      if (info.family !== family) continue
      const local = family === 'IPv6' ? tryParseIp(info.address) : undefined
      if (local !== undefined && classifyIp(local) === 'link-local') continue
      out.push(multiaddr([{ code: ip.code, name: ip.name, value: info.address }, ...rest]))
    }
  }
  return out
}

/** A key that is equal for equal addresses (compared by bytes, as go-libp2p does), for maps and dedup. */
export function addrKey (addr: Multiaddr): string {
  const b = addr.bytes
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')
}

// An IPv6 link-local address (fe80::/10, ffX2::/16, after at most one /ip6zone): go's manet.IsIP6LinkLocal, from the
// one address classifier; re-exported here, where it always was.
export { isIp6LinkLocal }
