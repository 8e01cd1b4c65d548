import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeUvarint, lengthPrefixed } from '@tswarm/core'
import { BufferedReader } from '../src/reader.js'
import type { ChunkSource } from '../src/reader.js'

/** A source that hands out the given chunks, then end of stream. */
function source (...chunks: Uint8Array[]): ChunkSource & { reads: number } {
  const queue = [...chunks]
  return {
    reads: 0,
    async read () {
      this.reads++
      return queue.shift() ?? null
    }
  }
}

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b)

describe('BufferedReader', () => {
  it('reads length-prefixed messages split across chunks and keeps what follows', async () => {
    const framed = lengthPrefixed(new TextEncoder().encode('hello'), new Uint8Array(300).fill(7))
    const reader = new BufferedReader(source(framed.subarray(0, 3), framed.subarray(3, 7), framed.subarray(7), bytes(1, 2, 3)))
    assert.equal(new TextDecoder().decode(await reader.readMessage(1024) ?? new Uint8Array()), 'hello')
    assert.deepEqual(await reader.readMessage(1024), new Uint8Array(300).fill(7))
    assert.deepEqual(await reader.readChunk(), bytes(1, 2, 3))
    assert.equal(await reader.readMessage(10), null)
    assert.equal(reader.done, true)
  })

  it('returns null at a clean end and fails on an end inside a message', async () => {
    assert.equal(await new BufferedReader(source()).readMessage(10), null)
    await assert.rejects(new BufferedReader(source(bytes(5, 1, 2))).readMessage(10), { name: 'InvalidMessageError' })
    await assert.rejects(new BufferedReader(source(bytes(0x80))).readMessage(10), { name: 'InvalidMessageError' })
  })

  it('refuses a message over the limit without reading its body', async () => {
    const src = source(encodeUvarint(100_000))
    await assert.rejects(new BufferedReader(src).readMessage(8192), /exceeds the limit of 8192/)
    assert.equal(src.reads, 1)
  })

  it('refuses non-minimal and overlong length prefixes', async () => {
    await assert.rejects(new BufferedReader(source(bytes(0x81, 0x00))).readMessage(10), /malformed/)
    await assert.rejects(new BufferedReader(source(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0x01))).readMessage(10), /malformed/)
  })

  it('reads exact byte counts and hands over the rest chunk by chunk', async () => {
    const reader = new BufferedReader(source(bytes(1, 2), bytes(3, 4, 5), bytes(6)))
    assert.deepEqual(await reader.readExactly(4), bytes(1, 2, 3, 4))
    assert.equal(reader.bufferedLength, 1)
    assert.deepEqual(reader.takeBuffered(), [bytes(5)])
    assert.deepEqual(await reader.readChunk(), bytes(6))
    assert.equal(await reader.readExactly(1), null)
    await assert.rejects(new BufferedReader(source(bytes(1))).readExactly(2), { name: 'InvalidMessageError' })
  })
})
