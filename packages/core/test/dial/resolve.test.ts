import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { errorIs } from '../../src/errors.js'
import { NodeDnsResolver } from '../../src/dial/dns.js'
import { resolveAddrs } from '../../src/dial/resolve.js'
import type { DnsResolver } from '../../src/interfaces/dial.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

type Answer = string[] | Error

/** Maps of hostname → records (or an error to throw); counts calls and keeps the signals it was given. */
class FakeResolver implements DnsResolver {
  readonly a = new Map<string, Answer>()
  readonly aaaa = new Map<string, Answer>()
  readonly txt = new Map<string, Answer>()
  readonly calls: string[] = []
  readonly signals: Array<AbortSignal | undefined> = []
  /** When set, every lookup waits for this before answering (it ignores the signal, as a careless resolver might). */
  gate?: Promise<void>

  async resolve4 (hostname: string, signal?: AbortSignal): Promise<string[]> {
    return this.#answer('A', this.a, hostname, signal)
  }

  async resolve6 (hostname: string, signal?: AbortSignal): Promise<string[]> {
    return this.#answer('AAAA', this.aaaa, hostname, signal)
  }

  async resolveTxt (hostname: string, signal?: AbortSignal): Promise<string[]> {
    return this.#answer('TXT', this.txt, hostname, signal)
  }

  async #answer (kind: string, map: Map<string, Answer>, hostname: string, signal?: AbortSignal): Promise<string[]> {
    this.calls.push(`${kind} ${hostname}`)
    this.signals.push(signal)
    if (this.gate !== undefined) await this.gate
    const answer = map.get(hostname) ?? []
    if (answer instanceof Error) throw answer
    return [...answer]
  }
}

const peerA = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
const peerB = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

const ma = (s: string): Multiaddr => multiaddr(s)
const strings = (addrs: readonly Multiaddr[]): string[] => addrs.map(a => a.toString())

async function resolve (resolver: DnsResolver, addrs: string[], options: { peer?: PeerId, maxRecursion?: number, maxAddrs?: number, signal?: AbortSignal } = {}): Promise<{ resolved: string[], errors: Array<{ addr: string, error: Error }> }> {
  const result = await resolveAddrs(options.peer ?? peerA, addrs.map(ma), { resolver, ...options })
  return { resolved: strings(result.resolved), errors: result.errors.map(e => ({ addr: e.addr.toString(), error: e.error })) }
}

describe('resolveAddrs: /dns, /dns4, /dns6', () => {
  it('gives one address per record, keeping the rest of the address', async () => {
    const r = new FakeResolver()
    r.a.set('example.com', ['1.2.3.4', '5.6.7.8'])
    r.aaaa.set('example.com', ['2001:db8::1'])
    assert.deepEqual((await resolve(r, ['/dns4/example.com/tcp/1234/ws'])).resolved,
      ['/ip4/1.2.3.4/tcp/1234/ws', '/ip4/5.6.7.8/tcp/1234/ws'])
    assert.deepEqual((await resolve(r, ['/dns6/example.com/udp/1/quic-v1'])).resolved, ['/ip6/2001:db8::1/udp/1/quic-v1'])
    assert.deepEqual((await resolve(r, ['/dns/example.com/tcp/1'])).resolved,
      ['/ip4/1.2.3.4/tcp/1', '/ip4/5.6.7.8/tcp/1', '/ip6/2001:db8::1/tcp/1'])
  })

  it('go TestSwarmResolver: /dns/example.com resolves to the one address', async () => {
    const r = new FakeResolver()
    r.a.set('example.com', ['127.0.0.1'])
    const { resolved, errors } = await resolve(r, ['/dns/example.com'])
    assert.deepEqual(resolved, ['/ip4/127.0.0.1'])
    assert.deepEqual(errors, [])
  })

  it('passes addresses whose first component is not DNS through unchanged, without lookups', async () => {
    const r = new FakeResolver()
    const relayed = `/ip4/1.2.3.4/tcp/1/p2p/${peerB.toString()}/p2p-circuit/dns4/example.com/tcp/2`
    const { resolved } = await resolve(r, ['/ip4/10.0.0.1/tcp/1', '/ip6/::1/udp/2/quic-v1', relayed])
    assert.deepEqual(resolved, ['/ip4/10.0.0.1/tcp/1', '/ip6/::1/udp/2/quic-v1', relayed])
    assert.deepEqual(r.calls, [])
  })

  it('resolves an IP literal host without a lookup, dropping the wrong family', async () => {
    const r = new FakeResolver()
    const { resolved } = await resolve(r, ['/dns4/1.2.3.4/tcp/1', '/dns6/1.2.3.4/tcp/2', '/dns/2001:db8::2/tcp/3'])
    assert.deepEqual(resolved, ['/ip4/1.2.3.4/tcp/1', '/ip6/2001:db8::2/tcp/3'])
    assert.deepEqual(r.calls, [])
  })

  it('strips the trailing /p2p of resolved addresses', async () => {
    const r = new FakeResolver()
    r.a.set('example.com', ['1.2.3.4'])
    assert.deepEqual((await resolve(r, [`/dns4/example.com/tcp/1/p2p/${peerA.toString()}`, `/ip4/5.6.7.8/tcp/1/p2p/${peerA.toString()}`])).resolved,
      ['/ip4/1.2.3.4/tcp/1', '/ip4/5.6.7.8/tcp/1'])
  })

  it('looks a host up once per kind, however many addresses use it', async () => {
    const r = new FakeResolver()
    r.a.set('example.com', ['1.2.3.4'])
    const { resolved } = await resolve(r, ['/dns4/example.com/tcp/1', '/dns4/example.com/udp/1/quic-v1', '/dns4/EXAMPLE.com/tcp/2/ws'])
    assert.deepEqual(resolved, ['/ip4/1.2.3.4/tcp/1', '/ip4/1.2.3.4/udp/1/quic-v1', '/ip4/1.2.3.4/tcp/2/ws'])
    assert.deepEqual(r.calls, ['A example.com'])
  })

  it('/dns uses the AAAA answer when the A lookup fails, without an error', async () => {
    const r = new FakeResolver()
    r.a.set('example.com', new Error('SERVFAIL'))
    r.aaaa.set('example.com', ['2001:db8::1'])
    const { resolved, errors } = await resolve(r, ['/dns/example.com/tcp/1'])
    assert.deepEqual(resolved, ['/ip6/2001:db8::1/tcp/1'])
    assert.deepEqual(errors, [])
  })

  it('reports a name with no records, and an answer that is not an IP, without throwing', async () => {
    const r = new FakeResolver()
    r.a.set('bad.example.com', ['not-an-ip', '1.2.3.4'])
    const { resolved, errors } = await resolve(r, ['/dns4/nothing.example.com/tcp/1', '/dns4/bad.example.com/tcp/1'])
    assert.deepEqual(resolved, ['/ip4/1.2.3.4/tcp/1'])
    assert.deepEqual(errors.map(e => e.addr), ['/dns4/nothing.example.com/tcp/1', '/dns4/bad.example.com/tcp/1'])
    assert.ok(errors.every(e => e.error.name === 'DnsResolutionError'))
    assert.match(errors[0].error.message, /no A records for "nothing\.example\.com"/)
    assert.match(errors[1].error.message, /not-an-ip/)
  })
})

describe('resolveAddrs: /dnsaddr', () => {
  it('go TestAddrResolution: of two peers\' records only the expected peer\'s is kept', async () => {
    const r = new FakeResolver()
    r.txt.set('_dnsaddr.example.com', [
      `dnsaddr=/ip4/192.0.2.1/tcp/123/p2p/${peerA.toString()}`,
      `dnsaddr=/ip4/192.0.2.1/tcp/123/p2p/${peerB.toString()}`
    ])
    const { resolved, errors } = await resolve(r, ['/dnsaddr/example.com'])
    assert.deepEqual(resolved, ['/ip4/192.0.2.1/tcp/123'])
    assert.deepEqual(errors, [])
  })

  it('go TestSwarmResolver: /dnsaddr/example.com resolves to its one record', async () => {
    const r = new FakeResolver()
    r.txt.set('_dnsaddr.example.com', ['dnsaddr=/ip4/127.0.0.1'])
    assert.deepEqual((await resolve(r, ['/dnsaddr/example.com'])).resolved, ['/ip4/127.0.0.1'])
    assert.deepEqual(r.calls, ['TXT _dnsaddr.example.com'])
  })

  it('with /p2p in the dnsaddr, keeps only records that end with it (go-multiaddr-dns suffix match)', async () => {
    const r = new FakeResolver()
    r.txt.set('_dnsaddr.example.com', [
      'dnsaddr=/ip4/1.1.1.1/tcp/1',
      `dnsaddr=/ip4/2.2.2.2/tcp/2/p2p/${peerA.toString()}`,
      `dnsaddr=/ip4/3.3.3.3/tcp/3/p2p/${peerB.toString()}`,
      `dnsaddr=/ip4/4.4.4.4/tcp/4/p2p/${peerA.toCID().toString()}`
    ])
    assert.deepEqual((await resolve(r, [`/dnsaddr/example.com/p2p/${peerA.toString()}`])).resolved,
      ['/ip4/2.2.2.2/tcp/2', '/ip4/4.4.4.4/tcp/4'], 'a CID-form peer ID in a record is the same peer')
    assert.deepEqual((await resolve(r, ['/dnsaddr/example.com'])).resolved,
      ['/ip4/1.1.1.1/tcp/1', '/ip4/2.2.2.2/tcp/2', '/ip4/4.4.4.4/tcp/4'], 'without /p2p, records without /p2p count as ours')
    assert.deepEqual((await resolve(r, [`/dnsaddr/example.com/p2p/${peerB.toString()}`], { peer: peerA })).resolved, [],
      'a dnsaddr naming another peer yields nothing for ours')
  })

  it('ignores TXT records that are not dnsaddr records', async () => {
    const r = new FakeResolver()
    r.txt.set('_dnsaddr.example.com', ['v=spf1 -all', 'dnsaddr=/ip4/1.2.3.4/tcp/1'])
    const { resolved, errors } = await resolve(r, ['/dnsaddr/example.com'])
    assert.deepEqual(resolved, ['/ip4/1.2.3.4/tcp/1'])
    assert.deepEqual(errors, [])
  })

  it('skips malformed records with an error entry each, and keeps the good ones', async () => {
    const r = new FakeResolver()
    r.txt.set('_dnsaddr.example.com', [
      'dnsaddr=/ip4/999.1.1.1/tcp/1',
      'dnsaddr=garbage',
      'dnsaddr=',
      'dnsaddr=/ip4/1.2.3.4/tcp/1/p2p/not-a-peer-id',
      `dnsaddr=/ip4/1.2.3.4/tcp/1/p2p/${peerA.toString()}`
    ])
    const { resolved, errors } = await resolve(r, ['/dnsaddr/example.com'])
    assert.deepEqual(resolved, ['/ip4/1.2.3.4/tcp/1'])
    assert.equal(errors.length, 4)
    for (const e of errors) {
      assert.equal(e.addr, '/dnsaddr/example.com')
      assert.equal(e.error.name, 'DnsResolutionError')
      assert.match(e.error.message, /malformed TXT record/)
    }
  })

  it('resolves a /dns4 record', async () => {
    const r = new FakeResolver()
    r.txt.set('_dnsaddr.example.com', [`dnsaddr=/dns4/node.example.com/tcp/443/wss/p2p/${peerA.toString()}`])
    r.a.set('node.example.com', ['1.2.3.4'])
    assert.deepEqual((await resolve(r, ['/dnsaddr/example.com'])).resolved, ['/ip4/1.2.3.4/tcp/443/wss'])
  })

  it('reports a dnsaddr with no records for the peer', async () => {
    const r = new FakeResolver()
    r.txt.set('_dnsaddr.example.com', [`dnsaddr=/ip4/1.2.3.4/tcp/1/p2p/${peerB.toString()}`])
    const { resolved, errors } = await resolve(r, ['/dnsaddr/example.com', '/dnsaddr/empty.example.com'])
    assert.deepEqual(resolved, [])
    assert.deepEqual(errors.map(e => e.addr), ['/dnsaddr/example.com', '/dnsaddr/empty.example.com'])
    assert.match(errors[0].error.message, /no dnsaddr records for peer/)
  })

  it('go TestAddrResolutionRecursive: follows nested dnsaddrs; a chain that never ends yields nothing dialable', async () => {
    const r = new FakeResolver()
    r.txt.set('_dnsaddr.example.com', [
      `dnsaddr=/dnsaddr/foo.example.com/p2p/${peerA.toString()}`,
      `dnsaddr=/dnsaddr/bar.example.com/p2p/${peerB.toString()}`
    ])
    r.txt.set('_dnsaddr.foo.example.com', [`dnsaddr=/ip4/192.0.2.1/tcp/123/p2p/${peerA.toString()}`])
    r.txt.set('_dnsaddr.bar.example.com', [`dnsaddr=/dnsaddr/bar.example.com/p2p/${peerB.toString()}`])

    const forA = await resolve(r, [`/dnsaddr/example.com/p2p/${peerA.toString()}`], { peer: peerA })
    assert.deepEqual(forA.resolved, ['/ip4/192.0.2.1/tcp/123'])
    assert.ok(!r.calls.includes('TXT _dnsaddr.bar.example.com'), 'another peer\'s nested dnsaddr is not looked up')

    r.calls.length = 0
    const forB = await resolve(r, [`/dnsaddr/example.com/p2p/${peerB.toString()}`], { peer: peerB })
    // What is left is the dnsaddr the recursion limit stopped at: no transport dials it, so the swarm has no good address.
    assert.deepEqual(forB.resolved, ['/dnsaddr/bar.example.com'])
    assert.ok(forB.resolved.every(a => !a.startsWith('/ip4/') && !a.startsWith('/ip6/')))
    assert.deepEqual(r.calls, ['TXT _dnsaddr.example.com', 'TXT _dnsaddr.bar.example.com'], 'the looping record is looked up once')
  })

  it('go TestSwarmResolver: a 256-deep chain resolves with maxRecursion 256 and stops at 255.example.com with 255', async () => {
    const r = new FakeResolver()
    for (let i = 0; i < 255; i++) r.txt.set(`_dnsaddr.${i}.example.com`, [`dnsaddr=/dnsaddr/${i + 1}.example.com`])
    r.txt.set('_dnsaddr.255.example.com', ['dnsaddr=/ip4/127.0.0.1'])

    const deep = await resolve(r, ['/dnsaddr/0.example.com'], { maxRecursion: 256, maxAddrs: 10 })
    assert.deepEqual(deep.resolved, ['/ip4/127.0.0.1'])
    assert.deepEqual(deep.errors, [])
    const short = await resolve(r, ['/dnsaddr/0.example.com'], { maxRecursion: 255, maxAddrs: 10 })
    assert.deepEqual(short.resolved, ['/dnsaddr/255.example.com'])
  })

  it('follows at most 4 dnsaddr lookups by default, and none with maxRecursion 0', async () => {
    const r = new FakeResolver()
    for (let i = 0; i < 10; i++) r.txt.set(`_dnsaddr.${i}.example.com`, [`dnsaddr=/dnsaddr/${i + 1}.example.com`])
    assert.deepEqual((await resolve(r, ['/dnsaddr/0.example.com'])).resolved, ['/dnsaddr/4.example.com'])
    assert.equal(r.calls.length, 4)
    r.calls.length = 0
    assert.deepEqual((await resolve(r, ['/dnsaddr/0.example.com'], { maxRecursion: 0 })).resolved, ['/dnsaddr/0.example.com'])
    assert.deepEqual(r.calls, [])
  })

  it('puts the records that need no further dnsaddr lookup first, then the nested ones\' (go\'s order)', async () => {
    const r = new FakeResolver()
    r.txt.set('_dnsaddr.example.com', ['dnsaddr=/dnsaddr/a.example.com', 'dnsaddr=/ip4/1.1.1.1/tcp/1', 'dnsaddr=/dnsaddr/b.example.com'])
    r.txt.set('_dnsaddr.a.example.com', ['dnsaddr=/ip4/2.2.2.2/tcp/1'])
    r.txt.set('_dnsaddr.b.example.com', ['dnsaddr=/ip4/3.3.3.3/tcp/1'])
    assert.deepEqual((await resolve(r, ['/dnsaddr/example.com'])).resolved, ['/ip4/1.1.1.1/tcp/1', '/ip4/2.2.2.2/tcp/1', '/ip4/3.3.3.3/tcp/1'])
  })

  it('reports a nested lookup that fails, and keeps its siblings', async () => {
    const r = new FakeResolver()
    r.txt.set('_dnsaddr.example.com', ['dnsaddr=/dnsaddr/a.example.com', 'dnsaddr=/dnsaddr/b.example.com'])
    r.txt.set('_dnsaddr.a.example.com', new Error('SERVFAIL'))
    r.txt.set('_dnsaddr.b.example.com', ['dnsaddr=/ip4/3.3.3.3/tcp/1'])
    const { resolved, errors } = await resolve(r, ['/dnsaddr/example.com'])
    assert.deepEqual(resolved, ['/ip4/3.3.3.3/tcp/1'])
    assert.deepEqual(errors.map(e => e.addr), ['/dnsaddr/a.example.com'])
    assert.equal(errors[0].error.name, 'DnsResolutionError')
    assert.equal((errors[0].error.cause as Error).message, 'SERVFAIL')
  })
})

describe('resolveAddrs: limits and dedup', () => {
  function manyRecords (r: FakeResolver): void {
    const ips = Array.from({ length: 255 }, (_, i) => `1.2.3.${i}`)
    r.a.set('example.com', ips)
    r.txt.set('_dnsaddr.example.com', ips.map(ip => `dnsaddr=/ip4/${ip}`))
  }
  const first10 = Array.from({ length: 10 }, (_, i) => `/ip4/1.2.3.${i}`)

  it('go TestSwarmResolver limits: 10 of 255 records, in order, for /dns and /dnsaddr', async () => {
    const r = new FakeResolver()
    manyRecords(r)
    assert.deepEqual((await resolve(r, ['/dns/example.com'], { maxAddrs: 10 })).resolved, first10)
    assert.deepEqual((await resolve(r, ['/dnsaddr/example.com'], { maxAddrs: 10 })).resolved, first10)
  })

  it('caps at 100 addresses by default', async () => {
    const r = new FakeResolver()
    manyRecords(r)
    const { resolved } = await resolve(r, ['/dnsaddr/example.com', '/dns4/example.com/tcp/1'])
    assert.equal(resolved.length, 100)
    assert.equal(resolved[99], '/ip4/1.2.3.99')
  })

  it('go TestSwarmResolver: 10 nested dnsaddrs at output limit 10 give 10 addresses', async () => {
    const r = new FakeResolver()
    r.txt.set('_dnsaddr.example.com', Array.from({ length: 10 }, (_, i) => `dnsaddr=/dnsaddr/${i}.example.com`))
    // go's test has every nested record resolve to 127.0.0.1; here they differ, since the result is deduplicated.
    for (let i = 0; i < 10; i++) r.txt.set(`_dnsaddr.${i}.example.com`, [`dnsaddr=/ip4/127.0.0.${i}`])
    const { resolved } = await resolve(r, ['/dnsaddr/example.com'], { maxRecursion: 256, maxAddrs: 10 })
    assert.deepEqual(resolved, Array.from({ length: 10 }, (_, i) => `/ip4/127.0.0.${i}`))
  })

  it('shares the cap among nested dnsaddrs, keeping a slot for each (go\'s reservation), and drops the excess unread', async () => {
    const r = new FakeResolver()
    r.txt.set('_dnsaddr.example.com', ['a', 'b', 'c', 'd'].map(n => `dnsaddr=/dnsaddr/${n}.example.com`))
    for (const [n, ip] of [['a', '1.1.1'], ['b', '2.2.2'], ['c', '3.3.3'], ['d', '4.4.4']]) {
      r.txt.set(`_dnsaddr.${n}.example.com`, [1, 2, 3].map(i => `dnsaddr=/ip4/${ip}.${i}/tcp/1`))
    }
    const { resolved } = await resolve(r, ['/dnsaddr/example.com'], { maxAddrs: 3 })
    assert.deepEqual(resolved, ['/ip4/1.1.1.1/tcp/1', '/ip4/2.2.2.1/tcp/1', '/ip4/3.3.3.1/tcp/1'])
    assert.ok(!r.calls.includes('TXT _dnsaddr.d.example.com'), 'a record past the cap is never looked up')
  })

  it('caps across addresses in input order', async () => {
    const r = new FakeResolver()
    r.a.set('a.example.com', ['1.1.1.1', '1.1.1.2', '1.1.1.3'])
    r.a.set('b.example.com', ['2.2.2.1', '2.2.2.2', '2.2.2.3'])
    const { resolved } = await resolve(r, ['/dns4/a.example.com/tcp/1', '/dns4/b.example.com/tcp/1', '/ip4/9.9.9.9/tcp/1'], { maxAddrs: 4 })
    assert.deepEqual(resolved, ['/ip4/1.1.1.1/tcp/1', '/ip4/1.1.1.2/tcp/1', '/ip4/1.1.1.3/tcp/1', '/ip4/2.2.2.1/tcp/1'])
    assert.deepEqual((await resolve(r, ['/dns4/a.example.com/tcp/1'], { maxAddrs: 0 })).resolved, [])
  })

  it('go TestDedupAddrsForDial: /dns4/example.com/tcp/1234 and /ip4/1.2.3.4/tcp/1234 give one address', async () => {
    const r = new FakeResolver()
    r.a.set('example.com', ['1.2.3.4'])
    assert.deepEqual((await resolve(r, ['/dns4/example.com/tcp/1234', '/ip4/1.2.3.4/tcp/1234'])).resolved, ['/ip4/1.2.3.4/tcp/1234'])
  })

  it('deduplicates addresses that differ only by /p2p', async () => {
    const r = new FakeResolver()
    r.txt.set('_dnsaddr.example.com', ['dnsaddr=/ip4/1.2.3.4/tcp/1', `dnsaddr=/ip4/1.2.3.4/tcp/1/p2p/${peerA.toString()}`])
    assert.deepEqual((await resolve(r, ['/dnsaddr/example.com', '/ip4/1.2.3.4/tcp/1'])).resolved, ['/ip4/1.2.3.4/tcp/1'])
  })

  it('rejects a negative or fractional limit', async () => {
    const r = new FakeResolver()
    await assert.rejects(resolve(r, [], { maxAddrs: -1 }), { name: 'InvalidOptionError' })
    await assert.rejects(resolve(r, [], { maxRecursion: 1.5 }), { name: 'InvalidOptionError' })
  })
})

describe('resolveAddrs: failures, concurrency, abort', () => {
  it('reports a failed lookup for one address and still resolves the others', async () => {
    const r = new FakeResolver()
    const cause = new Error('SERVFAIL')
    r.a.set('bad.example.com', cause)
    r.txt.set('_dnsaddr.bad.example.com', new Error('timeout'))
    r.a.set('good.example.com', ['1.2.3.4'])
    const { resolved, errors } = await resolve(r, ['/dns4/bad.example.com/tcp/1', '/dnsaddr/bad.example.com', '/dns4/good.example.com/tcp/1'])
    assert.deepEqual(resolved, ['/ip4/1.2.3.4/tcp/1'])
    assert.deepEqual(errors.map(e => e.addr), ['/dnsaddr/bad.example.com', '/dns4/bad.example.com/tcp/1'])
    assert.ok(errors.every(e => errorIs(e.error, 'DnsResolutionError')))
    assert.equal(errors[1].error.cause, cause)
    assert.equal(errors[1].error.message, 'lookup failed: SERVFAIL', 'the address is in `addr`, not repeated in the message')
  })

  it('looks up different addresses concurrently', async () => {
    const r = new FakeResolver()
    const gate = Promise.withResolvers<void>()
    r.gate = gate.promise
    r.a.set('a.example.com', ['1.1.1.1'])
    r.a.set('b.example.com', ['2.2.2.2'])
    r.txt.set('_dnsaddr.c.example.com', ['dnsaddr=/ip4/3.3.3.3/tcp/1'])
    const pending = resolve(r, ['/dns4/a.example.com/tcp/1', '/dns4/b.example.com/tcp/1', '/dnsaddr/c.example.com'])
    await new Promise(resolve => setImmediate(resolve))
    // Every /dnsaddr is resolved before any /dns* address, since a dnsaddr record may be one.
    assert.deepEqual(r.calls, ['TXT _dnsaddr.c.example.com'])
    gate.resolve()
    assert.deepEqual((await pending).resolved, ['/ip4/1.1.1.1/tcp/1', '/ip4/2.2.2.2/tcp/1', '/ip4/3.3.3.3/tcp/1'])
    assert.deepEqual(r.calls.slice(1).sort(), ['A a.example.com', 'A b.example.com'])

    const both = new FakeResolver()
    const held = Promise.withResolvers<void>()
    both.gate = held.promise
    const two = resolve(both, ['/dns4/a.example.com/tcp/1', '/dns4/b.example.com/tcp/1'])
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(both.calls.length, 2, 'both lookups started before either answered')
    held.resolve()
    await two
  })

  it('passes the signal to the resolver', async () => {
    const r = new FakeResolver()
    const controller = new AbortController()
    await resolve(r, ['/dns4/example.com/tcp/1'], { signal: controller.signal })
    assert.deepEqual(r.signals, [controller.signal])
  })

  it('rejects with the abort reason when aborted mid-lookup, even if the resolver ignores the signal', async () => {
    const r = new FakeResolver()
    r.gate = new Promise(() => {})
    const controller = new AbortController()
    const pending = resolve(r, ['/dnsaddr/example.com', '/dns4/example.com/tcp/1', '/ip4/1.2.3.4/tcp/1'], { signal: controller.signal })
    setTimeout(() => { controller.abort(new Error('dial cancelled')) }, 20)
    await assert.rejects(pending, { message: 'dial cancelled' })
  })

  it('does nothing when the signal is already aborted', async () => {
    const r = new FakeResolver()
    await assert.rejects(resolve(r, ['/dns4/example.com/tcp/1'], { signal: AbortSignal.abort() }), { name: 'AbortError' })
    assert.deepEqual(r.calls, [])
  })
})

/**
 * A DNS server on a local UDP port, so NodeDnsResolver is tested without real DNS: it answers every query with the
 * response code `rcode` (no records), or never answers when `rcode` is undefined.
 */
async function localDnsServer (rcode: number | undefined): Promise<{ server: string, close: () => void }> {
  const socket = createSocket('udp4')
  socket.on('message', (query, from) => {
    if (rcode === undefined || query.length < 12) return
    const reply = Buffer.from(query)
    reply[2] = 0x80 | (query[2] & 0x79) // QR=1, keep opcode and RD
    reply[3] = 0x80 | rcode // RA=1
    reply.fill(0, 6, 12) // no answer, authority or additional records
    socket.send(reply, from.port, from.address)
  })
  await new Promise<void>(resolve => socket.bind(0, '127.0.0.1', resolve))
  return { server: `127.0.0.1:${socket.address().port}`, close: () => { socket.close() } }
}

describe('NodeDnsResolver (against a local fake DNS server)', () => {
  it('reports NXDOMAIN as no records, and falls back to the hosts file for A', async () => {
    const dns = await localDnsServer(3)
    try {
      const resolver = new NodeDnsResolver({ servers: [dns.server], timeout: 500, tries: 1 })
      assert.deepEqual(await resolver.resolveTxt('_dnsaddr.nothing.example'), [])
      assert.deepEqual(await resolver.resolve6('nothing.invalid'), [])
      // getaddrinfo answers localhost from /etc/hosts (or the system's built-in rule): go's resolver honours it too.
      assert.ok((await resolver.resolve4('localhost')).includes('127.0.0.1'))
    } finally {
      dns.close()
    }
  })

  it('throws a DnsResolutionError with the cause for SERVFAIL', async () => {
    const dns = await localDnsServer(2)
    try {
      const resolver = new NodeDnsResolver({ servers: [dns.server], timeout: 500, tries: 1 })
      const err = await resolver.resolveTxt('_dnsaddr.example.com').then(() => undefined, (e: unknown) => e)
      assert.ok(err instanceof Error)
      assert.equal(err.name, 'DnsResolutionError')
      assert.match(err.message, /TXT lookup of "_dnsaddr\.example\.com" failed: ESERVFAIL/)
      assert.equal((err.cause as { code?: string }).code, 'ESERVFAIL')

      const { resolved, errors } = await resolveAddrs(peerA, [ma('/dns4/example.com/tcp/1'), ma('/ip4/1.2.3.4/tcp/1')], { resolver })
      assert.deepEqual(strings(resolved), ['/ip4/1.2.3.4/tcp/1'])
      assert.equal(errors.length, 1)
      assert.equal(errors[0].error.message, 'A lookup of "example.com" failed: ESERVFAIL')
    } finally {
      dns.close()
    }
  })

  it('stops at once when the signal aborts', async () => {
    const dns = await localDnsServer(undefined)
    try {
      const resolver = new NodeDnsResolver({ servers: [dns.server], timeout: 5000, tries: 3 })
      const controller = new AbortController()
      const started = Date.now()
      setTimeout(() => { controller.abort(new Error('stop')) }, 50)
      await assert.rejects(resolver.resolveTxt('_dnsaddr.example.com', controller.signal), { message: 'stop' })
      assert.ok(Date.now() - started < 2000)
      await assert.rejects(resolver.resolve4('example.com', AbortSignal.abort()), { name: 'AbortError' })
    } finally {
      dns.close()
    }
  })
})
