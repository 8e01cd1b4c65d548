import { Uint8ArrayList } from 'uint8arraylist'
import { InvalidMessageError } from './errors.js'
import type { AbortOptions } from '@libp2p/interface'

/** Anything chunks can be pulled from: a tswarm Stream, or a test double. `null` means end of stream. */
export interface ChunkSource {
  read(options?: AbortOptions): Promise<Uint8Array | null>
}

/** Longest unsigned varint accepted: 5 bytes hold up to 2^35, far beyond any message length we allow. */
const MAX_VARINT_BYTES = 5

/**
 * Reads framed data from a {@link ChunkSource}: length-prefixed messages or exact byte counts, keeping what it read
 * past the last message so that nothing is lost when the caller goes back to reading the stream directly
 * ({@link BufferedReader.takeBuffered}).
 */
export class BufferedReader {
  readonly #source: ChunkSource
  readonly #buffer = new Uint8ArrayList()
  #ended = false

  constructor (source: ChunkSource) {
    this.#source = source
  }

  /** Bytes read from the source but not handed out yet. */
  get bufferedLength (): number {
    return this.#buffer.byteLength
  }

  /** True once the source ended and every byte was handed out. */
  get done (): boolean {
    return this.#ended && this.#buffer.byteLength === 0
  }

  /**
   * The next length-prefixed message, or `null` when the stream ends cleanly before one starts. Throws an
   * InvalidMessageError for a length over `maxLength`, a malformed length, or an end of stream inside a message.
   */
  async readMessage (maxLength: number, options?: AbortOptions): Promise<Uint8Array | null> {
    let decoded = decodeUvarint(this.#buffer)
    while (decoded === undefined) {
      if (!await this.#fill(options)) {
        if (this.#buffer.byteLength === 0) return null
        throw new InvalidMessageError('the stream ended inside a length prefix')
      }
      decoded = decodeUvarint(this.#buffer)
    }
    if (decoded === 'malformed') throw new InvalidMessageError('malformed length prefix')
    const [length, prefix] = decoded
    if (length > maxLength) throw new InvalidMessageError(`message of ${length} bytes exceeds the limit of ${maxLength}`)
    while (this.#buffer.byteLength < prefix + length) {
      if (!await this.#fill(options)) {
        throw new InvalidMessageError(`the stream ended after ${this.#buffer.byteLength - prefix} of ${length} message bytes`)
      }
    }
    const message = this.#buffer.subarray(prefix, prefix + length)
    this.#buffer.consume(prefix + length)
    return message
  }

  /**
   * Exactly `n` bytes, or `null` when the stream ends cleanly before the first of them. Throws an InvalidMessageError
   * when it ends part way.
   */
  async readExactly (n: number, options?: AbortOptions): Promise<Uint8Array | null> {
    while (this.#buffer.byteLength < n) {
      if (!await this.#fill(options)) {
        if (this.#buffer.byteLength === 0) return null
        throw new InvalidMessageError(`the stream ended after ${this.#buffer.byteLength} of ${n} bytes`)
      }
    }
    const out = this.#buffer.subarray(0, n)
    this.#buffer.consume(n)
    return out
  }

  /** The next chunk: buffered bytes first, then straight from the source. `null` at end of stream. */
  async readChunk (options?: AbortOptions): Promise<Uint8Array | null> {
    for (const first of this.#buffer) {
      this.#buffer.consume(first.byteLength)
      return first
    }
    if (this.#ended) return null
    const chunk = await this.#source.read(options)
    if (chunk === null) this.#ended = true
    return chunk
  }

  /** Reads and drops everything up to the end of stream; how many bytes that was. */
  async skipToEnd (options?: AbortOptions): Promise<number> {
    let skipped = 0
    for (let chunk = await this.readChunk(options); chunk !== null; chunk = await this.readChunk(options)) skipped += chunk.byteLength
    return skipped
  }

  /** Hands over everything buffered, chunk by chunk (no copy), leaving the buffer empty. */
  takeBuffered (): Uint8Array[] {
    const chunks = [...this.#buffer]
    this.#buffer.consume(this.#buffer.byteLength)
    return chunks
  }

  /** Reads one more chunk into the buffer; false at end of stream. */
  async #fill (options?: AbortOptions): Promise<boolean> {
    if (this.#ended) return false
    const chunk = await this.#source.read(options)
    if (chunk === null) {
      this.#ended = true
      return false
    }
    if (chunk.byteLength > 0) this.#buffer.append(chunk)
    return true
  }
}

/** `[value, bytes used]`, `undefined` when more bytes are needed, or 'malformed'. */
function decodeUvarint (buf: Uint8ArrayList): [number, number] | undefined | 'malformed' {
  let value = 0
  let scale = 1
  for (let i = 0; i < Math.min(buf.byteLength, MAX_VARINT_BYTES); i++) {
    const byte = buf.get(i)
    value += (byte & 0x7f) * scale
    if ((byte & 0x80) === 0) {
      // a trailing zero byte after the first is a non-minimal encoding, which the spec forbids
      if (i > 0 && byte === 0) return 'malformed'
      return [value, i + 1]
    }
    scale *= 0x80
  }
  return buf.byteLength >= MAX_VARINT_BYTES ? 'malformed' : undefined
}

/** Reads a stream to its end and returns every byte. */
export async function readAll (stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let length = 0
  for await (const chunk of stream) {
    chunks.push(chunk)
    length += chunk.byteLength
  }
  const out = new Uint8Array(length)
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.byteLength
  }
  return out
}
