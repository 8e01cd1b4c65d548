import {
  CODE_IP4,
  CODE_IP6,
  CODE_P2P_CIRCUIT,
  CODE_QUIC,
  CODE_QUIC_V1,
  CODE_TCP,
  CODE_UDP,
  CODE_WEBRTC_DIRECT,
  CODE_WEBTRANSPORT
} from '@multiformats/multiaddr'
import { isPrivateAddr, isPrivateComponents } from '../net/addr-class.js'
import type { AddrDelay, DialRanker } from '../interfaces/dial.js'
import type { Component, Multiaddr } from '@multiformats/multiaddr'

// The 250 ms public delays are the happy-eyeballs estimate of one round trip (RFC 8305), as in go-libp2p.

/** How much later than the previous QUIC dial a public QUIC address is dialed (ms). Default 250. */
export const PUBLIC_QUIC_DELAY = 250
/** How much later than the previous QUIC dial a private (LAN, loopback) QUIC address is dialed (ms). Default 30. */
export const PRIVATE_QUIC_DELAY = 30
/** How much later than the last QUIC dial public TCP dials start, and the gap between TCP dials (ms). Default 250. */
export const PUBLIC_TCP_DELAY = 250
/** How much later than the last QUIC dial private TCP dials start, and the gap between TCP dials (ms). Default 30. */
export const PRIVATE_TCP_DELAY = 30
/** How much later relay addresses are dialed when the peer also has public direct addresses (ms). Default 500. */
export const RELAY_DELAY = 500
/**
 * How much later than the last public QUIC or TCP dial other transports (webrtc-direct, bare IP) are dialed (ms);
 * also the gap before non-IP addresses. Default 1000.
 */
export const PUBLIC_OTHER_DELAY = 1000
/** How much later than the last private QUIC or TCP dial other private transports are dialed (ms). Default 100. */
export const PRIVATE_OTHER_DELAY = 100

/**
 * go-libp2p's `DefaultDialRanker` ("smart dialing"). Addresses are split into relay, private (go's
 * `manet.IsPrivateAddr`, see {@link isPrivateAddr}), public (any other address with an IP) and non-IP groups.
 * Private and public groups are ranked independently, so they are dialed in parallel:
 *
 * - QUIC first (quic-v1, draft-29 `/quic`, and webtransport over them), lowest port first; when the best QUIC
 *   address is IPv6 and an IPv4 QUIC address exists, happy eyeballs: IPv6 at 0, the best IPv4 one QUIC delay later,
 *   the rest at twice the QUIC delay. Without that pair, the first is at 0 and the rest one QUIC delay later.
 * - TCP (including websockets) starts one TCP delay after the last QUIC dial, with the same IPv6/IPv4 pattern.
 * - Other IP transports (webrtc-direct, a bare IP) one "other" delay after the last QUIC or TCP dial.
 *
 * Delays are {@link PUBLIC_QUIC_DELAY}/{@link PUBLIC_TCP_DELAY} (250 ms) and {@link PUBLIC_OTHER_DELAY} (1 s) for
 * public and relay addresses, {@link PRIVATE_QUIC_DELAY}/{@link PRIVATE_TCP_DELAY} (30 ms) and
 * {@link PRIVATE_OTHER_DELAY} (100 ms) for private ones. Relay addresses are ranked like public ones and shifted by
 * {@link RELAY_DELAY} (500 ms) when the peer has a public direct address. Non-IP addresses (onion, DNS names other
 * than localhost) come {@link PUBLIC_OTHER_DELAY} after the delay of the last ranked address, as go does.
 *
 * Every input address is returned once, in go's order; the input array is not changed.
 */
export class DefaultDialRanker implements DialRanker {
  rank (addrs: readonly Multiaddr[]): AddrDelay[] {
    const infos = addrs.map(describe)
    const [relay, notRelay] = partition(infos, info => info.relay)
    const [pvt, notPrivate] = partition(notRelay, info => info.isPrivate)
    const [pub, nonIp] = partition(notPrivate, info => info.ip4 || info.ip6)

    // Relays cost the relay bandwidth and give a limited connection: only hold them back when a direct address
    // that could work from anywhere exists. Private addresses alone may well be unreachable from here.
    const relayOffset = pub.length > 0 ? RELAY_DELAY : 0

    const out: AddrDelay[] = [
      ...rankGroup(pvt, PRIVATE_TCP_DELAY, PRIVATE_QUIC_DELAY, PRIVATE_OTHER_DELAY, 0),
      ...rankGroup(pub, PUBLIC_TCP_DELAY, PUBLIC_QUIC_DELAY, PUBLIC_OTHER_DELAY, 0),
      ...rankGroup(relay, PUBLIC_TCP_DELAY, PUBLIC_QUIC_DELAY, PUBLIC_OTHER_DELAY, relayOffset)
    ]
    // go takes the delay of the last ranked address (the last group's largest), not the largest overall; kept so
    // that both implementations dial the same address at the same moment.
    const last = out.length > 0 ? out[out.length - 1].delay : 0
    for (const info of nonIp) out.push({ addr: info.addr, delay: last + PUBLIC_OTHER_DELAY })
    return out
  }
}

/**
 * go-libp2p's `NoDelayDialRanker`: every address at delay 0, in the default ranker's order. Used for simultaneous
 * connect (hole punching), where both sides must dial at once.
 */
export class NoDelayDialRanker implements DialRanker {
  rank (addrs: readonly Multiaddr[]): AddrDelay[] {
    return rankGroup(addrs.map(describe), 0, 0, 0, 0)
  }
}

// go's manet.IsPrivateAddr, from the one address classifier; re-exported here, where it always was.
export { isPrivateAddr }

/** go's `isRelayAddr`: the address goes through a circuit relay (`/p2p-circuit` anywhere in it). */
export function isRelayAddr (addr: Multiaddr): boolean {
  return addr.getComponents().some(c => c.code === CODE_P2P_CIRCUIT)
}

/** What the ranker needs to know about one address, worked out once rather than in every sort comparison. */
interface AddrInfo {
  addr: Multiaddr
  relay: boolean
  isPrivate: boolean
  /** go tests for an ip4/ip6 component anywhere in the address, not only the first. */
  ip4: boolean
  ip6: boolean
  /** go's isQUICAddr: `/quic` or `/quic-v1` anywhere, so webtransport over QUIC counts too. */
  quic: boolean
  tcp: boolean
  score: number
}

function describe (addr: Multiaddr): AddrInfo {
  const components = addr.getComponents()
  const has = (code: number): boolean => components.some(c => c.code === code)
  const ip4 = has(CODE_IP4)
  return {
    addr,
    relay: has(CODE_P2P_CIRCUIT),
    isPrivate: isPrivateComponents(components),
    ip4,
    ip6: has(CODE_IP6),
    quic: has(CODE_QUIC) || has(CODE_QUIC_V1),
    tcp: has(CODE_TCP),
    score: score(components, ip4)
  }
}

/**
 * go's dial score; lower is dialed first. The port sits in the low 16 bits because low ports are more likely to be
 * listen ports than ephemeral ones. Order: QUICv1 IPv6 < QUIC draft-29 IPv6 < QUICv1 IPv4 < QUIC draft-29 IPv4 <
 * WebTransport IPv6 < WebTransport IPv4 < TCP IPv6 < TCP IPv4 < webrtc-direct < anything else.
 */
function score (components: Component[], ip4: boolean): number {
  const has = (code: number): boolean => components.some(c => c.code === code)
  const ip4Weight = ip4 ? 2 ** 18 : 0
  if (has(CODE_WEBTRANSPORT)) return ip4Weight + 2 ** 19 + port(components, CODE_UDP)
  if (has(CODE_QUIC)) return ip4Weight + 2 ** 17 + port(components, CODE_UDP)
  if (has(CODE_QUIC_V1)) return ip4Weight + port(components, CODE_UDP)
  if (has(CODE_TCP)) return ip4Weight + 2 ** 20 + port(components, CODE_TCP)
  if (has(CODE_WEBRTC_DIRECT)) return 2 ** 21
  return 2 ** 30
}

/** The first `/udp` or `/tcp` port, as go's ValueForProtocol finds it; 0 when absent, as go's failed Atoi gives. */
function port (components: Component[], code: number): number {
  const value = Number(components.find(c => c.code === code)?.value)
  return Number.isInteger(value) ? value : 0
}

/**
 * Splits `list` the way go's filterAddrs does in place: matches are swapped to the front, which also reorders the
 * rest. Reproduced because that order decides ties between equal scores (Array.sort is stable, like go's sort for
 * up to 12 addresses) and the order of the non-IP addresses.
 */
function partition (list: readonly AddrInfo[], match: (info: AddrInfo) => boolean): [AddrInfo[], AddrInfo[]] {
  const work = [...list]
  let j = 0
  for (let i = 0; i < work.length; i++) {
    if (match(work[i])) {
      const tmp = work[i]
      work[i] = work[j]
      work[j] = tmp
      j++
    }
  }
  return [work.slice(0, j), work.slice(j)]
}

/** Moves `list[from]` to `to` (< from), shifting the entries between one place back. */
function moveBack (list: AddrInfo[], from: number, to: number): void {
  const [item] = list.splice(from, 1)
  list.splice(to, 0, item)
}

/** go's getAddrDelay: ranks one group (private, public or relay); `offset` shifts the whole group. */
function rankGroup (
  group: readonly AddrInfo[],
  tcpDelay: number,
  quicDelay: number,
  otherDelay: number,
  offset: number
): AddrDelay[] {
  if (group.length === 0) return []
  const list = [...group].sort((a, b) => a.score - b.score)

  // Happy eyeballs: when the best QUIC address is IPv6, the best IPv4 QUIC address goes second, so that a broken
  // IPv6 path costs one delay rather than every IPv6 address's worth.
  let happyEyeballsQuic = false
  let searchFrom = 0
  if (list[0].quic && list[0].ip6) {
    for (let j = 1; j < list.length; j++) {
      if (list[j].quic && list[j].ip4) {
        moveBack(list, j, 1)
        happyEyeballsQuic = true
        searchFrom = j + 1
        break
      }
    }
  }

  let tcpStart = searchFrom
  while (tcpStart < list.length && !list[tcpStart].tcp) tcpStart++

  // The same for TCP, counted from the first TCP address.
  let happyEyeballsTcp = false
  if (tcpStart < list.length && list[tcpStart].ip6) {
    for (let j = tcpStart + 1; j < list.length; j++) {
      if (list[j].tcp && list[j].ip4) {
        moveBack(list, j, tcpStart + 1)
        happyEyeballsTcp = true
        break
      }
    }
  }

  const out: AddrDelay[] = []
  // QUIC sorts before TCP, which sorts before the rest, so these only grow along the list.
  let tcpFirstDialDelay = 0
  let lastQuicOrTcpDelay = 0
  for (let i = 0; i < list.length; i++) {
    const info = list[i]
    let delay = 0
    if (info.quic) {
      // go counts QUIC positions from the start of the whole group: QUIC always sorts first.
      if (i === 1) delay = quicDelay
      else if (i > 1) delay = happyEyeballsQuic ? 2 * quicDelay : quicDelay
      lastQuicOrTcpDelay = delay
      // We would rather end up on QUIC, so TCP waits one TCP delay past the last QUIC dial.
      tcpFirstDialDelay = delay + tcpDelay
    } else if (info.tcp) {
      if (i === tcpStart + 1) delay = tcpDelay
      else if (i > tcpStart + 1) delay = happyEyeballsTcp ? 2 * tcpDelay : tcpDelay
      delay += tcpFirstDialDelay
      lastQuicOrTcpDelay = delay
    } else {
      // webrtc-direct and the like are only worth it when nothing better answered.
      delay = lastQuicOrTcpDelay + otherDelay
    }
    out.push({ addr: info.addr, delay: offset + delay })
  }
  return out
}
