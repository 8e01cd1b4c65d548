import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeUvarint, lengthPrefixed, multistreamListen, multistreamProposal, multistreamSelect } from '../src/multistream.js'
import type { NegotiationStream } from '../src/multistream.js'

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b)

describe('encodeUvarint', () => {
  it('encodes as unsigned LEB128', () => {
    assert.deepEqual(encodeUvarint(0), bytes(0))
    assert.deepEqual(encodeUvarint(127), bytes(127))
    assert.deepEqual(encodeUvarint(128), bytes(0x80, 0x01))
    assert.deepEqual(encodeUvarint(300), bytes(0xac, 0x02))
    assert.deepEqual(encodeUvarint(2 ** 32), bytes(0x80, 0x80, 0x80, 0x80, 0x10))
  })

  it('refuses negative and fractional numbers', () => {
    assert.throws(() => encodeUvarint(-1), RangeError)
    assert.throws(() => encodeUvarint(1.5), RangeError)
  })
})

describe('lengthPrefixed and multistreamProposal', () => {
  it('prefix each message with its length, in one buffer', () => {
    assert.deepEqual(lengthPrefixed(bytes(1, 2), new Uint8Array(0), new Uint8Array(130)),
      Uint8Array.from([2, 1, 2, 0, 0x82, 0x01, ...new Uint8Array(130)]))
  })

  it('frame the header and the proposal as multistream-select does', () => {
    const expected = Buffer.concat([Buffer.from([19]), Buffer.from('/multistream/1.0.0\n'), Buffer.from([7]), Buffer.from('/noise\n')])
    assert.deepEqual(Buffer.from(multistreamProposal('/noise')), expected)
  })
})

/** A scripted stream: hands out `chunks`, then end of stream; records every write. */
function scripted (...chunks: Uint8Array[]): NegotiationStream & { writes: Uint8Array[] } {
  const queue = [...chunks]
  const writes: Uint8Array[] = []
  return {
    writes,
    async read () { return queue.shift() ?? null },
    async write (data: Uint8Array) { writes.push(data) }
  }
}

const enc = new TextEncoder()
const line = (s: string): Uint8Array => enc.encode(`${s}\n`)
const HEADER = line('/multistream/1.0.0')
const cat = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts)

describe('multistreamListen', () => {
  it('answers a lazy proposal with header and answer in one write and hands back the data after it', async () => {
    const data = enc.encode('first bytes')
    const stream = scripted(cat(multistreamProposal('/echo/1.0.0'), data))
    const result = await multistreamListen(stream, ['/other/1.0.0', '/echo/1.0.0'])
    assert.equal(result.protocol, '/echo/1.0.0')
    assert.deepEqual(Buffer.concat(result.leftover), Buffer.from(data))
    assert.deepEqual(stream.writes, [multistreamProposal('/echo/1.0.0')])
  })

  it('gives the same result however the bytes are split', async () => {
    const wire = cat(multistreamProposal('/echo/1.0.0'), enc.encode('tail'))
    for (let size = 1; size <= wire.byteLength; size++) {
      const chunks: Uint8Array[] = []
      for (let off = 0; off < wire.byteLength; off += size) chunks.push(wire.subarray(off, off + size))
      const stream = scripted(...chunks)
      const result = await multistreamListen(stream, ['/echo/1.0.0'])
      assert.equal(result.protocol, '/echo/1.0.0')
      // what the negotiation read past the proposal comes back; the rest is still the stream's to give
      const rest: Uint8Array[] = [...result.leftover]
      for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) rest.push(chunk)
      assert.equal(Buffer.concat(rest).toString(), 'tail', `split every ${size} bytes`)
    }
  })

  it('sends its header at once to a dialer that sent the header alone, then refuses and accepts', async () => {
    const stream = scripted(lengthPrefixed(HEADER), lengthPrefixed(line('/nope/1.0.0')), lengthPrefixed(line('/echo/1.0.0')))
    const result = await multistreamListen(stream, ['/echo/1.0.0'])
    assert.equal(result.protocol, '/echo/1.0.0')
    assert.deepEqual(stream.writes, [lengthPrefixed(HEADER), lengthPrefixed(line('na')), lengthPrefixed(line('/echo/1.0.0'))])
  })

  it('refuses garbage, oversized messages, a missing newline and an early end with InvalidMessageError', async () => {
    const cases: Array<[string, Uint8Array[]]> = [
      ['another header', [lengthPrefixed(line('/multistream/2.0.0'))]],
      ['no newline', [lengthPrefixed(enc.encode('/multistream/1.0.0'))]],
      ['an oversized message', [lengthPrefixed(HEADER), encodeUvarint(5000)]],
      ['a malformed length', [Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]],
      ['an end before the proposal', [lengthPrefixed(HEADER)]],
      ['an end inside a message', [cat(lengthPrefixed(HEADER), Uint8Array.from([20, 0x2f]))]]
    ]
    for (const [what, chunks] of cases) {
      await assert.rejects(multistreamListen(scripted(...chunks), ['/echo/1.0.0']), { name: 'InvalidMessageError' }, what)
    }
  })

  it('stops answering after 64 refused proposals', async () => {
    const proposals = Array.from({ length: 100 }, (_, i) => lengthPrefixed(line(`/p/${i}`)))
    const stream = scripted(lengthPrefixed(HEADER), ...proposals)
    await assert.rejects(multistreamListen(stream, ['/echo/1.0.0']), /proposed 64 protocols/)
    assert.equal(stream.writes.length, 65)
  })
})

describe('multistreamSelect', () => {
  it('proposes in order after refusals and hands back what follows the acceptance', async () => {
    const stream = scripted(cat(lengthPrefixed(HEADER), lengthPrefixed(line('na'))), cat(lengthPrefixed(line('/b/1.0.0')), enc.encode('hi')))
    const result = await multistreamSelect(stream, ['/a/1.0.0', '/b/1.0.0'])
    assert.equal(result.protocol, '/b/1.0.0')
    assert.equal(Buffer.concat(result.leftover).toString(), 'hi')
    assert.deepEqual(stream.writes, [multistreamProposal('/a/1.0.0'), lengthPrefixed(line('/b/1.0.0'))])
  })

  it('fails when every proposal is refused or the answer is another protocol', async () => {
    await assert.rejects(multistreamSelect(scripted(lengthPrefixed(HEADER), lengthPrefixed(line('na'))), ['/a/1.0.0']), /supports none of \/a\/1.0.0/)
    await assert.rejects(multistreamSelect(scripted(lengthPrefixed(HEADER), lengthPrefixed(line('/z/1.0.0'))), ['/a/1.0.0']), { name: 'InvalidMessageError' })
  })
})
