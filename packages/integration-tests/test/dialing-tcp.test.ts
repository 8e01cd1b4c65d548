import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { afterEach, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { AddrTTL, DNS_RESOLVER, createSwarm, errorIs, generateIdentity, peerIdOf } from '@tswarm/core'
import { introduce } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { DialError, DnsResolver, Swarm, SwarmModule, SwarmOptions } from '@tswarm/core'
import type { Server, Socket } from 'node:net'

const LISTEN = ['/ip4/127.0.0.1/tcp/0']
const swarms: Swarm[] = []
const servers: Server[] = []

async function make (options?: SwarmOptions, modules: SwarmModule[] = []): Promise<Swarm> {
  const s = await createSwarm({ modules: [tcp(), ...modules], listen: LISTEN, options })
  swarms.push(s)
  return s
}

/** A TCP listener that accepts and never speaks (go's newSilentListener): security negotiation must time out. */
async function silentAddr (): Promise<Multiaddr> {
  const sockets = new Set<Socket>()
  const server = createServer(s => { sockets.add(s); s.on('error', () => {}); s.on('close', () => sockets.delete(s)) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  server.on('close', () => {})
  Object.assign(server, { sockets })
  servers.push(server)
  const port = (server.address() as { port: number }).port
  return multiaddr(`/ip4/127.0.0.1/tcp/${port}`)
}

async function cleanup (): Promise<void> {
  await Promise.all(swarms.splice(0).map(async s => { await s.close() }))
  for (const server of servers.splice(0)) {
    for (const s of (server as Server & { sockets: Set<Socket> }).sockets) s.destroy()
    await new Promise<void>(resolve => server.close(() => { resolve() }))
  }
}

describe('dialing over TCP (go dial_test)', () => {
  afterEach(cleanup)

  it('times a silent address out within its bound and backs it off (TestDialWait)', async () => {
    const a = await make({ dialTimeoutLocal: 300 })
    const ghost = peerIdOf(await generateIdentity())
    const silent = await silentAddr()
    a.peerstore.addAddrs(ghost, [silent], AddrTTL.PERMANENT)
    const started = Date.now()
    await assert.rejects(a.dialPeer(ghost), (err: unknown) => {
      assert.ok(errorIs(err, 'DialTimeoutError'), String(err))
      assert.equal((err as DialError).timeout, true)
      return true
    })
    const elapsed = Date.now() - started
    assert.ok(elapsed >= 290 && elapsed < 3_000, `took ${elapsed} ms for a 300 ms timeout`)
    assert.equal(a.backoff().backoff(ghost, silent), true)
  })

  it('records exactly one error per failed address (TestDialPeerFailed)', async () => {
    const a = await make({ dialTimeoutLocal: 200 })
    const ghost = peerIdOf(await generateIdentity())
    const addrs = await Promise.all(Array.from({ length: 5 }, async () => silentAddr()))
    a.peerstore.addAddrs(ghost, addrs, AddrTTL.PERMANENT)
    await assert.rejects(a.dialPeer(ghost), (err: unknown) => {
      const e = err as DialError
      assert.equal(e.name, 'DialError')
      assert.equal(e.errors.length, 5)
      assert.ok(errorIs(e, 'AllDialsFailedError'))
      assert.equal(e.plan?.entries.length, 5)
      assert.ok(e.plan?.entries.every(x => x.outcome === 'failed'))
      return true
    })
  })

  it('a backoff is per address and cleared by a connection (TestDialBackoffClears)', async () => {
    const a = await make({ dialTimeoutLocal: 200 })
    const b = await make()
    const silent = await silentAddr()
    a.peerstore.addAddrs(b.localPeer, [silent], AddrTTL.PERMANENT)
    await assert.rejects(a.dialPeer(b.localPeer))
    assert.equal(a.backoff().backoff(b.localPeer, silent), true)
    // Dialing again while backed off fails fast, with the backoff named.
    await assert.rejects(a.dialPeer(b.localPeer), (err: unknown) => errorIs(err, 'DialBackoffError'))
    introduce(a, b)
    await a.dialPeer(b.localPeer)
    assert.equal(a.backoff().backoff(b.localPeer, silent), false, 'a new connection clears the peer backoff')
  })

  it('a dial that adds a good address answers an earlier dial still waiting on a silent one (TestDialSimultaneousJoin)', async () => {
    const a = await make({ dialTimeoutLocal: 1_500 })
    const b = await make()
    const silent = await silentAddr()
    a.peerstore.addAddrs(b.localPeer, [silent], AddrTTL.PERMANENT)
    const first = a.dialPeer(b.localPeer)
    await new Promise(resolve => setTimeout(resolve, 100))
    introduce(a, b)
    const second = await a.dialPeer(b.localPeer)
    const third = await a.dialPeer(b.localPeer)
    assert.equal(third, second)
    const started = Date.now()
    assert.equal(await first, second, 'the first dial ends with the connection the second made')
    assert.ok(Date.now() - started < 3_000)
  })

  it('never dials our own listen address for another peer (TestPreventDialListenAddr)', async () => {
    const a = await make()
    const other = peerIdOf(await generateIdentity())
    a.peerstore.addAddrs(other, a.listenAddresses(), AddrTTL.PERMANENT)
    await assert.rejects(a.dialPeer(other), (err: unknown) => {
      assert.ok(errorIs(err, 'NoGoodAddressesError'))
      assert.ok(errorIs(err, 'DialToSelfError'))
      return true
    })
  })

  it('names the reason for addresses it cannot dial (QUIC draft-29, unspecified, link-local)', async () => {
    const a = await make()
    const other = peerIdOf(await generateIdentity())
    a.peerstore.addAddrs(other, ['/ip4/127.0.0.1/udp/1234/quic', '/ip4/0.0.0.0/tcp/1234', '/ip6/fe80::1/tcp/1234'].map(s => multiaddr(s)), AddrTTL.PERMANENT)
    await assert.rejects(a.dialPeer(other), (err: unknown) => {
      const e = err as DialError
      assert.ok(errorIs(e, 'NoGoodAddressesError'))
      assert.equal(e.errors.length, 3)
      assert.match(e.message, /QUIC draft-29/)
      assert.match(e.message, /unspecified/)
      assert.match(e.message, /link-local/)
      assert.match(String(e.plan), /filtered/)
      return true
    })
  })

  it('resolves /dns4 addresses through the injected resolver (TestBasicDialPeerWithResolver)', async () => {
    const b = await make()
    const port = b.listenAddresses()[0].getComponents()[1].value ?? ''
    const lookups: string[] = []
    const fakeDns: DnsResolver = {
      resolve4: async host => { lookups.push(host); return host === 'example.com' ? ['127.0.0.1'] : [] },
      resolve6: async () => [],
      resolveTxt: async () => []
    }
    const dnsModule: SwarmModule = { name: 'fake-dns', register: c => { c.register(DNS_RESOLVER, { useValue: fakeDns }) } }
    const a = await make(undefined, [dnsModule])
    a.peerstore.addAddrs(b.localPeer, [multiaddr(`/dns4/example.com/tcp/${port}`)], AddrTTL.PERMANENT)
    const conn = await a.dialPeer(b.localPeer)
    assert.equal(conn.remoteMultiaddr.toString(), `/ip4/127.0.0.1/tcp/${port}`)
    assert.deepEqual(lookups, ['example.com'])
    assert.ok(a.peerstore.addrs(b.localPeer).some(x => x.toString() === `/ip4/127.0.0.1/tcp/${port}`), 'resolved address kept in the peerstore')
  })

  it('20 concurrent dials to a silent peer all fail together, with one dial per address', async () => {
    const a = await make({ dialTimeoutLocal: 300 })
    const ghost = peerIdOf(await generateIdentity())
    const silent = await silentAddr()
    a.peerstore.addAddrs(ghost, [silent], AddrTTL.PERMANENT)
    const server = servers[servers.length - 1] as Server & { sockets: Set<Socket> }
    const results = await Promise.allSettled(Array.from({ length: 20 }, async () => a.dialPeer(ghost)))
    assert.ok(results.every(r => r.status === 'rejected'))
    assert.ok(server.sockets.size <= 1, `the silent listener saw ${server.sockets.size} connections`)
  })

  it('reports the plan of a successful dial to a listener', async () => {
    const a = await make()
    const b = await make()
    const plans: string[] = []
    a.onDialPlan((_peer, plan) => { plans.push(String(plan)) })
    introduce(a, b)
    await a.dialPeer(b.localPeer)
    assert.equal(plans.length, 1)
    assert.match(plans[0], /connected/)
  })
})
