/**
 * Shared by the fault, fuzz and load suites: handle accounting, a seeded PRNG, crash recording, and child processes
 * that speak JSON lines (commands on stdin, one JSON object per line on stdout).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { afterEach, beforeEach } from 'node:test'
import { fileURLToPath } from 'node:url'
import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import { waitFor } from '@tswarm/core/testing'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'

/** Handle kinds that keep a process alive: what must be back at the baseline once everything closed. */
const TRACKED = new Set(['TCPSocketWrap', 'TCPServerWrap', 'Timeout', 'ProcessWrap', 'PipeWrap', 'UDPWrap'])

export type HandleCounts = Record<string, number>

export function liveHandles (): HandleCounts {
  const counts: HandleCounts = {}
  for (const kind of process.getActiveResourcesInfo()) {
    if (TRACKED.has(kind)) counts[kind] = (counts[kind] ?? 0) + 1
  }
  return counts
}

function atOrBelow (now: HandleCounts, baseline: HandleCounts): boolean {
  return [...TRACKED].every(k => (now[k] ?? 0) <= (baseline[k] ?? 0))
}

/**
 * Waits for every tracked handle kind to be back at or below `baseline`. Closed sockets leave their handle list on
 * the next turns of the event loop, hence the wait rather than a single look.
 */
export async function expectHandlesAtBaseline (baseline: HandleCounts, timeoutMs = 5_000): Promise<void> {
  await waitFor(() => atOrBelow(liveHandles(), baseline),
    `handles to return to baseline ${JSON.stringify(baseline)} (now ${JSON.stringify(liveHandles())})`, timeoutMs, 20)
}

/** mulberry32: a tiny seeded PRNG, so a failing fuzz case can be reproduced from the printed seed. */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Runs `count` jobs with at most `limit` at once. */
export async function pool<T> (count: number, limit: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, count) }, async () => {
    while (next < count) {
      const i = next++
      results[i] = await job(i)
    }
  }))
  return results
}

/** The p-th percentile (0..100) of the values, nearest rank. */
export function percentile (values: readonly number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((x, y) => x - y)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))
  return sorted[rank]
}

/**
 * Records unhandled rejections and uncaught exceptions until `stop()`. While a listener is installed Node does not
 * crash on them, so the test can finish and report every one instead of dying on the first.
 */
function recordCrashes (): { stop: () => unknown[] } {
  const seen: unknown[] = []
  const onRejection = (reason: unknown): void => { seen.push(reason) }
  const onException = (err: unknown): void => { seen.push(err) }
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onException)
  return {
    stop: () => {
      process.off('unhandledRejection', onRejection)
      process.off('uncaughtException', onException)
      return seen
    }
  }
}

/**
 * Fails every test of the enclosing `describe` during which an unhandled rejection or uncaught exception happened;
 * checked after the test, so the test's own failure (if any) is not masked by this one.
 */
export function failOnCrashes (): void {
  let recording: { stop: () => unknown[] } | undefined
  beforeEach(() => { recording = recordCrashes() })
  afterEach(() => {
    const found = recording?.stop() ?? []
    recording = undefined
    assert.deepEqual(found.map(String), [], 'no unhandled rejection or uncaught exception')
  })
}

/**
 * A full garbage collection in this process. node:test starts test files without --expose-gc, so the flag is
 * switched on at run time and `gc` taken from a fresh context, where V8 then defines it.
 */
export function forceGc (): void {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as (() => void) | undefined
  if (typeof gc !== 'function') throw new Error('could not obtain gc()')
  gc()
  gc()
}

/** The compiled fixture script next to this file's compiled form: `dist/test/faults/fixtures/<name>.js`. */
export function fixturePath (name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url))
}

export interface PeerInfo {
  id: string
  addrs: string[]
}

export interface Message {
  type: string
  [key: string]: unknown
}

export interface SpawnOptions {
  /** Run inside this network namespace (`ip netns exec`). */
  netns?: string
  /** Extra node flags, e.g. --expose-gc. */
  nodeArgs?: string[]
}

/**
 * A fixture process. It prints JSON lines on stdout; `next(type)` waits for the next message of that type (messages
 * that arrived earlier are queued), `request` sends a command line and waits for its reply.
 */
export class Fixture {
  readonly child: ChildProcessWithoutNullStreams
  readonly #queue: Message[] = []
  readonly #waiters: Array<{ type: string, resolve: (m: Message) => void, reject: (e: Error) => void }> = []
  #stderr = ''
  #exited = false
  readonly exit: Promise<{ code: number | null, signal: NodeJS.Signals | null }>

  constructor (script: string, args: unknown, options: SpawnOptions = {}) {
    const nodeArgv = [...(options.nodeArgs ?? []), fixturePath(script), JSON.stringify(args)]
    // `ip netns exec` execs the command after entering the namespace, so the child's pid is node's own.
    this.child = options.netns === undefined
      ? spawn(process.execPath, nodeArgv, { stdio: 'pipe' })
      : spawn('ip', ['netns', 'exec', options.netns, process.execPath, ...nodeArgv], { stdio: 'pipe' })
    this.exit = once(this.child, 'exit').then(([code, signal]) => {
      this.#exited = true
      const err = new Error(`fixture ${script} exited (code ${String(code)}, signal ${String(signal)}); stderr:\n${this.#stderr.slice(-4000)}`)
      for (const w of this.#waiters.splice(0)) w.reject(err)
      return { code: code as number | null, signal: signal as NodeJS.Signals | null }
    })
    let pending = ''
    this.child.stdout.setEncoding('utf8')
    this.child.stdout.on('data', (chunk: string) => {
      pending += chunk
      let nl: number
      while ((nl = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, nl)
        pending = pending.slice(nl + 1)
        if (line.trim() === '') continue
        let msg: Message
        try {
          msg = JSON.parse(line) as Message
        } catch {
          this.#stderr += `(non-JSON stdout) ${line}\n`
          continue
        }
        this.#deliver(msg)
      }
    })
    this.child.stderr.setEncoding('utf8')
    this.child.stderr.on('data', (chunk: string) => { this.#stderr = (this.#stderr + chunk).slice(-64_000) })
    this.child.stdin.on('error', () => {}) // writing to a killed child must not crash the test
  }

  get stderr (): string {
    return this.#stderr
  }

  get exited (): boolean {
    return this.#exited
  }

  #deliver (msg: Message): void {
    const i = this.#waiters.findIndex(w => w.type === msg.type)
    if (i === -1) {
      this.#queue.push(msg)
      return
    }
    const [w] = this.#waiters.splice(i, 1)
    w.resolve(msg)
  }

  /** The next message of `type`; fails when the process exits first or after `timeoutMs`. */
  async next (type: string, timeoutMs = 30_000): Promise<Message> {
    const i = this.#queue.findIndex(m => m.type === type)
    if (i !== -1) return this.#queue.splice(i, 1)[0]
    if (this.#exited) throw new Error(`fixture exited before sending "${type}"; stderr:\n${this.#stderr.slice(-4000)}`)
    const { promise, resolve, reject } = Promise.withResolvers<Message>()
    const waiter = { type, resolve, reject }
    this.#waiters.push(waiter)
    const timer = setTimeout(() => {
      const at = this.#waiters.indexOf(waiter)
      if (at !== -1) this.#waiters.splice(at, 1)
      reject(new Error(`no "${type}" from the fixture within ${timeoutMs} ms; stderr:\n${this.#stderr.slice(-4000)}`))
    }, timeoutMs)
    try {
      return await promise
    } finally {
      clearTimeout(timer)
    }
  }

  send (command: Record<string, unknown>): void {
    this.child.stdin.write(JSON.stringify(command) + '\n')
  }

  async request (command: Record<string, unknown>, replyType: string, timeoutMs = 30_000): Promise<Message> {
    const reply = this.next(replyType, timeoutMs)
    this.send(command)
    return reply
  }

  /**
   * Asks the fixture to close everything and waits for it to exit on its own: it does not call process.exit, so it
   * only exits when its close left no handle behind. Kills it (and fails) when it does not exit in time.
   */
  async shutdown (timeoutMs = 10_000): Promise<Message> {
    const bye = await this.request({ cmd: 'exit' }, 'bye', timeoutMs)
    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, timeoutMs)
    try {
      const { code, signal } = await this.exit
      if (code !== 0) throw new Error(`fixture did not exit by itself after close (code ${String(code)}, signal ${String(signal)}): ${JSON.stringify(bye)}\n${this.#stderr.slice(-4000)}`)
    } finally {
      clearTimeout(timer)
      this.#release()
    }
    return bye
  }

  /** Kills the process if it still runs and waits for it to be gone, stdio pipes included. */
  async kill (): Promise<void> {
    if (!this.#exited) this.child.kill('SIGKILL')
    await this.exit
    this.#release()
  }

  /** The parent's ends of the stdio pipes stay open handles until destroyed. */
  #release (): void {
    this.child.stdin.destroy()
    this.child.stdout.destroy()
    this.child.stderr.destroy()
  }
}
