import assert from 'node:assert/strict'
import { once } from 'node:events'
import { Agent, get } from 'node:http'
import { createServer } from 'node:net'
import { afterEach, describe, it } from 'node:test'
import { CLOCK, METRICS_TRACER, REPORTER, SWARM_SERVICE, assembleSwarm, createSwarm, errorIs, pluginInstance } from '@tswarm/core'
import { ManualClock, introduce, memory } from '@tswarm/core/testing'
import { BandwidthCounter, PrometheusMetrics, SWARM_METRICS, metrics } from '../src/index.js'
import { until } from './helpers.js'
import type { MetricsOptions, SwarmMetrics } from '../src/index.js'
import type { Reporter, Swarm, SwarmModule, MetricsTracer, SwarmService } from '@tswarm/core'
import type { AddressInfo } from 'node:net'

function clockModule (clock: ManualClock): SwarmModule {
  return { name: 'manual-clock', register (c) { c.register(CLOCK, { useValue: clock }) } }
}

/** How many of the process's handles are of `type` (TCPServerWrap, TCPSocketWrap, Timeout...). */
function handles (type: string): number {
  return process.getActiveResourcesInfo().filter(t => t === type).length
}

/** As {@link handles}, once handles closed just before (by an earlier test) have left the list. */
async function settledHandles (type: string): Promise<number> {
  // a handle leaves the list in the event loop turn after its close completes
  for (let i = 0; i < 3; i++) await new Promise(resolve => setImmediate(resolve))
  return handles(type)
}

describe('metrics()', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })

  it('refuses bad options at once with an InvalidOptionError naming the option', () => {
    const cases: Array<[unknown, string]> = [
      [{ idleTimeout: 0 }, 'idleTimeout'],
      [{ idleTimeout: '60s' }, 'idleTimeout'],
      [{ tickInterval: 1 }, 'tickInterval'],
      [{ registry: {} }, 'registry'],
      [{ http: 9090 }, 'http'],
      [{ http: {} }, 'http.port'],
      [{ http: { port: -1 } }, 'http.port'],
      [{ http: { port: 65_536 } }, 'http.port'],
      [{ http: { port: 1.5 } }, 'http.port'],
      [{ http: { port: 0, host: '' } }, 'http.host'],
      [{ http: { port: 0, path: 'metrics' } }, 'http.path'],
      [{ http: { port: 0, path: '/metrics?x=1' } }, 'http.path'],
      [null, 'metrics options']
    ]
    for (const [options, option] of cases) {
      assert.throws(() => metrics(options as MetricsOptions), (err: unknown) => {
        assert.equal((err as Error).name, 'InvalidOptionError', `${JSON.stringify(options)}: ${String(err)}`)
        assert.equal((err as { option?: string }).option, option)
        return true
      })
    }
  })

  it('registers the counter as REPORTER, the series as METRICS_TRACER, and a SWARM_SERVICE; SWARM_METRICS finds them', async () => {
    const mod = metrics()
    const { swarm, container } = await assembleSwarm({ modules: [memory(), mod], listen: ['/memory/0'] })
    swarms.push(swarm)
    const handle = container.resolve<SwarmMetrics>(SWARM_METRICS)
    assert.equal(handle, pluginInstance(swarm, SWARM_METRICS))
    assert.ok(handle.bandwidth instanceof BandwidthCounter)
    assert.equal(container.resolve<Reporter>(REPORTER), handle.bandwidth)
    const tracers = container.resolveAll<MetricsTracer>(METRICS_TRACER)
    assert.ok(tracers.some(t => t instanceof PrometheusMetrics && t === handle.prometheus))
    assert.equal(container.resolveAll<SwarmService>(SWARM_SERVICE).filter(s => s.name === '@tswarm/metrics').length, 1)
    assert.equal(handle.bandwidth.running, true, 'the tick runs once the swarm started')
  })

  it('has no metrics to give for a swarm assembled without metrics()', async () => {
    const other = await createSwarm({ modules: [memory()] })
    swarms.push(other)
    assert.throws(() => pluginInstance(other, SWARM_METRICS), { name: 'PluginNotFoundError' })
  })

  it('measures rates of a steady transfer between swarms on a manual clock', async () => {
    const clock = new ManualClock()
    const [ma, mb] = [metrics(), metrics()]
    const a = await createSwarm({ modules: [memory(), clockModule(clock), ma], listen: ['/memory/0'] })
    const b = await createSwarm({ modules: [memory(), clockModule(clock), mb], listen: ['/memory/0'] })
    swarms.push(a, b)
    let received = 0
    b.setStreamHandler(async stream => {
      await b.negotiateInbound(stream, ['/steady/1'])
      for await (const chunk of stream) received += chunk.byteLength
    })
    introduce(a, b)
    const stream = await a.newStream(b.localPeer, { protocols: ['/steady/1'] })
    const perSecond = 10 * 1024
    for (let s = 0; s < 10; s++) {
      for (let i = 0; i < 4; i++) await stream.write(new Uint8Array(perSecond / 4))
      const target = (s + 1) * perSecond
      await until('the receiver to read this second\'s bytes', async () => received === target)
      clock.advance(1000)
    }
    const sent = pluginInstance(a, SWARM_METRICS).bandwidth.getBandwidthForPeer(b.localPeer)
    const got = pluginInstance(b, SWARM_METRICS).bandwidth.getBandwidthForProtocol('/steady/1')
    assert.equal(sent.totalOut, 10 * perSecond)
    assert.equal(got.totalIn, 10 * perSecond)
    assert.ok(Math.abs(sent.rateOut - perSecond) < 1e-6, `sender's rate ${sent.rateOut} B/s`)
    assert.ok(Math.abs(got.rateIn - perSecond) < 1e-6, `receiver's rate ${got.rateIn} B/s`)
    assert.ok(Math.abs(pluginInstance(a, SWARM_METRICS).bandwidth.getBandwidthTotals().rateOut - perSecond) < 1e-6)
    await stream.close()
  })

  it('leaves no timer on the clock once the swarm closed', async () => {
    const clock = new ManualClock()
    const mod = metrics()
    const swarm = await createSwarm({ modules: [memory(), clockModule(clock), mod], listen: ['/memory/0'] })
    const { bandwidth } = pluginInstance(swarm, SWARM_METRICS)
    assert.equal(bandwidth.running, true)
    clock.advance(3_000)
    const withTick = clock.pendingTimers
    await swarm.close()
    assert.equal(bandwidth.running, false)
    assert.ok(clock.pendingTimers <= withTick - 1, 'the tick is gone')
    clock.advance(10_000)
    assert.equal(bandwidth.running, false, 'and nothing restarts it')
  })

  it('closes the HTTP server with the swarm, cutting kept-alive scrapers, leaving no handle', async () => {
    const servers = await settledHandles('TCPServerWrap')
    const sockets = await settledHandles('TCPSocketWrap')
    const mod = metrics({ http: { port: 0 } })
    const swarm = await createSwarm({ modules: [memory(), mod], listen: ['/memory/0'] })
    const address = pluginInstance(swarm, SWARM_METRICS).httpAddress
    assert.ok(address !== undefined)
    assert.equal(handles('TCPServerWrap'), servers + 1)

    // a scraper that keeps its connection open between scrapes, as Prometheus does
    const agent = new Agent({ keepAlive: true })
    try {
      const res = await new Promise<{ status: number | undefined }>((resolve, reject) => {
        get({ host: address.host, port: address.port, path: '/metrics', agent }, r => {
          r.resume()
          r.on('end', () => { resolve({ status: r.statusCode }) })
        }).on('error', reject)
      })
      assert.equal(res.status, 200)
      assert.ok(handles('TCPSocketWrap') > sockets, 'the scraper holds a connection')

      const started = Date.now()
      await swarm.close()
      assert.ok(Date.now() - started < 5_000, 'close does not wait for the scraper to leave')
      assert.equal(pluginInstance(swarm, SWARM_METRICS).httpAddress, undefined)
      // a closed handle leaves the list on the next turn of the event loop
      await until('the server handle to go', async () => handles('TCPServerWrap') === servers)
      await until('the scraper\'s socket to be cut', async () => handles('TCPSocketWrap') === sockets)
      // and the port is free again
      const probe = createServer()
      probe.listen({ host: address.host, port: address.port })
      await once(probe, 'listening')
      await new Promise(resolve => { probe.close(resolve) })
    } finally {
      agent.destroy()
    }
  })

  it('fails the swarm start with a MetricsServerError when the port is taken, holding nothing open', async () => {
    const blocker = createServer()
    blocker.listen({ host: '127.0.0.1', port: 0 })
    await once(blocker, 'listening')
    const servers = await settledHandles('TCPServerWrap')
    const clock = new ManualClock()
    try {
      const { port } = blocker.address() as AddressInfo
      await assert.rejects(createSwarm({ modules: [memory(), clockModule(clock), metrics({ http: { port } })] }), (err: unknown) => {
        assert.equal((err as Error).name, 'SwarmAssemblyError')
        assert.ok(errorIs(err, 'MetricsServerError'), String(err))
        assert.match((err as Error).message, new RegExp(`127\\.0\\.0\\.1:${port}`))
        return true
      })
      assert.equal(clock.pendingTimers, 0, 'no tick left running')
      await until('the failed server handle to go', async () => handles('TCPServerWrap') === servers)
    } finally {
      blocker.close()
    }
  })
})
