import { performance } from 'node:perf_hooks'
import { BufferedReader, toError } from '@tswarm/core'
import { PerfError } from '../errors.js'
import type { PerfConfig } from '../config.js'
import type { ProtocolHost } from '../host.js'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'
import type { Stream } from '@tswarm/core'

export const PERF_PROTOCOL = '/perf/1.0.0'

/** Bytes per write: large enough to keep a muxer's window busy, small enough not to hog the event loop. */
const WRITE_SIZE = 64 * 1024
// Never modified: every write of zeros sends a view of it.
const ZEROS = new Uint8Array(WRITE_SIZE)

export interface PerfRunOptions extends AbortOptions {
  /** Bytes to send to the server. */
  uploadBytes: number
  /** Bytes to ask the server to send back. */
  downloadBytes: number
}

/** The timings of one perf run. Times in ms (`performance.now()`); throughputs in bits per second. */
export interface PerfResult {
  uploadBytes: number
  downloadBytes: number
  /** From opening the stream until the first byte came back: the upload plus about one round trip. */
  uploadMs: number
  /** From the first byte back until the end of the stream. */
  downloadMs: number
  totalMs: number
  uploadBitsPerSecond: number
  downloadBitsPerSecond: number
}

/**
 * The libp2p perf protocol (`/perf/1.0.0`): the client sends the number of bytes it wants back as a big-endian
 * uint64, then its upload, then closes its write side; the server reads everything, then sends the bytes asked for
 * and closes.
 */
export class PerfService {
  readonly #host: ProtocolHost
  readonly #config: PerfConfig
  readonly #log: Logger

  constructor (host: ProtocolHost, config: PerfConfig, log: Logger) {
    this.#host = host
    this.#config = config
    this.#log = log
  }

  /** Serves `/perf/1.0.0` (with the host's default stream limits). */
  start (): void {
    this.#host.handle(PERF_PROTOCOL, async stream => { await this.#serve(stream) })
  }

  /**
   * One perf exchange with `peer` (whose host must serve perf): uploads, then downloads, timing both. No timeout of its
   * own: pass a signal. Throws a PerfError (its cause says why: refused protocol, reset, short download).
   */
  async run (peer: PeerId, options: PerfRunOptions): Promise<PerfResult> {
    const { uploadBytes, downloadBytes } = options
    for (const [name, n] of [['uploadBytes', uploadBytes], ['downloadBytes', downloadBytes]] as const) {
      if (!Number.isSafeInteger(n) || n < 0) throw new PerfError(`${name} must be an integer >= 0, not ${n}`)
    }
    const signal = options.signal
    const start = performance.now()
    const stream = await this.#host.newStream(peer, PERF_PROTOCOL, { signal })
    try {
      const header = new Uint8Array(8)
      new DataView(header.buffer).setBigUint64(0, BigInt(downloadBytes))
      await stream.write(header, { signal })
      await sendZeros(stream, uploadBytes, signal)
      await stream.closeWrite({ signal })
      let received = 0
      let firstByte: number | undefined
      for (let chunk = await stream.read({ signal }); chunk !== null; chunk = await stream.read({ signal })) {
        firstByte ??= performance.now()
        received += chunk.byteLength
      }
      const end = performance.now()
      if (received !== downloadBytes) throw new PerfError(`asked ${peer.toString()} for ${downloadBytes} bytes but received ${received}`)
      await stream.close()
      const uploadMs = (firstByte ?? end) - start
      const downloadMs = end - (firstByte ?? end)
      return {
        uploadBytes,
        downloadBytes,
        uploadMs,
        downloadMs,
        totalMs: end - start,
        uploadBitsPerSecond: bitsPerSecond(uploadBytes, uploadMs),
        downloadBitsPerSecond: bitsPerSecond(downloadBytes, downloadMs)
      }
    } catch (err) {
      stream.reset(toError(err))
      if (err instanceof PerfError) throw err
      throw new PerfError(`perf run with ${peer.toString()} failed: ${toError(err).message}`, { cause: err })
    }
  }

  async #serve (stream: Stream): Promise<void> {
    const reader = new BufferedReader(stream)
    const header = await reader.readExactly(8)
    if (header === null) throw new PerfError('the stream ended before the perf request')
    const wanted = new DataView(header.buffer, header.byteOffset, 8).getBigUint64(0)
    if (wanted > BigInt(this.#config.maxSendBytes)) {
      throw new PerfError(`${stream.conn.remotePeer.toString()} asked for ${wanted} bytes, more than maxSendBytes (${this.#config.maxSendBytes})`)
    }
    const uploaded = await reader.skipToEnd()
    await sendZeros(stream, Number(wanted))
    await stream.closeWrite()
    this.#log.trace('perf with %p: received %d bytes, sent %d', stream.conn.remotePeer, uploaded, wanted)
  }
}

async function sendZeros (stream: Stream, n: number, signal?: AbortSignal): Promise<void> {
  for (let left = n; left > 0; left -= WRITE_SIZE) {
    await stream.write(left >= WRITE_SIZE ? ZEROS : ZEROS.subarray(0, left), { signal })
  }
}

function bitsPerSecond (bytes: number, ms: number): number {
  return ms > 0 ? bytes * 8 / (ms / 1000) : 0
}
