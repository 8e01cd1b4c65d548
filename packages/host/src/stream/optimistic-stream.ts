import { BufferedReader, InvalidMessageError, MULTISTREAM_PROTOCOL, ProtocolNegotiationError, SwarmError, TimeoutError, multistreamProposal, raceAbort, streamToDuplex, timeoutSignal, toError } from '@tswarm/core'
import type { AbortOptions } from '@libp2p/interface'
import type { Clock, Conn, Deadline, Direction, Stream, StreamStats, StreamStatus } from '@tswarm/core'
import type { Duplex } from 'node:stream'

/** The longest protocol name multistream-select allows (the js and go implementations both cap it at 1 KiB). */
const MAX_PROTOCOL_LENGTH = 1024

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()
const EMPTY = new Uint8Array(0)

/**
 * The `endOfStreamDelay` the host uses on QUIC connections (ms). Against a js-libp2p 3.3.11 node in another process on
 * loopback, each stream on a fresh connection: 0 lost the end of stream in a third to half of the runs on an idle
 * machine, 1 ms in 2 of 15, 2 ms in 1 of 54; 5, 10 and 20 ms in none of 54 to 84 runs each (idle and with the CPUs
 * busy). 20 ms leaves room for a busier listener; a `closeWrite()` later than that after the confirmation waits for
 * nothing.
 */
export const QUIC_END_OF_STREAM_DELAY = 20

/**
 * The end-of-stream hold for a stream to a peer with this identify agent version over QUIC: only js-libp2p listeners
 * lose an early end of stream, so only they (and peers not identified yet, which may be one) pay for it. go-libp2p,
 * rust-libp2p and tswarm peers take the end of stream at once.
 */
export function quicEndOfStreamDelay (agentVersion: unknown): number {
  return typeof agentVersion !== 'string' || agentVersion.startsWith('js-libp2p/') ? QUIC_END_OF_STREAM_DELAY : 0
}

export interface OptimisticStreamInit {
  clock: Clock
  /** How long the remote has to confirm the protocol once our proposal went out (ms). */
  negotiationTimeout: number
  /**
   * How long after the confirmation arrived `closeWrite()` still holds back the end of stream (ms). 0, the default,
   * sends it as soon as the confirmation is in. See the class comment for why QUIC connections want more.
   */
  endOfStreamDelay?: number
  /** Told of a failed negotiation, for logging. */
  onFailure?: (err: Error) => void
}

/**
 * An outbound stream that selects one protocol optimistically (go-multistream's lazy client, js-libp2p v2's
 * `negotiateFully: false`): the multistream-select header and the protocol go out together with the first bytes the
 * application writes, and the remote's confirmation is read before the first bytes the application reads. Opening a
 * stream therefore costs no round trip of its own.
 *
 * When nothing is written first (a protocol where the remote speaks first), the first read, `closeWrite()` or
 * `close()` sends the proposal alone.
 *
 * `closeWrite()` waits for the confirmation before it sends the end of stream, whether or not data went first: a
 * js-libp2p v3 listener loses an end of stream that arrives before its protocol handler starts reading. The async
 * iterator of its streams (`@libp2p/utils` 7) only listens for 'remoteCloseWrite' events still to come, so a handler
 * that starts iterating after the event reads the data and then waits for ever, never ending its side (js-libp2p
 * 3.3.11 over TCP and QUIC, e.g. when the end of stream came with the proposal); and when proposal, data and end of
 * stream arrive together, `@libp2p/multistream-select` 7 `handle()` can fail the stream by pushing the bytes it read
 * ahead back into a stream whose readable side has closed. Over yamux the listener hands the stream to its handler in
 * the same turn as it writes the confirmation, so waiting for the confirmation is enough. Over QUIC it is not:
 * `@chainsafe/libp2p-quic` 2.x makes every write wait for the native write to complete, so `handle()` hands the
 * stream over at least an event loop turn after the confirmation left, and an end of stream sent as soon as the
 * confirmation arrived overtook it in a third to half of the runs on loopback on fresh connections (identify keeps
 * the listener busy then). The host therefore sets `endOfStreamDelay` on QUIC connections: the end of stream waits
 * that long after the confirmation arrived (a `closeWrite()` called later is not delayed). The data itself still
 * travels with the proposal.
 *
 * As soon as the proposal is out, the confirmation is read in the background, bounded by the negotiation timeout, so a
 * refusal or silence resets the stream promptly even when the application only writes. A refusal (`na`) or timeout
 * fails pending and later reads and writes with a ProtocolNegotiationError; bytes written before that are lost, which
 * is the price of skipping the round trip. Use `negotiateFully` when that matters.
 *
 * A read deadline or signal that fires before the confirmation arrives fails the read; a deadline on the underlying
 * stream also fails the negotiation.
 */
export class OptimisticStream implements Stream {
  readonly #raw: Stream
  readonly #clock: Clock
  readonly #timeout: number
  readonly #onFailure: ((err: Error) => void) | undefined
  readonly #endOfStreamDelay: number
  #protocol: string
  #proposed = false
  #handshake: Promise<void> | undefined
  #confirmed = false
  /** When the confirmation arrived (the clock's ms). */
  #confirmedAt: number | undefined
  #failure: Error | undefined
  #readClosed = false
  /** Bytes that arrived with the confirmation, handed out before reading the raw stream again. */
  #early: Uint8Array[] = []
  #duplex: Duplex | undefined

  constructor (raw: Stream, protocol: string, init: OptimisticStreamInit) {
    this.#raw = raw
    this.#protocol = protocol
    this.#clock = init.clock
    this.#timeout = init.negotiationTimeout
    this.#onFailure = init.onFailure
    this.#endOfStreamDelay = init.endOfStreamDelay ?? 0
    // stats, the reporter and per-protocol stream limits see the protocol from the start, as in go
    raw.setProtocol(protocol)
  }

  get id (): string { return this.#raw.id }
  get conn (): Conn { return this.#raw.conn }
  get direction (): Direction { return this.#raw.direction }
  get protocol (): string { return this.#protocol }

  /** As the underlying stream's; `reset` once the negotiation failed. */
  get status (): StreamStatus {
    return this.#failure !== undefined ? 'reset' : this.#raw.status
  }

  /** True once the remote confirmed the protocol. */
  get confirmed (): boolean {
    return this.#confirmed
  }

  setProtocol (protocol: string): void {
    this.#protocol = protocol
    this.#raw.setProtocol(protocol)
  }

  stat (): StreamStats {
    return this.#raw.stat()
  }

  async write (data: Uint8Array | string, options?: AbortOptions): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure
    let bytes = typeof data === 'string' ? utf8.encode(data) : data
    // The proposal must precede the data, and write() hands its bytes to the muxer before its first await, so
    // prepending here keeps the order even for writes that overlap.
    if (!this.#proposed) bytes = this.#propose(bytes)
    try {
      await this.#raw.write(bytes, options)
    } catch (err) {
      throw this.#failure ?? err
    }
  }

  async read (options?: AbortOptions): Promise<Uint8Array | null> {
    if (this.#readClosed) return null
    if (!this.#proposed) this.#sendProposal()
    if (!this.#confirmed) await this.#awaitConfirmation(options?.signal)
    if (this.#readClosed) return null
    const early = this.#early.shift()
    if (early !== undefined) return early
    return await this.#raw.read(options)
  }

  /**
   * Sends the end of stream (and the proposal, if nothing was sent yet) once the remote confirmed the protocol and
   * `endOfStreamDelay` has passed since (see the class comment). Rejects with the ProtocolNegotiationError when the
   * remote refused the protocol: what was written never reached a handler.
   */
  async closeWrite (options?: AbortOptions): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure
    if (!this.#proposed) await this.#sendProposal()
    // see the class comment: a js-libp2p listener must not see our end of stream before its handler reads, with or
    // without data before it
    if (!this.#confirmed && !this.#readClosed) await this.#awaitConfirmation(options?.signal)
    await this.#holdEndOfStream(options?.signal)
    await this.#raw.closeWrite(options)
  }

  async closeRead (): Promise<void> {
    this.#readClosed = true
    this.#early = []
    await this.#raw.closeRead()
  }

  /**
   * Closes both ways: the write side first, so that the confirmation can still be read when `closeWrite()` needs it;
   * then the read side. Rejects as `closeWrite()` does.
   */
  async close (options?: AbortOptions): Promise<void> {
    try {
      await this.closeWrite(options)
    } finally {
      await this.closeRead()
    }
  }

  reset (err?: Error): void {
    this.#raw.reset(err)
  }

  setDeadline (deadline: Deadline): void { this.#raw.setDeadline(deadline) }
  setReadDeadline (deadline: Deadline): void { this.#raw.setReadDeadline(deadline) }
  setWriteDeadline (deadline: Deadline): void { this.#raw.setWriteDeadline(deadline) }

  async * [Symbol.asyncIterator] (): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const chunk = await this.read()
      if (chunk === null) return
      yield chunk
    }
  }

  /** The stream as a Node.js Duplex; same semantics as the swarm stream's. */
  toDuplex (): Duplex {
    this.#duplex ??= streamToDuplex(this)
    return this.#duplex
  }

  /** Sends the proposal with no data (first read, closeWrite, close). */
  async #sendProposal (): Promise<void> {
    const sending = this.#raw.write(this.#propose(EMPTY))
    // a failure here also fails the confirmation, which is where callers hear of it
    sending.catch(() => {})
    await sending
  }

  /** The bytes to send first: the header and the protocol, then `data`. Starts reading the confirmation. */
  #propose (data: Uint8Array): Uint8Array {
    this.#proposed = true
    const proposal = multistreamProposal(this.#protocol)
    this.#handshake = this.#readConfirmation()
    // read() and write() hear of a failure through #failure; nobody may be awaiting the promise itself
    this.#handshake.catch(() => {})
    if (data.byteLength === 0) return proposal
    const out = new Uint8Array(proposal.byteLength + data.byteLength)
    out.set(proposal, 0)
    out.set(data, proposal.byteLength)
    return out
  }

  async #awaitConfirmation (signal: AbortSignal | undefined): Promise<void> {
    const handshake = this.#handshake
    if (handshake === undefined) return
    await raceAbort(handshake, signal)
  }

  /** Waits out what is left of `endOfStreamDelay` after the confirmation (nothing once it passed). */
  async #holdEndOfStream (signal: AbortSignal | undefined): Promise<void> {
    if (this.#confirmedAt === undefined) return
    const left = this.#confirmedAt + this.#endOfStreamDelay - this.#clock.now()
    if (left <= 0) return
    signal?.throwIfAborted()
    const clock = this.#clock
    let onAbort = (): void => {}
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = clock.setTimeout(resolve, left)
        onAbort = () => {
          clock.clearTimeout(timer)
          reject(signal?.reason)
        }
        signal?.addEventListener('abort', onAbort, { once: true })
      })
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  async #readConfirmation (): Promise<void> {
    const protocol = this.#protocol
    const timeout = timeoutSignal(this.#clock, this.#timeout, undefined,
      () => new TimeoutError(`the remote did not confirm ${protocol} within ${this.#timeout} ms`))
    const reader = new BufferedReader(this.#raw)
    try {
      const header = await this.#readLine(reader, timeout.signal)
      if (header !== MULTISTREAM_PROTOCOL) throw new InvalidMessageError(`expected the multistream-select header, got "${header}"`)
      const answer = await this.#readLine(reader, timeout.signal)
      if (answer === 'na') throw new SwarmError(`the remote does not support ${protocol}`)
      if (answer !== protocol) throw new InvalidMessageError(`the remote answered "${answer}" to a proposal of ${protocol}`)
      this.#early = reader.takeBuffered()
      this.#confirmedAt = this.#clock.now()
      this.#confirmed = true
    } catch (err) {
      // After closeRead() nobody wants the answer any more; as with go's lazy client, closing is not an error.
      if (this.#readClosed) return
      // A remote reset is not a refusal: a handler may accept the protocol and reset at once, and a reset drops the
      // confirmation still buffered. The caller hears of the reset as a reset, as go's lazy client reports it.
      const failure = err instanceof ProtocolNegotiationError || (err instanceof Error && err.name === 'StreamResetError')
        ? err
        : new ProtocolNegotiationError([protocol], timeout.signal.aborted ? timeout.signal.reason : err)
      this.#failure = failure
      this.#raw.reset(failure)
      this.#onFailure?.(failure)
      throw failure
    } finally {
      timeout.clear()
    }
  }

  async #readLine (reader: BufferedReader, signal: AbortSignal): Promise<string> {
    const message = await reader.readMessage(MAX_PROTOCOL_LENGTH, { signal })
    if (message === null) throw new InvalidMessageError('the stream ended before the remote confirmed the protocol')
    const text = utf8Decoder.decode(message)
    if (!text.endsWith('\n')) throw new InvalidMessageError('multistream-select message without a trailing newline')
    return text.slice(0, -1)
  }
}
