import { Resolver, lookup } from 'node:dns/promises'
import { raceAbort } from '../abort.js'
import { DnsResolutionError, describe } from '../errors.js'
import type { DnsResolver } from '../interfaces/dial.js'

/** Options of {@link NodeDnsResolver}. */
export interface NodeDnsResolverOptions {
  /** DNS servers (`'8.8.8.8'`, `'[2001:4860:4860::8888]:53'`, …). Default: the system's, from resolv.conf. */
  servers?: readonly string[]
  /** Milliseconds before one query attempt times out. Default: c-ares's default (-1, i.e. its own backoff). */
  timeout?: number
  /** Attempts per server before giving up. Default: 4 (c-ares's default). */
  tries?: number
}

/** Error codes that mean "the name has no such records", which the DnsResolver contract reports as an empty list. */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND'])

/**
 * The default {@link DnsResolver}, over `node:dns/promises`.
 *
 * Each lookup gets its own `Resolver`, because `Resolver.cancel()` cancels every query in flight on that instance:
 * sharing one would let one caller's abort fail every other caller's lookups.
 *
 * A and AAAA lookups that find nothing in DNS are retried with `dns.lookup()` (getaddrinfo), which also reads
 * `/etc/hosts`: c-ares queries DNS only, so `/dns4/localhost/…` would otherwise resolve to nothing, while go-libp2p's
 * resolver honours the hosts file. getaddrinfo cannot be cancelled, so an abort only stops waiting for it.
 */
export class NodeDnsResolver implements DnsResolver {
  readonly #options: NodeDnsResolverOptions

  constructor (options: NodeDnsResolverOptions = {}) {
    this.#options = { ...options, servers: options.servers === undefined ? undefined : [...options.servers] }
  }

  async resolve4 (hostname: string, signal?: AbortSignal): Promise<string[]> {
    const found = await this.#query('A', hostname, signal, async r => r.resolve4(hostname))
    return found.length > 0 ? found : this.#lookupHosts(hostname, 4, signal)
  }

  async resolve6 (hostname: string, signal?: AbortSignal): Promise<string[]> {
    const found = await this.#query('AAAA', hostname, signal, async r => r.resolve6(hostname))
    return found.length > 0 ? found : this.#lookupHosts(hostname, 6, signal)
  }

  async resolveTxt (hostname: string, signal?: AbortSignal): Promise<string[]> {
    // A TXT record is a list of strings of at most 255 bytes each; a dnsaddr longer than that is split across them.
    const records = await this.#query('TXT', hostname, signal, async r => r.resolveTxt(hostname))
    return records.map(chunks => chunks.join(''))
  }

  async #query<T> (type: string, hostname: string, signal: AbortSignal | undefined,
    run: (resolver: Resolver) => Promise<T[]>): Promise<T[]> {
    signal?.throwIfAborted()
    const resolver = new Resolver({ timeout: this.#options.timeout, tries: this.#options.tries })
    if (this.#options.servers !== undefined) resolver.setServers(this.#options.servers)
    const onAbort = (): void => { resolver.cancel() }
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await raceAbort(run(resolver), signal)
    } catch (err) {
      // A cancelled query fails with ECANCELLED (or whatever c-ares had got to): report the abort, not that.
      signal?.throwIfAborted()
      const code = (err as { code?: unknown }).code
      if (typeof code === 'string' && NO_RECORDS.has(code)) return []
      throw new DnsResolutionError(`${type} lookup of "${hostname}" failed: ${typeof code === 'string' ? code : describe(err)}`,
        { cause: err })
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  async #lookupHosts (hostname: string, family: 4 | 6, signal: AbortSignal | undefined): Promise<string[]> {
    try {
      const found = await raceAbort(lookup(hostname, { family, all: true }), signal)
      // getaddrinfo may answer an AAAA question with v4-mapped addresses on some systems; keep the family asked for.
      return found.filter(a => a.family === family).map(a => a.address)
    } catch (err) {
      signal?.throwIfAborted()
      // DNS already said "no records"; the fallback failing too just confirms it.
      const code = (err as { code?: unknown }).code
      if (typeof code === 'string' && (NO_RECORDS.has(code) || code === 'EAI_FAIL' || code === 'EAI_AGAIN')) return []
      throw new DnsResolutionError(`hosts lookup of "${hostname}" failed: ${describe(err)}`, { cause: err })
    }
  }
}
