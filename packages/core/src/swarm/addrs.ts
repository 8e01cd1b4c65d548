import { networkInterfaces } from 'node:os'
import { multiaddr } from '@multiformats/multiaddr'
import { InvalidMultiaddrError } from '../errors.js'
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

/** `0.0.0.0` or `::`: listenable, never dialable. */
export function isUnspecified (addr: Multiaddr): boolean {
  const first = addr.getComponents()[0]
  return (first?.name === 'ip4' && first.value === '0.0.0.0') || (first?.name === 'ip6' && first.value === '::')
}

/**
 * Replaces an unspecified IP by each of this machine's interface addresses of the same family. IPv6 link-local
 * addresses are left out: they are not dialable without a zone.
 */
export function expandUnspecified (addr: Multiaddr): Multiaddr[] {
  if (!isUnspecified(addr)) return [addr]
  const [ip, ...rest] = addr.getComponents()
  const family = ip.name === 'ip4' ? 'IPv4' : 'IPv6'
  const out: Multiaddr[] = []
  for (const infos of Object.values(networkInterfaces())) {
    for (const info of infos ?? []) {
      if (info.family !== family) continue
      if (family === 'IPv6' && info.address.toLowerCase().startsWith('fe80')) continue
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

/** An IPv6 link-local address (fe80::/10). */
export function isIp6LinkLocal (addr: Multiaddr): boolean {
  const first = addr.getComponents()[0]
  return first?.name === 'ip6' && /^fe[89ab]/i.test(first.value ?? '')
}
