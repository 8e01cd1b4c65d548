/**
 * tswarm against the stock js-libp2p node (TCP + Noise + Yamux, and @chainsafe/libp2p-quic), each side in its own
 * processes: a listener process (fixtures/listener.js) and, per run, a fresh dialer process (fixtures/dialer.js),
 * both started here and spoken to with JSON lines. Runs alternate between the stacks (ABBA) so that drift on this
 * shared machine hits both alike; every table cell is the median of the runs and their range. The table is printed
 * and written to docs/benchmarks.md with the machine it was measured on (only when every part ran: a run of some
 * parts, `--parts`, prints its rows and leaves the file alone).
 */
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { cpus, release, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { version as libp2pVersion } from 'libp2p/version'
import { tcpRelay, udpRelay } from './fixtures/delay-relay.js'
import { CHUNK } from './fixtures/messages.js'
import type { Relay } from './fixtures/delay-relay.js'
import type { DialerJob, DialerResult, Direction, ListenerJob, PeerInfo, ReadyMessage, Stack, Transport } from './fixtures/messages.js'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { describe } from '@tswarm/core'

/** The parts `--parts` can pick, in the order they run; each names one or more sections of the table. */
export const SIDE_BY_SIDE_PARTS = ['throughput', 'connect', 'streams', 'idle', 'connect-rate', 'rtt'] as const
export type SideBySidePart = typeof SIDE_BY_SIDE_PARTS[number]

export interface SideBySideOptions {
  runs: number
  /** Run only these parts; all of them when absent. */
  parts?: readonly SideBySidePart[]
}

const MIB = 2 ** 20
const THROUGHPUT_BYTES = 256 * MIB
const WARMUP_BYTES = 32 * MIB
const CONNECTIONS = 100
const CONNECT_WARMUP = 5
/** Idle benchmark: 40 dialing nodes × 25 listening peers = 1 000 connections, one per (dialer, peer) pair. */
const IDLE_DIALERS = 40
const IDLE_PEERS = 25
/** Connection rate: one dialing node doing its loop alone, then this many loops at once against one listener. */
const RATE_CONCURRENCY = 50
const RATE_SEQUENTIAL_COUNT = 200
const RATE_SEQUENTIAL_WARMUP = 5
const RATE_CONCURRENT_COUNT = 1000
const RATE_CONCURRENT_WARMUP = 1
/** One connection in the rate loops taking longer than this is an error (the stacks' own dial timeouts are 10-15 s). */
const RATE_CONNECTION_CAP_MS = 20_000
/** Round trips: the relay's delay each way (RTT = 2 ×), and the connections per run through it. */
const RELAY_DELAY_MS = 25
const RTT_MS = 2 * RELAY_DELAY_MS
const RTT_CONNECTIONS = 15
const RTT_WARMUP = 2
/** Caps on each child: a run over these is a hang, and its process is killed. */
const READY_CAP_MS = 60_000
const RUN_CAP_MS = 180_000
const STOP_CAP_MS = 20_000

const LISTENER = fileURLToPath(new URL('./fixtures/listener.js', import.meta.url))
const DIALER = fileURLToPath(new URL('./fixtures/dialer.js', import.meta.url))
const DOC = fileURLToPath(new URL('../../../docs/benchmarks.md', import.meta.url))

/** A child process with its stdout split into JSON lines and its stderr kept for error messages. */
class Child {
  readonly proc: ChildProcessWithoutNullStreams
  readonly exited: Promise<number | null>
  #stderr = ''
  #lines: unknown[] = []
  #waiters: Array<() => void> = []

  constructor (script: string, job: ListenerJob | DialerJob) {
    this.proc = spawn(process.execPath, ['--expose-gc', script, JSON.stringify(job)], { stdio: ['pipe', 'pipe', 'pipe'] })
    let buffered = ''
    this.proc.stdout.setEncoding('utf8').on('data', (text: string) => {
      buffered += text
      let nl
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        if (line.trim() !== '') this.#lines.push(JSON.parse(line))
        this.#wake()
      }
    })
    // Kept (bounded) for the error message; not echoed, so a noisy library cannot garble the table.
    this.proc.stderr.setEncoding('utf8').on('data', (text: string) => { this.#stderr = (this.#stderr + text).slice(-4000) })
    this.exited = new Promise(resolve => {
      this.proc.on('exit', code => { this.#wake(); resolve(code) })
      this.proc.on('error', () => { this.#wake(); resolve(null) })
    })
  }

  #wake (): void {
    for (const w of this.#waiters.splice(0)) w()
  }

  /** The next JSON line, or an error naming the child's stderr when it exits first or the cap passes. */
  async next<T> (capMs: number, what: string): Promise<T> {
    const deadline = Date.now() + capMs
    while (this.#lines.length === 0) {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
        throw new Error(`${what}: the process exited (${this.proc.exitCode ?? this.proc.signalCode}) without a result\n${this.#stderr}`)
      }
      const left = deadline - Date.now()
      if (left <= 0) {
        this.kill()
        throw new Error(`${what}: no result within ${capMs} ms (killed)\n${this.#stderr}`)
      }
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
    return this.#lines.shift() as T
  }

  /** Waits for the exit and checks the code; kills the process if it does not exit in time. */
  async done (what: string): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const code = await Promise.race([
      this.exited,
      new Promise<'timeout'>(resolve => { timer = setTimeout(() => { resolve('timeout') }, STOP_CAP_MS) })
    ])
    clearTimeout(timer)
    if (code === 'timeout') {
      this.kill()
      throw new Error(`${what}: did not exit within ${STOP_CAP_MS} ms (killed)\n${this.#stderr}`)
    }
    if (code !== 0) throw new Error(`${what}: exit code ${code}\n${this.#stderr}`)
  }

  kill (): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL')
  }
}

/**
 * Starts a listener process, runs one dialer process against it, stops both; returns the dialer's result. With
 * `relay`, a delaying relay (fixtures/delay-relay.ts, in this process) sits in front of the first listening peer
 * and the dialer gets the relay's address for it in place of the listener's.
 */
async function runPair<R extends DialerResult> (listenerJob: ListenerJob, makeJob: (peers: PeerInfo[]) => DialerJob, relay?: { transport: Transport, delayMs: number }): Promise<R> {
  const listener = new Child(LISTENER, listenerJob)
  let dialer: Child | undefined
  let relaying: Relay | undefined
  try {
    const ready = await listener.next<ReadyMessage>(READY_CAP_MS, `${listenerJob.stack} listener`)
    let peers = ready.peers
    if (relay !== undefined) {
      const [first, ...rest] = peers
      const addr = first[relay.transport]
      if (addr === undefined) throw new Error(`the ${listenerJob.stack} listener has no ${relay.transport} address`)
      relaying = relay.transport === 'tcp' ? await tcpRelay(addr, relay.delayMs) : await udpRelay(addr, relay.delayMs)
      peers = [{ ...first, [relay.transport]: relaying.addr }, ...rest]
    }
    const job = makeJob(peers)
    dialer = new Child(DIALER, job)
    const result = await dialer.next<R>(RUN_CAP_MS, `${job.stack} ${job.kind} dialer`)
    await dialer.done(`${job.stack} ${job.kind} dialer`)
    if (relaying !== undefined && relaying.clients() === 0) throw new Error(`the ${job.stack} dialer did not go through the relay`)
    listener.proc.stdin.end()
    await listener.done(`${listenerJob.stack} listener`)
    return result
  } finally {
    // Whatever happened above, no child outlives its run, and the relay closes with it.
    dialer?.kill()
    listener.kill()
    await relaying?.close()
  }
}

// ---- statistics ----

function median (xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

function quantile (xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]
}

// ---- the measurements ----

/** One row of the table: a value per run for each stack. */
interface Row {
  metric: string
  unit: string
  /** Whether bigger is better (throughput) or smaller (time, memory). */
  higherIsBetter: boolean
  tswarm: number[]
  stock: number[]
  /** Raw Node TCP, where it applies. */
  raw?: number[]
  /** Target for tswarm / stock. */
  target?: number
  /** Target for tswarm's own median, in the row's unit (round trips). */
  absoluteTarget?: number
  digits: number
}

type Progress = (line: string) => void

/** The ABBA order for run i: neither stack always goes first. */
function order<T> (i: number, a: T, b: T): [T, T] {
  return i % 2 === 0 ? [a, b] : [b, a]
}

async function throughputRows (runs: number, transport: Transport, streams: number, direction: Direction, withRaw: boolean,
  target: number | undefined, log: Progress): Promise<Row> {
  const row: Row = {
    metric: `${transport.toUpperCase()} ${streams === 1 ? 'single stream' : `${streams} streams`}, ${direction === 'up' ? 'upload' : 'download'}`,
    unit: 'MiB/s',
    higherIsBetter: true,
    tswarm: [],
    stock: [],
    raw: withRaw ? [] : undefined,
    target,
    digits: 0
  }
  for (let i = 0; i < runs; i++) {
    const stacks: Stack[] = [...order<Stack>(i, 'tswarm', 'stock'), ...(withRaw ? ['raw' as const] : [])]
    const line: string[] = []
    for (const stack of stacks) {
      const rawReply = direction === 'up' ? 'count' : 'source'
      const r = await runPair<DialerResult>({ stack, nodes: 1, transports: [transport], rawReply }, peers => ({
        kind: 'throughput', stack, transport, target: peers[0], bytes: THROUGHPUT_BYTES, streams, direction, warmupBytes: WARMUP_BYTES
      }))
      if (r.type !== 'throughput') throw new Error(`expected a throughput result, got ${r.type}`)
      const mibs = r.bytes / MIB / r.seconds
      const list = stack === 'raw' ? row.raw : row[stack]
      list?.push(mibs)
      line.push(`${stack} ${mibs.toFixed(0)} MiB/s (${(r.cpuMs / (r.bytes / MIB)).toFixed(1)} ms CPU/MiB)`)
    }
    log(`  ${row.metric} run ${i + 1}/${runs}: ${line.join(', ')}`)
  }
  return row
}

async function connectRows (runs: number, transport: Transport, target: number, log: Progress): Promise<Row[]> {
  const med: Row = { metric: `${transport.toUpperCase()} connect + 1-byte RTT, median`, unit: 'ms', higherIsBetter: false, tswarm: [], stock: [], target, digits: 2 }
  const p90: Row = { metric: `${transport.toUpperCase()} connect + 1-byte RTT, p90`, unit: 'ms', higherIsBetter: false, tswarm: [], stock: [], digits: 2 }
  for (let i = 0; i < runs; i++) {
    const line: string[] = []
    for (const stack of order<Stack>(i, 'tswarm', 'stock')) {
      const r = await runPair<DialerResult>({ stack, nodes: 1, transports: [transport] }, peers => ({
        kind: 'connect', stack, transport, target: peers[0], count: CONNECTIONS, warmup: CONNECT_WARMUP
      }))
      if (r.type !== 'connect') throw new Error(`expected a connect result, got ${r.type}`)
      if (stack === 'raw') continue
      med[stack].push(median(r.ms))
      p90[stack].push(quantile(r.ms, 0.9))
      line.push(`${stack} median ${median(r.ms).toFixed(2)} ms p90 ${quantile(r.ms, 0.9).toFixed(2)} ms`)
    }
    log(`  ${transport} connect run ${i + 1}/${runs} (${CONNECTIONS} connections each): ${line.join(', ')}`)
  }
  return [med, p90]
}

async function connectRateRows (runs: number, transport: Transport, log: Progress): Promise<Row[]> {
  const name = transport.toUpperCase()
  const sequential: Row = { metric: `${name} connections per second, sequential`, unit: 'conn/s', higherIsBetter: true, tswarm: [], stock: [], digits: 0 }
  const concurrent: Row = { metric: `${name} connections per second, ${RATE_CONCURRENCY} concurrent`, unit: 'conn/s', higherIsBetter: true, tswarm: [], stock: [], target: 4, digits: 0 }
  const modes: Array<[Row, number, number, number]> = [
    [sequential, 1, RATE_SEQUENTIAL_COUNT, RATE_SEQUENTIAL_WARMUP],
    [concurrent, RATE_CONCURRENCY, RATE_CONCURRENT_COUNT, RATE_CONCURRENT_WARMUP]
  ]
  for (let i = 0; i < runs; i++) {
    const line: string[] = []
    for (const stack of order<Stack>(i, 'tswarm', 'stock')) {
      if (stack === 'raw') continue
      const rates: string[] = []
      for (const [row, dialers, count, warmup] of modes) {
        const r = await runPair<DialerResult>({ stack, nodes: 1, transports: [transport] }, peers => ({
          kind: 'connect-rate', stack, transport, target: peers[0], dialers, count, warmupPerDialer: warmup, capMs: RATE_CONNECTION_CAP_MS
        }))
        if (r.type !== 'connect-rate') throw new Error(`expected a connect-rate result, got ${r.type}`)
        // A run with errors is a failure, not a slower figure: nothing of it goes into the table.
        if (r.errors > 0 || r.completed !== count || r.open !== 0) {
          throw new Error(`${stack} ${transport} at concurrency ${dialers}: ${r.completed}/${count} connections completed, ${r.errors} errors, ${r.open} left open${r.firstErrors.length > 0 ? `; first errors: ${r.firstErrors.join(' | ')}` : ''}`)
        }
        const rate = r.completed / r.seconds
        row[stack].push(rate)
        rates.push(`${rate.toFixed(0)} conn/s at c=${dialers} (${r.completed} in ${r.seconds.toFixed(2)} s)`)
      }
      line.push(`${stack} ${rates.join(', ')}`)
    }
    log(`  ${transport} connect rate run ${i + 1}/${runs}, 0 errors: ${line.join('; ')}`)
  }
  return [sequential, concurrent]
}

async function rttRow (runs: number, transport: Transport, target: number, log: Progress): Promise<Row> {
  const row: Row = {
    metric: `${transport.toUpperCase()} round trips to first byte (RTT ${RTT_MS} ms)`,
    unit: 'RTT',
    higherIsBetter: false,
    tswarm: [],
    stock: [],
    raw: transport === 'tcp' ? [] : undefined,
    absoluteTarget: target,
    digits: 0
  }
  for (let i = 0; i < runs; i++) {
    const stacks: Stack[] = [...order<Stack>(i, 'tswarm', 'stock'), ...(transport === 'tcp' ? ['raw' as const] : [])]
    const line: string[] = []
    for (const stack of stacks) {
      // raw Node TCP has no protocols: its listener echoes every socket in this part
      const r = await runPair<DialerResult>({ stack, nodes: 1, transports: [transport], rawReply: 'echo' }, peers => ({
        kind: 'connect', stack, transport, target: peers[0], count: RTT_CONNECTIONS, warmup: RTT_WARMUP
      }), { transport, delayMs: RELAY_DELAY_MS })
      if (r.type !== 'connect') throw new Error(`expected a connect result, got ${r.type}`)
      const ms = median(r.ms)
      const list = stack === 'raw' ? row.raw : row[stack]
      // N round trips take N × RTT plus the stacks' own work and the relay's timer slack, both far under one RTT here
      list?.push(Math.floor(ms / RTT_MS))
      line.push(`${stack} ${(ms / RTT_MS).toFixed(1)} RTT (median ${ms.toFixed(1)} ms, ${Math.min(...r.ms).toFixed(1)}–${Math.max(...r.ms).toFixed(1)})`)
    }
    log(`  ${transport} round trips run ${i + 1}/${runs} (${RTT_CONNECTIONS} connections each through the relay): ${line.join(', ')}`)
  }
  return row
}

async function idleRows (runs: number, log: Progress): Promise<Row[]> {
  const rss: Row = { metric: 'RSS per idle TCP connection (dialer)', unit: 'KiB', higherIsBetter: false, tswarm: [], stock: [], target: 0.6, digits: 1 }
  const heap: Row = { metric: 'JS heap per idle TCP connection (dialer)', unit: 'KiB', higherIsBetter: false, tswarm: [], stock: [], target: 0.6, digits: 1 }
  for (let i = 0; i < runs; i++) {
    const line: string[] = []
    for (const stack of order<Stack>(i, 'tswarm', 'stock')) {
      const r = await runPair<DialerResult>({ stack, nodes: IDLE_PEERS, transports: ['tcp'] }, peers => ({
        kind: 'idle', stack, targets: peers, dialers: IDLE_DIALERS
      }))
      if (r.type !== 'idle') throw new Error(`expected an idle result, got ${r.type}`)
      if (stack === 'raw') continue
      if (r.connections !== IDLE_DIALERS * IDLE_PEERS) throw new Error(`${stack} held ${r.connections} connections, not ${IDLE_DIALERS * IDLE_PEERS}`)
      rss[stack].push((r.rssAfter - r.rssBefore) / r.connections / 1024)
      heap[stack].push((r.heapAfter - r.heapBefore) / r.connections / 1024)
      line.push(`${stack} RSS ${rss[stack].at(-1)?.toFixed(1)} KiB heap ${heap[stack].at(-1)?.toFixed(1)} KiB per connection`)
    }
    log(`  idle run ${i + 1}/${runs} (${IDLE_DIALERS * IDLE_PEERS} connections): ${line.join(', ')}`)
  }
  return [rss, heap]
}

// ---- output ----

function cell (xs: readonly number[] | undefined, digits: number): string {
  if (xs === undefined || xs.length === 0) return '-'
  const s = [...xs].sort((a, b) => a - b)
  return `${median(s).toFixed(digits)} (${s[0].toFixed(digits)}–${s[s.length - 1].toFixed(digits)})`
}

function verdict (row: Row, ratio: number): string {
  const sign = row.higherIsBetter ? '≥' : '≤'
  const meets = (value: number, target: number): string => (row.higherIsBetter ? value >= target : value <= target) ? 'met' : '**not met**'
  if (row.absoluteTarget !== undefined) return `${sign} ${row.absoluteTarget} ${row.unit} ${meets(median(row.tswarm), row.absoluteTarget)}`
  if (row.target === undefined) return '-'
  return `${sign} ${row.target}× ${meets(ratio, row.target)}`
}

function table (rows: Row[]): string {
  const header = ['metric', 'unit', 'tswarm median (range)', 'js-libp2p median (range)', 'tswarm / stock', 'target', 'raw Node TCP']
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`]
  for (const r of rows) {
    const ratio = median(r.tswarm) / median(r.stock)
    lines.push(`| ${[r.metric, r.unit, cell(r.tswarm, r.digits), cell(r.stock, r.digits), `${ratio.toFixed(2)}×`, verdict(r, ratio), cell(r.raw, r.digits)].join(' | ')} |`)
  }
  return lines.join('\n')
}

function machine (): string {
  const cpu = cpus()
  return `${cpu[0]?.model.trim() ?? 'unknown CPU'} × ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, Linux ${release()}`
}

function document (rows: Row[], runs: number, skipped: string[], log: string[]): string {
  return `# Benchmarks: tswarm vs stock js-libp2p

Measured ${new Date().toISOString().slice(0, 10)} on ${machine()} (shared machine), with js-libp2p ${libp2pVersion}.
Regenerate with \`node benchmarks/dist/src/index.js --only side-by-side --runs ${runs}\` after a build; this file
is written by that run.

${table(rows)}

Cells are the median of ${runs} runs per stack and, in parentheses, the lowest and highest run. "tswarm / stock" is
the ratio of the medians; the targets are issue #10's (throughput and connections per second: tswarm at least that
many times stock; time and memory: tswarm at most that fraction of stock; round trips: tswarm's own median at most
that many).${skipped.length > 0 ? `\n\nNot measured in this run: ${skipped.join('; ')}.` : ''}

## How measured

- **Processes.** Every run starts a fresh listener process and a fresh dialer process (\`benchmarks/src/fixtures/\`),
  so the two ends never share a CPU-bound event loop and nothing carries over between runs. Runs alternate between
  the stacks (tswarm first in even runs, stock first in odd ones). Loopback only (127.0.0.1).
- **Stacks.** tswarm listens with its host, the counterpart of a stock libp2p node: \`createHost({ modules:
  [resourceLimits(…), tcp(), quic()], host: { identify: { runOnConnect: false } } })\` and \`handle()\` (stream
  limits 256). It dials with the plain swarm (\`createSwarm\`, \`newStream(peer, { protocols })\`, protocol
  negotiated before the stream is returned) for throughput and idle connections, and with a host of the same options
  (\`host.newStream(peer, [protocol])\`) for connection establishment, connections per second and round trips. Stock:
  \`createLibp2p({ transports: [tcp(), quic()], connectionEncrypters: [noise()], streamMuxers: [yamux()],
  connectionManager: { maxConnections: 2000, inboundConnectionThreshold: 10000, maxIncomingPendingConnections: 1000 }
  })\`, \`handle()\` (stream limits 256) and \`dialProtocol\`. Identify runs on neither stack (the stock node has
  no identify service). QUIC on both sides is the same quinn addon (\`@chainsafe/libp2p-quic\`); over TCP both
  negotiate Noise and Yamux. Each dialer process holds only the transport under test.
- **Protocols.** \`/bench-sink/1.0.0\` (upload): the listener reads the stream to its end and replies with the
  byte count. \`/bench-source/1.0.0\` (download): the dialer writes the byte count it wants and ends its side; the
  listener writes that many bytes in ${CHUNK / 1024} KiB writes and ends. \`/bench-echo/1.0.0\` (connection establishment, connections per second, round trips): the listener
  writes each chunk back as it arrives, and ends its side when the dialer ends.
- **Throughput.** ${THROUGHPUT_BYTES / MIB} MiB per run in ${CHUNK / 1024} KiB writes, upload (the dialer writes to
  the sink) or download (the dialer reads from the source), after an untimed ${WARMUP_BYTES / MIB} MiB warm-up the
  same way on the same connection. Streams are opened and negotiated before the clock starts; the clock stops when
  every stream's byte count has come back (upload) or every stream has ended (download). With 8 or 64 streams
  (upload) the total is the same ${THROUGHPUT_BYTES / MIB} MiB, split evenly. "raw Node TCP" is one \`net\` socket
  doing the same (writes, end, count back; or asks, then reads to the end): the limit of this loopback for one
  connection from Node.
- **Connection establishment.** ${CONNECTIONS} fresh connections per run (after ${CONNECT_WARMUP} untimed ones),
  one at a time: dial + security + muxer (TCP: Noise + Yamux; QUIC: its TLS) + first stream on
  \`/bench-echo/1.0.0\` + 1 byte written and the same byte read back (the first byte; the stream is not ended).
  The clock stops there; the connection is then closed, untimed, before the next dial. tswarm's host selects the
  single protocol optimistically: the multistream-select proposal travels with the byte and the confirmation comes
  back with the echo, so the stream costs no round trip of its own. The stock node negotiates fully, as js-libp2p 3
  does (\`dialProtocol\` returns once the listener confirmed the protocol; the byte goes after). Per run the median
  and p90 are taken; the table shows the median of those across runs.
- **Idle connections.** ${IDLE_DIALERS} dialing nodes in one process each connect over TCP to each of
  ${IDLE_PEERS} listening peers in the listener's process: ${IDLE_DIALERS * IDLE_PEERS} connections. One dialer
  cannot hold 1 000 connections to one peer on either stack (\`dialPeer\`/\`dial\` reuse an open connection to
  the same peer, so raising tswarm's \`connectionsPerPeer\` would not help), hence the grid of distinct peers. The
  dialing nodes are created before the first measurement, so the figure is per connection, not per node: (after −
  before) / ${IDLE_DIALERS * IDLE_PEERS}, each taken after two \`gc()\` calls (\`--expose-gc\`) 500 ms apart.
  No connection limit is near: at most ${IDLE_DIALERS} connections per listening node, ${IDLE_PEERS} per dialing one.
- **Connections per second.** The connection-establishment steps above (dial through first byte back, then close),
  in loops against one listening node. Sequential: one dialing node, ${RATE_SEQUENTIAL_COUNT} connections one after
  the other (after ${RATE_SEQUENTIAL_WARMUP} untimed ones). ${RATE_CONCURRENCY} concurrent: ${RATE_CONCURRENCY}
  dialing nodes in one process, each running its own loop (one connection at a time), sharing
  ${RATE_CONCURRENT_COUNT} connections between them (after ${RATE_CONCURRENT_WARMUP} untimed one per node), so
  ${RATE_CONCURRENCY} connections are being set up or closed at any moment until the last few. Distinct dialing
  nodes because both stacks reuse an open connection to the same peer instead of dialing a second one. The figure
  is completed connections / wall seconds of the timed part, close included. Every connection must come back with
  its byte and be closed (the dialing node's connection count back to 0); a connection that fails or takes over
  ${RATE_CONNECTION_CAP_MS / 1000} s is counted as an error, and a run with any error fails the section instead of
  being averaged. Limits: the stock listener's connection manager (above) admits ${RATE_CONCURRENCY} pending inbound
  connections with room to spare (its default of 10 pending and 5 per second per host would refuse most of them;
  every connection here comes from 127.0.0.1); tswarm's defaults allow 512 inbound connections, and each dialing
  node holds at most one connection to the peer at a time (plus one still closing), under \`connectionsPerPeer\` 64.
- **Round trips to first byte.** The connection-establishment steps, ${RTT_CONNECTIONS} connections per run (after
  ${RTT_WARMUP} untimed ones), through a loopback relay in the orchestrating process
  (\`benchmarks/src/fixtures/delay-relay.ts\`) that delays every TCP chunk or UDP datagram by ${RELAY_DELAY_MS} ms each
  way (RTT ${RTT_MS} ms), in order. The dialer dials the relay's address with the listener's \`/p2p\` id, so
  neither stack knows about it. UDP: one relay socket towards the listener per client address and port. TCP: the
  kernel answers the SYN at once, which a user-space relay cannot delay, so the relay plays the handshake: it
  connects to the listener only ${3 * RELAY_DELAY_MS} ms (SYN, SYN-ACK, ACK) after accepting, and forwards nothing
  the client sent before then; the client's own work before its first write is hidden under that wait, which is
  small against the RTT. The figure is the whole number of round trips, ⌊median connect time / ${RTT_MS} ms⌋: what
  is left over is the stacks' own work and the relay's timer slack, a few ms each (the log shows the exact quotient). "raw Node TCP" is a \`net\`
  connect + 1 byte written and echoed back through the same relay: 2 round trips (handshake, data) plus the
  relay's timer slack, the yardstick for the others. Published figures for a libp2p connect-to-first-byte:
  js-libp2p over TCP 6.6 round trips, go-libp2p 5, rust-libp2p 3; the issue's targets are 3 over TCP + Noise and
  2 over QUIC.

## Run log

\`\`\`
${log.join('\n')}
\`\`\`
`
}

/** Marks the start of the hand-written part of docs/benchmarks.md (the record of changes), which a run keeps. */
const KEPT_MARKER = '<!-- written by hand below this line; a benchmark run keeps it -->'

/** The hand-written part of the current document, from its marker on, or nothing. */
async function keptSection (): Promise<string> {
  let current: string
  try {
    current = await readFile(DOC, 'utf8')
  } catch {
    return ''
  }
  const at = current.indexOf(KEPT_MARKER)
  return at === -1 ? '' : `\n${current.slice(at)}`
}

export async function sideBySide (options: SideBySideOptions): Promise<void> {
  const runs = options.runs
  const parts = options.parts ?? SIDE_BY_SIDE_PARTS
  const log: string[] = []
  const progress: Progress = line => { log.push(line); console.log(line) }
  progress(`machine: ${machine()}; js-libp2p ${libp2pVersion}; ${runs} runs per stack, ABBA order`)
  const rows: Row[] = []
  const skipped: string[] = []
  // Priority order from the issue. A failed section is reported as skipped rather than hiding the rows already
  // measured, and the sections after it still run.
  const sections: Array<[SideBySidePart, string, () => Promise<Row[]>]> = [
    ['throughput', 'TCP single-stream throughput', async () => [
      await throughputRows(runs, 'tcp', 1, 'up', true, 2.0, progress),
      await throughputRows(runs, 'tcp', 1, 'down', true, 2.0, progress)
    ]],
    ['throughput', 'QUIC single-stream throughput', async () => [
      await throughputRows(runs, 'quic', 1, 'up', false, 1.5, progress),
      await throughputRows(runs, 'quic', 1, 'down', false, 1.5, progress)
    ]],
    ['connect', 'TCP connection establishment', async () => connectRows(runs, 'tcp', 0.3, progress)],
    ['connect', 'QUIC connection establishment', async () => connectRows(runs, 'quic', 0.5, progress)],
    ['streams', 'TCP 8 streams throughput', async () => [await throughputRows(runs, 'tcp', 8, 'up', false, undefined, progress)]],
    ['streams', 'TCP 64 streams throughput', async () => [await throughputRows(runs, 'tcp', 64, 'up', false, 2.0, progress)]],
    ['streams', 'QUIC 8 streams throughput', async () => [await throughputRows(runs, 'quic', 8, 'up', false, undefined, progress)]],
    ['streams', 'QUIC 64 streams throughput', async () => [await throughputRows(runs, 'quic', 64, 'up', false, 1.5, progress)]],
    ['idle', 'idle connection memory', async () => idleRows(runs, progress)],
    ['connect-rate', 'TCP connections per second', async () => connectRateRows(runs, 'tcp', progress)],
    ['connect-rate', 'QUIC connections per second', async () => connectRateRows(runs, 'quic', progress)],
    ['rtt', 'TCP round trips to first byte', async () => [await rttRow(runs, 'tcp', 3, progress)]],
    ['rtt', 'QUIC round trips to first byte', async () => [await rttRow(runs, 'quic', 2, progress)]]
  ]
  for (const [part, name, section] of sections) {
    if (!parts.includes(part)) continue
    const start = performance.now()
    try {
      rows.push(...await section())
    } catch (err) {
      const message = describe(err)
      progress(`${name} failed: ${message}`)
      skipped.push(`${name} (failed: ${message.split('\n')[0]})`)
      process.exitCode = 1
    }
    progress(`  (${name}: ${((performance.now() - start) / 1000).toFixed(0)} s)`)
  }
  console.log()
  console.log(table(rows))
  console.log()
  if (parts.length < SIDE_BY_SIDE_PARTS.length) {
    // The file holds whole runs only: a partial one would drop the other rows from it.
    console.log(`only ${parts.join(', ')} measured: ${DOC} left as it was`)
    return
  }
  await writeFile(DOC, document(rows, runs, skipped, log) + await keptSection())
  console.log(`written to ${DOC}`)
}
