import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { defaultLogger } from '@libp2p/logger'
import { Notifier } from '../../src/swarm/notifier.js'
import type { Conn } from '../../src/interfaces/connection.js'

const log = defaultLogger().forComponent('test')
const fakeConn = (id: string): Conn => ({ id } as unknown as Conn)

describe('Notifier', () => {
  it('delivers connected before disconnected for 200 connections in any order', async () => {
    const n = new Notifier(log)
    const seen = new Map<string, string[]>()
    n.add({
      connected: c => { seen.set(c.id, [...seen.get(c.id) ?? [], 'connected']) },
      disconnected: c => { seen.set(c.id, [...seen.get(c.id) ?? [], 'disconnected']) }
    })
    const conns = Array.from({ length: 200 }, (_, i) => fakeConn(String(i)))
    const pending: Array<Promise<void>> = []
    // Even connections: disconnect queued right after connect, without waiting.
    for (const c of conns) {
      pending.push(n.connected(c))
      if (Number(c.id) % 2 === 0) pending.push(n.disconnected(c))
    }
    for (const c of conns.filter(c => Number(c.id) % 2 === 1).reverse()) pending.push(n.disconnected(c))
    await Promise.all(pending)
    for (const c of conns) assert.deepEqual(seen.get(c.id), ['connected', 'disconnected'], `conn ${c.id}`)
  })

  it('does not deliver synchronously, so a handler can call back without re-entering', async () => {
    const n = new Notifier(log)
    const order: string[] = []
    const c = fakeConn('x')
    n.add({
      connected: () => {
        order.push('connected:start')
        void n.disconnected(c)
        order.push('connected:end')
      },
      disconnected: () => { order.push('disconnected') }
    })
    const done = n.connected(c)
    order.push('after call')
    await done
    await n.flush()
    assert.deepEqual(order, ['after call', 'connected:start', 'connected:end', 'disconnected'])
  })

  it('keeps delivering after a handler throws', async () => {
    const n = new Notifier(log)
    let second = 0
    n.add({ connected: () => { throw new Error('bad notifiee') } })
    n.add({ connected: () => { second++ } })
    await n.connected(fakeConn('y'))
    assert.equal(second, 1)
  })

  it('stops delivering to a removed notifiee', async () => {
    const n = new Notifier(log)
    let count = 0
    const me = { connected: () => { count++ } }
    n.add(me)
    await n.connected(fakeConn('1'))
    n.remove(me)
    await n.connected(fakeConn('2'))
    assert.equal(count, 1)
  })
})
