/**
 * What tswarm relies on, checked on the wire against each peer over TCP, with a recording (and, for round trips, a
 * delaying) proxy between tswarm and the peer:
 * - the lazy `/noise` proposal: the multistream header, `/noise` and the first Noise message leave in one flight;
 * - early muxer negotiation: Yamux is agreed inside the Noise handshake, both when tswarm dials and when it is dialed;
 * - the optimistic single-protocol select: a new stream's first byte comes back after one round trip, not two.
 */
import assert from 'node:assert/strict'
import { after, before, describe } from 'node:test'
import { multistreamProposal } from '@tswarm/core'
import { waitFor } from '@tswarm/core/testing'
import { PeerProcess } from '../src/peer-process.js'
import { interopRequired, locatePeer } from '../src/peers.js'
import { ECHO } from '../src/protocols.js'
import { TcpProxy } from '../src/tcp-proxy.js'
import { createInteropNode } from '../src/tswarm-node.js'
import { check, matrixReport, peerIdOf } from './helpers.js'
import type { PeerName } from '../src/peers.js'
import type { InteropNode } from '../src/tswarm-node.js'

const report = matrixReport('interop-wire', 'On the wire (TCP)')
const PEERS: PeerName[] = ['go-libp2p', 'rust-libp2p', 'js-libp2p']
/**
 * Whether each stack offers its muxers in Noise's extensions (the spec makes it optional). rust-libp2p's Noise sends
 * WebTransport certificate hashes only, so with it the muxer takes a multistream round of its own.
 */
const EARLY_MUXER: Record<PeerName, boolean> = { 'go-libp2p': true, 'rust-libp2p': false, 'js-libp2p': true }
/** One way; large against loopback and processing, so round trips can be counted from the clock. */
const DELAY_MS = 100
const RTT_MS = 2 * DELAY_MS

function tcpTarget (peer: PeerProcess): { host: string, port: number } {
  const addr = peer.ready.addrs.find(a => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/.test(a))
  if (addr === undefined) throw new Error(`${peer.name} has no loopback TCP address: ${peer.ready.addrs.join(', ')}`)
  return { host: '127.0.0.1', port: Number(addr.split('/')[4]) }
}

/** Time from opening a stream to reading the first echoed byte, in round trips of the delaying proxy. */
async function roundTripsToFirstByte (node: InteropNode, peer: PeerProcess, negotiateFully: boolean): Promise<number> {
  const started = performance.now()
  const stream = await node.host.newStream(peerIdOf(peer), ECHO, { negotiateFully })
  await stream.write(new Uint8Array([7]))
  const first = await stream.read()
  const elapsed = performance.now() - started
  assert.deepEqual(first === null ? null : [...first], [7])
  await stream.closeWrite()
  stream.reset()
  return elapsed / RTT_MS
}

for (const peerName of PEERS) {
  const located = locatePeer(peerName)
  describe(`on the wire: ${peerName} over TCP`, { skip: !located.ok && !interopRequired() ? located.reason : false }, () => {
    const cell = { peer: peerName, transport: 'TCP (wire)', direction: 'tswarm' }
    let peer: PeerProcess
    let node: InteropNode
    const proxies: TcpProxy[] = []

    before(async () => {
      if (!located.ok) throw new Error(`${located.reason} (TSWARM_REQUIRE_INTEROP=1: a missing peer fails the run)`)
      peer = await PeerProcess.start(located.command, ['--listen', '/ip4/127.0.0.1/tcp/0'])
      report.versions.set(peerName, `${peer.ready.implementation} ${peer.ready.version}`)
    })

    after(async () => {
      await node?.host.close()
      await Promise.all(proxies.map(async p => { await p.close() }))
      await peer?.stop()
    })

    check(report, cell, 'lazy /noise proposal', async () => {
      node = await createInteropNode()
      const proxy = await TcpProxy.start(tcpTarget(peer))
      proxies.push(proxy)
      const conn = await node.host.connect(peerIdOf(peer), [`/ip4/127.0.0.1/tcp/${proxy.port}`])
      assert.equal(conn.status, 'open')
      const flight = proxy.connections[0].firstFlight()
      const proposal = multistreamProposal('/noise')
      assert.deepEqual(flight.subarray(0, proposal.byteLength), Buffer.from(proposal), 'the first flight does not open with the /noise proposal')
      // Noise XX's first message is the 32-byte ephemeral key behind a 2-byte length
      assert.deepEqual([...flight.subarray(proposal.byteLength, proposal.byteLength + 2)], [0, 32], 'no Noise message after the proposal')
      assert.ok(flight.byteLength >= proposal.byteLength + 34, `the first flight has ${flight.byteLength} bytes`)
      await node.host.ping(peerIdOf(peer))
      return `${flight.byteLength} bytes in the first flight`
    })

    check(report, cell, 'early muxer negotiation', async () => {
      const early = EARLY_MUXER[peerName]
      const outbound = node.host.swarm.connsToPeer(peerIdOf(peer))[0]
      assert.equal(outbound.stat().muxer, '/yamux/1.0.0')
      assert.equal(outbound.stat().usedEarlyMuxerNegotiation, early, `tswarm dialing: early negotiation ${String(!early)}, expected ${String(early)}`)
      // and the other way: the peer dials a fresh tswarm node
      const dialed = await createInteropNode(['/ip4/127.0.0.1/tcp/0'])
      try {
        await peer.request('connect', { addr: `${dialed.host.addrs()[0].toString()}/p2p/${dialed.host.peerId.toString()}` })
        await waitFor(() => dialed.host.swarm.connsToPeer(peerIdOf(peer)).length > 0, `${peerName}'s connection`)
        const inbound = dialed.host.swarm.connsToPeer(peerIdOf(peer))[0]
        assert.equal(inbound.stat().muxer, '/yamux/1.0.0')
        assert.equal(inbound.stat().usedEarlyMuxerNegotiation, early, `${peerName} dialing: early negotiation ${String(!early)}, expected ${String(early)}`)
      } finally {
        await dialed.host.close()
      }
      return early ? 'in the Noise handshake, both directions' : 'the peer offers none: Yamux by multistream-select, both directions'
    })

    check(report, cell, 'optimistic stream select', async () => {
      const delayed = await createInteropNode([])
      const proxy = await TcpProxy.start(tcpTarget(peer), DELAY_MS)
      proxies.push(proxy)
      try {
        const conn = await delayed.host.connect(peerIdOf(peer), [`/ip4/127.0.0.1/tcp/${proxy.port}`])
        await delayed.host.identify.identifyWait(conn)
        const optimistic = await roundTripsToFirstByte(delayed, peer, false)
        const full = await roundTripsToFirstByte(delayed, peer, true)
        assert.ok(optimistic < 1.5, `the first byte took ${optimistic.toFixed(2)} round trips optimistically; expected 1`)
        assert.ok(full >= 1.5, `fully negotiated took ${full.toFixed(2)} round trips; expected 2 (is the proxy delaying?)`)
        return `${optimistic.toFixed(2)} RTT (negotiated fully: ${full.toFixed(2)})`
      } finally {
        await delayed.host.close()
      }
    })
  })
}
