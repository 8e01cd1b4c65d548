import { MuxerClosedError, TypedEventEmitter } from '@libp2p/interface'
import { AbstractStream } from '@libp2p/utils'
import { StreamResetError, describe, raceAbort, toError } from '@tswarm/core'
import type { NativeConnection, NativeStream } from './binding.js'
import type { AbortOptions, ComponentLogger, CreateStreamOptions, EventHandler, Logger, MessageStream, StreamMuxer, StreamMuxerEvents, StreamMuxerFactory, StreamMuxerStatus } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'

type ByteList = Parameters<AbstractStream['sendData']>[0]

/**
 * Bytes asked of the binding per read. quinn hands over what it holds up to this (4 MiB in one read when that much
 * waits), and the binding allocates a zeroed buffer of the full size per call before trimming it to the data. Measured
 * on loopback (256 MiB, one stream, both swarms in one process, CPU of the whole process): 4 KiB (the library's)
 * 75-131 MiB/s at 7-14 ms CPU per MiB; 64 KiB and 256 KiB alike, 300-380 MiB/s at 4.2-5 ms; 1 MiB worse again,
 * 206-289 MiB/s at 5-6 ms. 64 KiB keeps the zero-filling small for small messages.
 */
export const READ_SIZE = 64 * 1024

/**
 * Unread bytes the stream holds while nobody listens for them (before multistream-select or the swarm stream take
 * it) before it stops reading from quinn, so QUIC flow control holds the remote instead of the js-libp2p read buffer
 * overflowing (4 MiB) and resetting the stream.
 */
export const READ_BUFFER_HIGH_WATER = 1024 * 1024

/**
 * Bytes queued in JavaScript for the binding before `send()` reports the stream full. A write waits for quinn to
 * buffer all its bytes, which waits for the remote's credit; queueing lets writers go on meanwhile, and the next
 * native write takes the whole queue at once.
 */
export const WRITE_HIGH_WATER = 1024 * 1024

/**
 * The most bytes handed to one native write. A reset waits for the pending write (the binding locks the send half
 * per call), so this bounds how much credit the remote must grant before our reset can go out.
 */
export const MAX_WRITE = 256 * 1024

// What the binding's calls fail with, all as Error code 'Unknown' carrying quinn's Display text (found by
// experiment against 2.1.1 and in its lib.rs; the texts are quinn's ReadError/WriteError/ConnectionError):
// - read() after the remote's RESET_STREAM: 'stream reset by peer: error <code>'; buffered unread data is dropped,
//   and a read after that returns null. A FIN is not an error: read() returns null (again on every later read).
// - write() after the remote's STOP_SENDING (its closeRead): 'sending stopped by peer: error <code>'.
// - any call once the connection is gone: 'connection lost' (or 'closed by peer: 0' and such for stream opens).
// - write() after our own finishWrite()/resetWrite(): 'closed stream'.
const RESET_BY_PEER = /^stream reset by peer/
const STOPPED_BY_PEER = /^sending stopped by peer/
const CONNECTION_LOST = /^connection lost|^closed|^timed out|^aborted|^reset by peer/

const ignore = (): void => {}

export interface QuicStreamInit {
  native: NativeStream
  direction: 'inbound' | 'outbound'
  log: Logger
}

/**
 * A js-libp2p v3 stream over one native QUIC stream, with backpressure both ways.
 *
 * Reading: a loop reads from quinn only while the stream is readable (not paused, not closed) and its unread buffer
 * is below {@link READ_BUFFER_HIGH_WATER}; a pause stops it after the read in flight, so quinn stops granting the
 * remote credit once `maxStreamData` is unread. Writing: one native write at a time (two in flight reorder bytes:
 * the binding runs each call as its own task, racing for the stream's lock), the writes queued behind it batched
 * into the next. `closeRead()` sends STOP_SENDING, and a remote reset reads as a reset, not as end of stream.
 */
export class QuicStream extends AbstractStream {
  readonly #native: NativeStream
  #reading = false
  /** No more native reads: FIN or reset seen, read failed, or we stopped reading. */
  #readDone = false
  readonly #queue: Uint8Array[] = []
  #queued = 0
  #writing = false
  /** Set once the remote stopped our write half (STOP_SENDING): writes fail, reading goes on. */
  #stopped: Error | undefined
  /** Set once a native write failed otherwise: the queue can no longer be flushed. */
  #writeFailure: Error | undefined
  #flushed: PromiseWithResolvers<void> | undefined

  constructor (init: QuicStreamInit) {
    // Native stream indexes count per opener: the direction makes the ID unique on the connection.
    super({ id: `${init.direction === 'outbound' ? 'o' : 'i'}${init.native.id()}`, direction: init.direction, log: init.log })
    this.#native = init.native
    this.#maybeRead()
  }

  /** Bytes not yet handed to quinn: the base class's buffer and ours. */
  override get writeBufferLength (): number {
    return super.writeBufferLength + this.#queued
  }

  override send (data: Uint8Array | ByteList): boolean {
    // Writing after the remote's closeRead fails as go-libp2p's does (ErrReset), leaving our read side working.
    if (this.#stopped !== undefined) throw new StreamResetError('remote', this.#stopped)
    return super.send(data)
  }

  sendData (data: ByteList): SendResult {
    const size = data.byteLength
    if (this.#stopped === undefined) {
      for (const buf of data) this.#queue.push(buf)
      this.#queued += size
      void this.#pump()
    }
    return { sentBytes: size, canSendMore: this.#queued < WRITE_HIGH_WATER }
  }

  sendReset (err: Error): void {
    this.#dropQueue()
    // a closeWrite() waiting for the queue to flush fails: the queue is gone
    this.#writeFailure ??= err
    this.#settleFlush()
    // Both wait for a native call in flight on their half (a write held by flow control, a read waiting for data)
    // and go out when it returns; awaiting them could take forever.
    this.#native.resetWrite().catch(ignore)
    if (!this.#readDone) this.#native.stopRead().catch(ignore)
    this.#readDone = true
  }

  async sendCloseWrite (options?: AbortOptions): Promise<void> {
    await this.#flush(options)
    // After STOP_SENDING quinn has already reset our half: there is nothing to finish.
    if (this.#stopped === undefined) await this.#native.finishWrite()
  }

  async sendCloseRead (): Promise<void> {
    if (!this.#readDone) {
      this.#readDone = true
      // STOP_SENDING makes the remote's writes fail. Not awaited: it waits for the read in flight, which a quiet
      // remote may never answer, and closeRead() must not hang on that.
      this.#native.stopRead().catch(err => { this.log.trace('stopRead failed - %e', err) })
    }
    // Nothing more will be delivered (quinn resets the remote's half when STOP_SENDING arrives): the remote's write
    // side counts as closed, so the stream ends once ours is.
    this.onRemoteCloseWrite()
  }

  sendPause (): void {
    // The read loop checks readStatus after every read and stops; quinn then withholds credit from the remote.
  }

  sendResume (): void {
    this.#maybeRead()
  }

  protected override dispatchReadBuffer (): void {
    super.dispatchReadBuffer()
    // A listener took the buffered bytes: reading may go on.
    this.#maybeRead()
  }

  #live (): boolean {
    return this.status === 'open' || this.status === 'closing'
  }

  #wantsData (): boolean {
    return !this.#readDone && this.readStatus === 'readable' && this.readBuffer.byteLength < READ_BUFFER_HIGH_WATER
  }

  #maybeRead (): void {
    if (this.#reading || !this.#wantsData()) return
    this.#reading = true
    this.#readLoop().catch(err => { this.log.error('read loop failed - %e', err) })
  }

  async #readLoop (): Promise<void> {
    let chunk: Uint8Array | null | undefined
    try {
      while (this.#wantsData()) {
        try {
          chunk = await this.#native.read(READ_SIZE)
        } catch (err) {
          this.#readDone = true
          this.#onReadError(err)
          return
        }
        if (chunk === null) break
        // Dropped by the base class when our read side closed meanwhile.
        this.onData(chunk)
      }
    } finally {
      this.#reading = false
    }
    if (chunk === null) {
      this.#readDone = true
      if (this.#live()) this.onRemoteCloseWrite()
    }
  }

  #onReadError (err: unknown): void {
    const message = describe(err)
    if (!this.#live()) return
    if (RESET_BY_PEER.test(message)) {
      this.log('remote reset - %s', message)
      this.onRemoteReset()
    } else if (CONNECTION_LOST.test(message)) {
      // The muxer ends every stream when the connection reports closed.
      this.log.trace('connection lost while reading')
    } else {
      this.abort(toError(err))
    }
  }

  async #pump (): Promise<void> {
    if (this.#writing) return
    this.#writing = true
    try {
      while (this.#queued > 0) {
        const batch = this.#takeBatch()
        // The queue has room again: let blocked writers refill it while this batch is written.
        if (this.writableNeedsDrain && this.#queued < WRITE_HIGH_WATER) this.safeDispatchEvent('drain')
        await this.#native.write(batch)
      }
    } catch (err) {
      this.#onWriteError(err)
    } finally {
      this.#writing = false
      if (this.#queued === 0 || this.#writeFailure !== undefined) this.#settleFlush()
    }
  }

  #takeBatch (): Uint8Array {
    const first = this.#queue[0]
    if (first.byteLength >= MAX_WRITE || this.#queue.length === 1) {
      const batch = first.byteLength > MAX_WRITE ? first.subarray(0, MAX_WRITE) : first
      if (batch === first) this.#queue.shift()
      else this.#queue[0] = first.subarray(MAX_WRITE)
      this.#queued -= batch.byteLength
      return batch
    }
    let size = 0
    let count = 0
    while (count < this.#queue.length && size + this.#queue[count].byteLength <= MAX_WRITE) size += this.#queue[count++].byteLength
    const batch = new Uint8Array(size)
    let offset = 0
    for (const buf of this.#queue.splice(0, count)) {
      batch.set(buf, offset)
      offset += buf.byteLength
    }
    this.#queued -= size
    return batch
  }

  #onWriteError (err: unknown): void {
    const message = describe(err)
    if (!this.#live()) {
      // ended meanwhile (reset, connection gone): only a closeWrite() waiting for the flush is left to tell
      this.#writeFailure ??= toError(err)
      return
    }
    if (STOPPED_BY_PEER.test(message)) {
      this.log('remote stopped reading - %s', message)
      this.#stopped = toError(err)
      this.#dropQueue()
      this.onRemoteCloseRead()
      // Writers waiting for room go on, and fail at their next write (see send()); a close waiting on them too.
      if (this.writableNeedsDrain) this.safeDispatchEvent('drain')
    } else if (CONNECTION_LOST.test(message)) {
      // Unsent bytes stay counted in writeBufferLength, so writers learn they were lost when the muxer ends us.
      this.#writeFailure = toError(err)
      this.#settleFlush()
    } else {
      this.#writeFailure = toError(err)
      this.#settleFlush()
      this.abort(this.#writeFailure)
    }
  }

  #dropQueue (): void {
    this.#queue.length = 0
    this.#queued = 0
  }

  async #flush (options?: AbortOptions): Promise<void> {
    if (this.#writeFailure !== undefined) throw this.#writeFailure
    if (this.#queued === 0 && !this.#writing) return
    if (this.#flushed === undefined) {
      this.#flushed = Promise.withResolvers<void>()
      // a waiter that left through its signal must not turn a later failure into an unhandled rejection
      this.#flushed.promise.catch(ignore)
    }
    await raceAbort(this.#flushed.promise, options?.signal)
  }

  #settleFlush (): void {
    const flushed = this.#flushed
    if (flushed === undefined) return
    this.#flushed = undefined
    if (this.#writeFailure !== undefined) flushed.reject(this.#writeFailure)
    else flushed.resolve()
  }
}

export interface QuicStreamMuxerInit {
  connection: NativeConnection
  /** The connection the muxer runs over: when it closes, every stream ends. */
  maConn: MessageStream
  logger: ComponentLogger
}

/** Streams over one QUIC connection: quinn multiplexes, this hands its streams to js-libp2p's interface. */
export class QuicStreamMuxer extends TypedEventEmitter<StreamMuxerEvents<QuicStream>> implements StreamMuxer<QuicStream> {
  readonly protocol = 'quic'
  streams: QuicStream[] = []
  status: StreamMuxerStatus = 'open'
  readonly #connection: NativeConnection
  readonly #logger: ComponentLogger
  readonly #log: Logger
  readonly #prefix: string
  /** Inbound streams that arrived before anyone listened for 'stream'. */
  #early: QuicStream[] = []

  constructor (init: QuicStreamMuxerInit) {
    super()
    this.#connection = init.connection
    this.#logger = init.logger
    this.#prefix = `tswarm:quic:stream:${init.connection.id()}`
    this.#log = init.logger.forComponent(`tswarm:quic:muxer:${init.connection.id()}`)
    init.maConn.addEventListener('close', () => { this.#onConnectionClosed() }, { once: true })
    if (init.maConn.status === 'closed' || init.maConn.status === 'aborted' || init.maConn.status === 'reset') this.status = 'closed'
    else void this.#acceptStreams()
  }

  override addEventListener<K extends keyof StreamMuxerEvents<QuicStream>> (type: K,
    listener: EventHandler<StreamMuxerEvents<QuicStream>[K]> | null, options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener, options)
    if (type === 'stream' && this.#early.length > 0) {
      const early = this.#early
      this.#early = []
      queueMicrotask(() => { for (const s of early) this.safeDispatchEvent('stream', { detail: s }) })
    }
  }

  async createStream (options?: CreateStreamOptions): Promise<QuicStream> {
    if (this.status !== 'open') throw new MuxerClosedError('the QUIC connection is closed')
    options?.signal?.throwIfAborted()
    const opening = this.#connection.outboundStream()
    let native: NativeStream
    try {
      native = await raceAbort(opening, options?.signal)
    } catch (err) {
      // The open cannot be cancelled: a stream it yields later is reset (the remote never saw it).
      opening.then(discard, ignore)
      throw err
    }
    if (this.status !== 'open') {
      discard(native)
      throw new MuxerClosedError('the QUIC connection closed while the stream was opening')
    }
    return this.#track(native, 'outbound')
  }

  async close (options?: AbortOptions): Promise<void> {
    if (this.status !== 'open') return
    this.status = 'closing'
    try {
      // Graceful: every stream's write side flushes and finishes; the connection close that follows ends them all.
      await raceAbort(Promise.all(this.streams.map(async s => { await s.close(options) })), options?.signal)
    } finally {
      this.status = 'closed'
    }
  }

  abort (err: Error): void {
    if (this.status === 'closed') return
    this.status = 'closed'
    for (const s of [...this.streams, ...this.#early]) s.abort(err)
    this.streams = []
    this.#early = []
  }

  async #acceptStreams (): Promise<void> {
    while (this.status === 'open') {
      let native: NativeStream
      try {
        native = await this.#connection.inboundStream()
      } catch (err) {
        // Fails once the connection is closed; the maConn's 'close' then ends the streams.
        this.#log.trace('no longer accepting streams - %e', err)
        return
      }
      if (this.status !== 'open') {
        discard(native)
        return
      }
      const stream = this.#track(native, 'inbound')
      if (this.listenerCount('stream') === 0) this.#early.push(stream)
      else this.safeDispatchEvent('stream', { detail: stream })
    }
  }

  #track (native: NativeStream, direction: 'inbound' | 'outbound'): QuicStream {
    const id = native.id()
    const stream = new QuicStream({ native, direction, log: this.#logger.forComponent(`${this.#prefix}:${direction}:${id}`) })
    this.streams.push(stream)
    stream.addEventListener('close', () => {
      const i = this.streams.indexOf(stream)
      if (i !== -1) this.streams.splice(i, 1)
    }, { once: true })
    return stream
  }

  #onConnectionClosed (): void {
    this.status = 'closed'
    const streams = [...this.streams, ...this.#early]
    this.streams = []
    this.#early = []
    // Bytes already received stay readable; readers that wanted more learn the connection went away.
    for (const s of streams) s.onTransportClosed()
  }
}

/** Makes the muxer of one QUIC connection (`protocol: 'quic'`), for `Upgrader.adoptSecured`. */
export class QuicStreamMuxerFactory implements StreamMuxerFactory<QuicStreamMuxer> {
  readonly protocol = 'quic'
  readonly #connection: NativeConnection
  readonly #logger: ComponentLogger

  constructor (connection: NativeConnection, logger: ComponentLogger) {
    this.#connection = connection
    this.#logger = logger
  }

  createStreamMuxer (maConn: MessageStream): QuicStreamMuxer {
    return new QuicStreamMuxer({ connection: this.#connection, maConn, logger: this.#logger })
  }
}

function discard (native: NativeStream): void {
  native.resetWrite().catch(ignore)
  native.stopRead().catch(ignore)
}

