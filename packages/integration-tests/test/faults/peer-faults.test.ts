/**
 * Faults of the peer and of the path to it (issue #9): a peer process killed with SIGKILL in the middle of a stream,
 * a listener that accepts and never speaks, and a link cut in the middle of a transfer between two network
 * namespaces. Each must surface as an error within its configured bound and leave nothing open.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createServer } from 'node:net'
import { performance } from 'node:perf_hooks'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import { AddrTTL, createSwarm, errorIs, generateIdentity, parsePeerId, peerIdOf } from '@tswarm/core'
import { waitFor } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import { Fixture, expectHandlesAtBaseline, failOnCrashes, liveHandles } from './support.js'
import type { HandleCounts, PeerInfo } from './support.js'
import type { DialError, Swarm, SwarmOptions } from '@tswarm/core'
import type { Socket } from 'node:net'

const LISTEN = ['/ip4/127.0.0.1/tcp/0']
const ECHO = '/echo/1.0.0'
const run = promisify(execFile)

describe('peer and link faults', () => {
  let baseline: HandleCounts = {}
  const swarms: Swarm[] = []
  const fixtures: Fixture[] = []

  const make = async (options?: SwarmOptions): Promise<Swarm> => {
    const s = await createSwarm({ modules: [tcp()], listen: LISTEN, options })
    swarms.push(s)
    return s
  }
  const cleanup = async (): Promise<void> => {
    await Promise.all(fixtures.splice(0).map(async f => { await f.kill() }))
    await Promise.all(swarms.splice(0).map(async s => { await s.close() }))
  }

  failOnCrashes()

  // Taken inside a test, as the final check is, so node:test's own per-test timer counts in both.
  it('records the handle baseline', () => {
    baseline = liveHandles()
  })

  it('a peer process killed with SIGKILL mid-stream: the stream errors and the connection is gone within 1 s', async (t) => {
    try {
      const child = new Fixture('echo-peer', { count: 1, listen: LISTEN })
      fixtures.push(child)
      const [peer] = (await child.next('ready')).peers as PeerInfo[]
      const remote = parsePeerId(peer.id)
      const a = await make()
      let disconnectedAt = 0
      a.notify({ disconnected: () => { disconnectedAt = performance.now() } })
      a.peerstore.addAddrs(remote, peer.addrs.map(s => multiaddr(s)), AddrTTL.PERMANENT)
      const stream = await a.newStream(remote, { protocols: [ECHO] })

      let echoed = 0
      const outcome = (p: Promise<unknown>): Promise<{ at: number, error?: unknown }> =>
        p.then(() => ({ at: performance.now() }), (error: unknown) => ({ at: performance.now(), error }))
      const reading = outcome((async () => { for await (const c of stream) echoed += c.byteLength })())
      const writing = outcome((async () => {
        const chunk = new Uint8Array(16 * 1024).fill(0x62)
        while (true) await stream.write(chunk)
      })())
      await waitFor(() => echoed >= 1024 * 1024, 'a megabyte to come back through the echo', 10_000)

      const killedAt = performance.now()
      child.child.kill('SIGKILL')
      const [read, write] = await Promise.all([reading, writing])
      await waitFor(() => a.conns().length === 0, 'the connection to be dropped', 2_000)
      const goneAt = performance.now()
      const readMs = read.at - killedAt
      const writeMs = write.at - killedAt
      t.diagnostic(`after SIGKILL: read failed in ${readMs.toFixed(1)} ms (${explain(read.error)}), write in ${writeMs.toFixed(1)} ms ` +
        `(${explain(write.error)}), connection gone in ${(goneAt - killedAt).toFixed(1)} ms, disconnected notification in ` +
        `${(disconnectedAt - killedAt).toFixed(1)} ms; ${echoed} bytes echoed before`)
      assert.ok(read.error !== undefined, 'the read fails: the peer never closed its side, so a clean end would be a lie')
      assert.ok(write.error !== undefined, 'the write fails')
      assert.ok(errorIs(read.error, 'ConnectionClosedError') && errorIs(write.error, 'ConnectionClosedError'), 'both errors name the closed connection')
      assert.ok(readMs < 1_000 && writeMs < 1_000, 'both within 1 s')
      assert.ok(goneAt - killedAt < 1_000 && disconnectedAt > 0 && disconnectedAt - killedAt < 1_000, 'the connection is gone within 1 s')
      assert.equal(a.connectedness(remote), 'notConnected')
      const { signal } = await child.exit
      assert.equal(signal, 'SIGKILL')
    } finally {
      await cleanup()
    }
  })

  it('a listener that accepts and never speaks: the dial times out within its bound and the address is backed off', async (t) => {
    const sockets = new Set<Socket>()
    const closedAfter: number[] = []
    const server = createServer(s => {
      const accepted = performance.now()
      sockets.add(s)
      // Reads and drops what the dialer sends (never answers): a paused socket would not notice the dialer's FIN.
      s.resume()
      s.on('error', () => {})
      s.on('close', () => { sockets.delete(s); closedAfter.push(performance.now() - accepted) })
    })
    await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
    try {
      const timeout = 500
      const a = await make({ dialTimeoutLocal: timeout })
      const ghost = peerIdOf(await generateIdentity())
      const silent = multiaddr(`/ip4/127.0.0.1/tcp/${(server.address() as { port: number }).port}`)
      a.peerstore.addAddrs(ghost, [silent], AddrTTL.PERMANENT)

      const started = performance.now()
      await assert.rejects(a.dialPeer(ghost), (err: unknown) => {
        assert.ok(errorIs(err, 'DialTimeoutError'), String(err))
        assert.equal((err as DialError).timeout, true)
        return true
      })
      const elapsed = performance.now() - started
      assert.ok(elapsed >= timeout - 10 && elapsed < timeout + 1_000, `took ${elapsed.toFixed(0)} ms for a ${timeout} ms timeout`)
      assert.equal(a.backoff().backoff(ghost, silent), true, 'the silent address is backed off')
      // The dialer gave the socket back: the silent server sees it close, nothing is left half-open on either side.
      await waitFor(() => closedAfter.length === 1, 'the silent server to see the dialer close its socket', 2_000)
      assert.equal(a.conns().length, 0)

      const again = performance.now()
      await assert.rejects(a.dialPeer(ghost), (err: unknown) => errorIs(err, 'DialBackoffError'))
      const againMs = performance.now() - again
      assert.ok(againMs < 100, `a backed-off address fails fast (${againMs.toFixed(1)} ms)`)
      assert.equal(closedAfter.length, 1, 'and is not dialed again')
      t.diagnostic(`silent listener: DialTimeoutError after ${elapsed.toFixed(0)} ms (bound ${timeout} ms), socket closed at the server ` +
        `${closedAfter[0].toFixed(0)} ms after accept; redial refused by backoff in ${againMs.toFixed(1)} ms`)
    } finally {
      await cleanup()
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  })

  it('a link cut mid-transfer between two network namespaces is noticed within livenessInterval + livenessTimeout', async (t) => {
    const suffix = String(process.pid)
    const nsA = `tswarm-a-${suffix}`
    const nsB = `tswarm-b-${suffix}`
    // veth names are limited to 15 bytes.
    const vethA = `tswa${suffix}`.slice(0, 15)
    const vethB = `tswb${suffix}`.slice(0, 15)
    const interval = 1_000
    const livenessTimeout = 1_000
    const options: SwarmOptions = { livenessInterval: interval, livenessTimeout }
    try {
      try {
        await run('ip', ['netns', 'add', nsA])
        await run('ip', ['netns', 'add', nsB])
        await run('ip', ['link', 'add', vethA, 'type', 'veth', 'peer', 'name', vethB])
        await run('ip', ['link', 'set', vethA, 'netns', nsA])
        await run('ip', ['link', 'set', vethB, 'netns', nsB])
        // Private addresses that exist only inside the two namespaces.
        for (const [ns, dev, addr] of [[nsA, vethA, '10.77.0.1/24'], [nsB, vethB, '10.77.0.2/24']]) {
          await run('ip', ['-n', ns, 'addr', 'add', addr, 'dev', dev])
          await run('ip', ['-n', ns, 'link', 'set', dev, 'up'])
          await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
        }
      } catch (err) {
        // Not root, no iproute2, no CAP_NET_ADMIN in a container, no veth driver: nothing to test here.
        t.skip(`cannot set up two network namespaces with a veth pair (needs root and iproute2): ${explain(err).split('\n')[0]}`)
        return
      }

      const listener = new Fixture('echo-peer', { count: 1, listen: ['/ip4/10.77.0.2/tcp/0'], options, events: true }, { netns: nsB })
      fixtures.push(listener)
      const [peer] = (await listener.next('ready')).peers as PeerInfo[]
      const dialer = new Fixture('transfer-peer', { peer, options, reportAfter: 256 * 1024, chunk: 16 * 1024, intervalMs: 5 }, { netns: nsA })
      fixtures.push(dialer)
      await dialer.next('transferring', 15_000)
      await listener.next('connected')

      const cutAt = Date.now()
      await run('ip', ['-n', nsA, 'link', 'set', vethA, 'down'])
      const cutDoneMs = Date.now() - cutAt

      const bound = interval + livenessTimeout
      const streamError = await dialer.next('stream-error', bound + 5_000)
      const dialerGone = await dialer.next('disconnected', bound + 5_000)
      const listenerGone = await listener.next('disconnected', bound + 5_000)
      const errMs = (streamError.at as number) - cutAt
      const dialerMs = (dialerGone.at as number) - cutAt
      const listenerMs = (listenerGone.at as number) - cutAt
      t.diagnostic(`link cut (ip link set down took ${cutDoneMs} ms): dialer stream ${String(streamError.side)} failed after ${errMs} ms ` +
        `(${String(streamError.name)}: ${String(streamError.message)}; cause ${String(streamError.cause)}), dialer dropped the connection after ${dialerMs} ms, ` +
        `listener after ${listenerMs} ms; bound ${bound} ms (livenessInterval ${interval} + livenessTimeout ${livenessTimeout})`)
      // A ping goes out at most `interval` after the cut and is given up on `livenessTimeout` later; the slack covers
      // timer lateness and the wall clocks of two processes being compared.
      const slack = 300
      assert.ok(dialerMs <= bound + slack, `the dialer dropped the connection after ${dialerMs} ms`)
      assert.ok(errMs <= bound + slack, `the dialer's stream failed after ${errMs} ms`)
      assert.ok(listenerMs <= bound + slack, `the listener dropped the connection after ${listenerMs} ms`)
      assert.equal(streamError.connectionClosed, true, 'the stream error names the closed connection (errorIs looks through causes)')

      for (const f of [dialer, listener]) {
        const bye = await f.shutdown()
        assert.deepEqual(bye.handles, {}, 'the fixture closed everything')
      }
    } finally {
      await cleanup()
      // Deleting a namespace deletes the veth end inside it, and with it the other end; a pair that never got moved
      // (setup failed half-way) is deleted where it was made.
      for (const ns of [nsA, nsB]) await run('ip', ['netns', 'del', ns]).catch(() => {})
      await run('ip', ['link', 'del', vethA]).catch(() => {})
      const left = await run('ip', ['netns', 'list']).then(r => r.stdout, () => '')
      assert.ok(!left.includes(nsA) && !left.includes(nsB), `namespaces left behind: ${left}`)
    }
  })

  it('leaves no socket, server, timer or child process once everything closed', async () => {
    await cleanup()
    await expectHandlesAtBaseline(baseline)
  })
})

function explain (err: unknown): string {
  if (err === undefined) return 'no error'
  const e = err as { name?: string, message?: string }
  return `${e.name ?? 'Error'}: ${e.message ?? String(err)}`
}
