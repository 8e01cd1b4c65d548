/**
 * Runs every benchmark in this folder, one after the other (so they do not compete for the CPU), and prints their
 * results. `npm run bench -- --runs N` sets how many timed runs each benchmark makes; `--only NAME` runs one;
 * `--parts A,B` runs only those parts of side-by-side (and implies `--only side-by-side`).
 */
import { cpus, platform, release, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { dialDeadLive } from './dial-dead-live.js'
import { metricsOverhead } from './metrics-overhead.js'
import { SIDE_BY_SIDE_PARTS, sideBySide } from './side-by-side.js'
import type { SideBySidePart } from './side-by-side.js'
import { describe } from '@tswarm/core'

interface BenchmarkOptions {
  runs: number
  /** Run only the benchmark of this name. */
  only?: string
  /** side-by-side only: run just these of its parts. */
  parts?: SideBySidePart[]
}

interface Benchmark {
  name: string
  /** One line saying what it measures, printed above its results. */
  description: string
  run(options: BenchmarkOptions): Promise<void>
}

// Add new benchmarks here.
const benchmarks: Benchmark[] = [
  {
    name: 'dial-dead-live',
    description: 'time to connect to a peer that advertises one dead address and one live one, tswarm vs js-libp2p',
    run: dialDeadLive
  },
  {
    name: 'metrics-overhead',
    description: 'single-stream TCP throughput with @tswarm/metrics on vs off (target: on >= 0.95 x off)',
    run: metricsOverhead
  },
  {
    name: 'side-by-side',
    description: 'tswarm vs stock js-libp2p in separate processes: throughput, connection setup, idle memory, connections per second, round trips; writes docs/benchmarks.md',
    run: sideBySide
  }
]

const DEFAULT_RUNS = 5
/** More than this would take hours with a stock node that spends ~6 s per run: almost surely a typo. */
const MAX_RUNS = 100

function parseOptions (): BenchmarkOptions {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, only: { type: 'string' }, parts: { type: 'string' } }, strict: true })
  const runs = values.runs === undefined ? DEFAULT_RUNS : Number(values.runs)
  if (!Number.isInteger(runs) || runs < 1 || runs > MAX_RUNS) {
    throw new Error(`--runs takes a whole number from 1 to ${MAX_RUNS}, not ${values.runs ?? ''}`)
  }
  if (values.only !== undefined && !benchmarks.some(b => b.name === values.only)) {
    throw new Error(`--only takes one of ${benchmarks.map(b => b.name).join(', ')}, not ${values.only}`)
  }
  if (values.parts === undefined) return { runs, only: values.only }
  if (values.only !== undefined && values.only !== 'side-by-side') throw new Error('--parts picks parts of side-by-side only')
  const parts = values.parts.split(',').map(p => p.trim())
  const unknown = parts.filter(p => !(SIDE_BY_SIDE_PARTS as readonly string[]).includes(p))
  if (parts.length === 0 || unknown.length > 0) {
    throw new Error(`--parts takes a comma-separated list of ${SIDE_BY_SIDE_PARTS.join(', ')}, not ${values.parts}`)
  }
  return { runs, only: 'side-by-side', parts: parts as SideBySidePart[] }
}

/** One line so that results pasted elsewhere say what machine they came from. */
function machine (): string {
  const cpu = cpus()
  const gib = (totalmem() / 2 ** 30).toFixed(1)
  return `${cpu[0]?.model.trim() ?? 'unknown CPU'} × ${cpu.length}, ${gib} GiB, Node ${process.version}, ${platform()} ${release()}`
}

async function main (): Promise<void> {
  const options = parseOptions()
  console.log(`machine: ${machine()}`)
  console.log(`runs:    ${options.runs} per dialer`)
  for (const b of benchmarks.filter(b => options.only === undefined || b.name === options.only)) {
    console.log()
    console.log(`== ${b.name}: ${b.description}`)
    console.log()
    const start = performance.now()
    try {
      await b.run(options)
    } catch (err) {
      // One broken benchmark should not hide the others' results; the exit code still says something failed.
      console.error(`${b.name} failed:`, err)
      process.exitCode = 1
    }
    console.log(`(${b.name} took ${((performance.now() - start) / 1000).toFixed(1)} s)`)
  }
}

try {
  await main()
} catch (err) {
  // Only a bad command line gets here (benchmark failures are caught above): the message says enough.
  console.error(describe(err))
  process.exitCode = 1
}
