import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { AddrTTL, createSwarm, generateIdentity, peerIdOf, pluginInstance } from '@tswarm/core'
import { echoHandler, introduce, waitFor } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import { Registry } from 'prom-client'
import { METRIC_NAMES, METRIC_PREFIX, SWARM_METRICS, metrics } from '../src/index.js'
import { parseExposition, samples, valueOf } from './exposition.js'
import { until } from './helpers.js'
import type { Family } from './exposition.js'
import type { Swarm } from '@tswarm/core'

const ECHO = '/echo/1.0.0'
// Port 1 (tcpmux) is privileged and unused on a test machine: the dial is refused at once.
const DEAD = '/ip4/127.0.0.1/tcp/1'
const LOOPBACK = '/ip4/127.0.0.1/tcp/0'

async function scrape (url: string): Promise<{ status: number, type: string | null, families: Map<string, Family>, text: string }> {
  const res = await fetch(url)
  const text = await res.text()
  return { status: res.status, type: res.headers.get('content-type'), families: parseExposition(text), text }
}

const m = (name: string): string => METRIC_PREFIX + name

describe('Prometheus metrics over real swarms', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })

  it('serves /metrics in the exposition format with every series after a dial, a failed dial and a stream', async () => {
    const mod = metrics({ http: { port: 0 } })
    const a = await createSwarm({ modules: [tcp(), mod], listen: [LOOPBACK] })
    const b = await createSwarm({ modules: [tcp()], listen: [LOOPBACK] })
    swarms.push(a, b)
    b.setStreamHandler(echoHandler(b, ECHO))
    introduce(a, b)
    const url = pluginInstance(a, SWARM_METRICS).httpAddress?.url
    assert.ok(url?.startsWith('http://127.0.0.1:') === true && url.endsWith('/metrics'), `served at ${url}`)

    // a failed dial: a peer whose only address refuses connections
    const ghost = peerIdOf(await generateIdentity())
    a.peerstore.addAddrs(ghost, [multiaddr(DEAD)], AddrTTL.PERMANENT)
    await assert.rejects(a.dialPeer(ghost), { name: 'DialError' })
    // a dial and a stream, left open while scraping
    const stream = await a.newStream(b.localPeer, { protocols: [ECHO] })
    await stream.write(new Uint8Array(1000))
    let echoed = 0
    while (echoed < 1000) echoed += (await stream.read())?.byteLength ?? 0

    const page = await scrape(url)
    assert.equal(page.status, 200)
    assert.match(page.type ?? '', /^text\/plain; version=0\.0\.4/)
    const f = page.families
    for (const name of METRIC_NAMES) assert.ok(f.has(m(name)), `${m(name)} is on the page`)

    const conn = { dir: 'outbound', transport: 'tcp', security: '/noise', muxer: '/yamux/1.0.0', ip_version: 'ip4' }
    assert.equal(f.get(m('connections_opened_total'))?.type, 'counter')
    assert.equal(valueOf(f, m('connections_opened_total'), conn), 1)
    assert.equal(valueOf(f, m('key_types_total'), { dir: 'outbound', key_type: 'Ed25519' }), 1)
    assert.equal(valueOf(f, m('handshake_latency_seconds_count'), { transport: 'tcp', security: '/noise', muxer: '/yamux/1.0.0', ip_version: 'ip4' }), 1)
    assert.equal(valueOf(f, m('dial_errors_total'), { transport: 'tcp', error: 'connection refused', ip_version: 'ip4' }), 1)
    assert.equal(valueOf(f, m('dials_per_peer_total'), { outcome: 'failed', num_dials: '1' }), 1)
    assert.equal(valueOf(f, m('dials_per_peer_total'), { outcome: 'success', num_dials: '1' }), 1)
    assert.equal(valueOf(f, m('dial_latency_seconds_count'), { outcome: 'success', num_dials: '1' }), 1)
    assert.equal(valueOf(f, m('dial_ranking_delay_seconds_count')), 1)
    assert.equal(valueOf(f, m('black_hole_filter_state'), { name: 'UDP' }), 0, 'probing')
    assert.equal(valueOf(f, m('black_hole_filter_state'), { name: 'IPv6' }), 0, 'probing')
    assert.equal(valueOf(f, m('black_hole_filter_next_request_allowed_after'), { name: 'UDP' }), 0)
    assert.ok(valueOf(f, m('black_hole_filter_success_fraction'), { name: 'UDP' }) !== undefined)
    assert.equal(valueOf(f, m('connections'), { dir: 'outbound', transport: 'tcp' }), 1)
    assert.equal(valueOf(f, m('streams'), { dir: 'outbound', protocol: ECHO }), 1)
    assert.equal(valueOf(f, m('bandwidth_bytes_total'), { direction: 'out' }), 1000)
    assert.equal(valueOf(f, m('bandwidth_bytes_total'), { direction: 'in' }), 1000)
    assert.equal(valueOf(f, m('bandwidth_by_protocol_bytes_total'), { protocol: ECHO, direction: 'out' }), 1000)
    assert.equal(f.get(m('connection_duration_seconds'))?.type, 'histogram')
    assert.equal(samples(f, m('connections_closed_total')).length, 0, 'nothing closed yet')

    // closing: counted as closed with its duration; the gauges follow
    await stream.close()
    await a.closePeer(b.localPeer)
    await waitFor(() => a.conns().length === 0, 'the connection to close')
    await until('the close to be counted', async () => valueOf((await scrape(url)).families, m('connections_closed_total'), conn) === 1)
    const after = (await scrape(url)).families
    assert.equal(valueOf(after, m('connections_closed_total'), conn), 1)
    assert.equal(valueOf(after, m('connection_duration_seconds_count'), conn), 1)
    assert.equal(samples(after, m('connections')).length, 0)
    assert.equal(samples(after, m('streams')).length, 0)
  })

  it('counts inbound connections on the listener', async () => {
    const mod = metrics()
    const a = await createSwarm({ modules: [tcp(), mod], listen: [LOOPBACK] })
    const b = await createSwarm({ modules: [tcp()] })
    swarms.push(a, b)
    introduce(b, a)
    await b.dialPeer(a.localPeer)
    await waitFor(() => a.conns().length === 1, 'the listener to see the connection')
    const labels = { dir: 'inbound', transport: 'tcp', security: '/noise', muxer: '/yamux/1.0.0', ip_version: 'ip4' }
    await until('the notification', async () => valueOf(parseExposition(await pluginInstance(a, SWARM_METRICS).scrape()), m('connections_opened_total'), labels) === 1)
    const f = parseExposition(await pluginInstance(a, SWARM_METRICS).scrape())
    assert.equal(valueOf(f, m('connections_opened_total'), labels), 1)
    assert.equal(valueOf(f, m('key_types_total'), { dir: 'inbound', key_type: 'Ed25519' }), 1)
    assert.equal(valueOf(f, m('connections'), { dir: 'inbound', transport: 'tcp' }), 1)
    assert.equal(samples(f, m('dials_per_peer_total')).length, 0, 'the listener dialed nothing')
  })

  it('gives each swarm its own registry by default', async () => {
    const mod = metrics()
    const a = await createSwarm({ modules: [tcp(), mod], listen: [LOOPBACK] })
    const b = await createSwarm({ modules: [tcp(), mod], listen: [LOOPBACK] })
    swarms.push(a, b)
    const [ma, mb] = [pluginInstance(a, SWARM_METRICS), pluginInstance(b, SWARM_METRICS)]
    assert.notEqual(ma.registry, mb.registry)
    assert.notEqual(ma.bandwidth, mb.bandwidth)
    introduce(a, b)
    await a.dialPeer(b.localPeer)
    await waitFor(() => b.conns().length === 1, 'b to see the connection')
    const fa = parseExposition(await ma.scrape())
    assert.equal(valueOf(fa, m('dials_per_peer_total'), { outcome: 'success', num_dials: '1' }), 1)
    const fb = parseExposition(await mb.scrape())
    assert.equal(samples(fb, m('dials_per_peer_total')).length, 0, "a's dial is not on b's page")
  })

  it("uses the user's registry, and leaves it as found when the swarm closes", async () => {
    const registry = new Registry()
    const a = await createSwarm({ modules: [tcp(), metrics({ registry })] })
    assert.ok(registry.getSingleMetric(m('connections_opened_total')) !== undefined)
    // a second swarm on the same registry is refused, naming the clash
    await assert.rejects(createSwarm({ modules: [tcp(), metrics({ registry })] }), (err: unknown) => {
      assert.equal((err as Error).name, 'ModuleRegistrationError')
      assert.equal(((err as Error).cause as Error).name, 'MetricsRegistryConflictError')
      assert.match((err as Error).message, /libp2p_swarm_connections_opened_total/)
      return true
    })
    await a.close()
    assert.equal(registry.getMetricsAsArray().length, 0)
    // so the next swarm can use it
    const b = await createSwarm({ modules: [tcp(), metrics({ registry })] })
    swarms.push(b)
    assert.ok(registry.getSingleMetric(m('streams')) !== undefined)
  })

  it('serves 404 elsewhere, 405 for other methods, and a custom path', async () => {
    const mod = metrics({ http: { port: 0, path: '/custom' } })
    const a = await createSwarm({ modules: [tcp(), mod] })
    swarms.push(a)
    const url = new URL(pluginInstance(a, SWARM_METRICS).httpAddress?.url ?? '')
    assert.equal(url.pathname, '/custom')
    assert.equal((await fetch(url)).status, 200)
    assert.equal((await fetch(new URL('/metrics', url))).status, 404)
    assert.equal((await fetch(url, { method: 'POST', body: 'x' })).status, 405)
    const head = await fetch(url, { method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal(await head.text(), '')
  })
})
