import { MemoryDatastore } from 'datastore-core'
import { InvalidOptionError, describe } from '@tswarm/core'
import { GaterStateError } from './errors.js'
import { toCidr, toIp } from './ip.js'
import { RuleSet, toPeerId } from './rule-set.js'
import { openStore } from './store.js'
import type { Cidr, IpAddress } from './ip.js'
import type { AddrInput, PeerInput, SubnetInput } from './rule-set.js'
import type { OpenedStore } from './store.js'
import type { Logger, PeerId } from '@libp2p/interface'
import type { Conn, Network, SwarmService } from '@tswarm/core'
import type { Datastore } from 'interface-datastore'

/** Options shared by `blockList()` and `allowList()`. Every field is optional. */
export interface RuleListOptions {
  /**
   * A directory for a LevelDB store (created when missing): rules survive restarts. One store per list and per
   * running swarm: LevelDB locks its directory. Default: none (rules are kept in memory, see `datastore`).
   */
  path?: string
  /**
   * A datastore of your own (any `interface-datastore` implementation, already open), instead of `path`. The list
   * writes under its own prefix (`/tswarm/gater/v1/block-list`, `/tswarm/gater/v1/allow-list`), so one datastore can
   * hold both lists; it is never closed by the list. Default: an in-memory `MemoryDatastore` owned by the module,
   * so rules outlive one swarm made with it but not the process.
   */
  datastore?: Datastore
  /** Peers to add when the swarm starts (persisted like any other rule). Default none. */
  peers?: readonly PeerInput[]
  /** IP addresses to add when the swarm starts. Default none. */
  addrs?: readonly AddrInput[]
  /** Subnets (CIDR) to add when the swarm starts. Default none. */
  subnets?: readonly SubnetInput[]
  /**
   * Whether a change that denies live connections (blocking, or removing from an allow list) also closes them.
   * Default true.
   */
  closeConnections?: boolean
}

/** {@link RuleListOptions}, validated and parsed. */
export interface RuleListConfig {
  readonly path?: string
  readonly datastore?: Datastore
  readonly peers: readonly PeerId[]
  readonly addrs: readonly IpAddress[]
  readonly subnets: readonly Cidr[]
  readonly closeConnections: boolean
  /** Where rules live when neither `path` nor `datastore` is given: one per module, so a restarted swarm keeps them. */
  readonly memory: MemoryDatastore
}

/**
 * Validates a list's options at once, so a typo fails where the module is created rather than when the swarm starts.
 *
 * @throws InvalidOptionError, InvalidPeerIdError, InvalidIpAddressError, InvalidCidrError
 */
export function resolveRuleListOptions (options: RuleListOptions, owner: string): RuleListConfig {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError(owner, options, 'an options object')
  const { path, datastore } = options
  if (path !== undefined && (typeof path !== 'string' || path.trim() === '')) {
    throw new InvalidOptionError(`${owner}.path`, path, 'a non-empty directory path')
  }
  if (datastore !== undefined && !isDatastore(datastore)) {
    throw new InvalidOptionError(`${owner}.datastore`, datastore, 'an interface-datastore Datastore (put, get, delete, query)')
  }
  if (path !== undefined && datastore !== undefined) {
    throw new InvalidOptionError(`${owner}.path`, path, 'either path or datastore, not both')
  }
  if (options.closeConnections !== undefined && typeof options.closeConnections !== 'boolean') {
    throw new InvalidOptionError(`${owner}.closeConnections`, options.closeConnections, 'true or false')
  }
  const list = <I, O>(name: string, value: readonly I[] | undefined, parse: (input: I) => O): O[] => {
    if (value === undefined) return []
    if (!Array.isArray(value)) throw new InvalidOptionError(`${owner}.${name}`, value, 'an array')
    return value.map(parse)
  }
  return Object.freeze({
    path,
    datastore,
    peers: Object.freeze(list('peers', options.peers, toPeerId)),
    addrs: Object.freeze(list('addrs', options.addrs, toIp)),
    subnets: Object.freeze(list('subnets', options.subnets, toCidr)),
    closeConnections: options.closeConnections ?? true,
    memory: new MemoryDatastore()
  })
}

function isDatastore (value: unknown): value is Datastore {
  const d = value as Record<string, unknown> | null
  return typeof d === 'object' && d !== null && ['put', 'get', 'delete', 'query'].every(m => typeof d[m] === 'function')
}

export type RuleListState = 'new' | 'starting' | 'running' | 'stopped'

/**
 * What the block and allow lists share: rules in a {@link RuleSet}, loaded from the store when the swarm starts,
 * changed one at a time (each change persisted before it applies), and the swarm, to close connections a change
 * denies.
 */
export abstract class RuleList implements SwarmService {
  abstract readonly name: string
  /** Empty until the swarm starts; the hooks read it without waiting. */
  protected rules: RuleSet
  #state: RuleListState = 'new'
  #network?: Network
  #store?: OpenedStore
  /** Changes run one after another, so a block and an unblock of one peer apply in the order they were asked. */
  #queue: Promise<unknown> = Promise.resolve()

  constructor (
    protected readonly config: RuleListConfig,
    protected readonly log: Logger,
    private readonly prefix: string
  ) {
    this.rules = new RuleSet(new MemoryDatastore(), prefix, 'unstarted list')
  }

  get state (): RuleListState {
    return this.#state
  }

  /** Opens the store, loads the rules, adds the configured ones. Called by the swarm. */
  async start (network: Network): Promise<void> {
    if (this.#state !== 'new') throw new GaterStateError(`${this.name}: started twice; a list serves one swarm`)
    this.#state = 'starting'
    this.#network = network
    const opened = await openStore(this.name, this.config, this.config.memory)
    this.#store = opened
    const rules = new RuleSet(opened.store, this.prefix, this.name, opened.path)
    await rules.load()
    for (const p of this.config.peers) await rules.addPeer(p)
    for (const a of this.config.addrs) await rules.addAddr(a)
    for (const s of this.config.subnets) await rules.addSubnet(s)
    this.rules = rules
    this.#state = 'running'
    const counts = `${rules.peers().length} peers, ${rules.addrs().length} addresses, ${rules.subnets().length} subnets`
    this.log('started with %s%s', counts, opened.path === undefined ? '' : ` from ${opened.path}`)
  }

  /** Waits for changes in progress, then closes the store if the list opened it. Called when the swarm closes. */
  async stop (): Promise<void> {
    if (this.#state === 'stopped') return
    this.#state = 'stopped'
    await this.#queue.catch(() => {})
    try {
      await this.#store?.close()
    } catch (err) {
      this.log.error('could not close the rule store: %s', describe(err))
    }
  }

  /** Whether the list's rules deny this live connection. */
  protected abstract denies (conn: Conn): boolean

  /**
   * Runs one change after those before it. `tightens` says whether it can deny connections that were allowed; those
   * are closed afterwards when `closeConnections` is set.
   */
  protected async change (tightens: boolean, apply: (rules: RuleSet) => Promise<boolean>): Promise<boolean> {
    this.#assertRunning()
    const run = this.#queue.then(async () => {
      this.#assertRunning()
      const changed = await apply(this.rules)
      if (changed && tightens && this.config.closeConnections) await this.#closeDenied()
      return changed
    })
    this.#queue = run.catch(() => {})
    return run
  }

  async #closeDenied (): Promise<void> {
    const denied = this.#network?.conns().filter(c => this.denies(c)) ?? []
    if (denied.length === 0) return
    this.log('closing %d connections the new rule denies', denied.length)
    await Promise.allSettled(denied.map(async c => { await c.close() }))
  }

  #assertRunning (): void {
    if (this.#state === 'running') return
    throw new GaterStateError(this.#state === 'stopped'
      ? `${this.name}: the swarm was closed; rules cannot change any more (make a new swarm with the module to go on)`
      : `${this.name}: rules cannot change before the swarm has started (await createSwarm first)`)
  }
}

export type { AddrInput, PeerInput, SubnetInput }
