import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { afterEach, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { AddrTTL, createSwarm, errorIs } from '@tswarm/core'
import { echoHandler, introduce, readAll, waitFor } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import { quic } from '../src/index.js'
import type { DialError, Swarm } from '@tswarm/core'

const ECHO = '/echo/1.0.0'

describe('quic()', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })
  const make = async (listen: string[], modules = [tcp(), quic()]): Promise<Swarm> => {
    const s = await createSwarm({ modules, listen })
    swarms.push(s)
    return s
  }

  it('reports the real port for port 0, on IPv4 and IPv6 loopback', async () => {
    const s = await make(['/ip4/127.0.0.1/udp/0/quic-v1', '/ip6/::1/udp/0/quic-v1'], [quic()])
    const addrs = s.listenAddresses().map(String)
    assert.equal(addrs.length, 2)
    assert.match(addrs[0], /^\/ip4\/127\.0\.0\.1\/udp\/[1-9]\d*\/quic-v1$/)
    assert.match(addrs[1], /^\/ip6\/::1\/udp\/[1-9]\d*\/quic-v1$/)
  })

  it('connects a TCP + QUIC swarm to another over QUIC first', async () => {
    const a = await make(['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/udp/0/quic-v1'])
    const b = await make(['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/udp/0/quic-v1'])
    b.setStreamHandler(echoHandler(b, ECHO))
    introduce(a, b)
    const stream = await a.newStream(b.localPeer, { protocols: [ECHO] })
    assert.deepEqual({ ...stream.conn.stat(), opened: 0, numStreams: 0, handshakeDuration: 0 },
      { direction: 'outbound', opened: 0, numStreams: 0, handshakeDuration: 0, transport: 'quic-v1', security: 'tls', muxer: 'quic' })
    await stream.write('over quic')
    await stream.closeWrite()
    assert.equal(new TextDecoder().decode(await readAll(stream)), 'over quic')
    assert.doesNotMatch(stream.conn.remoteMultiaddr.toString(), /\/p2p\//, 'the remote address carries no peer ID')
    await waitFor(() => b.connsToPeer(a.localPeer).length === 1, 'b to see the QUIC connection')
    assert.equal(b.connsToPeer(a.localPeer)[0].stat().direction, 'inbound')
  })

  it('connects a TCP + QUIC swarm to a TCP-only swarm over TCP', async () => {
    const a = await make(['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/udp/0/quic-v1'])
    const b = await make(['/ip4/127.0.0.1/tcp/0'], [tcp()])
    introduce(a, b)
    const conn = await a.dialPeer(b.localPeer)
    assert.equal(conn.stat().transport, 'tcp')
  })

  it('listenClose of the QUIC address leaves the TCP one (go TestListenCloseCount)', async () => {
    const s = await make(['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/udp/0/quic-v1'])
    const quicAddr = s.listenAddresses().find(a => a.toString().includes('quic-v1'))
    assert.ok(quicAddr !== undefined)
    await s.listenClose(quicAddr.toString())
    assert.deepEqual(s.listenAddresses().map(a => a.getComponents()[1].name), ['tcp'])
  })

  it('lists no IPv6 link-local address among the dialable ones', async (t) => {
    const s = await make(['/ip6/::/udp/0/quic-v1'], [quic()]).catch(() => undefined)
    if (s === undefined) {
      t.skip('this machine cannot listen on IPv6')
      return
    }
    const addrs = s.interfaceListenAddresses().map(String)
    assert.ok(addrs.every(a => !/^\/ip6\/fe[89ab]/i.test(a)), addrs.join(', '))
  })

  it('expands unspecified UDP listen addresses to the interfaces', async () => {
    const s = await make(['/ip4/0.0.0.0/udp/0/quic-v1'], [quic()])
    const addrs = s.interfaceListenAddresses().map(String)
    assert.ok(addrs.some(a => /^\/ip4\/127\.0\.0\.1\/udp\/\d+\/quic-v1$/.test(a)), addrs.join(', '))
  })

  it('refuses QUIC draft-29 and WebTransport addresses, saying why', async () => {
    const a = await make(['/ip4/127.0.0.1/udp/0/quic-v1'], [quic()])
    const b = await make([], [quic()])
    a.peerstore.addAddrs(b.localPeer, ['/ip4/127.0.0.1/udp/1234/quic', '/ip4/127.0.0.1/udp/1235/quic-v1/webtransport'].map(s => multiaddr(s)), AddrTTL.PERMANENT)
    await assert.rejects(a.dialPeer(b.localPeer), (err: unknown) => {
      const e = err as DialError
      assert.ok(errorIs(e, 'NoTransportError'))
      assert.match(e.message, /QUIC draft-29 \(\/quic\) is not supported/)
      assert.match(e.message, /webtransport/)
      return true
    })
    await assert.rejects(a.listen('/ip4/127.0.0.1/udp/0/quic'), (err: Error) => err.name === 'ListenError')
  })

  it('refuses invalid options, naming the option', () => {
    // quic() checks its options where they are given, before any swarm is assembled (the plugin pattern)
    assert.throws(() => quic({ maxStreamData: -1 }), /invalid option maxStreamData=-1: expected an integer from 0 to 4294967295/)
    assert.throws(() => quic({ handshakeTimeout: 0 }), /invalid option handshakeTimeout=0/)
    assert.throws(() => quic({ ipv4: false, ipv6: false }), /invalid option ipv4=false/)
  })

  it('a process with a closed QUIC swarm exits on its own, its UDP sockets released', async () => {
    const script = fileURLToPath(new URL('./fixtures/quic-exit.js', import.meta.url))
    const child = spawn(process.execPath, ['--expose-gc', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (b: Buffer) => { out += b.toString() })
    child.stderr.on('data', (b: Buffer) => { out += b.toString() })
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the process did not exit within 20 s after close(); output:\n${out}`)) }, 20_000)
      child.on('exit', c => { clearTimeout(timer); resolve(c) })
    })
    assert.equal(code, 0, out)
    assert.match(out, /echoed over quic-v1/)
    // Linux only: the fixture counts UDP sockets through /proc.
    if (process.platform === 'linux') assert.match(out, /udp sockets left after close: 0$/m, 'every UDP socket (listening and dialing) is released')
  })
})
