/**
 * What @tswarm/metrics costs on the data path: single-stream throughput over TCP loopback between two swarms, with
 * metrics() on both swarms (the BandwidthCounter as reporter, the Prometheus tracer and service, the rate tick) and
 * with the core's NullReporter, in alternating runs so that drift (CPU frequency, GC, other load) hits both alike.
 *
 * Each run makes a fresh pair of swarms, connects them and negotiates the stream outside the timed part, then times
 * 256 MiB written in 64 KiB chunks until the listener has read the last byte. The figure that matters is the ratio
 * of the medians (target: metrics on ≥ 0.95 × metrics off).
 */
import { AddrTTL, createSwarm, pluginInstance } from '@tswarm/core'
import { SWARM_METRICS, metrics } from '@tswarm/metrics'
import { tcp } from '@tswarm/transport-tcp'
import type { Stream, Swarm } from '@tswarm/core'

export interface MetricsOverheadOptions {
  /** Timed runs per mode (metrics on, metrics off). */
  runs: number
}

const PROTOCOL = '/tswarm-bench/sink/1.0.0'
const CHUNK = 64 * 1024
const TOTAL = 256 * 1024 * 1024
/** Cap on one timed transfer: even a slow machine moves 256 MiB over loopback well within this. */
const RUN_CAP_MS = 120_000
const TARGET_RATIO = 0.95

type Mode = 'metrics on' | 'metrics off'

interface Pair {
  dialer: Swarm
  listener: Swarm
  stream: Stream
  /** Resolves once the listener has read `TOTAL` bytes. */
  received: Promise<number>
  /** Whether both swarms have metrics. */
  metered: boolean
}

/** Two swarms on loopback with a negotiated stream between them, metrics on both or on neither. */
async function pair (mode: Mode): Promise<Pair> {
  const metered = mode === 'metrics on'
  const modules = metered ? [tcp(), metrics()] : [tcp()]
  const listener = await createSwarm({ modules, listen: ['/ip4/127.0.0.1/tcp/0'] })
  const dialer = await createSwarm({ modules })
  const { promise: received, resolve, reject } = Promise.withResolvers<number>()
  listener.setStreamHandler(async stream => {
    try {
      await listener.negotiateInbound(stream, [PROTOCOL])
      let n = 0
      for await (const chunk of stream) {
        n += chunk.byteLength
        if (n >= TOTAL) resolve(n)
      }
      await stream.close()
    } catch (err) {
      reject(err)
    }
  })
  dialer.peerstore.addAddrs(listener.localPeer, listener.listenAddresses(), AddrTTL.PERMANENT)
  const stream = await dialer.newStream(listener.localPeer, { protocols: [PROTOCOL] })
  return { dialer, listener, stream, received, metered }
}

/** One timed transfer; returns MiB/s. */
async function run (mode: Mode, chunk: Uint8Array): Promise<number> {
  const p = await pair(mode)
  try {
    const start = performance.now()
    const timer = setTimeout(() => { p.stream.reset(new Error(`transfer took over ${RUN_CAP_MS} ms`)) }, RUN_CAP_MS)
    try {
      // the same buffer every time: the stream does not copy it, and the data never changes
      for (let sent = 0; sent < TOTAL; sent += CHUNK) await p.stream.write(chunk)
      const got = await p.received
      const seconds = (performance.now() - start) / 1000
      if (got !== TOTAL) throw new Error(`the listener read ${got} bytes, not ${TOTAL}`)
      await p.stream.closeWrite()
      if (p.metered) checkCounted(p)
      return TOTAL / 2 ** 20 / seconds
    } finally {
      clearTimeout(timer)
    }
  } finally {
    await Promise.all([p.dialer.close(), p.listener.close()])
  }
}

/** Proves the reporter really was on the path: both ends counted every byte. */
function checkCounted (p: Pair): void {
  if (!p.metered) return
  const sent = pluginInstance(p.dialer, SWARM_METRICS).bandwidth.getBandwidthForProtocol(PROTOCOL).totalOut
  const read = pluginInstance(p.listener, SWARM_METRICS).bandwidth.getBandwidthForPeer(p.dialer.localPeer).totalIn
  if (sent !== TOTAL || read !== TOTAL) throw new Error(`metrics counted ${sent} bytes sent and ${read} read, not ${TOTAL}`)
}

function median (xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

const fmt = (x: number): string => x.toFixed(1).padStart(7)

/** Runs the benchmark and prints every run, the medians, and the ratio on/off against the 0.95 target. */
export async function metricsOverhead (options: MetricsOverheadOptions): Promise<void> {
  const chunk = new Uint8Array(CHUNK).fill(0x5a)
  console.log(`${TOTAL / 2 ** 20} MiB per run in ${CHUNK / 1024} KiB writes, one stream, TCP loopback, Noise + Yamux`)
  // one untimed run per mode, so both start with warm JIT code and sockets
  await run('metrics on', chunk)
  await run('metrics off', chunk)
  const results: Record<Mode, number[]> = { 'metrics on': [], 'metrics off': [] }
  for (let i = 0; i < options.runs; i++) {
    // ABBA order: neither mode always goes first
    const order: Mode[] = i % 2 === 0 ? ['metrics off', 'metrics on'] : ['metrics on', 'metrics off']
    for (const mode of order) {
      const mibs = await run(mode, chunk)
      results[mode].push(mibs)
      console.log(`run ${String(i + 1).padStart(2)}  ${mode.padEnd(11)} ${fmt(mibs)} MiB/s`)
    }
  }
  const on = median(results['metrics on'])
  const off = median(results['metrics off'])
  const ratio = on / off
  console.log()
  console.log(`median  metrics off ${fmt(off)} MiB/s`)
  console.log(`median  metrics on  ${fmt(on)} MiB/s`)
  console.log(`ratio   on / off    ${ratio.toFixed(3)}  (target ≥ ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'met' : 'NOT met'})`)
}
