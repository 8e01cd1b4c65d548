import type { DialPlan } from './dial/plan.js'
import type { GateHook } from './interfaces/gater.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * The base of every error tswarm throws. Match on `err.name` (stable across package copies) or with
 * {@link errorIs}, which also looks through causes and the per-address errors of a DialError.
 */
export class SwarmError extends Error {
  // Set literally in every subclass too: a minifier renames classes, and callers match on this.
  override readonly name: string = 'SwarmError'
}

/** A peer sent bytes that do not parse as the protocol says (a bad length prefix, a message cut short). */
export class InvalidMessageError extends SwarmError {
  override readonly name: string = 'InvalidMessageError'
}

/** The swarm was closed; create a new one to go on. */
export class SwarmClosedError extends SwarmError {
  override readonly name: string = 'SwarmClosedError'
  constructor (what = 'operation') {
    super(`swarm is closed: ${what} is not possible after close(); create a new swarm`)
  }
}

/** An option had a value it cannot take. */
export class InvalidOptionError extends SwarmError {
  override readonly name: string = 'InvalidOptionError'
  constructor (readonly option: string, readonly value: unknown, expected: string) {
    super(`invalid option ${option}=${String(value)}: expected ${expected}`)
  }
}

/** Assembly failed: something the swarm needs was not registered, or could not be built. */
export class SwarmAssemblyError extends SwarmError {
  override readonly name: string = 'SwarmAssemblyError'
}

/** A plugin module threw while registering. */
export class ModuleRegistrationError extends SwarmError {
  override readonly name: string = 'ModuleRegistrationError'
  constructor (readonly moduleName: string, cause: unknown) {
    super(`module "${moduleName}" failed to register: ${describe(cause)}`, { cause })
  }
}

/** No registered transport handles this address. */
export class NoTransportError extends SwarmError {
  override readonly name: string = 'NoTransportError'
  constructor (readonly addr: string, why = 'register a transport module that handles it (e.g. tcp() from @tswarm/transport-tcp)') {
    super(`no transport for ${addr}: ${why}`)
  }
}

/** Two transports claim the same multiaddr protocol. */
export class DuplicateTransportError extends SwarmError {
  override readonly name: string = 'DuplicateTransportError'
}

/** A string or bytes that should have been a multiaddr were not. */
export class InvalidMultiaddrError extends SwarmError {
  override readonly name: string = 'InvalidMultiaddrError'
  constructor (readonly input: string, cause?: unknown) {
    super(`invalid multiaddr "${input}": ${describe(cause)}; expected something like /ip4/127.0.0.1/tcp/4001`, { cause })
  }
}

/** Every listen address failed; `errors` holds each address's failure. */
export class ListenError extends SwarmError {
  override readonly name: string = 'ListenError'
  constructor (readonly errors: ReadonlyArray<{ addr: string, error: Error }>) {
    const reasons = errors.map(e => ({ addr: e.addr, reason: explainListenFailure(e.error) }))
    super(`failed to listen on any of ${errors.length} address${errors.length === 1 ? '' : 'es'}:\n` +
      reasons.map(r => `  ${r.addr}: ${r.reason}`).join('\n'), { cause: errors[0]?.error })
    this.#reasons = reasons
  }

  readonly #reasons: ReadonlyArray<{ addr: string, reason: string }>

  /** Each address with why it could not be listened on and what to do. */
  reasons (): Array<{ addr: string, reason: string }> {
    return [...this.#reasons]
  }
}

/** System error codes a listen meets, and what to do about each. */
const LISTEN_HINTS: Record<string, string> = {
  EADDRINUSE: 'the port is in use (another node?): stop that one, or choose another port (port 0 picks a free one)',
  EADDRNOTAVAIL: 'the address is not on this host: listen on one of its interface addresses, or on 0.0.0.0 / ::',
  EACCES: 'permission denied: ports below 1024 need root; choose a port of 1024 or more',
  EAFNOSUPPORT: 'this host does not support that address family (IPv6?): listen on an IPv4 address instead'
}

/** Why one listen address failed, in one line that says what to do; looks through causes for a system error code. */
export function explainListenFailure (error: unknown): string {
  const found = findHinted(error, LISTEN_HINTS)
  return found === undefined ? describe(error) : `${describe(found.error)}: ${found.hint}`
}

/** The first error in `err` or nested in it whose system error `code` has a hint in `hints`. */
function findHinted (err: unknown, hints: Readonly<Record<string, string>>): { error: Error, code: string, hint: string } | undefined {
  const hinted = (e: Error): boolean => {
    const code = (e as { code?: unknown }).code
    return typeof code === 'string' && Object.hasOwn(hints, code)
  }
  const error = findErrorWhere(err, hinted)
  if (error === undefined) return undefined
  const code = (error as { code?: unknown }).code as string
  return { error, code, hint: hints[code] }
}

/** We tried to dial our own peer ID or our own listen address. */
export class DialToSelfError extends SwarmError {
  override readonly name: string = 'DialToSelfError'
  constructor () {
    super('dial to self attempted: a swarm cannot connect to its own peer ID or listen addresses')
  }
}

/** The peerstore holds no address for the peer. */
export class NoAddressesError extends SwarmError {
  override readonly name: string = 'NoAddressesError'
  constructor (peer: PeerId) {
    super(`no addresses for peer ${peer.toString()}: add some with swarm.peerstore.addAddrs() before dialing`)
  }
}

/** The peer has addresses, but none the swarm can dial (see the DialError's per-address errors for why). */
export class NoGoodAddressesError extends SwarmError {
  override readonly name: string = 'NoGoodAddressesError'
  constructor () {
    super('no good addresses: every known address was filtered out before dialing')
  }
}

/** Every address was dialed and every dial failed. */
export class AllDialsFailedError extends SwarmError {
  override readonly name: string = 'AllDialsFailedError'
  constructor () {
    super('all dials failed')
  }
}

/** A dial to an address timed out. */
export class DialTimeoutError extends SwarmError {
  override readonly name: string = 'DialTimeoutError'
}

/** A connection gater refused. `gater` names it and `hook` says at which point. */
export class GaterDisallowedError extends SwarmError {
  override readonly name: string = 'GaterDisallowedError'
  constructor (readonly hook: GateHook, readonly gater: string, detail: string, cause?: unknown) {
    super(`connection gater "${gater}" refused at ${hook}: ${detail}`, cause === undefined ? undefined : { cause })
  }
}

/** The remote proved a different identity than the peer we dialed; the connection was closed. */
export class PeerIdMismatchError extends SwarmError {
  override readonly name: string = 'PeerIdMismatchError'
  constructor (readonly expected: PeerId, readonly actual: PeerId) {
    super(`the remote is ${actual.toString()}, not ${expected.toString()} (the peer dialed): this address belongs to another peer; ` +
      `dial .../p2p/${actual.toString()} if that is the node you meant, or remove the address from the peerstore`)
  }
}

/** The security or muxer handshake failed or timed out; the raw connection was closed. */
export class UpgradeError extends SwarmError {
  override readonly name: string = 'UpgradeError'
  constructor (readonly direction: 'inbound' | 'outbound', readonly stage: string, cause: unknown) {
    super(`${direction} connection upgrade failed during ${stage}: ${describe(cause)}`, { cause })
  }
}

/** A handshake or negotiation did not finish within its timeout. */
export class TimeoutError extends SwarmError {
  override readonly name: string = 'TimeoutError'
}

/** The remote does not support any of the protocols offered. */
export class ProtocolNegotiationError extends SwarmError {
  override readonly name: string = 'ProtocolNegotiationError'
  constructor (readonly protocols: readonly string[], cause: unknown) {
    super(`protocol negotiation failed for [${protocols.join(', ')}]: ${describe(cause)}`, { cause })
  }
}

/** `newStream` with `noDial` found no connection to the peer. */
export class NoConnectionError extends SwarmError {
  override readonly name: string = 'NoConnectionError'
  constructor (peer: PeerId) {
    super(`no connection to ${peer.toString()} and noDial was set: dial it first or drop noDial`)
  }
}

/** The connection closed, or was closed, while the operation was pending. */
export class ConnectionClosedError extends SwarmError {
  override readonly name: string = 'ConnectionClosedError'
}

/** A stream read or write deadline passed. Set a later deadline (or null) to use the stream again. */
export class DeadlineExceededError extends SwarmError {
  override readonly name: string = 'DeadlineExceededError'
  constructor (op: 'read' | 'write') {
    super(`${op} deadline exceeded: set a later deadline (or null) to ${op} again`)
  }
}

/** The stream was reset, by us or by the remote. Nothing more can be read or written. */
export class StreamResetError extends SwarmError {
  override readonly name: string = 'StreamResetError'
  constructor (by: 'local' | 'remote', cause?: unknown) {
    super(`stream reset by ${by}`, cause === undefined ? undefined : { cause })
  }
}

/** The stream's write side (or both) is closed. */
export class StreamClosedError extends SwarmError {
  override readonly name: string = 'StreamClosedError'
}

/** The failure of one address in a dial. */
export class AddrDialError extends SwarmError {
  override readonly name: string = 'AddrDialError'
  constructor (readonly addr: Multiaddr, cause: unknown) {
    super(`${addr.toString()}: ${describe(cause)}`, { cause })
  }
}

/** At most this many per-address errors are kept in a DialError; the rest are counted in `skipped`. */
export const MAX_DIAL_ERRORS = 16

/**
 * The error of a failed `dialPeer` (go-libp2p's DialError): the peer, the overall cause, and each address's error.
 * {@link errorIs} looks through `cause` and every per-address error.
 */
export class DialError extends SwarmError {
  override readonly name: string = 'DialError'
  readonly errors: AddrDialError[] = []
  skipped = 0
  /** What the dial did with each address; `String(err.plan)` prints it as a table. */
  plan?: DialPlan

  constructor (readonly peer: PeerId, override readonly cause: Error, addrErrors: readonly AddrDialError[] = []) {
    super('', { cause })
    // Error's constructor gave the instance its own `message`; replace it by one computed on read, so errors
    // recorded after construction appear in it.
    Object.defineProperty(this, 'message', { get: () => this.#describe(), configurable: true, enumerable: false })
    for (const e of addrErrors) this.recordError(e)
  }

  recordError (err: AddrDialError): void {
    if (this.errors.length < MAX_DIAL_ERRORS) this.errors.push(err)
    else this.skipped++
  }

  /** True when the dial failed because time ran out. */
  get timeout (): boolean {
    return errorIs(this.cause, 'DialTimeoutError') || this.errors.some(e => errorIs(e.cause, 'DialTimeoutError'))
  }

  /** Each address with what happened to it and what to do, one line each (the lines of the message). */
  reasons (): Array<{ addr: string, reason: string }> {
    return this.errors.map(e => ({ addr: e.addr.toString(), reason: explainDialFailure(e.cause) }))
  }

  #describe (): string {
    const lines = [`failed to dial ${this.peer.toString()}: ${this.cause.message}`]
    for (const { addr, reason } of this.reasons()) lines.push(`  * ${addr}: ${reason}`)
    if (this.skipped > 0) lines.push(`  ... skipping ${this.skipped} errors ...`)
    return lines.join('\n')
  }
}

/** System error codes a dial meets, and what each means for the one dialing. */
const SOCKET_HINTS: Record<string, string> = {
  ECONNREFUSED: 'nothing listens there: is the node running, and on this port?',
  ECONNRESET: 'the remote closed the connection during the handshake: it may not speak libp2p, or it refused us',
  EHOSTUNREACH: 'no route to the host: check the address and this machine\'s network',
  ENETUNREACH: 'no route to that network: check the address and this machine\'s network',
  EADDRNOTAVAIL: 'the address cannot be used from this machine: check it',
  ETIMEDOUT: 'no answer in time: the host may be down, or a firewall drops the packets'
}

/**
 * What one address's failure in a dial means, in one line that says what to do: the remote proved to be another
 * peer (its PeerIdMismatchError names which), nothing listens, no answer, backed off, gated, no transport, or the stage of the upgrade that
 * failed. Looks through causes for the most telling one.
 */
export function explainDialFailure (cause: unknown): string {
  // these already say what happened and what to do
  for (const name of ['PeerIdMismatchError', 'DialBackoffError', 'GaterDisallowedError', 'NoTransportError', 'DialRefusedBlackHoleError', 'DialToSelfError', 'ResourceLimitError']) {
    const found = findError(cause, name)
    if (found !== undefined) return found.message
  }
  const socket = findHinted(cause, SOCKET_HINTS)
  if (socket !== undefined) return `${socket.code}: ${socket.hint}`
  if (findErrorWhere(cause, e => e.name === 'DialTimeoutError' || e.name === 'TimeoutError') !== undefined) {
    return `${describe(cause)}: the host did not answer in time; it may be down, or a firewall drops the packets`
  }
  return describe(cause)
}

/** The errors directly inside `err`: its cause, and for a DialError or ListenError every per-address error. */
export function unwrapErrors (err: unknown): unknown[] {
  const out: unknown[] = []
  if (err instanceof Error || (typeof err === 'object' && err !== null)) {
    const e = err as { cause?: unknown, errors?: unknown }
    if (e.cause !== undefined) out.push(e.cause)
    if (Array.isArray(e.errors)) {
      for (const inner of e.errors) out.push(typeof inner === 'object' && inner !== null && 'error' in inner ? (inner as { error: unknown }).error : inner)
    }
  }
  return out
}

/**
 * The first error named `name` in `err` or nested in it (causes, per-address errors), or undefined. Names are compared
 * rather than classes so this works across copies of the package. Depth is bounded and cycles are safe.
 */
export function findError (err: unknown, name: string): Error | undefined {
  return findErrorWhere(err, e => e.name === name)
}

/** The first error in `err` or nested in it (breadth first) that `match` accepts; bounded, cycle-safe. */
function findErrorWhere (err: unknown, match: (e: Error) => boolean): Error | undefined {
  const seen = new Set<unknown>()
  const queue: unknown[] = [err]
  while (queue.length > 0 && seen.size < 256) {
    const e = queue.shift()
    if (e == null || seen.has(e)) continue
    seen.add(e)
    if (e instanceof Error && match(e)) return e
    queue.push(...unwrapErrors(e))
  }
  return undefined
}

/** Whether `err`, or any error nested in it (causes, per-address errors), has the name `name` (go's errors.Is). */
export function errorIs (err: unknown, name: string): boolean {
  return findError(err, name) !== undefined
}

/** A short description of an unknown thrown value, for messages. */
export function describe (err: unknown): string {
  if (err instanceof Error) return err.message === '' ? err.name : err.message
  return String(err)
}

/** `err` as an Error (thrown non-errors are wrapped). */
export function toError (err: unknown): Error {
  return err instanceof Error ? err : new SwarmError(describe(err), { cause: err })
}

/** No identity file exists at the path given to `loadIdentity`. */
export class IdentityNotFoundError extends SwarmError {
  override readonly name: string = 'IdentityNotFoundError'
  constructor (readonly path: string) {
    super(`no identity file at ${path}: create one with saveIdentity(path, await generateIdentity()), or use loadOrCreateIdentity(path)`)
  }
}

/**
 * An identity file (or encoded private key) could not be read or is not a valid libp2p private key. `path` is
 * undefined for bytes given directly. The file is never replaced automatically: that would change the peer ID.
 */
export class InvalidIdentityError extends SwarmError {
  override readonly name: string = 'InvalidIdentityError'
  constructor (readonly path: string | undefined, problem: string, cause?: unknown) {
    super(`${path === undefined ? 'private key bytes' : `identity file ${path}`}: ${problem}`, cause === undefined ? undefined : { cause })
  }
}

/** A string that should have been a peer ID was not. */
export class InvalidPeerIdError extends SwarmError {
  override readonly name: string = 'InvalidPeerIdError'
  constructor (readonly input: string, cause: unknown) {
    super(`invalid peer ID "${shorten(input)}": ${describe(cause)}; expected a base58btc multihash (12D3KooW…, Qm…, 16Uiu2…) or a CIDv1 (bafz…)`, { cause })
  }
}

/** The address failed recently and is backed off; it will be tried again once the backoff expires. */
export class DialBackoffError extends SwarmError {
  override readonly name: string = 'DialBackoffError'
  constructor (readonly until: number) {
    super(`dial backoff: this address failed recently and is not retried until ${new Date(until).toISOString()}; ` +
      'call swarm.backoff().clear(peer) to retry at once')
  }
}

/**
 * The address is in a class (UDP, IPv6) whose recent public dials nearly all failed, so the network probably drops it
 * (go-libp2p's ErrDialRefusedBlackHole). A probe is still let through every so often.
 */
export class DialRefusedBlackHoleError extends SwarmError {
  override readonly name: string = 'DialRefusedBlackHoleError'
  constructor (readonly kind: string) {
    super(`dial refused because of a ${kind} black hole: recent ${kind} dials nearly all failed, so this network ` +
      'probably cannot reach such addresses; a probe dial is still let through now and then')
  }
}

/** A `/dns*` or `/dnsaddr` address could not be resolved. */
export class DnsResolutionError extends SwarmError {
  override readonly name: string = 'DnsResolutionError'
}

/** A resource limit refused a new connection or stream; nothing already established was touched. */
export class ResourceLimitError extends SwarmError {
  override readonly name: string = 'ResourceLimitError'
  constructor (readonly scope: string, readonly limit: number) {
    super(`resource limit exceeded: ${scope} is at its limit of ${limit}; raise it in the resource limits or close ` +
      'connections or streams you no longer need')
  }
}

/**
 * A string that should have been an IP address was not, or a multiaddr named no IP address (`/dns4/…`, `/memory/…`).
 * Address rules apply to IP addresses only: resolve names first.
 */
export class InvalidIpAddressError extends SwarmError {
  override readonly name: string = 'InvalidIpAddressError'

  constructor (readonly input: string, problem = 'not an IPv4 or IPv6 address') {
    super(`invalid IP address "${shorten(input)}": ${problem}; expected something like 192.0.2.7, 2001:db8::7 or /ip4/192.0.2.7/tcp/4001`)
  }
}

/** A string that should have been a subnet in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`) was not. */
export class InvalidCidrError extends SwarmError {
  override readonly name: string = 'InvalidCidrError'

  constructor (readonly input: string, readonly problem: string) {
    super(`invalid CIDR "${shorten(input)}": ${problem}; expected an address and a prefix length, like 10.0.0.0/8 or 2001:db8::/32`)
  }
}

function shorten (input: string): string {
  // Inputs may come from configuration files or the network: keep messages short whatever they hold.
  return input.length > 100 ? `${input.slice(0, 100)}…` : input
}
