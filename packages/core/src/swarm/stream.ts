import { streamToDuplex } from './duplex.js'
import { ConnectionClosedError, DeadlineExceededError, InvalidOptionError, StreamClosedError, StreamResetError, describe, errorIs, toError } from '../errors.js'
import type { Clock, TimerHandle } from '../interfaces/clock.js'
import type { Conn, Deadline, Stream, StreamStats, StreamStatus } from '../interfaces/connection.js'
import type { Direction } from '../interfaces/gater.js'
import type { Reporter } from '../interfaces/reporter.js'
import type { StreamScope } from '../interfaces/resources.js'
import type { MuxedStream } from '../interfaces/transport.js'
import type { Duplex } from 'node:stream'
import type { AbortOptions, PeerId, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'

/** The default of {@link SwarmStreamInit.readBufferHighWater}: 256 KiB, one initial yamux window. */
export const DEFAULT_READ_BUFFER_HIGH_WATER = 256 * 1024
/** The default of {@link SwarmStreamInit.writeBufferHighWater}: 1 MiB. */
export const DEFAULT_WRITE_BUFFER_HIGH_WATER = 1024 * 1024

const utf8 = new TextEncoder()
// fills taken queue slots, so a queue the reader never fully drains does not keep read chunks alive
const TAKEN = new Uint8Array(0)

export interface SwarmStreamInit {
  /** The muxed stream to wrap. */
  inner: MuxedStream
  /** The connection the stream belongs to. */
  conn: Conn
  /** `<peer>-<conn>-<stream>`, unique within the swarm. */
  id: string
  direction: Direction
  reporter: Reporter
  clock: Clock
  /**
   * The protocol already agreed, if any (a transport that negotiates on its own). When given, the stream starts
   * reading `inner` at once (see {@link SwarmStream.setProtocol}).
   */
  protocol?: string
  /**
   * Called exactly once, when `inner` has fully finished (closed both ways, reset, or aborted), so the owner can drop
   * the stream. Runs inside the inner stream's event dispatch: it MUST NOT throw.
   */
  onEnd: (stream: SwarmStream) => void
  /** The stream's resource reservation: charged its protocol by `setProtocol`, released when the stream ends. */
  scope?: StreamScope
  /**
   * How many received bytes may wait in the stream for the reader before the remote is told to stop sending. The
   * remote may still send what its current window allows; that waits inside `inner` without being read.
   *
   * @default 262144 (256 KiB)
   */
  readBufferHighWater?: number
  /**
   * How many written bytes may wait inside the muxer (for window, or for the connection to drain) while `write()`
   * still resolves at once: a number, or a function read at every write (a connection shares one budget among its
   * streams this way). Writes that wait together leave as one large frame, so the receiver sends one window update
   * for many writes and Noise and the socket see fewer, larger pieces. Above the mark, `write()` waits for the muxer.
   *
   * @default 1048576 (1 MiB)
   */
  writeBufferHighWater?: number | (() => number)
}

interface Waiter<T> {
  resolve: (value: T) => void
  reject: (err: unknown) => void
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

/** Operations parked until something happens on the stream; each may leave early through its own abort signal. */
class WaitQueue<T> {
  readonly #waiters: Array<Waiter<T>> = []
  readonly #onEmpty: () => void

  /** `onEmpty` runs whenever the last waiter leaves, so timers guarding the waiters can be cleared. */
  constructor (onEmpty: () => void) {
    this.#onEmpty = onEmpty
  }

  get size (): number {
    return this.#waiters.length
  }

  wait (signal: AbortSignal | undefined): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>()
    const waiter: Waiter<T> = { resolve, reject, signal, onAbort: undefined }
    if (signal !== undefined) {
      waiter.onAbort = () => {
        const i = this.#waiters.indexOf(waiter)
        if (i !== -1) this.#waiters.splice(i, 1)
        if (this.#waiters.length === 0) this.#onEmpty()
        reject(signal.reason)
      }
      signal.addEventListener('abort', waiter.onAbort, { once: true })
    }
    this.#waiters.push(waiter)
    return promise
  }

  /** Resolves the longest-waiting operation. */
  resolveNext (value: T): void {
    const waiter = this.#waiters.shift()
    if (waiter === undefined) return
    this.#release(waiter)
    if (this.#waiters.length === 0) this.#onEmpty()
    waiter.resolve(value)
  }

  resolveAll (value: T): void {
    for (const waiter of this.#drain()) waiter.resolve(value)
  }

  rejectAll (err: Error): void {
    for (const waiter of this.#drain()) waiter.reject(err)
  }

  #drain (): Array<Waiter<T>> {
    const waiters = this.#waiters.splice(0)
    for (const waiter of waiters) this.#release(waiter)
    if (waiters.length > 0) this.#onEmpty()
    return waiters
  }

  #release (waiter: Waiter<T>): void {
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort)
  }
}

function toTime (deadline: Deadline): number | null {
  const t = deadline instanceof Date ? deadline.getTime() : deadline
  if (t !== null && !Number.isFinite(t)) throw new InvalidOptionError('deadline', deadline, 'a time in ms since the epoch, a Date, or null')
  return t
}

/**
 * A swarm stream (go-libp2p's swarm.Stream): a {@link Stream} over a js-libp2p v3 muxed stream.
 *
 * Reading is pull-based. Received chunks wait in a local queue; once more than `readBufferHighWater` bytes wait, the
 * inner stream is paused, which stops the muxer from granting the remote more window, and it is resumed when the
 * reader drains the queue below that mark. The stream starts reading `inner` (attaches its 'message' listener) only
 * at the first `read()`, iteration or `toDuplex()`, or when `setProtocol()` says negotiation is over. Multistream-select
 * reads and writes through the stream itself, with the reporter not counting it (`beginNegotiation` to
 * `negotiated`). Before the first read the muxer, not this stream, holds what arrives (yamux keeps granting window to a stream nobody listens to, up to its 4 MiB read buffer).
 *
 * The reporter sees received bytes when they are taken from `inner` (so bytes later dropped by `closeRead()` or a
 * reset are counted) and sent bytes when `write()` hands them to `inner`.
 *
 * @example
 * ```ts
 * const stream = new SwarmStream({ inner, conn, id, direction: 'outbound', reporter, clock, onEnd: s => streams.delete(s) })
 * await stream.write('hello')
 * await stream.closeWrite()
 * for await (const chunk of stream) console.log(chunk)
 * ```
 */
export class SwarmStream implements Stream {
  readonly id: string
  readonly conn: Conn
  readonly direction: Direction

  readonly #inner: MuxedStream
  readonly #reporter: Reporter
  readonly #clock: Clock
  readonly #remotePeer: PeerId
  readonly #onEnd: (stream: SwarmStream) => void
  readonly #highWater: number
  readonly #writeHighWater: () => number
  readonly #opened: number
  readonly #scope: StreamScope | undefined
  #protocol: string

  // Off while multistream-select runs on the stream (beginNegotiation to negotiated): the reporter counts the
  // application's bytes, not the negotiation's.
  #reporting = true
  // Received chunks not yet read; `#head` advances instead of shifting so taking a chunk is O(1).
  #queue: Uint8Array[] = []
  #head = 0
  #queuedBytes = 0

  #reading = false
  #paused = false
  #resuming = false
  #readClosed = false
  #writeClosed = false
  #remoteWriteClosed = false
  #ended = false
  #resetBy: 'local' | 'remote' | undefined
  #resetCause: unknown
  #closingWrite: Promise<void> | undefined

  #readDeadline: number | null = null
  #writeDeadline: number | null = null
  #readTimer: TimerHandle | undefined
  #writeTimer: TimerHandle | undefined
  readonly #readers = new WaitQueue<Uint8Array | null>(() => { this.#clearReadTimer() })
  readonly #writers = new WaitQueue<undefined>(() => { this.#clearWriteTimer() })
  #duplex: Duplex | undefined

  constructor (init: SwarmStreamInit) {
    const highWater = init.readBufferHighWater ?? DEFAULT_READ_BUFFER_HIGH_WATER
    if (!Number.isFinite(highWater) || highWater < 0) throw new InvalidOptionError('readBufferHighWater', highWater, 'a number of bytes >= 0')
    const writeHighWater = init.writeBufferHighWater ?? DEFAULT_WRITE_BUFFER_HIGH_WATER
    if (typeof writeHighWater === 'number' && (!Number.isFinite(writeHighWater) || writeHighWater < 0)) {
      throw new InvalidOptionError('writeBufferHighWater', writeHighWater, 'a number of bytes >= 0, or a function giving one')
    }
    this.#inner = init.inner
    this.conn = init.conn
    this.id = init.id
    this.direction = init.direction
    this.#reporter = init.reporter
    this.#clock = init.clock
    this.#remotePeer = init.conn.remotePeer
    this.#onEnd = init.onEnd
    this.#highWater = highWater
    this.#writeHighWater = typeof writeHighWater === 'number' ? () => writeHighWater : writeHighWater
    this.#protocol = init.protocol ?? ''
    this.#scope = init.scope
    this.#opened = init.clock.now()

    const inner = init.inner
    this.#remoteWriteClosed = inner.remoteWriteStatus === 'closed'
    inner.addEventListener('remoteCloseWrite', this.#onRemoteCloseWrite)
    inner.addEventListener('drain', this.#onDrain)
    inner.addEventListener('close', this.#onClose)
    if (inner.status === 'closed' || inner.status === 'aborted' || inner.status === 'reset') {
      // 'close' has already been dispatched; the owner has not stored the stream yet, so tell it later
      const error = inner.status === 'closed' ? undefined : new StreamResetError(inner.status === 'reset' ? 'remote' : 'local')
      queueMicrotask(() => { this.#end(error, inner.status === 'aborted') })
    } else if (this.#protocol !== '') {
      this.#startReading()
    }
  }

  get protocol (): string {
    return this.#protocol
  }

  /**
   * The state of the stream: `closing` once `closeWrite()`, `closeRead()` or `close()` has been called here, `closed`
   * once both sides have finished, `reset` after a reset or abort by either side.
   */
  get status (): StreamStatus {
    const status = this.#inner.status
    if (status === 'reset' || status === 'aborted') return 'reset'
    if (status === 'closed') return 'closed'
    if (status === 'closing' || this.#writeClosed || this.#readClosed) return 'closing'
    return 'open'
  }

  /**
   * Multistream-select starts on this stream: until {@link negotiated}, what it reads and writes is the negotiation's,
   * not the application's, so the reporter does not count it. Internal to the swarm.
   */
  beginNegotiation (): void {
    this.#reporting = false
  }

  /**
   * Multistream-select agreed on `protocol`: records it and puts back, in front of what is queued, the bytes it read
   * past the agreement. Those, and whatever arrived meanwhile that it did not read, are the application's first bytes:
   * they are counted now, under the protocol. Internal to the swarm.
   */
  negotiated (protocol: string, leftover: readonly Uint8Array[]): void {
    this.setProtocol(protocol)
    this.#reporting = true
    if (this.#resetBy !== undefined) return
    const size = leftover.reduce((n, c) => n + c.byteLength, 0)
    this.#queue.splice(this.#head, 0, ...leftover)
    this.#queuedBytes += size
    // the stream starts reading at negotiation, so everything queued now arrived during it
    if (this.#queuedBytes > 0) {
      this.#reporter.logRecvMessage(this.#queuedBytes)
      this.#reporter.logRecvMessageStream(this.#queuedBytes, this.#protocol, this.#remotePeer)
    }
    if (this.#readers.size > 0) this.#serveReaders()
  }

  /**
   * Records the negotiated protocol, used in stats and reporter calls. It also marks the end of negotiation on the
   * inner stream: the stream starts reading it (and so applying backpressure) even before the first `read()`.
   */
  setProtocol (protocol: string): void {
    try {
      this.#scope?.setProtocol(protocol)
    } catch (err) {
      // Over the protocol's stream limit: the stream cannot go on under this protocol.
      this.reset(toError(err))
      throw err
    }
    this.#protocol = protocol
    this.#startReading()
  }

  stat (): StreamStats {
    return { direction: this.direction, opened: this.#opened, protocol: this.#protocol }
  }

  /**
   * The next received chunk, or `null` once the remote has closed its write side and everything was read, or after
   * `closeRead()`. Rejects with a StreamResetError after a reset, a ConnectionClosedError when the connection went
   * away before the remote finished, a DeadlineExceededError when the read deadline passes (the stream stays usable),
   * or the reason of `options.signal`. Concurrent reads are served in call order.
   */
  async read (options?: AbortOptions): Promise<Uint8Array | null> {
    this.#startReading()
    if (this.#readClosed) return null
    if (this.#resetBy !== undefined) throw this.#resetError()
    if (this.#readDeadline !== null && this.#clock.now() >= this.#readDeadline) throw new DeadlineExceededError('read')
    options?.signal?.throwIfAborted()
    if (this.#head < this.#queue.length) {
      const chunk = this.#take()
      this.#maybeResume()
      return chunk
    }
    const end = this.#readEnd()
    if (end === null) return null
    if (end !== undefined) throw end
    const chunk = this.#readers.wait(options?.signal)
    this.#armReadTimer()
    return await chunk
  }

  /**
   * Sends `data` (strings as UTF-8). Resolves once the muxer has taken the bytes, waiting while the remote is not
   * reading. The bytes are not copied: do not modify them afterwards. Rejects with a StreamClosedError after
   * `closeWrite()` or `close()`, a StreamResetError after a reset, a ConnectionClosedError when the connection went
   * away, a DeadlineExceededError when the write deadline passes (the bytes stay queued and may still be delivered),
   * or the reason of `options.signal`. An empty write sends nothing.
   */
  async write (data: Uint8Array | string, options?: AbortOptions): Promise<void> {
    const bytes = typeof data === 'string' ? utf8.encode(data) : data
    const failure = this.#writeError()
    if (failure !== undefined) throw failure
    if (this.#writeDeadline !== null && this.#clock.now() >= this.#writeDeadline) throw new DeadlineExceededError('write')
    options?.signal?.throwIfAborted()
    const size = bytes.byteLength
    if (size === 0) return
    let accepted: boolean
    try {
      accepted = this.#inner.send(bytes)
    } catch (err) {
      throw this.#writeError() ?? toError(err)
    }
    if (this.#reporting) {
      this.#reporter.logSentMessage(size)
      this.#reporter.logSentMessageStream(size, this.#protocol, this.#remotePeer)
    }
    // Not accepted means the muxer is holding the bytes (no window, or the connection must drain); below the mark the
    // caller may go on, and what it writes next joins the same frame.
    if (accepted) return
    if (this.#inner.writeBufferLength < this.#writeHighWater()) return
    const drained = this.#writers.wait(options?.signal)
    this.#armWriteTimer()
    await drained
  }

  /**
   * Half-closes: flushes what was written, then tells the remote we are done (it reads end of stream). Reading goes
   * on. If `options.signal` aborts before the flush ends, the stream is reset, since its write side can no longer
   * close gracefully. Idempotent; resolves at once on a stream already closed or reset.
   */
  async closeWrite (options?: AbortOptions): Promise<void> {
    if (this.#ended || this.#resetBy !== undefined) return
    if (this.#closingWrite !== undefined) return await this.#closingWrite
    this.#writeClosed = true
    this.#closingWrite = this.#closeInnerWrite(options)
    return await this.#closingWrite
  }

  /**
   * Stops reading: unread data is dropped, pending and later reads return `null`. Yamux cannot tell the remote, so
   * the remote may keep writing; what it sends is dropped. Idempotent; never rejects.
   */
  async closeRead (): Promise<void> {
    if (this.#readClosed) return
    this.#readClosed = true
    this.#queue = []
    this.#head = 0
    this.#queuedBytes = 0
    if (this.#paused) {
      // a paused stream grants no window: left paused, a remote writer would wait forever for bytes we drop anyway
      this.#paused = false
      this.#resumeInner()
    }
    this.#readers.resolveAll(null)
    const inner = this.#inner
    if (inner.readStatus === 'readable' || inner.readStatus === 'paused') {
      try {
        await inner.closeRead()
      } catch {
        // only muxers that signal a read close can fail here, and our side is closed for reading either way
      }
    }
  }

  /**
   * Closes both ways (go-libp2p semantics): `closeRead()` and `closeWrite()`. Resolves once our side is done; the
   * stream ends (and `onEnd` runs) when the remote has closed its write side too.
   */
  async close (options?: AbortOptions): Promise<void> {
    await Promise.all([this.closeRead(), this.closeWrite(options)])
  }

  /**
   * Aborts both directions at once and sends a reset to the remote. Pending reads and writes reject with a
   * StreamResetError. Idempotent; does nothing on a stream that has already ended.
   */
  reset (err?: Error): void {
    if (this.#ended || this.#resetBy !== undefined) return
    this.#resetBy = 'local'
    this.#resetCause = err
    this.#inner.abort(err ?? new StreamResetError('local'))
  }

  setDeadline (deadline: Deadline): void {
    this.setReadDeadline(deadline)
    this.setWriteDeadline(deadline)
  }

  /** Pending and later reads fail with a DeadlineExceededError once `deadline` (on the swarm's clock) has passed. */
  setReadDeadline (deadline: Deadline): void {
    this.#readDeadline = toTime(deadline)
    this.#clearReadTimer()
    this.#armReadTimer()
  }

  /** Pending and later writes fail with a DeadlineExceededError once `deadline` (on the swarm's clock) has passed. */
  setWriteDeadline (deadline: Deadline): void {
    this.#writeDeadline = toTime(deadline)
    this.#clearWriteTimer()
    this.#armWriteTimer()
  }

  /** Reads chunks until end of stream. Leaving the loop early leaves the stream open. */
  async * [Symbol.asyncIterator] (): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const chunk = await this.read()
      if (chunk === null) return
      yield chunk
    }
  }

  /**
   * The stream as a Node.js byte Duplex, for `stream.pipeline`. Ending it half-closes the stream; destroying it with
   * an error resets the stream, without one closes it. Always the same Duplex.
   */
  toDuplex (): Duplex {
    if (this.#duplex !== undefined) return this.#duplex
    this.#startReading()
    this.#duplex = streamToDuplex(this)
    return this.#duplex
  }

  #startReading (): void {
    if (this.#reading) return
    this.#reading = true
    const inner = this.#inner
    inner.addEventListener('message', this.#onMessage)
    // we are the reader from now on: a pause left by whoever used the inner stream before would stall us
    if (inner.readStatus === 'paused') this.#resumeInner()
  }

  readonly #onMessage = (evt: StreamMessageEvent): void => {
    const data = evt.data
    const size = data.byteLength
    if (this.#reporting) {
      this.#reporter.logRecvMessage(size)
      this.#reporter.logRecvMessageStream(size, this.#protocol, this.#remotePeer)
    }
    if (this.#readClosed || this.#resetBy !== undefined) return
    // a Uint8ArrayList is queued buffer by buffer: concatenating would copy
    if (data instanceof Uint8Array) this.#queue.push(data)
    else for (const buf of data) this.#queue.push(buf)
    this.#queuedBytes += size
    if (this.#readers.size > 0) this.#serveReaders()
    if (this.#queuedBytes > this.#highWater && !this.#paused && !this.#resuming) this.#pause()
  }

  readonly #onRemoteCloseWrite = (): void => {
    this.#remoteWriteClosed = true
    // a muxer may flag the end on the frame that still carries data, which it hands over right after this event
    if (this.#readers.size > 0) queueMicrotask(this.#serveReaders)
  }

  readonly #onDrain = (): void => {
    // 'drain' also comes when the connection, not this stream, drained; the inner stream's own listener runs first
    // and queues its send, so by our microtask it knows whether the stream's window is still exhausted
    if (this.#writers.size > 0) queueMicrotask(this.#checkDrained)
  }

  readonly #checkDrained = (): void => {
    if (!this.#inner.writableNeedsDrain) this.#writers.resolveAll(undefined)
  }

  readonly #onClose = (evt: StreamCloseEvent): void => {
    this.#end(evt.error, evt.local)
  }

  #end (error: Error | undefined, local: boolean | undefined): void {
    if (this.#ended) return
    this.#ended = true
    this.#scope?.done()
    if (error !== undefined && this.#resetBy === undefined) {
      this.#resetBy = local === true ? 'local' : 'remote'
      this.#resetCause = error
    }
    if (this.#resetBy !== undefined) {
      this.#queue = []
      this.#head = 0
      this.#queuedBytes = 0
    }
    // an orderly end with nothing left to send means every pending write reached the muxer
    if (this.#resetBy !== undefined) this.#writers.rejectAll(this.#resetError())
    else if (this.#inner.writeBufferLength === 0) this.#writers.resolveAll(undefined)
    else this.#writers.rejectAll(new ConnectionClosedError('the connection closed before the written bytes were sent'))
    this.#serveReaders()
    this.#clearReadTimer()
    this.#clearWriteTimer()
    this.#onEnd(this)
  }

  readonly #serveReaders = (): void => {
    while (this.#readers.size > 0 && this.#head < this.#queue.length) this.#readers.resolveNext(this.#take())
    if (this.#readers.size > 0) {
      const end = this.#readEnd()
      if (end === null) this.#readers.resolveAll(null)
      else if (end !== undefined) this.#readers.rejectAll(end)
    }
    this.#maybeResume()
  }

  /** What a read finds when the queue is empty: `null` at end of stream, an error, or `undefined` to wait. */
  #readEnd (): Error | null | undefined {
    if (this.#readClosed) return null
    if (this.#resetBy !== undefined) return this.#resetError()
    // bytes still inside the inner stream reach us through a 'message' event it has already scheduled
    if (this.#inner.readBufferLength > 0) return undefined
    if (this.#remoteWriteClosed) return null
    if (this.#ended) return new ConnectionClosedError('the connection closed before the remote finished writing the stream')
    return undefined
  }

  #writeError (): Error | undefined {
    if (this.#resetBy !== undefined) return this.#resetError()
    if (this.#writeClosed) return new StreamClosedError('stream is closed for writing: write before closeWrite() or close()')
    if (this.#ended || this.#inner.writeStatus !== 'writable') return new ConnectionClosedError('the connection under the stream closed')
    return undefined
  }

  #resetError (): Error {
    // The connection went away under the stream (a failed keep-alive, an aborted connection): say so, rather than
    // report a reset the application never asked for.
    if (this.#resetBy === 'local' && errorIs(this.#resetCause, 'ConnectionClosedError')) {
      return new ConnectionClosedError(`the connection under the stream was lost: ${describe(this.#resetCause)}`, { cause: this.#resetCause })
    }
    return new StreamResetError(this.#resetBy ?? 'local', this.#resetCause)
  }

  async #closeInnerWrite (options?: AbortOptions): Promise<void> {
    try {
      await this.#inner.close(options)
    } catch (err) {
      const failure = this.#resetBy !== undefined ? this.#resetError() : undefined
      if (failure !== undefined) throw failure
      if (options?.signal?.aborted === true) {
        this.reset(toError(options.signal.reason))
        throw options.signal.reason
      }
      throw this.#ended ? new ConnectionClosedError('the connection closed before the stream was closed for writing', { cause: err }) : toError(err)
    }
  }

  #take (): Uint8Array {
    const chunk = this.#queue[this.#head]
    this.#queue[this.#head++] = TAKEN
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0
      this.#head = 0
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
    this.#queuedBytes -= chunk.byteLength
    return chunk
  }

  #pause (): void {
    if (this.#inner.readStatus !== 'readable') return
    this.#paused = true
    this.#inner.pause()
  }

  #maybeResume (): void {
    if (!this.#paused || (this.#queuedBytes >= this.#highWater && this.#queuedBytes > 0)) return
    this.#paused = false
    this.#resumeInner()
    if (this.#queuedBytes > this.#highWater && !this.#readClosed) this.#pause()
  }

  #resumeInner (): void {
    if (this.#inner.readStatus !== 'paused') return
    // resume() hands over the buffered bytes before it tells the muxer; pausing during that hand-over would be
    // overwritten by the muxer's resume, so #onMessage leaves the pause to #maybeResume
    this.#resuming = true
    try {
      this.#inner.resume()
    } catch {
      // the buffered bytes were handed over first; only the window update to a closed connection can fail
    } finally {
      this.#resuming = false
    }
  }

  #armReadTimer (): void {
    if (this.#readTimer !== undefined || this.#readDeadline === null || this.#readers.size === 0) return
    const wait = this.#readDeadline - this.#clock.now()
    if (wait <= 0) {
      this.#readers.rejectAll(new DeadlineExceededError('read'))
      return
    }
    this.#readTimer = this.#clock.setTimeout(() => {
      this.#readTimer = undefined
      this.#armReadTimer()
    }, wait)
  }

  #armWriteTimer (): void {
    if (this.#writeTimer !== undefined || this.#writeDeadline === null || this.#writers.size === 0) return
    const wait = this.#writeDeadline - this.#clock.now()
    if (wait <= 0) {
      this.#writers.rejectAll(new DeadlineExceededError('write'))
      return
    }
    this.#writeTimer = this.#clock.setTimeout(() => {
      this.#writeTimer = undefined
      this.#armWriteTimer()
    }, wait)
  }

  #clearReadTimer (): void {
    if (this.#readTimer === undefined) return
    this.#clock.clearTimeout(this.#readTimer)
    this.#readTimer = undefined
  }

  #clearWriteTimer (): void {
    if (this.#writeTimer === undefined) return
    this.#clock.clearTimeout(this.#writeTimer)
    this.#writeTimer = undefined
  }
}
