/**
 * The interop matrix: each peer (go-libp2p, rust-libp2p, stock js-libp2p) × {TCP + Noise + Yamux, QUIC-v1} ×
 * {tswarm dials, the peer dials}. In each cell the dialer drives the streams (ping, echo, half-close, resets, perf);
 * identify and its push are checked both ways. A fresh tswarm host per cell, so no address learned in one cell can
 * pull the next one onto another transport.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe } from 'node:test'
import { readAll, waitFor } from '@tswarm/core/testing'
import { IdentifyMetadata, PING_PROTOCOL, openPeerRecord } from '@tswarm/host'
import { PeerProcess } from '../src/peer-process.js'
import { interopRequired, locatePeer } from '../src/peers.js'
import { DIGEST, ECHO, OBSERVE, PERF, RESET } from '../src/protocols.js'
import { createInteropNode } from '../src/tswarm-node.js'
import { MiB, TSWARM_AGENT, check, fmt, matrixReport, median, peerIdOf, readHashed, sha, writeRandom } from './helpers.js'
import type { Cell } from './helpers.js'
import type { PeerName } from '../src/peers.js'
import type { InteropNode } from '../src/tswarm-node.js'
import type { Conn } from '@tswarm/core'

const report = matrixReport('interop-matrix', 'The matrix')

interface TransportCase {
  /** As tswarm's ConnStats and the report name it. */
  name: 'tcp' | 'quic-v1'
  label: string
}

const TRANSPORTS: TransportCase[] = [
  { name: 'tcp', label: 'TCP + Noise + Yamux' },
  { name: 'quic-v1', label: 'QUIC-v1' }
]

const PEERS: PeerName[] = ['go-libp2p', 'rust-libp2p', 'js-libp2p']

/**
 * Whether each stack's identify carries a signed peer record in the spec's format (RFC 0003: domain
 * `libp2p-peer-record`, payload type 0x0301). rust-libp2p's identify 0.48 signs and reads only its legacy
 * `libp2p-routing-state` envelopes, which tswarm, like go, does not accept: neither side keeps the other's record.
 */
const SPEC_SIGNED_RECORD: Record<PeerName, boolean> = { 'go-libp2p': true, 'rust-libp2p': false, 'js-libp2p': true }

/**
 * Whether each stack's QUIC streams carry a reset, as found by running each stack against itself (docs/interop.md):
 * js-libp2p reads a received RESET_STREAM as a clean end, and rust-libp2p's QUIC streams cannot be reset (dropping
 * one finishes it). Over TCP every stack resets properly. Where a stack deviates, the check asserts the deviation,
 * so a fix on their side shows up here.
 */
const QUIC_RESET: Record<PeerName, { receives: boolean, sends: boolean }> = {
  'go-libp2p': { receives: true, sends: true },
  'rust-libp2p': { receives: true, sends: false },
  'js-libp2p': { receives: false, sends: true }
}

const ECHO_BYTES = 10 * MiB
const PERF_BYTES = 64 * MiB
const STREAMS = 100

const hasTransport = (addr: string, t: TransportCase): boolean =>
  t.name === 'tcp' ? /\/tcp\/\d+$/.test(addr) : addr.endsWith('/quic-v1')

interface IdentifyAnswer extends Record<string, unknown> {
  protocols: string[]
  agentVersion?: string
  listenAddrs: string[]
  observedAddr?: string
  signedPeerRecord: { verified: boolean, seq: number, addrs: string[] } | null
}

interface ConnectionsAnswer extends Record<string, unknown> {
  connections: Array<{ remoteAddr?: string, localAddr?: string, direction?: string, security?: string, muxer?: string, transport?: string }>
}

for (const peerName of PEERS) {
  const located = locatePeer(peerName)
  if (!located.ok && !interopRequired()) process.stdout.write(`# ${located.reason}\n`)
  describe(`interop matrix: ${peerName}`, { skip: !located.ok && !interopRequired() ? located.reason : false }, () => {
    let peer: PeerProcess

    before(async () => {
      if (!located.ok) throw new Error(`${located.reason} (TSWARM_REQUIRE_INTEROP=1: a missing peer fails the run)`)
      peer = await PeerProcess.start(located.command, ['--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/ip4/127.0.0.1/udp/0/quic-v1'])
      report.versions.set(peerName, `${peer.ready.implementation} ${peer.ready.version} (agent "${peer.ready.agentVersion}")`)
    })

    after(async () => { await peer?.stop() })

    for (const t of TRANSPORTS) {
      for (const dialer of ['tswarm', peerName] as const) {
        const cell: Cell = { peer: peerName, transport: t.label, direction: dialer }
        const tswarmDials = dialer === 'tswarm'

        describe(`${t.label}, ${dialer} dials`, () => {
          let node: InteropNode
          let conn: Conn

          const peerAddr = (): string => {
            const addr = peer.ready.addrs.find(a => hasTransport(a, t))
            if (addr === undefined) throw new Error(`${peerName} listens on no ${t.name} address: ${peer.ready.addrs.join(', ')}`)
            return addr
          }
          const tswarmAddr = (): string => {
            const addr = node.host.addrs().map(String).find(a => hasTransport(a, t))
            if (addr === undefined) throw new Error(`tswarm listens on no ${t.name} address`)
            return addr
          }
          const remote = (): ReturnType<typeof peerIdOf> => peerIdOf(peer)
          const me = (): string => node.host.peerId.toString()

          before(async () => { node = await createInteropNode() })
          after(async () => { await node?.host.close() })

          check(report, cell, 'connect', async () => {
            const started = performance.now()
            if (tswarmDials) {
              conn = await node.host.connect(remote(), [peerAddr()])
            } else {
              await peer.request('connect', { addr: `${tswarmAddr()}/p2p/${me()}` })
              await waitFor(() => node.host.swarm.connsToPeer(remote()).length > 0, `${peerName}'s connection`)
              conn = node.host.swarm.connsToPeer(remote())[0]
              await node.host.identify.identifyWait(conn)
            }
            const ms = performance.now() - started
            const stat = conn.stat()
            assert.equal(stat.transport, t.name)
            assert.equal(stat.direction, tswarmDials ? 'outbound' : 'inbound')
            if (t.name === 'tcp') {
              assert.equal(stat.security, '/noise')
              assert.equal(stat.muxer, '/yamux/1.0.0')
            }
            const { connections } = await peer.request<ConnectionsAnswer>('connections', { peer: me() })
            assert.equal(connections.length, 1, `${peerName} lists ${connections.length} connections to tswarm`)
            const theirs = connections[0]
            if (theirs.direction !== undefined) assert.equal(theirs.direction, tswarmDials ? 'inbound' : 'outbound')
            if (theirs.transport !== undefined) assert.equal(theirs.transport, t.name)
            if (t.name === 'tcp' && theirs.security !== undefined) assert.equal(theirs.security, '/noise')
            if (t.name === 'tcp' && theirs.muxer !== undefined) assert.equal(theirs.muxer, '/yamux/1.0.0')
            return `${fmt(ms)} ms`
          })

          check(report, cell, 'ping', async () => {
            const ours = await node.host.pings(remote(), 5)
            const { rttMs } = await peer.request<{ rttMs: number[] }>('ping', { peer: me(), count: 5 })
            assert.equal(ours.length, 5)
            assert.equal(rttMs.length, 5)
            for (const rtt of [...ours, ...rttMs]) assert.ok(Number.isFinite(rtt) && rtt >= 0, `bad RTT ${rtt}`)
            return `tswarm ${fmt(median(ours))} ms, ${peerName} ${fmt(median(rttMs))} ms`
          })

          check(report, cell, 'identify (tswarm learns)', async () => {
            const ps = node.host.peerstore
            const protocols = ps.getProtocols(remote())
            for (const p of peer.ready.protocols) assert.ok(protocols.includes(p), `tswarm did not learn ${p}; it has ${protocols.join(', ')}`)
            for (const p of [ECHO, DIGEST, RESET, OBSERVE, PERF, PING_PROTOCOL]) assert.ok(protocols.includes(p), `${peerName} did not announce ${p}`)
            assert.equal(ps.get(remote(), IdentifyMetadata.AGENT_VERSION), peer.ready.agentVersion)
            const addrs = ps.addrs(remote()).map(String)
            assert.ok(addrs.includes(peerAddr()), `tswarm's peerstore lacks ${peerAddr()}: ${addrs.join(', ')}`)
            const observed = ps.get(remote(), IdentifyMetadata.OBSERVED_ADDR)
            assert.ok(observed !== undefined, `${peerName} reported no observed address`)
            const local = conn.localMultiaddr?.toString()
            if (local !== undefined) assert.equal(String(observed), local, `the observed address ${String(observed)} is not our end of the connection ${local}`)
            else assert.ok(String(observed).startsWith('/ip4/127.0.0.1/'), `observed ${String(observed)}`)
            const record = ps.get(remote(), IdentifyMetadata.SIGNED_PEER_RECORD)
            if (!SPEC_SIGNED_RECORD[peerName]) {
              assert.equal(record, undefined, `tswarm kept a record from ${peerName}, whose records are not in the spec's format`)
              return 'its record is in the legacy routing-state format, not accepted (theirs)'
            }
            assert.ok(record instanceof Uint8Array, `${peerName} sent no signed peer record`)
            const opened = await openPeerRecord(remote(), record)
            const recordAddrs = opened.multiaddrs.map(String)
            assert.ok(recordAddrs.includes(peerAddr()), `the record lacks ${peerAddr()}: ${recordAddrs.join(', ')}`)
            return `record seq ${opened.seqNumber} verified`
          })

          check(report, cell, 'identify (peer learns)', async () => {
            const theirs = await peer.request<IdentifyAnswer>('identify', { peer: me() })
            for (const p of node.host.getProtocols()) assert.ok(theirs.protocols.includes(p), `${peerName} did not learn ${p}`)
            assert.equal(theirs.agentVersion, TSWARM_AGENT)
            assert.ok(theirs.listenAddrs.includes(tswarmAddr()), `${peerName} did not learn ${tswarmAddr()}: ${theirs.listenAddrs.join(', ')}`)
            assert.equal(theirs.observedAddr, conn.remoteMultiaddr.toString(), 'the observed address we sent is not theirs')
            if (!SPEC_SIGNED_RECORD[peerName]) {
              assert.equal(theirs.signedPeerRecord, null, `${peerName} verified a spec-format record, contrary to its documented behaviour`)
              return 'it reads only legacy routing-state records, not ours (theirs)'
            }
            assert.ok(theirs.signedPeerRecord !== null, `${peerName} kept no verified signed peer record of tswarm`)
            assert.equal(theirs.signedPeerRecord.verified, true)
            assert.ok(theirs.signedPeerRecord.addrs.includes(tswarmAddr()), `the record ${peerName} kept lacks ${tswarmAddr()}`)
            return `record seq ${theirs.signedPeerRecord.seq} verified`
          })

          check(report, cell, 'echo 10 MiB', async () => {
            const started = performance.now()
            if (tswarmDials) {
              const stream = await node.host.newStream(remote(), ECHO)
              const reading = readHashed(stream)
              const sent = await writeRandom(stream, ECHO_BYTES)
              await stream.closeWrite()
              const back = await reading
              assert.equal(back.bytes, ECHO_BYTES)
              assert.equal(back.sha256, sent)
            } else {
              const r = await peer.request<{ received: number, sentSha256: string, receivedSha256: string }>('echo', { peer: me(), bytes: ECHO_BYTES }, 60_000)
              assert.equal(r.received, ECHO_BYTES)
              assert.equal(r.receivedSha256, r.sentSha256)
            }
            return `${(ECHO_BYTES / MiB / ((performance.now() - started) / 1000)).toFixed(0)} MiB/s`
          })

          check(report, cell, `echo on ${STREAMS} concurrent streams`, async () => {
            if (tswarmDials) {
              const results = await Promise.allSettled(Array.from({ length: STREAMS }, async () => {
                const stream = await node.host.newStream(remote(), ECHO)
                const data = randomBytes(1024)
                const reading = readHashed(stream)
                await stream.write(data)
                await stream.closeWrite()
                const back = await reading
                if (back.sha256 !== sha(data)) throw new Error(`a stream echoed ${back.bytes} bytes that differ`)
              }))
              const failed = results.filter(r => r.status === 'rejected')
              assert.equal(failed.length, 0, `${failed.length} streams failed: ${(failed[0] as PromiseRejectedResult | undefined)?.reason as string}`)
            } else {
              const r = await peer.request<{ okStreams: number, errors: string[] }>('echoMany', { peer: me(), streams: STREAMS, bytes: 1024 }, 60_000)
              assert.equal(r.okStreams, STREAMS, `only ${r.okStreams} intact: ${r.errors.join('; ')}`)
            }
            return ''
          })

          check(report, cell, 'half-close', async () => {
            if (tswarmDials) {
              const stream = await node.host.newStream(remote(), DIGEST)
              const sent = await writeRandom(stream, 256 * 1024)
              await stream.closeWrite()
              assert.equal(Buffer.from(await readAll(stream)).toString('hex'), sent, `${peerName} did not answer after our end of stream with the digest`)
            } else {
              const r = await peer.request<{ sentSha256: string, receivedSha256: string }>('digest', { peer: me(), bytes: 256 * 1024 })
              assert.equal(r.receivedSha256, r.sentSha256)
            }
            return ''
          })

          // What the reading side may see: a reset; where the stack deviates on QUIC (see QUIC_RESET), a clean end,
          // or for js-libp2p receiving, sometimes no end at all within the bound.
          const resetOutcome = (sender: 'tswarm' | 'peer'): { expected: string[], note: string } => {
            const quirk = QUIC_RESET[peerName]
            if (t.name !== 'quic-v1' || (sender === 'tswarm' ? quirk.receives : quirk.sends)) return { expected: ['reset'], note: '' }
            if (sender === 'tswarm') return { expected: ['eof', 'no end'], note: `${peerName} reads a QUIC reset as a clean end or not at all (theirs)` }
            return { expected: ['eof'], note: `${peerName} cannot reset a QUIC stream: it finishes it (theirs)` }
          }
          const DEVIATION_BOUND_MS = 5000

          check(report, cell, 'reset by the handler', async () => {
            const { expected, note } = resetOutcome(tswarmDials ? 'peer' : 'tswarm')
            let outcome: string
            if (tswarmDials) {
              const stream = await node.host.newStream(remote(), RESET)
              await stream.write(new Uint8Array([1]))
              outcome = await readHashed(stream).then(() => 'eof', (err: Error) => err.name === 'StreamResetError' ? 'reset' : err.name)
            } else {
              const bound = expected.includes('no end') ? DEVIATION_BOUND_MS : 30_000
              const r = await peer.request<{ outcome: string }>('awaitReset', { peer: me(), timeoutMs: bound }).catch((err: Error) => {
                if (bound === DEVIATION_BOUND_MS && /timeout after/.test(err.message)) return { outcome: 'no end' }
                throw err
              })
              outcome = r.outcome
            }
            assert.ok(expected.includes(outcome), `the reader saw ${outcome}, expected ${expected.join(' or ')}`)
            return note === '' ? '' : `${note}: ${outcome}`
          })

          check(report, cell, 'reset by the opener', async () => {
            const { expected, note } = resetOutcome(tswarmDials ? 'tswarm' : 'peer')
            let outcome: string
            if (tswarmDials) {
              // Negotiated fully so the handler is running before the reset arrives.
              const stream = await node.host.newStream(remote(), OBSERVE, { negotiateFully: true })
              await stream.write(new Uint8Array(1024))
              stream.reset()
              const bound = expected.includes('no end') ? DEVIATION_BOUND_MS : 10_000
              const end = await peer.waitEvent(e => e.event === 'stream-end' && e.peer === me(), bound, 'the observe handler\'s stream-end').catch((err: Error) => {
                // only running out of time is the deviation; a peer that exited is a failure
                if (bound === DEVIATION_BOUND_MS && /within \d+ ms/.test(err.message)) return { outcome: 'no end', error: err.message }
                throw err
              })
              outcome = String(end.outcome)
            } else {
              await peer.request('sendReset', { peer: me() })
              outcome = (await node.observed(peer.ready.peerId, 10_000)).outcome
            }
            assert.ok(expected.includes(outcome), `the handler saw ${outcome}, expected ${expected.join(' or ')}`)
            return note === '' ? '' : `${note}: ${outcome}`
          })

          check(report, cell, 'perf 64 MiB up and down', async () => {
            if (tswarmDials) {
              const r = await node.host.perf(remote(), { uploadBytes: PERF_BYTES, downloadBytes: PERF_BYTES })
              assert.equal(r.downloadBytes, PERF_BYTES)
              return `${(r.uploadBitsPerSecond / 1e9).toFixed(2)} / ${(r.downloadBitsPerSecond / 1e9).toFixed(2)} Gbit/s`
            }
            const r = await peer.request<{ uploaded: number, downloaded: number, ms: number }>('perf', { peer: me(), upload: PERF_BYTES, download: PERF_BYTES }, 120_000)
            assert.equal(r.downloaded, PERF_BYTES)
            return `${(2 * PERF_BYTES * 8 / (r.ms / 1000) / 1e9).toFixed(2)} Gbit/s both ways`
          })

          check(report, cell, 'identify push', async () => {
            const ours = `/interop/added-by-tswarm/${randomBytes(4).toString('hex')}`
            node.host.handle(ours, async stream => { await stream.closeWrite() })
            await peer.request('identify', { peer: me(), waitProtocol: ours, timeoutMs: 10_000 })
            const theirs = `/interop/added-by-peer/${randomBytes(4).toString('hex')}`
            await peer.request('handle', { protocol: theirs })
            await waitFor(() => node.host.peerstore.getProtocols(remote()).includes(theirs), `${peerName}'s push of ${theirs}`, 10_000)
            return 'both ways'
          })
        })
      }
    }
  })
}
