import type { Multiaddr } from '@multiformats/multiaddr'

/** ip, transport protocol and port of an address: `/ip4/1.2.3.4/udp/4001` → `ip4/1.2.3.4/udp/4001`. */
function thinWaist (addr: Multiaddr): string | undefined {
  const [ip, proto] = addr.getComponents()
  if (ip === undefined || proto === undefined) return undefined
  if ((ip.name !== 'ip4' && ip.name !== 'ip6') || (proto.name !== 'tcp' && proto.name !== 'udp')) return undefined
  return `${ip.name}/${ip.value ?? ''}/${proto.name}/${proto.value ?? ''}`
}

function names (addr: Multiaddr): string[] {
  return addr.getComponents().map(c => c.name)
}

/**
 * Drops addresses that another address on the same ip:port supersedes (go's filterLowPriorityAddresses): QUIC
 * draft-29 (`/quic`) and WebTransport when `/quic-v1` is there, WebSocket (`/ws`, `/wss`) when plain `/tcp` is.
 * Returns what was dropped and why, for the dial plan.
 */
export function filterLowPriorityAddresses (addrs: readonly Multiaddr[]): { kept: Multiaddr[], dropped: Array<{ addr: Multiaddr, reason: string }> } {
  const quicV1 = new Set<string>()
  const plainTcp = new Set<string>()
  for (const a of addrs) {
    const key = thinWaist(a)
    if (key === undefined) continue
    const n = names(a)
    if (n.length === 3 && n[2] === 'quic-v1') quicV1.add(key)
    if (n.length === 2 && n[1] === 'tcp') plainTcp.add(key)
  }
  const kept: Multiaddr[] = []
  const dropped: Array<{ addr: Multiaddr, reason: string }> = []
  for (const a of addrs) {
    const key = thinWaist(a)
    const n = names(a)
    if (key !== undefined && quicV1.has(key) && (n[2] === 'quic' || n.includes('webtransport'))) {
      dropped.push({ addr: a, reason: 'a /quic-v1 address on the same ip:port is preferred' })
    } else if (key !== undefined && plainTcp.has(key) && (n.includes('ws') || n.includes('wss')) && n[1] === 'tcp') {
      dropped.push({ addr: a, reason: 'a plain /tcp address on the same ip:port is preferred' })
    } else {
      kept.push(a)
    }
  }
  return { kept, dropped }
}
