import type { Multiaddr } from '@multiformats/multiaddr'

/** An address and how long after the start of a dial it may be dialed (ms). */
export interface AddrDelay {
  addr: Multiaddr
  delay: number
}

/**
 * Decides when each of a peer's addresses is dialed (go-libp2p's network.DialRanker). Token: `DIAL_RANKER`.
 * Addresses with equal delay are dialed together; when every dial in flight has failed, the next group starts at
 * once without waiting for its delay. A ranker MUST return every address it is given, once.
 */
export interface DialRanker {
  rank(addrs: readonly Multiaddr[]): AddrDelay[]
}

/**
 * The DNS lookups the swarm needs to resolve `/dns`, `/dns4`, `/dns6` and `/dnsaddr` addresses. Token:
 * `DNS_RESOLVER`; the default uses `node:dns/promises`. Tests inject a fake.
 */
export interface DnsResolver {
  /** IPv4 addresses of `hostname`; an empty list when there are none. */
  resolve4(hostname: string, signal?: AbortSignal): Promise<string[]>
  /** IPv6 addresses of `hostname`; an empty list when there are none. */
  resolve6(hostname: string, signal?: AbortSignal): Promise<string[]>
  /** TXT records of `hostname`, each record's strings joined. */
  resolveTxt(hostname: string, signal?: AbortSignal): Promise<string[]>
}
