import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { DialBackoff } from '../../src/dial/backoff.js'
import { generateIdentity, peerIdOf } from '../../src/identity.js'
import { ManualClock } from '../../src/testing/manual-clock.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const SECOND = 1000

/** How long `addr` of `peer` stays backed off from now, or undefined. */
function remaining (backoff: DialBackoff, clock: ManualClock, peer: PeerId, addr: Multiaddr): number | undefined {
  const until = backoff.until(peer, addr)
  return until === undefined ? undefined : until - clock.now()
}

describe('DialBackoff (go DialBackoff)', async () => {
  const peerA = peerIdOf(await generateIdentity())
  const peerB = peerIdOf(await generateIdentity())
  const addr1 = multiaddr('/ip4/1.2.3.4/tcp/4001')
  const addr2 = multiaddr('/ip4/1.2.3.4/tcp/4002')

  it('backs off for 5 s, 6 s, 9 s, 14 s, 21 s, … base + coef × tries², capped at 300 s', () => {
    const clock = new ManualClock()
    const backoff = new DialBackoff(clock)
    const seen: number[] = []
    for (let i = 0; i < 22; i++) {
      backoff.addBackoff(peerA, addr1)
      const left = remaining(backoff, clock, peerA, addr1)
      assert.ok(left !== undefined)
      seen.push(left / SECOND)
      // Let each backoff run out before the next failure: the count must keep growing regardless.
      clock.advance(left)
      assert.equal(backoff.backoff(peerA, addr1), false)
    }
    assert.deepEqual(seen, [5, 6, 9, 14, 21, 30, 41, 54, 69, 86, 105, 126, 149, 174, 201, 230, 261, 294, 300, 300, 300, 300])
  })

  it('is backed off strictly before `until` and not at it', () => {
    const clock = new ManualClock()
    const backoff = new DialBackoff(clock)
    backoff.addBackoff(peerA, addr1)
    assert.equal(backoff.backoff(peerA, addr1), true)
    assert.equal(backoff.until(peerA, addr1), clock.now() + 5 * SECOND)
    clock.advance(5 * SECOND - 1)
    assert.equal(backoff.backoff(peerA, addr1), true)
    clock.advance(1)
    assert.equal(backoff.backoff(peerA, addr1), false)
    assert.equal(backoff.until(peerA, addr1), undefined)
  })

  it('a failure during a backoff restarts it from now with the longer duration', () => {
    const clock = new ManualClock()
    const backoff = new DialBackoff(clock)
    backoff.addBackoff(peerA, addr1)
    clock.advance(2 * SECOND)
    backoff.addBackoff(peerA, addr1)
    assert.equal(remaining(backoff, clock, peerA, addr1), 6 * SECOND)
  })

  it('keeps each address and each peer apart', () => {
    const clock = new ManualClock()
    const backoff = new DialBackoff(clock)
    backoff.addBackoff(peerA, addr1)
    backoff.addBackoff(peerA, addr1)
    assert.equal(backoff.backoff(peerA, addr2), false)
    assert.equal(backoff.backoff(peerB, addr1), false)
    backoff.addBackoff(peerA, addr2)
    backoff.addBackoff(peerB, addr1)
    assert.equal(remaining(backoff, clock, peerA, addr1), 6 * SECOND)
    assert.equal(remaining(backoff, clock, peerA, addr2), 5 * SECOND)
    assert.equal(remaining(backoff, clock, peerB, addr1), 5 * SECOND)
  })

  it('compares addresses by string form, ignoring a trailing /p2p', () => {
    const clock = new ManualClock()
    const backoff = new DialBackoff(clock)
    backoff.addBackoff(peerA, multiaddr(`/ip4/1.2.3.4/tcp/4001/p2p/${peerA.toString()}`))
    assert.equal(backoff.backoff(peerA, multiaddr('/ip4/1.2.3.4/tcp/4001')), true)
    backoff.addBackoff(peerA, multiaddr('/ip4/1.2.3.4/tcp/4001'))
    assert.equal(remaining(backoff, clock, peerA, multiaddr(`/ip4/1.2.3.4/tcp/4001/p2p/${peerA.toString()}`)), 6 * SECOND)
  })

  it('clear(peer) forgets all of that peer\'s addresses and no other peer\'s', () => {
    const clock = new ManualClock()
    const backoff = new DialBackoff(clock)
    backoff.addBackoff(peerA, addr1)
    backoff.addBackoff(peerA, addr2)
    backoff.addBackoff(peerB, addr1)
    backoff.clear(peerA)
    assert.equal(backoff.backoff(peerA, addr1), false)
    assert.equal(backoff.backoff(peerA, addr2), false)
    assert.equal(backoff.backoff(peerB, addr1), true)
    // The failure count went with the record: the next failure starts again at base.
    backoff.addBackoff(peerA, addr1)
    assert.equal(remaining(backoff, clock, peerA, addr1), 5 * SECOND)
  })

  it('cleanup drops a peer once every address has been out of backoff longer than its next backoff', () => {
    const clock = new ManualClock()
    const backoff = new DialBackoff(clock)
    backoff.addBackoff(peerA, addr1) // until t+5 s, tries 1: next backoff 6 s, so stale from t+11 s
    backoff.addBackoff(peerB, addr1)
    backoff.addBackoff(peerB, addr1) // until t+6 s, tries 2: next backoff 9 s, so stale from t+15 s
    clock.advance(11 * SECOND - 1)
    backoff.cleanup()
    assert.equal(backoff.size, 2)
    clock.advance(1)
    backoff.cleanup()
    assert.equal(backoff.size, 1)
    // A new failure of the dropped peer starts from base again.
    backoff.addBackoff(peerA, addr1)
    assert.equal(remaining(backoff, clock, peerA, addr1), 5 * SECOND)
    clock.advance(4 * SECOND) // t+15 s: peer B is stale, peer A's new record is not
    backoff.cleanup()
    assert.equal(backoff.size, 1)
    assert.equal(backoff.backoff(peerA, addr1), true)
  })

  it('cleanup keeps every record of a peer that has one recent address (as go)', () => {
    const clock = new ManualClock()
    const backoff = new DialBackoff(clock)
    backoff.addBackoff(peerA, addr1)
    backoff.addBackoff(peerA, addr1) // tries 2
    clock.advance(60 * SECOND)
    backoff.addBackoff(peerA, addr2)
    backoff.cleanup()
    assert.equal(backoff.size, 1)
    // addr1's stale record was kept, so its count goes on.
    backoff.addBackoff(peerA, addr1)
    assert.equal(remaining(backoff, clock, peerA, addr1), 9 * SECOND)
  })

  it('start() runs cleanup every max on the clock; stop() leaves no timer', () => {
    const clock = new ManualClock()
    const backoff = new DialBackoff(clock)
    backoff.start()
    backoff.start() // idempotent
    assert.equal(clock.pendingTimers, 1)
    backoff.addBackoff(peerA, addr1)
    clock.advance(300 * SECOND)
    assert.equal(backoff.size, 0)
    assert.equal(clock.pendingTimers, 1)
    backoff.addBackoff(peerB, addr1)
    clock.advance(299 * SECOND)
    assert.equal(backoff.size, 1)
    clock.advance(SECOND)
    assert.equal(backoff.size, 0)
    backoff.stop()
    assert.equal(clock.pendingTimers, 0)
    backoff.stop() // idempotent
    assert.equal(clock.pendingTimers, 0)
    backoff.addBackoff(peerA, addr1)
    clock.advance(3600 * SECOND)
    assert.equal(backoff.size, 1, 'no cleanup runs after stop()')
  })

  it('sets no timer unless started', () => {
    const clock = new ManualClock()
    const backoff = new DialBackoff(clock)
    backoff.addBackoff(peerA, addr1)
    assert.equal(clock.pendingTimers, 0)
  })

  it('takes custom base, coef and max', () => {
    const clock = new ManualClock()
    const backoff = new DialBackoff(clock, { base: 100, coef: 10, max: 200 })
    const seen: number[] = []
    for (let i = 0; i < 6; i++) {
      backoff.addBackoff(peerA, addr1)
      seen.push(remaining(backoff, clock, peerA, addr1) ?? -1)
    }
    assert.deepEqual(seen, [100, 110, 140, 190, 200, 200])
    assert.deepEqual([backoff.base, backoff.coef, backoff.max], [100, 10, 200])
  })

  it('validates its options', () => {
    const clock = new ManualClock()
    const bad = [
      { base: 0 }, { base: -1 }, { base: Number.NaN }, { base: Number.POSITIVE_INFINITY },
      { coef: -1 }, { coef: Number.NaN },
      { max: 4999 }, { max: Number.NaN }, { base: 10, max: 9 }
    ]
    for (const options of bad) {
      assert.throws(() => new DialBackoff(clock, options), { name: 'InvalidOptionError' }, JSON.stringify(options))
    }
    assert.doesNotThrow(() => new DialBackoff(clock, { base: 10, coef: 0, max: 10 }))
  })
})
