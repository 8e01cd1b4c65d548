import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { AddrTTL, BufferedReader, InvalidMessageError, TimeoutError, describe, isIpLoopback, isPrivateAddr, isPublicAddr, lengthPrefixed, stripPeerId, timeoutSignal, toError } from '@tswarm/core'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { IdentifyError, InvalidSignedPeerRecordError } from '../errors.js'
import { Identify } from './pb/identify.js'
import type { HostConfig, IdentifyConfig } from '../config.js'
import type { HandleOptions, OpenStreamOptions, ProtocolHandler } from '../host.js'
import type { AbortOptions, Logger, PeerId, PrivateKey, PublicKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Clock, Conn, Notifiee, Stream, Swarm, TimerHandle } from '@tswarm/core'

export const IDENTIFY_PROTOCOL = '/ipfs/id/1.0.0'
export const IDENTIFY_PUSH_PROTOCOL = '/ipfs/id/push/1.0.0'

/** Peerstore metadata keys identify writes (go-libp2p's names). */
export const IdentifyMetadata = Object.freeze({
  /** string: the peer's agent version. */
  AGENT_VERSION: 'AgentVersion',
  /** string: the peer's protocol version. */
  PROTOCOL_VERSION: 'ProtocolVersion',
  /** string: our address as that peer last saw it. */
  OBSERVED_ADDR: 'ObservedAddr',
  /** Uint8Array: the newest signed peer record (an envelope) the peer sent, verified. */
  SIGNED_PEER_RECORD: 'SignedPeerRecord'
})

/** Messages read from one identify stream at most (go's maxMessages); the rest is ignored. */
const MAX_MESSAGES = 10
/** Above this size the signed peer record travels in a message of its own (go's legacyIDSize). */
const SPLIT_SIZE = 2048
/** Most listen addresses taken from one peer (go's connectedPeerMaxAddrs). */
const MAX_PEER_ADDRS = 500

/** What identify learned about a peer. */
export interface IdentifyResult {
  peer: PeerId
  protocols: string[]
  /** The addresses recorded: the signed record's when it verified, else the listen addresses sent. */
  listenAddrs: Multiaddr[]
  /** True when `listenAddrs` come from a verified signed peer record. */
  certified: boolean
  agentVersion?: string
  protocolVersion?: string
  /** Our address as the peer sees it. */
  observedAddr?: Multiaddr
  publicKey?: PublicKey
}

/** What identify needs from its host. */
export interface IdentifyHost {
  readonly swarm: Swarm
  readonly peerId: PeerId
  getProtocols(): string[]
  addrs(): Multiaddr[]
  handle(protocol: string, handler: ProtocolHandler, options?: HandleOptions): void
  openStream(conn: Conn, protocols: readonly string[], options?: OpenStreamOptions): Promise<Stream>
}

/**
 * The identify protocols (`/ipfs/id/1.0.0` and `/ipfs/id/push/1.0.0`), as go-libp2p's idService: identifies every
 * new connection, answers peers' requests, and pushes our protocols and addresses to connected peers when they
 * change. What a peer tells us lands in the peerstore: its listen addresses (CONNECTED while connected), protocols,
 * public key, agent and protocol versions (metadata `AgentVersion`, `ProtocolVersion`), our observed address
 * (`ObservedAddr`) and its signed peer record (`SignedPeerRecord`), once verified.
 */
export class IdentifyService {
  readonly #host: IdentifyHost
  readonly #privateKey: PrivateKey
  readonly #config: IdentifyConfig
  readonly #agentVersion: string
  readonly #protocolVersion: string
  readonly #clock: Clock
  readonly #log: Logger
  /** The identify run of each connection, settled or in flight; identifyWait returns it. */
  readonly #runs = new WeakMap<Conn, Promise<void>>()
  readonly #inflight = new Set<Promise<unknown>>()
  readonly #observed = new Map<Conn, Multiaddr>()
  readonly #stop = new AbortController()
  #record: { key: string, bytes: Promise<Uint8Array> } | undefined
  #lastSeq = 0n
  #pushTimer: TimerHandle | undefined

  readonly notifiee: Notifiee = {
    connected: conn => {
      if (this.#config.runOnConnect) void this.identifyWait(conn)
    },
    disconnected: conn => {
      this.#observed.delete(conn)
    },
    listen: () => { this.localChanged() },
    listenClose: () => { this.localChanged() }
  }

  constructor (host: IdentifyHost, privateKey: PrivateKey, config: HostConfig, clock: Clock, log: Logger) {
    this.#host = host
    this.#privateKey = privateKey
    this.#config = config.identify
    this.#agentVersion = config.agentVersion
    this.#protocolVersion = config.protocolVersion
    this.#clock = clock
    this.#log = log
  }

  /** Registers the handlers and the swarm notifiee. The host calls it once. */
  start (): void {
    // a second stream of each per connection covers both sides identifying at once over a reused connection
    const limits = { maxInboundStreams: 2, maxOutboundStreams: 2 }
    this.#host.handle(IDENTIFY_PROTOCOL, async stream => { await this.#answer(stream) }, limits)
    this.#host.handle(IDENTIFY_PUSH_PROTOCOL, async stream => { await this.#receivePush(stream) }, limits)
    this.#host.swarm.notify(this.notifiee)
  }

  /** Stops pushing and aborts identify work in flight. The host calls it when it closes. */
  stop (): void {
    this.#host.swarm.stopNotify(this.notifiee)
    if (this.#pushTimer !== undefined) this.#clock.clearTimeout(this.#pushTimer)
    this.#pushTimer = undefined
    this.#stop.abort(new IdentifyError(this.#host.peerId, 'the host is closing'))
  }

  /** Resolves once every identify run and push in flight has finished. */
  async settled (): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight])
  }

  /**
   * Resolves once identify has run on `conn` (successfully or not), starting it when it has not started (go's
   * IdentifyWait). Never rejects: a failed identify is logged, and the peerstore simply knows less.
   */
  identifyWait (conn: Conn): Promise<void> {
    let run = this.#runs.get(conn)
    if (run === undefined) {
      run = this.#track(this.identify(conn).then(() => {}, (err: unknown) => {
        this.#log('identify of %p failed: %e', conn.remotePeer, err)
      }))
      this.#runs.set(conn, run)
    }
    return run
  }

  /**
   * Runs identify on `conn` now and records the result in the peerstore. Bounded by the identify timeout. Throws an
   * IdentifyError.
   */
  async identify (conn: Conn, options: AbortOptions = {}): Promise<IdentifyResult> {
    const peer = conn.remotePeer
    const parent = options.signal === undefined ? this.#stop.signal : AbortSignal.any([options.signal, this.#stop.signal])
    const ms = this.#config.timeout
    const timeout = timeoutSignal(this.#clock, ms, parent, () => new TimeoutError(`identify did not finish within ${ms} ms`))
    let stream: Stream | undefined
    try {
      stream = await this.#host.openStream(conn, [IDENTIFY_PROTOCOL], { signal: timeout.signal })
      const message = await this.#readMessages(stream, timeout.signal)
      await stream.close({ signal: timeout.signal })
      return await this.#consume(conn, message, false)
    } catch (err) {
      stream?.reset(toError(err))
      if (err instanceof IdentifyError) throw err
      throw new IdentifyError(peer, 'the exchange failed', timeout.signal.aborted ? timeout.signal.reason : err)
    } finally {
      timeout.clear()
    }
  }

  /** Our addresses as connected peers told us they see them, one per connection, deduplicated. */
  observedAddrs (): Multiaddr[] {
    const seen = new Map<string, Multiaddr>()
    for (const addr of this.#observed.values()) seen.set(addr.toString(), addr)
    return [...seen.values()]
  }

  /** Our protocols or addresses changed: push to connected peers once the debounce window passes. */
  localChanged (): void {
    if (this.#stop.signal.aborted || this.#pushTimer !== undefined) return
    this.#pushTimer = this.#clock.setTimeout(() => {
      this.#pushTimer = undefined
      void this.#track(this.push())
    }, this.#config.pushDebounce)
  }

  /**
   * Pushes our current identify message to every connected peer that supports push (as identify told us), at most
   * `maxPushConcurrency` at once. Resolves when every push finished; failures are logged, never thrown.
   */
  async push (): Promise<void> {
    if (this.#stop.signal.aborted) return
    const swarm = this.#host.swarm
    const targets: Conn[] = []
    for (const peer of swarm.peers()) {
      if (!swarm.peerstore.getProtocols(peer).includes(IDENTIFY_PUSH_PROTOCOL)) continue
      const conn = swarm.connsToPeer(peer).find(c => c.status === 'open')
      if (conn !== undefined) targets.push(conn)
    }
    if (targets.length === 0) return
    let bytes: Uint8Array
    try {
      bytes = encodeChunked(await this.#ownMessage(undefined))
    } catch (err) {
      this.#log.error('could not build the identify push message: %e', err)
      return
    }
    const queue = [...targets]
    const worker = async (): Promise<void> => {
      for (let conn = queue.shift(); conn !== undefined; conn = queue.shift()) await this.#pushTo(conn, bytes)
    }
    await Promise.all(Array.from({ length: Math.min(this.#config.maxPushConcurrency, queue.length) }, worker))
  }

  async #pushTo (conn: Conn, bytes: Uint8Array): Promise<void> {
    const ms = this.#config.timeout
    const timeout = timeoutSignal(this.#clock, ms, this.#stop.signal, () => new TimeoutError(`identify push did not finish within ${ms} ms`))
    let stream: Stream | undefined
    try {
      stream = await this.#host.openStream(conn, [IDENTIFY_PUSH_PROTOCOL], { signal: timeout.signal })
      await stream.write(bytes, { signal: timeout.signal })
      await stream.closeWrite({ signal: timeout.signal })
      // reading to the end confirms the protocol and that the peer has read everything
      await new BufferedReader(stream).skipToEnd({ signal: timeout.signal })
    } catch (err) {
      stream?.reset(toError(err))
      this.#log('identify push to %p failed: %e', conn.remotePeer, timeout.signal.aborted ? timeout.signal.reason : err)
    } finally {
      timeout.clear()
    }
  }

  /** Answers `/ipfs/id/1.0.0`: our identify message, then end of stream. */
  async #answer (stream: Stream): Promise<void> {
    const ms = this.#config.timeout
    const timeout = timeoutSignal(this.#clock, ms, this.#stop.signal, () => new TimeoutError(`answering identify took over ${ms} ms`))
    try {
      const message = await this.#ownMessage(stream.conn)
      await stream.write(encodeChunked(message), { signal: timeout.signal })
      await stream.close({ signal: timeout.signal })
    } finally {
      timeout.clear()
    }
  }

  /** Takes in `/ipfs/id/push/1.0.0`: the peer's changed fields. */
  async #receivePush (stream: Stream): Promise<void> {
    const ms = this.#config.timeout
    const timeout = timeoutSignal(this.#clock, ms, this.#stop.signal, () => new TimeoutError(`receiving identify push took over ${ms} ms`))
    try {
      const message = await this.#readMessages(stream, timeout.signal)
      await stream.close({ signal: timeout.signal })
      await this.#consume(stream.conn, message, true)
    } finally {
      timeout.clear()
    }
  }

  /** Up to MAX_MESSAGES length-prefixed messages until end of stream, merged as the spec's chunking requires. */
  async #readMessages (stream: Stream, signal: AbortSignal): Promise<Identify> {
    const reader = new BufferedReader(stream)
    const messages: Identify[] = []
    try {
      while (messages.length < MAX_MESSAGES) {
        const bytes = await reader.readMessage(this.#config.maxMessageSize, { signal })
        if (bytes === null) break
        messages.push(Identify.decode(bytes))
      }
    } catch (err) {
      // as js-libp2p does: what arrived before a broken message is still good
      if (messages.length === 0 || signal.aborted) throw err
      this.#log('stopped reading identify messages from %p: %e', stream.conn.remotePeer, err)
    }
    if (messages.length === 0) throw new InvalidMessageError('the stream ended without an identify message')
    return mergeMessages(messages)
  }

  /** Records what `message` says in the peerstore (go's consumeMessage). A push leaves absent fields unchanged. */
  async #consume (conn: Conn, message: Identify, isPush: boolean): Promise<IdentifyResult> {
    const peer = conn.remotePeer
    const swarm = this.#host.swarm
    const peerstore = swarm.peerstore
    if (peer.equals(this.#host.peerId)) throw new IdentifyError(peer, 'the remote claims to be us')

    let publicKey: PublicKey | undefined
    if (message.publicKey !== undefined) {
      try {
        publicKey = publicKeyFromProtobuf(message.publicKey)
      } catch (err) {
        throw new IdentifyError(peer, 'the public key is malformed', err)
      }
      if (!peerIdFromPublicKey(publicKey).equals(peer)) throw new IdentifyError(peer, 'the public key sent does not match the peer ID')
      peerstore.addPubKey(peer, publicKey)
    }

    if (!isPush || message.protocols.length > 0) peerstore.setProtocols(peer, message.protocols)

    let listenAddrs = parseAddrs(message.listenAddrs)
    let certified = false
    if (message.signedPeerRecord !== undefined) {
      try {
        listenAddrs = await this.#consumeSignedRecord(peer, message.signedPeerRecord)
        certified = true
      } catch (err) {
        // go ignores a bad record and falls back to the plain listen addresses
        this.#log('ignoring the signed peer record of %p: %e', peer, err)
      }
    }
    if (!isPush || message.listenAddrs.length > 0 || certified) {
      listenAddrs = filterAddrs(listenAddrs, conn.remoteMultiaddr).slice(0, MAX_PEER_ADDRS)
      const ttl = swarm.connectedness(peer) === 'connected' ? AddrTTL.CONNECTED : AddrTTL.RECENTLY_CONNECTED
      // go's sequence: addresses the peer no longer lists lose their connected status and are dropped, while
      // PERMANENT ones (given by the user) stay
      peerstore.updateAddrs(peer, AddrTTL.RECENTLY_CONNECTED, AddrTTL.TEMP)
      peerstore.updateAddrs(peer, AddrTTL.CONNECTED, AddrTTL.TEMP)
      peerstore.addAddrs(peer, listenAddrs, ttl)
      peerstore.updateAddrs(peer, AddrTTL.TEMP, 0)
    }

    if (message.agentVersion !== undefined) peerstore.put(peer, IdentifyMetadata.AGENT_VERSION, message.agentVersion)
    if (message.protocolVersion !== undefined) peerstore.put(peer, IdentifyMetadata.PROTOCOL_VERSION, message.protocolVersion)

    // js-libp2p sends the address with our /p2p/<id> on the end; it names the same socket, so it is kept without it
    const sent = parseAddrs(message.observedAddr === undefined ? [] : [message.observedAddr])[0]
    const observedAddr = sent === undefined ? undefined : stripPeerId(sent)
    if (observedAddr !== undefined) {
      this.#observed.set(conn, observedAddr)
      peerstore.put(peer, IdentifyMetadata.OBSERVED_ADDR, observedAddr.toString())
    }

    this.#log('identified %p: %d protocols, %d addresses%s', peer, message.protocols.length, listenAddrs.length, certified ? ' (certified)' : '')
    return {
      peer,
      protocols: message.protocols,
      listenAddrs,
      certified,
      agentVersion: message.agentVersion,
      protocolVersion: message.protocolVersion,
      observedAddr,
      publicKey
    }
  }

  /**
   * Verifies a signed peer record (signature, domain, payload type, and that it is the sender's) and keeps the newest
   * one per peer. Returns the addresses of the newest record held.
   */
  async #consumeSignedRecord (peer: PeerId, bytes: Uint8Array): Promise<Multiaddr[]> {
    const record = await openPeerRecord(peer, bytes)
    const peerstore = this.#host.swarm.peerstore
    const stored = peerstore.get(peer, IdentifyMetadata.SIGNED_PEER_RECORD)
    if (stored instanceof Uint8Array) {
      try {
        const previous = PeerRecord.createFromProtobuf(RecordEnvelope.createFromProtobuf(stored).payload)
        // a replayed older record must not roll the addresses back
        if (previous.seqNumber > record.seqNumber) return previous.multiaddrs
      } catch {
        // an unreadable stored record is replaced
      }
    }
    peerstore.put(peer, IdentifyMetadata.SIGNED_PEER_RECORD, bytes)
    return record.multiaddrs
  }

  /** Our identify message; `conn` gives the observed address (none in a push, which goes to many). */
  async #ownMessage (conn: Conn | undefined): Promise<Identify> {
    const addrs = this.#host.addrs()
    return {
      protocolVersion: this.#protocolVersion,
      agentVersion: this.#agentVersion,
      publicKey: publicKeyToProtobuf(this.#privateKey.publicKey),
      listenAddrs: addrs.map(a => a.bytes),
      observedAddr: conn === undefined ? undefined : observedBytes(conn.remoteMultiaddr),
      protocols: this.#host.getProtocols(),
      signedPeerRecord: addrs.length === 0 ? undefined : await this.#signedRecord(addrs)
    }
  }

  /** Our signed peer record for `addrs`, sealed again only when the addresses change. */
  async #signedRecord (addrs: Multiaddr[]): Promise<Uint8Array> {
    const key = addrs.map(String).join(' ')
    if (this.#record?.key !== key) {
      // sequence numbers must grow even when two changes fall in the same millisecond
      let seq = BigInt(Date.now())
      if (seq <= this.#lastSeq) seq = this.#lastSeq + 1n
      this.#lastSeq = seq
      const record = new PeerRecord({ peerId: this.#host.peerId, multiaddrs: addrs, seqNumber: seq })
      const bytes = RecordEnvelope.seal(record, this.#privateKey).then(envelope => envelope.marshal())
      this.#record = { key, bytes }
      bytes.catch(() => { if (this.#record?.bytes === bytes) this.#record = undefined })
    }
    return await this.#record.bytes
  }

  #track<T> (promise: Promise<T>): Promise<T> {
    this.#inflight.add(promise)
    const untrack = (): void => { this.#inflight.delete(promise) }
    promise.then(untrack, untrack)
    return promise
  }
}

/** Opens and checks a signed peer record envelope sent by `peer`. Throws an InvalidSignedPeerRecordError. */
export async function openPeerRecord (peer: PeerId, bytes: Uint8Array): Promise<PeerRecord> {
  let envelope: RecordEnvelope
  try {
    envelope = await RecordEnvelope.openAndCertify(bytes, PeerRecord.DOMAIN)
  } catch (err) {
    throw new InvalidSignedPeerRecordError(`the envelope does not verify: ${describe(err)}`, { cause: err })
  }
  if (!uint8ArrayEquals(envelope.payloadType, PeerRecord.CODEC)) throw new InvalidSignedPeerRecordError('the envelope does not hold a peer record')
  if (!peerIdFromPublicKey(envelope.publicKey).equals(peer)) throw new InvalidSignedPeerRecordError('the envelope is signed by another peer')
  let record: PeerRecord
  try {
    record = PeerRecord.createFromProtobuf(envelope.payload)
  } catch (err) {
    throw new InvalidSignedPeerRecordError(`the peer record is malformed: ${describe(err)}`, { cause: err })
  }
  if (!record.peerId.equals(peer)) throw new InvalidSignedPeerRecordError('the peer record names another peer')
  return record
}

/**
 * go's filterAddrs: from a peer reached over loopback take every address; over a private network, none on loopback;
 * over the public internet, only public ones (a remote cannot usefully tell us its private addresses). The classes
 * are go's manet ones, from core's address classifier (`isIpLoopback`, `isPrivateAddr`, `isPublicAddr`).
 */
export function filterAddrs (addrs: Multiaddr[], remote: Multiaddr): Multiaddr[] {
  if (isIpLoopback(remote)) return addrs
  if (isPrivateAddr(remote)) return addrs.filter(a => !isIpLoopback(a))
  if (isPublicAddr(remote)) return addrs.filter(a => isPublicAddr(a))
  return addrs
}

/** The message, split as go does when large: the signed peer record in a second message. */
function encodeChunked (message: Identify): Uint8Array {
  const whole = Identify.encode(message)
  if (message.signedPeerRecord === undefined || whole.byteLength <= SPLIT_SIZE) return lengthPrefixed(whole)
  return lengthPrefixed(
    Identify.encode({ ...message, signedPeerRecord: undefined }),
    Identify.encode({ listenAddrs: [], protocols: [], signedPeerRecord: message.signedPeerRecord })
  )
}

/** Several identify messages of one stream as one: later fields win, lists add up (the chunking spec). */
function mergeMessages (messages: Identify[]): Identify {
  const merged: Identify = { ...messages[0] }
  for (const m of messages.slice(1)) {
    merged.protocolVersion = m.protocolVersion ?? merged.protocolVersion
    merged.agentVersion = m.agentVersion ?? merged.agentVersion
    merged.publicKey = m.publicKey ?? merged.publicKey
    merged.observedAddr = m.observedAddr ?? merged.observedAddr
    merged.signedPeerRecord = m.signedPeerRecord ?? merged.signedPeerRecord
    merged.listenAddrs = [...merged.listenAddrs, ...m.listenAddrs]
    merged.protocols = [...new Set([...merged.protocols, ...m.protocols])]
  }
  return merged
}

/** The valid, non-empty multiaddrs among `bytes`; a peer's bad address is skipped, not fatal. */
function parseAddrs (bytes: readonly Uint8Array[]): Multiaddr[] {
  const out: Multiaddr[] = []
  for (const b of bytes) {
    if (b.byteLength === 0) continue
    try {
      out.push(multiaddr(b))
    } catch {
      // skipped
    }
  }
  return out
}

/** The observed address to report: only addresses that start with an IP or DNS name mean anything to the peer. */
function observedBytes (addr: Multiaddr): Uint8Array | undefined {
  const first = addr.getComponents()[0]?.name ?? ''
  return ['ip4', 'ip6', 'dns', 'dns4', 'dns6', 'dnsaddr'].includes(first) ? addr.bytes : undefined
}
