import { isIPv4, isIPv6 } from 'node:net'
import { CODE_DNS, CODE_DNS4, CODE_DNS6, CODE_DNSADDR, CODE_IP4, CODE_IP6, CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { DnsResolutionError, InvalidOptionError, describe } from '../errors.js'
import { stripPeerId } from '../swarm/addrs.js'
import { raceAbort } from '../abort.js'
import type { DnsResolver } from '../interfaces/dial.js'
import type { PeerId } from '@libp2p/interface'
import type { Component, Multiaddr } from '@multiformats/multiaddr'

/** How many `/dnsaddr` lookups deep a chain of records is followed (go-libp2p's `maximumDNSADDRRecursion`). */
export const MAX_DNSADDR_RECURSION = 4

/** The most addresses {@link resolveAddrs} returns for one peer (go-libp2p's `maximumResolvedAddresses`). */
export const MAX_RESOLVED_ADDRS = 100

/**
 * The most entries in {@link ResolveAddrsResult.errors}. DNS answers come from whoever controls the zone, so a TXT
 * record set full of garbage must not grow the list without bound; the first errors are the ones kept.
 */
export const MAX_RESOLVE_ERRORS = 100

/** Options of {@link resolveAddrs}. */
export interface ResolveAddrsOptions {
  /** Does the lookups. */
  resolver: DnsResolver
  /**
   * How many `/dnsaddr` lookups deep a chain of records is followed. A `/dnsaddr` address still unresolved at that
   * depth is returned as is (it is not dialable; the swarm's address filter drops it). Default
   * {@link MAX_DNSADDR_RECURSION} (4).
   */
  maxRecursion?: number
  /** The most addresses returned; the first ones, in order, are kept. Default {@link MAX_RESOLVED_ADDRS} (100). */
  maxAddrs?: number
  /** Aborts every lookup; `resolveAddrs` then rejects with the signal's reason. */
  signal?: AbortSignal
}

/** One address that could not be (fully) resolved, and why. */
export interface ResolveAddrError {
  /** The address whose lookup failed: one given to `resolveAddrs`, or one found in a `/dnsaddr` TXT record. */
  addr: Multiaddr
  /**
   * A {@link DnsResolutionError}; its `cause` is the resolver's error, if there was one. Its message does not repeat
   * `addr`, so show the two together.
   */
  error: Error
}

/** What {@link resolveAddrs} found. */
export interface ResolveAddrsResult {
  /** The addresses to dial: no `/dnsaddr` or `/dns*` first component (but see `maxRecursion`), no trailing `/p2p`. */
  resolved: Multiaddr[]
  /** Addresses that failed to resolve; at most {@link MAX_RESOLVE_ERRORS}. */
  errors: ResolveAddrError[]
}

const DNSADDR_PREFIX = 'dnsaddr='

/**
 * Resolves a peer's DNS addresses to IP addresses before dialing (go-libp2p's `Swarm.resolveAddrs`), so the dial
 * ranker and the dial worker see, and can race, every IP a name stands for.
 *
 * Only the first component of an address is resolved; an address that does not start with `/dnsaddr`, `/dns`,
 * `/dns4` or `/dns6` is returned unchanged (less a trailing `/p2p`).
 *
 * - `/dns4/<host>/…` gives one `/ip4/<ip>/…` per A record, `/dns6/<host>/…` one `/ip6/<ip>/…` per AAAA record,
 *   `/dns/<host>/…` both (IPv4 first; the ranker decides the dial order). An IP literal as `<host>` needs no lookup.
 * - `/dnsaddr/<host>/<suffix>` gives the `dnsaddr=<multiaddr>` TXT records of `_dnsaddr.<host>`, as
 *   go-multiaddr-dns and go-libp2p do:
 *   - when the address has a suffix after the host (usually `/p2p/<id>`), only records that end with that same
 *     suffix are kept, so with `/dnsaddr/<host>/p2p/<id>` a record without `/p2p` is dropped;
 *   - a record whose trailing `/p2p/<id>` is another peer is dropped; a record without `/p2p` is kept (assumed to be
 *     this peer's: the security handshake catches it if not);
 *   - TXT records without the `dnsaddr=` prefix are other TXT data and are ignored; a `dnsaddr=` record that is not
 *     a multiaddr is skipped and reported in `errors`;
 *   - records that are themselves `/dnsaddr` are resolved in turn, up to `maxRecursion` lookups deep;
 *   - as in go, the records that need no further `/dnsaddr` lookup come first, then the expansions of the nested
 *     ones in record order; a `/dns*` record is then resolved like a given `/dns*` address.
 * - The result is stripped of trailing `/p2p/<peer>` (the swarm dials by peer), deduplicated by bytes and capped at
 *   `maxAddrs`, in order.
 *
 * A lookup that fails, or finds nothing usable, is reported in `errors` and the other addresses still resolve: a bad
 * address never makes this throw. Given addresses resolve concurrently. The nested records of one `/dnsaddr` are
 * followed one after the other, as go does, because each one's share of `maxAddrs` depends on what the earlier ones
 * produced; that bounds the lookups a hostile zone can cause. Identical lookups within one call are made once.
 *
 * Differences from go: records of other peers are dropped before the `maxAddrs` cap is applied to a TXT record set
 * (go counts them against it, so they could crowd out this peer's records), the output is deduplicated before being
 * capped, and an address that resolves to nothing is reported in `errors` (go drops it silently).
 *
 * @throws the signal's reason when `signal` aborts; {@link InvalidOptionError} for a negative or fractional limit
 */
export async function resolveAddrs (peer: PeerId, addrs: readonly Multiaddr[],
  options: ResolveAddrsOptions): Promise<ResolveAddrsResult> {
  const maxRecursion = options.maxRecursion ?? MAX_DNSADDR_RECURSION
  const maxAddrs = options.maxAddrs ?? MAX_RESOLVED_ADDRS
  for (const [option, value] of [['maxRecursion', maxRecursion], ['maxAddrs', maxAddrs]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new InvalidOptionError(option, value, 'a non-negative integer')
  }
  const { signal } = options
  signal?.throwIfAborted()

  const walk = new Walk(peer.toString(), options.resolver, signal)

  // First every /dnsaddr, then every /dns*: a dnsaddr record may be a /dns* address, never the reverse.
  const afterDnsaddr = await walk.each(addrs, async (addr, errors) =>
    firstCode(addr) === CODE_DNSADDR ? walk.expandDnsaddr(addr, maxRecursion, maxAddrs, errors) : [addr])
  const candidates = uniqueStripped(afterDnsaddr.addrs, maxAddrs)

  const afterDns = await walk.each(candidates, async (addr, errors) =>
    isDnsCode(firstCode(addr)) ? walk.resolveDnsComponent(addr, maxAddrs, errors) : [addr])
  signal?.throwIfAborted()

  return {
    resolved: uniqueStripped(afterDns.addrs, maxAddrs),
    errors: [...afterDnsaddr.errors, ...afterDns.errors].slice(0, MAX_RESOLVE_ERRORS)
  }
}

/** The state of one `resolveAddrs` call. */
class Walk {
  readonly #lookups = new Map<string, Promise<string[]>>()

  constructor (readonly peer: string, readonly resolver: DnsResolver, readonly signal: AbortSignal | undefined) {}

  /**
   * Runs `step` on every address concurrently; each gets its own error list so the results and errors come out in
   * input order whatever order the lookups finish in.
   */
  async each (addrs: readonly Multiaddr[], step: (addr: Multiaddr, errors: ResolveAddrError[]) => Promise<Multiaddr[]>):
  Promise<{ addrs: Multiaddr[], errors: ResolveAddrError[] }> {
    const results = await Promise.all(addrs.map(async addr => {
      const errors: ResolveAddrError[] = []
      try {
        return { addrs: await step(addr, errors), errors }
      } catch (err) {
        this.signal?.throwIfAborted()
        errors.push(lookupFailed(addr, err))
        return { addrs: [], errors }
      }
    }))
    return { addrs: results.flatMap(r => r.addrs), errors: results.flatMap(r => r.errors) }
  }

  /**
   * The addresses a `/dnsaddr` address stands for, at most `limit`, following nested `/dnsaddr` records while
   * `depthLeft` lookups remain (go's `ResolverFromMaDNS.ResolveDNSAddr`). Throws when the TXT lookup fails.
   */
  async expandDnsaddr (addr: Multiaddr, depthLeft: number, limit: number, errors: ResolveAddrError[]): Promise<Multiaddr[]> {
    if (limit <= 0) return []
    if (depthLeft <= 0) return [addr]
    const [head, ...suffix] = addr.getComponents()
    const name = `_dnsaddr.${head.value ?? ''}`
    const records = await this.#lookup('TXT', name)

    const direct: Multiaddr[] = []
    const nested: Multiaddr[] = []
    let malformed = 0
    for (const record of records) {
      if (direct.length + nested.length >= limit) break
      if (!record.startsWith(DNSADDR_PREFIX)) continue
      let target: Multiaddr
      try {
        target = parseRecord(record.slice(DNSADDR_PREFIX.length))
      } catch (err) {
        malformed++
        errors.push(entry(addr, `skipped malformed TXT record ${quote(record)} of ${name}: ${describe(err)}`, err))
        continue
      }
      if (!endsWith(target, suffix)) continue
      const id = trailingPeer(target)
      if (id !== undefined && id !== this.peer) continue
      if (firstCode(target) === CODE_DNSADDR) nested.push(target)
      else direct.push(target)
    }

    const out = direct
    for (let i = 0; i < nested.length; i++) {
      // go's reservation: leave one slot for each nested record still to come, assuming each yields at least one.
      // Since the records were cut to `limit`, this is never below 1; the check only guards that reasoning.
      const budget = limit - out.length - (nested.length - i) + 1
      if (budget <= 0) continue
      try {
        out.push(...await this.expandDnsaddr(nested[i], depthLeft - 1, budget, errors))
      } catch (err) {
        this.signal?.throwIfAborted()
        errors.push(lookupFailed(nested[i], err))
      }
    }
    // Nothing usable (none at all, or only other peers'): say so, unless the malformed records above already did.
    if (direct.length === 0 && nested.length === 0 && malformed === 0) {
      errors.push(entry(addr, `${name} has no dnsaddr records for peer ${this.peer}`))
    }
    return out.slice(0, limit)
  }

  /**
   * The addresses a `/dns`, `/dns4` or `/dns6` address stands for, at most `limit`. Throws when every lookup failed;
   * when one of the two lookups of `/dns` fails, the other's addresses are enough.
   */
  async resolveDnsComponent (addr: Multiaddr, limit: number, errors: ResolveAddrError[]): Promise<Multiaddr[]> {
    const [head, ...rest] = addr.getComponents()
    const host = head.value ?? ''
    const kinds: Array<'A' | 'AAAA'> =
      head.code === CODE_DNS4 ? ['A'] : head.code === CODE_DNS6 ? ['AAAA'] : ['A', 'AAAA']
    const settled = await Promise.allSettled(kinds.map(async kind => this.#lookupIp(kind, host)))
    this.signal?.throwIfAborted()

    const out: Multiaddr[] = []
    const reported = errors.length
    let failure: unknown
    settled.forEach((result, i) => {
      if (result.status === 'rejected') {
        failure ??= result.reason
        return
      }
      const ip = kinds[i] === 'A' ? { code: CODE_IP4, name: 'ip4' } : { code: CODE_IP6, name: 'ip6' }
      for (const value of result.value) {
        try {
          out.push(toAddr([{ ...ip, value }, ...rest]))
        } catch (err) {
          // A resolver that returns something other than an IP address: skip that one, keep the rest.
          errors.push(entry(addr, `skipped ${kinds[i]} answer ${quote(String(value))} for "${host}": ${describe(err)}`, err))
        }
      }
    })
    if (out.length > 0) return out.slice(0, limit)
    if (failure !== undefined) throw failure
    // Nothing usable: say so, unless the skipped answers above already did.
    if (errors.length === reported) errors.push(entry(addr, `no ${kinds.join(' or ')} records for "${host}"`))
    return []
  }

  async #lookupIp (kind: 'A' | 'AAAA', host: string): Promise<string[]> {
    // An IP literal resolves to itself, as with go's net.Resolver; the wrong family resolves to nothing.
    if (isIPv4(host)) return kind === 'A' ? [host] : []
    if (isIPv6(host)) return kind === 'AAAA' ? [host] : []
    return this.#lookup(kind, host)
  }

  /** One lookup per name and kind per call: many addresses share a host (tcp, quic, ws on one name). */
  async #lookup (kind: 'A' | 'AAAA' | 'TXT', name: string): Promise<string[]> {
    const key = `${kind} ${name.toLowerCase()}`
    let pending = this.#lookups.get(key)
    if (pending === undefined) {
      const { resolver, signal } = this
      const call = kind === 'A'
        ? resolver.resolve4(name, signal)
        : kind === 'AAAA' ? resolver.resolve6(name, signal) : resolver.resolveTxt(name, signal)
      // Race the signal too: a resolver that ignores it must not hold up an aborted dial.
      pending = raceAbort(call, signal)
      this.#lookups.set(key, pending)
    }
    return pending
  }
}

function firstCode (addr: Multiaddr): number | undefined {
  return addr.getComponents()[0]?.code
}

function isDnsCode (code: number | undefined): boolean {
  return code === CODE_DNS || code === CODE_DNS4 || code === CODE_DNS6
}

/**
 * A TXT record's multiaddr, fully validated (the p2p value is only checked when encoded) and in canonical form
 * (a `/p2p/` CID becomes base58btc, so it compares equal to `PeerId.toString()`).
 */
function parseRecord (text: string): Multiaddr {
  const parsed = multiaddr(text)
  if (parsed.getComponents().length === 0) throw new Error('empty multiaddr')
  return multiaddr(parsed.bytes)
}

/** A multiaddr from components, every value checked now rather than when it is first encoded. */
function toAddr (components: Component[]): Multiaddr {
  const built = multiaddr(components)
  void built.bytes
  return built
}

/** Whether `addr`'s last components are `suffix`, compared by bytes (go-multiaddr-dns's suffix match). */
function endsWith (addr: Multiaddr, suffix: readonly Component[]): boolean {
  if (suffix.length === 0) return true
  const parts = addr.getComponents()
  if (parts.length < suffix.length) return false
  return equalBytes(multiaddr(parts.slice(parts.length - suffix.length)).bytes, multiaddr([...suffix]).bytes)
}

function trailingPeer (addr: Multiaddr): string | undefined {
  const parts = addr.getComponents()
  const last = parts[parts.length - 1]
  return last?.code === CODE_P2P ? last.value : undefined
}

/** `addrs` without trailing `/p2p`, first occurrences only (by bytes), at most `max`. */
function uniqueStripped (addrs: readonly Multiaddr[], max: number): Multiaddr[] {
  const seen = new Set<string>()
  const out: Multiaddr[] = []
  for (const addr of addrs) {
    if (out.length >= max) break
    const stripped = stripPeerId(addr)
    const key = Buffer.from(stripped.bytes).toString('hex')
    if (seen.has(key)) continue
    seen.add(key)
    out.push(stripped)
  }
  return out
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}

/**
 * An error entry for `addr`. The message leaves the address out: whoever reports the entry shows `addr` beside it
 * (the swarm wraps it in an AddrDialError, whose message starts with the address).
 */
function entry (addr: Multiaddr, detail: string, cause?: unknown): ResolveAddrError {
  return { addr, error: new DnsResolutionError(detail, cause === undefined ? undefined : { cause }) }
}

/** The entry for a lookup that threw; a resolver's own DnsResolutionError already says what failed. */
function lookupFailed (addr: Multiaddr, err: unknown): ResolveAddrError {
  return entry(addr, err instanceof DnsResolutionError ? err.message : `lookup failed: ${describe(err)}`, err)
}

/** A TXT record for a message: it comes from the network, so keep it short. */
function quote (record: string): string {
  return JSON.stringify(record.length > 100 ? `${record.slice(0, 100)}…` : record)
}
