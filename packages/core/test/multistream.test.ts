import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeUvarint, lengthPrefixed, multistreamProposal } from '../src/multistream.js'

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
