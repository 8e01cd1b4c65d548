/**
 * Smart dialing, measured: how long it takes to connect to a peer that advertises one dead address and one live
 * one, for a tswarm swarm and for a stock js-libp2p node, in the same process and against the same peer.
 *
 * The dead address is a TCP server that accepts connections and never sends a byte. That is the worst kind of dead
 * address: the TCP connect succeeds at once, so nothing fails fast, and the security handshake waits until a timeout
 * gives up. A dialer that tries one address at a time pays that timeout before it tries the live address; tswarm
 * (go-libp2p's ranker) starts the next address a few ms later whether or not the first has answered.
 */
import { once } from 'node:events'
import { createServer } from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp as libp2pTcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { AddrTTL, DEFAULT_SWARM_CONFIG, PRIVATE_TCP_DELAY, createSwarm, describe } from '@tswarm/core'
import { tcp } from '@tswarm/transport-tcp'
import { createLibp2p } from 'libp2p'
import { version as libp2pVersion } from 'libp2p/version'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { DialPlan, Swarm } from '@tswarm/core'
import type { AddressInfo, Server, Socket } from 'node:net'

export interface DialDeadLiveOptions {
  /** Timed dials per dialer. */
  runs: number
}

// js-libp2p's defaults (libp2p/dist/src/connection-manager/constants.defaults.js); not exported, so restated here
// only to print them. The benchmark does not set them: the stock node runs with its defaults.
const LIBP2P_ADDRESS_DIAL_TIMEOUT = 6_000
const LIBP2P_DIAL_TIMEOUT = 10_000

/** Cap on one timed dial: above the stock node's own 10 s dial timeout, so it only fires if something hangs. */
const DIAL_CAP_MS = 15_000
/** Cap on setting up or tearing down one dialer, server or listener. */
const STEP_CAP_MS = 10_000
/** Bind attempts to get a silent listener on a lower port than the live one. */
const PORT_TRIES = 20
/** Wall-clock budget per run pair: a stock dial takes ~6 s here, so this only stops a benchmark gone wrong. */
const BUDGET_PER_RUN_MS = 20_000

type DialerName = 'tswarm' | 'js-libp2p'

/** The peer to reach: a tswarm swarm on a live loopback port, plus a silent listener standing in for a dead one. */
interface Target {
  swarm: Swarm
  live: Multiaddr
  dead: Multiaddr
  silent: SilentListener
}

interface SilentListener {
  port: number
  /** Connections accepted so far: each one is a dialer that tried the dead address. */
  accepted: number
  close(): Promise<void>
}

interface RunResult {
  ms: number
  /** The addresses in the order the dialer took them ('dead', 'live'). */
  order: string[]
  /** The address the connection came through. */
  via: string
  plan?: DialPlan
}

interface Samples {
  name: DialerName
  results: RunResult[]
  errors: string[]
}

export async function dialDeadLive (options: DialDeadLiveOptions): Promise<void> {
  const target = await startTarget()
  try {
    console.log(`peer:  ${target.swarm.localPeer.toString()}`)
    console.log(`live:  ${target.live.toString()}  (tswarm swarm)`)
    console.log(`dead:  ${target.dead.toString()}  (accepts TCP, never answers)`)
    console.log(`stock: js-libp2p ${libp2pVersion} with its defaults: one address at a time, each bounded by ` +
      `addressDialTimeout ${LIBP2P_ADDRESS_DIAL_TIMEOUT} ms, the whole dial by dialTimeout ${LIBP2P_DIAL_TIMEOUT} ms`)
    console.log(`tswarm: smart dialing with its defaults: private TCP addresses ranked by port, ${PRIVATE_TCP_DELAY} ms ` +
      `apart, dials overlap; each loopback address's dial bounded by dialTimeoutLocal ${DEFAULT_SWARM_CONFIG.dialTimeoutLocal} ms`)
    console.log()

    // One untimed dial each to the live address alone, so that neither dialer's first timed run pays for loading
    // modules and compiling the crypto code.
    await dialTswarm(target, [target.live])
    await dialStock(target, [target.live])

    const tswarm: Samples = { name: 'tswarm', results: [], errors: [] }
    const stock: Samples = { name: 'js-libp2p', results: [], errors: [] }
    const budget = options.runs * BUDGET_PER_RUN_MS
    const started = performance.now()
    for (let i = 1; i <= options.runs; i++) {
      if (performance.now() - started > budget) {
        console.log(`stopping after ${i - 1} runs: the ${budget / 1000} s time budget is spent`)
        break
      }
      // Alternate, so that anything that drifts during the benchmark (CPU frequency, other load) hits both alike.
      const a = await sample(tswarm, async () => dialTswarm(target, [target.dead, target.live]))
      const b = await sample(stock, async () => dialStock(target, [target.dead, target.live]))
      console.log(`run ${i}/${options.runs}  tswarm ${a}  js-libp2p ${b}`)
    }
    console.log()
    printTable([tswarm, stock])

    // The plan of the last tswarm run shows why it was fast: the live address started 30 ms after the dead one
    // instead of after the dead one's timeout, and the dead dial was cancelled once the live one connected.
    const plan = tswarm.results.at(-1)?.plan
    if (plan !== undefined) {
      console.log()
      console.log('tswarm dial plan (last run; times from the start of the dial):')
      console.log(indent(String(plan)))
    }
    console.log()
    // The warm-up dials never touch the dead address, so one connection per timed dial means every dial tried it.
    const timed = tswarm.results.length + tswarm.errors.length + stock.results.length + stock.errors.length
    console.log(`the dead address accepted ${target.silent.accepted} TCP connections in ${timed} timed dials`)
  } finally {
    await stopTarget(target)
  }
}

/** Runs one dial, records its result or error, and returns a short description for the progress line. */
async function sample (samples: Samples, dial: () => Promise<RunResult>): Promise<string> {
  try {
    const result = await dial()
    samples.results.push(result)
    return `${result.ms.toFixed(1)} ms`
  } catch (err) {
    const message = describe(err)
    samples.errors.push(message)
    return `failed (${message.split('\n')[0]})`
  }
}

// ---- the peer ----

async function startTarget (): Promise<Target> {
  const swarm = await withTimeout(createSwarm({ modules: [tcp()], listen: ['/ip4/127.0.0.1/tcp/0'] }), STEP_CAP_MS, 'starting the target swarm')
  try {
    const live = swarm.listenAddresses().find(a => a.toString().startsWith('/ip4/127.0.0.1/tcp/'))
    if (live === undefined) throw new Error(`the target swarm is not listening on 127.0.0.1: ${swarm.listenAddresses().map(String).join(', ')}`)
    const silent = await silentListenerBefore(live)
    return { swarm, live, dead: multiaddr(`/ip4/127.0.0.1/tcp/${silent.port}`), silent }
  } catch (err) {
    await withTimeout(swarm.close(), STEP_CAP_MS, 'closing the target swarm')
    throw err
  }
}

async function stopTarget (target: Target): Promise<void> {
  const results = await Promise.allSettled([
    withTimeout(target.swarm.close(), STEP_CAP_MS, 'closing the target swarm'),
    target.silent.close()
  ])
  for (const r of results) if (r.status === 'rejected') console.error(`cleanup: ${String(r.reason)}`)
}

/**
 * A silent listener whose address both dialers try before the live one, when the OS lets us: tswarm's ranker puts
 * the lower TCP port first, and the stock node's peer store sorts a peer's addresses as strings (its address sorter
 * then keeps that order for two loopback TCP addresses). With the same number of digits both orders agree.
 */
async function silentListenerBefore (live: Multiaddr): Promise<SilentListener> {
  const livePort = tcpPort(live)
  const before = (port: number): boolean =>
    port < livePort && `/ip4/127.0.0.1/tcp/${port}`.localeCompare(live.toString()) < 0
  const spare: SilentListener[] = []
  try {
    for (let i = 0; i < PORT_TRIES; i++) {
      const silent = await listenSilent()
      if (before(silent.port)) return silent
      spare.push(silent)
    }
    // Keep the last one anyway: the benchmark still runs, and the printed order shows who tried what first.
    const fallback = spare.pop()
    if (fallback === undefined) throw new Error('no silent listener could be bound')
    console.log(`note: no port below ${livePort} in ${PORT_TRIES} tries; the dead address sorts after the live one`)
    return fallback
  } finally {
    await Promise.allSettled(spare.map(async s => { await s.close() }))
  }
}

/** A TCP server on 127.0.0.1 that accepts connections and never writes: the Noise handshake cannot finish. */
async function listenSilent (): Promise<SilentListener> {
  const sockets = new Set<Socket>()
  const server: Server = createServer()
  const listener: SilentListener = {
    port: 0,
    accepted: 0,
    async close (): Promise<void> {
      // server.close() waits for open connections, which a silent peer never ends itself: destroy them first.
      for (const s of sockets) s.destroy()
      const closed = once(server, 'close')
      server.close()
      await withTimeout(closed, STEP_CAP_MS, 'closing a silent listener')
    }
  }
  server.on('connection', socket => {
    listener.accepted++
    sockets.add(socket)
    // Read and drop what the dialer sends, so it never waits on a full TCP window: it waits only for an answer.
    socket.resume()
    // A dialer that gives up resets the connection; that is expected, not an error.
    socket.on('error', () => {})
    socket.on('close', () => { sockets.delete(socket) })
  })
  server.listen(0, '127.0.0.1')
  await withTimeout(once(server, 'listening'), STEP_CAP_MS, 'binding a silent listener')
  listener.port = (server.address() as AddressInfo).port
  return listener
}

// ---- the dialers ----

/** Dialer A: a fresh tswarm swarm, so that no backoff or connection carries over from an earlier run. */
async function dialTswarm (target: Target, addrs: Multiaddr[]): Promise<RunResult> {
  const dialer = await withTimeout(createSwarm({ modules: [tcp()] }), STEP_CAP_MS, 'creating the tswarm dialer')
  let plan: DialPlan | undefined
  dialer.onDialPlan((_peer, p) => { plan = p })
  let result: RunResult
  try {
    dialer.peerstore.addAddrs(target.swarm.localPeer, addrs, AddrTTL.PERMANENT)
    const start = performance.now()
    const conn = await withTimeout(dialer.dialPeer(target.swarm.localPeer), DIAL_CAP_MS, 'tswarm dialPeer')
    const ms = performance.now() - start
    result = { ms, order: [], via: label(target, conn.remoteMultiaddr) }
  } finally {
    // Closing cancels the dead address's dial if it is still going (the swarm ends it once the live one connects).
    await withTimeout(dialer.close(), STEP_CAP_MS, 'closing the tswarm dialer')
  }
  // Read after close: by then the dead address's entry says how it ended. The plan lists addresses in ranked order,
  // which is the order they were started in.
  if (plan !== undefined) {
    result.plan = plan
    result.order = plan.entries.filter(e => e.rankDelay !== undefined).map(e => label(target, e.addr))
  }
  return result
}

/** Dialer B: a fresh stock js-libp2p node with its default dial timeouts, dial only (no listen addresses). */
async function dialStock (target: Target, addrs: Multiaddr[]): Promise<RunResult> {
  const node = await withTimeout(createLibp2p({
    transports: [libp2pTcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  }), STEP_CAP_MS, 'creating the js-libp2p node')
  let result: RunResult
  try {
    await withTimeout(node.peerStore.merge(target.swarm.localPeer, { multiaddrs: addrs }), STEP_CAP_MS, 'adding the addresses')
    let order: string[] = []
    const start = performance.now()
    // No signal of ours: it would replace the node's own 10 s dial timeout. The cap only guards against a hang.
    const conn = await withTimeout(node.dial(target.swarm.localPeer, {
      onProgress: event => {
        // The dial queue reports the addresses it is about to try, in order, one at a time.
        if (event.type === 'dial-queue:calculated-addresses') order = event.detail.map(a => label(target, a.multiaddr))
      }
    }), DIAL_CAP_MS, 'js-libp2p dial')
    const ms = performance.now() - start
    result = { ms, order, via: label(target, conn.remoteAddr) }
  } finally {
    // stop() aborts the dial queue's shutdown signal, which ends any address dial still in flight (the dead one,
    // should the cap above have fired), and closes the connection. It is typed as maybe synchronous, hence the wrap.
    await withTimeout(Promise.resolve(node.stop()), STEP_CAP_MS, 'stopping the js-libp2p node')
  }
  return result
}

// ---- output ----

function printTable (samples: Samples[]): void {
  const stats = samples.map(s => {
    const times = s.results.map(r => r.ms).sort((a, b) => a - b)
    return { s, times, median: median(times) }
  })
  const header = ['dialer', 'ok', 'median ms', 'min–max ms', 'order tried', 'connected via']
  const rows = stats.map(({ s, times, median }) => [
    s.name,
    `${s.results.length}/${s.results.length + s.errors.length}`,
    median === undefined ? '-' : median.toFixed(1),
    times.length === 0 ? '-' : `${times[0].toFixed(1)}–${times[times.length - 1].toFixed(1)}`,
    distinct(s.results.map(r => r.order.join(' → '))),
    distinct(s.results.map(r => r.via))
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()
  console.log(line(header))
  console.log(line(widths.map(w => '-'.repeat(w))))
  for (const r of rows) console.log(line(r))

  const [tswarm, stock] = stats
  if (tswarm.median !== undefined && stock.median !== undefined) {
    console.log()
    console.log(`js-libp2p / tswarm, medians: ${(stock.median / tswarm.median).toFixed(1)}×`)
  }
  for (const { s } of stats) {
    for (const e of new Set(s.errors)) console.log(`${s.name} error: ${e}`)
  }
}

function median (sorted: number[]): number | undefined {
  if (sorted.length === 0) return undefined
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function distinct (values: string[]): string {
  const set = [...new Set(values)]
  return set.length === 0 ? '-' : set.join(' | ')
}

function indent (text: string): string {
  return text.split('\n').map(l => `  ${l}`).join('\n')
}

/** 'dead' or 'live' for the target's addresses (the stock node appends /p2p/<peer>), else the address itself. */
function label (target: Target, addr: Multiaddr): string {
  const bare = addr.toString().split('/p2p/')[0]
  if (bare === target.dead.toString()) return 'dead'
  if (bare === target.live.toString()) return 'live'
  return bare
}

function tcpPort (addr: Multiaddr): number {
  const port = Number(addr.getComponents().find(c => c.name === 'tcp')?.value)
  if (!Number.isInteger(port)) throw new Error(`no TCP port in ${addr.toString()}`)
  return port
}

/**
 * Settles like `work`, or rejects once `ms` have passed. Every wait in this benchmark goes through here so that a
 * hang shows up as an error instead of a process that never ends.
 */
async function withTimeout<T> (work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what} did not finish within ${ms} ms`)) }, ms)
  })
  // When the timer wins, `work` may still fail later: observe it so it is not an unhandled rejection.
  work.catch(() => {})
  try {
    return await Promise.race([work, expired])
  } finally {
    clearTimeout(timer)
  }
}
