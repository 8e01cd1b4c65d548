import { InvalidMessageError } from './errors.js'
import { BufferedReader } from './reader.js'
import type { ChunkSource } from './reader.js'
import type { AbortOptions } from '@libp2p/interface'

/** The multistream-select protocol ID, sent first on every negotiated connection and stream. */
export const MULTISTREAM_PROTOCOL = '/multistream/1.0.0'

const utf8 = new TextEncoder()
/** The header line, encoded once: every negotiation sends it. */
const HEADER = utf8.encode(`${MULTISTREAM_PROTOCOL}\n`)

/** The unsigned LEB128 varint of `n` (the length prefix of multistream-select, identify and most libp2p protocols). */
export function encodeUvarint (n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`cannot encode ${n} as an unsigned varint`)
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return Uint8Array.from(out)
}

/** Each message preceded by its length as a varint, all in one buffer so it goes out in one write. */
export function lengthPrefixed (...messages: Uint8Array[]): Uint8Array {
  const parts = messages.flatMap(m => [encodeUvarint(m.byteLength), m])
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.byteLength
  }
  return out
}

/**
 * The multistream-select header followed by a proposal of `protocol`, as a dialer sends them without waiting in
 * between; a listener that accepts answers with exactly these bytes.
 */
export function multistreamProposal (protocol: string): Uint8Array {
  return lengthPrefixed(HEADER, utf8.encode(`${protocol}\n`))
}

/** Longest multistream-select message accepted: a protocol ID of up to 1 KiB and its newline (go's and js's limit). */
const MAX_MESSAGE_LENGTH = 1025
/** Proposals a listener answers before it gives up, so a dialer cannot keep a stream negotiating forever. */
const MAX_PROPOSALS = 64
const utf8Decoder = new TextDecoder()

/** What the negotiating side reads and writes: a tswarm Stream. */
export interface NegotiationStream extends ChunkSource {
  write(data: Uint8Array, options?: AbortOptions): Promise<void>
}

/** The agreed protocol, and the bytes read past its message: the first bytes of the application's data. */
export interface NegotiationResult {
  protocol: string
  leftover: Uint8Array[]
}

async function readLine (reader: BufferedReader, options: AbortOptions | undefined): Promise<string> {
  const message = await reader.readMessage(MAX_MESSAGE_LENGTH, options)
  if (message === null) throw new InvalidMessageError('the stream ended during multistream-select')
  const text = utf8Decoder.decode(message)
  if (!text.endsWith('\n')) throw new InvalidMessageError('multistream-select message without a trailing newline')
  return text.slice(0, -1)
}

function expectHeader (header: string): void {
  if (header !== MULTISTREAM_PROTOCOL) throw new InvalidMessageError(`expected the multistream-select header, got "${header.slice(0, 64)}"`)
}

/**
 * Multistream-select as the listener. Reads through `stream` and hands back what it read past the agreed protocol
 * instead of pushing it back into a muxer's stream, so a proposal, data and end of stream that arrive together (as a
 * lazy dialer sends them: go-libp2p's, or ours) negotiate like any other. Our header goes with the first answer when
 * the proposal came with the dialer's header, else at once, for dialers that wait for it before proposing.
 */
export async function multistreamListen (stream: NegotiationStream, protocols: readonly string[], options?: AbortOptions): Promise<NegotiationResult> {
  const reader = new BufferedReader(stream)
  expectHeader(await readLine(reader, options))
  let headerSent = false
  if (reader.bufferedLength === 0) {
    await stream.write(lengthPrefixed(HEADER), options)
    headerSent = true
  }
  for (let i = 0; i < MAX_PROPOSALS; i++) {
    const proposal = await readLine(reader, options)
    const accepted = protocols.includes(proposal)
    const answer = utf8.encode(`${accepted ? proposal : 'na'}\n`)
    await stream.write(headerSent ? lengthPrefixed(answer) : lengthPrefixed(HEADER, answer), options)
    headerSent = true
    if (accepted) return { protocol: proposal, leftover: reader.takeBuffered() }
  }
  throw new InvalidMessageError(`the dialer proposed ${MAX_PROPOSALS} protocols without one we serve`)
}

/**
 * Multistream-select as the dialer, proposing `protocols` in order: the header and the first proposal in one write,
 * each further proposal after a refusal. Returns the protocol the listener accepted and what it sent past it.
 */
export async function multistreamSelect (stream: NegotiationStream, protocols: readonly string[], options?: AbortOptions): Promise<NegotiationResult> {
  if (protocols.length === 0) throw new RangeError('multistreamSelect needs at least one protocol')
  const reader = new BufferedReader(stream)
  await stream.write(multistreamProposal(protocols[0]), options)
  expectHeader(await readLine(reader, options))
  for (let i = 0; i < protocols.length; i++) {
    const answer = await readLine(reader, options)
    if (answer === protocols[i]) return { protocol: answer, leftover: reader.takeBuffered() }
    if (answer !== 'na') throw new InvalidMessageError(`the listener answered "${answer.slice(0, 64)}" to a proposal of ${protocols[i]}`)
    if (i + 1 < protocols.length) await stream.write(lengthPrefixed(utf8.encode(`${protocols[i + 1]}\n`)), options)
  }
  throw new InvalidMessageError(`the listener supports none of ${protocols.join(', ')}`)
}
