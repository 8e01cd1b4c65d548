/** The multistream-select protocol ID, sent first on every negotiated connection and stream. */
export const MULTISTREAM_PROTOCOL = '/multistream/1.0.0'

const utf8 = new TextEncoder()

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
  return lengthPrefixed(utf8.encode(`${MULTISTREAM_PROTOCOL}\n`), utf8.encode(`${protocol}\n`))
}
