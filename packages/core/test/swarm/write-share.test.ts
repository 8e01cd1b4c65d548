import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { streamWriteShare } from '../../src/swarm/conn.js'

const KiB = 1024
const MiB = 1024 * KiB

describe('streamWriteShare', () => {
  it('gives a lone stream the connection\'s whole 1 MiB, splits it evenly, and never goes below 256 KiB', () => {
    assert.equal(streamWriteShare(0), MiB)
    assert.equal(streamWriteShare(1), MiB)
    assert.equal(streamWriteShare(2), 512 * KiB)
    assert.equal(streamWriteShare(4), 256 * KiB)
    assert.equal(streamWriteShare(64), 256 * KiB)
  })
})
