import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateIdentity, peerIdOf } from '../../src/identity.js'
import { DialSync } from '../../src/swarm/dial-sync.js'
import type { PeerId } from '@libp2p/interface'

interface FakeWorker {
  peer: PeerId
  signal: AbortSignal
  requests: number
  resolve: (v: string) => void
  reject: (e: Error) => void
}

/** Workers whose one shared result the test settles by hand; they fail when their signal aborts, as real ones do. */
function controlledDials (): { sync: DialSync<string, undefined>, workers: FakeWorker[] } {
  const workers: FakeWorker[] = []
  const sync = new DialSync<string, undefined>((peer, signal) => {
    const result = Promise.withResolvers<string>()
    const w: FakeWorker = { peer, signal, requests: 0, resolve: result.resolve, reject: result.reject }
    signal.addEventListener('abort', () => { result.reject(signal.reason) }, { once: true })
    workers.push(w)
    return { request: async () => { w.requests++; return result.promise } }
  })
  return { sync, workers }
}

describe('DialSync (go dial_sync_test)', async () => {
  const peer = peerIdOf(await generateIdentity())

  it('starts one worker for concurrent callers, each a request to it', async () => {
    const { sync, workers } = controlledDials()
    const p1 = sync.dial(peer, undefined)
    const p2 = sync.dial(peer, undefined)
    assert.equal(workers.length, 1)
    assert.equal(workers[0].requests, 2)
    workers[0].resolve('conn')
    assert.deepEqual(await Promise.all([p1, p2]), ['conn', 'conn'])
    assert.equal(sync.size, 0)
    assert.equal(workers[0].signal.aborted, true, 'the worker stops once every caller has left')
  })

  it('cancelling one caller leaves the others going', async () => {
    const { sync, workers } = controlledDials()
    const c1 = new AbortController()
    const p1 = sync.dial(peer, undefined, c1.signal)
    const p2 = sync.dial(peer, undefined)
    c1.abort(new Error('caller 1 gave up'))
    await assert.rejects(p1, /caller 1 gave up/)
    assert.equal(workers[0].signal.aborted, false)
    workers[0].resolve('conn')
    assert.equal(await p2, 'conn')
  })

  it('cancelling every caller aborts the worker, and a later dial starts afresh', async () => {
    const { sync, workers } = controlledDials()
    const c1 = new AbortController()
    const c2 = new AbortController()
    const p1 = sync.dial(peer, undefined, c1.signal)
    const p2 = sync.dial(peer, undefined, c2.signal)
    c1.abort(new Error('one'))
    c2.abort(new Error('two'))
    await assert.rejects(p1, /one/)
    await assert.rejects(p2, /two/)
    assert.equal(workers[0].signal.aborted, true)
    const p3 = sync.dial(peer, undefined)
    assert.equal(workers.length, 2)
    workers[1].resolve('fresh')
    assert.equal(await p3, 'fresh')
  })

  it('the first caller gets the failure, the next starts a new worker', async () => {
    const { sync, workers } = controlledDials()
    const p1 = sync.dial(peer, undefined)
    workers[0].reject(new Error('dial failed'))
    await assert.rejects(p1, /dial failed/)
    const p2 = sync.dial(peer, undefined)
    assert.equal(workers.length, 2)
    workers[1].resolve('conn')
    assert.equal(await p2, 'conn')
  })

  it('keeps dials to different peers apart', async () => {
    const other = peerIdOf(await generateIdentity())
    const { sync, workers } = controlledDials()
    const p1 = sync.dial(peer, undefined)
    const p2 = sync.dial(other, undefined)
    assert.equal(workers.length, 2)
    workers[1].resolve('other')
    workers[0].resolve('peer')
    assert.deepEqual(await Promise.all([p1, p2]), ['peer', 'other'])
  })

  it('survives 100 × 1000 interleaved joins and cancels', async () => {
    const sync = new DialSync<number, undefined>((_peer, signal) => ({
      request: async () => new Promise<number>((resolve, reject) => {
        setImmediate(() => { if (signal.aborted) reject(signal.reason); else resolve(1) })
      })
    }))
    let ok = 0
    let cancelled = 0
    await Promise.all(Array.from({ length: 100 }, async (_, worker) => {
      for (let i = 0; i < 1000; i++) {
        const c = new AbortController()
        const p = sync.dial(peer, undefined, c.signal)
        if ((worker + i) % 7 === 0) c.abort(new Error('cancel'))
        try {
          const n = await p
          ok += n
        } catch { cancelled++ }
      }
    }))
    assert.equal(ok + cancelled, 100_000)
    assert.ok(ok > 0)
    assert.equal(sync.size, 0)
  })
})
