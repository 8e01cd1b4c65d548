/**
 * The driving side of the interop peer control protocol (interop/PROTOCOL.md): starts a peer program as a child
 * process, sends it commands and matches the answers, collects its events, and stops it without leaving it behind.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { SwarmError } from '@tswarm/core'
import { Mailbox } from './mailbox.js'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'

/** What a peer prints once it listens. */
export interface PeerReady {
  peerId: string
  addrs: string[]
  agentVersion: string
  protocolVersion: string
  protocols: string[]
  implementation: string
  version: string
}

/** An unsolicited line from a peer (`stream-end`, …). */
export type PeerEvent = Record<string, unknown> & { event: string }

/** A peer program and how to start it. */
export interface PeerCommand {
  /** e.g. `go-libp2p`. */
  name: string
  file: string
  args: readonly string[]
}

/** A peer program failed to start, answered `ok: false`, timed out or went away. */
export class InteropPeerError extends SwarmError {
  override readonly name: string = 'InteropPeerError'
  constructor (readonly peer: string, message: string, options?: ErrorOptions) {
    super(`${peer}: ${message}`, options)
  }
}

const STDERR_TAIL = 40

interface Pending {
  cmd: string
  resolve: (answer: Record<string, unknown>) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

export class PeerProcess {
  readonly name: string
  readonly #child: ChildProcessWithoutNullStreams
  readonly #pending = new Map<number, Pending>()
  readonly #events = new Mailbox<PeerEvent>()
  readonly #stderr: string[] = []
  readonly #exited: Promise<number | null>
  #nextId = 1
  #exitCode: number | null | undefined
  #ready?: PeerReady

  private constructor (command: PeerCommand, extraArgs: readonly string[]) {
    this.name = command.name
    this.#child = spawn(command.file, [...command.args, ...extraArgs], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.#exited = new Promise(resolve => {
      this.#child.once('exit', code => {
        this.#exitCode = code
        const err = new InteropPeerError(this.name, `exited (code ${String(code)}) with commands unanswered; its last output:\n${this.stderrTail()}`)
        for (const p of this.#pending.values()) {
          clearTimeout(p.timer)
          p.reject(err)
        }
        this.#pending.clear()
        this.#events.wake()
        resolve(code)
      })
    })
    // A peer that cannot be started (no such file) reports here, not as an exit.
    this.#child.once('error', err => { this.#stderr.push(`spawn failed: ${err.message}`) })
    createInterface({ input: this.#child.stderr, crlfDelay: Infinity }).on('line', line => {
      this.#stderr.push(line)
      if (this.#stderr.length > STDERR_TAIL) this.#stderr.shift()
    })
    createInterface({ input: this.#child.stdout, crlfDelay: Infinity }).on('line', line => { this.#onLine(line) })
    // Our end of its standard input may break if it dies; that shows as its exit, not as an error here.
    this.#child.stdin.on('error', () => {})
  }

  /** Starts a peer and waits for its `ready` line. */
  static async start (command: PeerCommand, args: readonly string[] = [], readyTimeoutMs = 30_000): Promise<PeerProcess> {
    const peer = new PeerProcess(command, args)
    try {
      await peer.waitEvent(e => e.event === 'ready', readyTimeoutMs, 'its ready line')
    } catch (err) {
      await peer.stop()
      throw err
    }
    return peer
  }

  get ready (): PeerReady {
    if (this.#ready === undefined) throw new InteropPeerError(this.name, 'not ready yet')
    return this.#ready
  }

  /** Sends a command and resolves with its answer; rejects with the peer's own message when it says `ok: false`. */
  async request<T extends Record<string, unknown> = Record<string, unknown>> (cmd: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    if (this.#exitCode !== undefined) throw new InteropPeerError(this.name, `has exited (code ${String(this.#exitCode)}); cannot run ${cmd}`)
    const id = this.#nextId++
    // The peer bounds the command itself; our own bound is a little longer so its answer, when it has one, wins.
    const answer = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new InteropPeerError(this.name, `no answer to ${cmd} within ${timeoutMs + 5000} ms; its last output:\n${this.stderrTail()}`))
      }, timeoutMs + 5000)
      this.#pending.set(id, { cmd, resolve, reject, timer })
      this.#child.stdin.write(`${JSON.stringify({ id, cmd, timeoutMs, ...args })}\n`)
    })
    if (answer.ok !== true) throw new InteropPeerError(this.name, `${cmd} failed: ${String(answer.error)}`)
    return answer as T
  }

  /** Sends a raw line (for tests of the peer's own input handling). */
  writeRaw (line: string): void {
    this.#child.stdin.write(`${line}\n`)
  }

  /** The first event (from the start of the run, taken once) that matches, waiting up to `timeoutMs`. */
  async waitEvent (match: (e: PeerEvent) => boolean, timeoutMs: number, what = 'an event'): Promise<PeerEvent> {
    return this.#events.take(match, timeoutMs,
      () => new InteropPeerError(this.name, `no ${what} within ${timeoutMs} ms; its last output:\n${this.stderrTail()}`),
      () => this.#exitCode === undefined
        ? undefined
        : new InteropPeerError(this.name, `exited (code ${String(this.#exitCode)}) before ${what}; its last output:\n${this.stderrTail()}`))
  }

  stderrTail (): string {
    return this.#stderr.map(l => `  | ${l}`).join('\n')
  }

  /** Asks the peer to quit; kills it if it has not exited within `graceMs`. Idempotent. */
  async stop (graceMs = 5000): Promise<void> {
    if (this.#exitCode === undefined) {
      this.#child.stdin.end(`${JSON.stringify({ id: 0, cmd: 'quit' })}\n`)
      const timer = setTimeout(() => { this.#child.kill('SIGKILL') }, graceMs)
      await this.#exited
      clearTimeout(timer)
    }
  }

  #onLine (line: string): void {
    let parsed: Record<string, unknown>
    try {
      parsed = JSON.parse(line) as Record<string, unknown>
    } catch {
      this.#stderr.push(`(not JSON on stdout) ${line}`)
      return
    }
    if (typeof parsed.event === 'string') {
      if (parsed.event === 'ready') this.#ready = parsed as unknown as PeerReady
      this.#events.put(parsed as PeerEvent)
      return
    }
    const id = typeof parsed.id === 'number' ? parsed.id : undefined
    const pending = id === undefined ? undefined : this.#pending.get(id)
    if (id === undefined || pending === undefined) {
      // Answers to malformed lines carry no id; keep them as events so a test can look for them.
      this.#events.put({ event: 'answer', ...parsed })
      return
    }
    this.#pending.delete(id)
    clearTimeout(pending.timer)
    pending.resolve(parsed)
  }
}
