import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateIdentity, peerIdOf } from '../../src/identity.js'
import { DialSync } from '../../src/swarm/dial-sync.js'
import type { PeerId } from '@libp2p/interface'

/** A dial the test finishes by hand, recording the signal it ran with. */
function controlledDials (): { sync: DialSync<string>, runs: Array<{ peer: PeerId, signal: AbortSignal, resolve: (v: string) => void, reject: (e: Error) => void }> } {
  const runs: Array<{ peer: PeerId, signal: AbortSignal, resolve: (v: string) => void, reject: (e: Error) => void }> = []
  const sync = new DialSync<string>(async (peer, signal) => new Promise<string>((resolve, reject) => {
    runs.push({ peer, signal, resolve, reject })
    signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
  }))
  return { sync, runs }
}

describe('DialSync (go dial_sync_test)', async () => {
  const peer = peerIdOf(await generateIdentity())

  it('starts the worker once for concurrent callers', async () => {
    const { sync, runs } = controlledDials()
    const p1 = sync.dial(peer)
    const p2 = sync.dial(peer)
    assert.equal(runs.length, 1)
    runs[0].resolve('conn')
    assert.deepEqual(await Promise.all([p1, p2]), ['conn', 'conn'])
    assert.equal(sync.size, 0)
  })

  it('cancelling one caller leaves the others going', async () => {
    const { sync, runs } = controlledDials()
    const c1 = new AbortController()
    const p1 = sync.dial(peer, c1.signal)
    const p2 = sync.dial(peer)
    c1.abort(new Error('caller 1 gave up'))
    await assert.rejects(p1, /caller 1 gave up/)
    assert.equal(runs[0].signal.aborted, false)
    runs[0].resolve('conn')
    assert.equal(await p2, 'conn')
  })

  it('cancelling every caller aborts the worker, and a later dial starts afresh', async () => {
    const { sync, runs } = controlledDials()
    const c1 = new AbortController()
    const c2 = new AbortController()
    const p1 = sync.dial(peer, c1.signal)
    const p2 = sync.dial(peer, c2.signal)
    c1.abort(new Error('one'))
    c2.abort(new Error('two'))
    await assert.rejects(p1, /one/)
    await assert.rejects(p2, /two/)
    assert.equal(runs[0].signal.aborted, true)
    const p3 = sync.dial(peer)
    assert.equal(runs.length, 2)
    runs[1].resolve('fresh')
    assert.equal(await p3, 'fresh')
  })

  it('the first caller gets the failure, the next starts a new dial', async () => {
    const { sync, runs } = controlledDials()
    const p1 = sync.dial(peer)
    runs[0].reject(new Error('dial failed'))
    await assert.rejects(p1, /dial failed/)
    const p2 = sync.dial(peer)
    runs[1].resolve('conn')
    assert.equal(await p2, 'conn')
  })

  it('keeps dials to different peers apart', async () => {
    const other = peerIdOf(await generateIdentity())
    const { sync, runs } = controlledDials()
    const p1 = sync.dial(peer)
    const p2 = sync.dial(other)
    assert.equal(runs.length, 2)
    runs[1].resolve('other')
    runs[0].resolve('peer')
    assert.deepEqual(await Promise.all([p1, p2]), ['peer', 'other'])
  })

  it('survives 100 × 100 interleaved joins and cancels', async () => {
    const sync = new DialSync<number>(async (_peer, signal) => new Promise<number>((resolve, reject) => {
      setImmediate(() => { if (signal.aborted) reject(signal.reason); else resolve(1) })
    }))
    let ok = 0
    let cancelled = 0
    await Promise.all(Array.from({ length: 100 }, async (_, worker) => {
      for (let i = 0; i < 100; i++) {
        const c = new AbortController()
        const p = sync.dial(peer, c.signal)
        if ((worker + i) % 7 === 0) c.abort(new Error('cancel'))
        try {
          const n = await p
          ok += n
        } catch { cancelled++ }
      }
    }))
    assert.equal(ok + cancelled, 10_000)
    assert.ok(ok > 0)
    assert.equal(sync.size, 0)
  })
})
