import { isPeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { InvalidPeerIdError, describe } from '@tswarm/core'
import { Key } from 'interface-datastore'
import { GaterStoreError } from './errors.js'
import { ipOfMultiaddr, parseCidr, parseIp } from './ip.js'
import type { Cidr, IpAddress } from './ip.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Datastore } from 'interface-datastore'

/** A peer ID, or its string form (`12D3KooW…`). */
export type PeerInput = PeerId | string
/** An IP address: `192.0.2.7`, `2001:db8::7`, or a multiaddr (string or object) that starts with one. */
export type AddrInput = string | Multiaddr | IpAddress
/** A subnet in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a bare address is the subnet of that address. */
export type SubnetInput = string | Cidr

type Kind = 'peer' | 'addr' | 'subnet'

/** Parses a peer ID given as a string; a PeerId passes through. */
export function toPeerId (input: PeerInput): PeerId {
  if (isPeerId(input)) return input
  if (typeof input !== 'string') throw new InvalidPeerIdError(String(input), new TypeError(`expected a PeerId or a string, got ${typeof input}`))
  try {
    return peerIdFromString(input)
  } catch (err) {
    throw new InvalidPeerIdError(input, err)
  }
}

/**
 * Peers, IP addresses and subnets: held in memory, where the gate hooks read them without I/O, and mirrored in a
 * datastore under `prefix`, one record per rule (key `<prefix>/<kind>/<canonical text, URI-encoded>`, value the
 * canonical text), so a restart finds them again.
 *
 * Matching an address costs one map lookup per distinct prefix length in use (at most 33 + 129), however many rules
 * there are.
 */
export class RuleSet {
  readonly #peers = new Map<string, PeerId>()
  readonly #addrs = new Map<string, IpAddress>()
  readonly #subnets = new Map<string, Cidr>()
  /** Prefix key → how many rules (addresses and subnets) have it; an address is its own /32 or /128. */
  readonly #keys = new Map<string, number>()
  /** `<family>/<length>` → how many rules have that prefix length. */
  readonly #lengths = new Map<string, number>()

  constructor (
    private readonly store: Datastore,
    private readonly prefix: string,
    private readonly owner: string,
    private readonly path?: string
  ) {}

  /**
   * Reads every record under the prefix into memory. A record that does not parse as the rule its key names fails
   * the load: skipping it would silently lift a block.
   *
   * @throws GaterStoreError naming the record
   */
  async load (): Promise<void> {
    const decoder = new TextDecoder('utf-8', { fatal: true })
    let key = ''
    try {
      for await (const pair of this.store.query({ prefix: `${this.prefix}/` })) {
        key = pair.key.toString()
        let text: string
        try {
          text = decoder.decode(pair.value)
        } catch {
          throw this.#corrupt(key, 'its value is not UTF-8 text')
        }
        this.#loadRecord(key, text)
      }
    } catch (err) {
      if (err instanceof GaterStoreError) throw err
      throw new GaterStoreError(this.owner, `could not read the rules ${this.#where()}: ${describe(err)}`,
        { path: this.path, key: key === '' ? undefined : key, cause: err })
    }
  }

  hasPeer (peer: PeerId): boolean {
    return this.#peers.has(peer.toString())
  }

  /** Whether a rule (an address or a subnet) covers `ip`. */
  matchesIp (ip: IpAddress): boolean {
    for (const [familyLength, n] of this.#lengths) {
      if (n === 0) continue
      const [family, length] = familyLength.split('/').map(Number)
      if (family === ip.family && this.#keys.has(ip.prefixKey(length))) return true
    }
    return false
  }

  /** Whether a rule covers the IP address `addr` starts with; false for addresses that name none (`/dns4`, `/memory`). */
  matchesAddr (addr: Multiaddr): boolean {
    const ip = ipOfMultiaddr(addr)
    return ip !== undefined && this.matchesIp(ip)
  }

  /** How many peer rules there are. */
  get peerCount (): number {
    return this.#peers.size
  }

  /** How many address and subnet rules there are. */
  get ipRuleCount (): number {
    return this.#addrs.size + this.#subnets.size
  }

  peers (): PeerId[] {
    return [...this.#peers.values()]
  }

  addrs (): IpAddress[] {
    return [...this.#addrs.values()]
  }

  subnets (): Cidr[] {
    return [...this.#subnets.values()]
  }

  /** Persists, then applies. Returns false when the rule was already there. */
  async addPeer (peer: PeerId): Promise<boolean> {
    const text = peer.toString()
    if (this.#peers.has(text)) return false
    await this.#put('peer', text)
    this.#peers.set(text, peer)
    return true
  }

  async removePeer (peer: PeerId): Promise<boolean> {
    const text = peer.toString()
    if (!this.#peers.has(text)) return false
    await this.#delete('peer', text)
    this.#peers.delete(text)
    return true
  }

  async addAddr (ip: IpAddress): Promise<boolean> {
    const text = ip.toString()
    if (this.#addrs.has(text)) return false
    await this.#put('addr', text)
    this.#addrs.set(text, ip)
    this.#index(ip.prefixKey(ip.maxPrefixLength), ip.family, ip.maxPrefixLength, 1)
    return true
  }

  async removeAddr (ip: IpAddress): Promise<boolean> {
    const text = ip.toString()
    if (!this.#addrs.has(text)) return false
    await this.#delete('addr', text)
    this.#addrs.delete(text)
    this.#index(ip.prefixKey(ip.maxPrefixLength), ip.family, ip.maxPrefixLength, -1)
    return true
  }

  async addSubnet (cidr: Cidr): Promise<boolean> {
    const text = cidr.toString()
    if (this.#subnets.has(text)) return false
    await this.#put('subnet', text)
    this.#subnets.set(text, cidr)
    this.#index(cidr.key, cidr.family, cidr.prefixLength, 1)
    return true
  }

  async removeSubnet (cidr: Cidr): Promise<boolean> {
    const text = cidr.toString()
    if (!this.#subnets.has(text)) return false
    await this.#delete('subnet', text)
    this.#subnets.delete(text)
    this.#index(cidr.key, cidr.family, cidr.prefixLength, -1)
    return true
  }

  #loadRecord (key: string, text: string): void {
    const rest = key.slice(this.prefix.length + 1)
    const slash = rest.indexOf('/')
    const kind = slash < 0 ? rest : rest.slice(0, slash)
    let canonical: string
    try {
      switch (kind) {
        case 'peer': {
          const peer = toPeerId(text)
          canonical = peer.toString()
          this.#peers.set(canonical, peer)
          break
        }
        case 'addr': {
          const ip = parseIp(text)
          canonical = ip.toString()
          if (!this.#addrs.has(canonical)) this.#index(ip.prefixKey(ip.maxPrefixLength), ip.family, ip.maxPrefixLength, 1)
          this.#addrs.set(canonical, ip)
          break
        }
        case 'subnet': {
          const cidr = parseCidr(text)
          canonical = cidr.toString()
          if (!this.#subnets.has(canonical)) this.#index(cidr.key, cidr.family, cidr.prefixLength, 1)
          this.#subnets.set(canonical, cidr)
          break
        }
        default:
          throw this.#corrupt(key, `"${kind.slice(0, 40)}" is not a kind of rule this version knows (peer, addr, subnet)`)
      }
    } catch (err) {
      if (err instanceof GaterStoreError) throw err
      throw this.#corrupt(key, `its value is not a valid ${kind}: ${describe(err)}`)
    }
    // The key is derived from the value; when they disagree, one of them was altered and neither can be trusted.
    if (this.#key(kind, canonical).toString() !== key) throw this.#corrupt(key, `the key does not match its value "${canonical}"`)
  }

  #index (key: string, family: number, length: number, delta: 1 | -1): void {
    const bump = (m: Map<string, number>, k: string): void => {
      const n = (m.get(k) ?? 0) + delta
      if (n <= 0) m.delete(k)
      else m.set(k, n)
    }
    bump(this.#keys, key)
    bump(this.#lengths, `${family}/${length}`)
  }

  #key (kind: Kind, text: string): Key {
    return new Key(`${this.prefix}/${kind}/${encodeURIComponent(text)}`)
  }

  async #put (kind: Kind, text: string): Promise<void> {
    try {
      await this.store.put(this.#key(kind, text), new TextEncoder().encode(text))
    } catch (err) {
      throw new GaterStoreError(this.owner, `could not save the ${kind} rule ${text} ${this.#where()}: ${describe(err)}; the rule was not changed`,
        { path: this.path, cause: err })
    }
  }

  async #delete (kind: Kind, text: string): Promise<void> {
    try {
      await this.store.delete(this.#key(kind, text))
    } catch (err) {
      throw new GaterStoreError(this.owner, `could not delete the ${kind} rule ${text} ${this.#where()}: ${describe(err)}; the rule was not changed`,
        { path: this.path, cause: err })
    }
  }

  #corrupt (key: string, problem: string): GaterStoreError {
    return new GaterStoreError(this.owner, `the rule store ${this.#where()} holds a corrupt record at key ${key}: ${problem}; ` +
      'fix or delete that record (the store is never repaired automatically, as dropping a rule could lift a block)', { path: this.path, key })
  }

  #where (): string {
    return this.path === undefined ? '(datastore)' : `at ${this.path}`
  }
}

