import { ConnectionClosedError, describe } from '../errors.js'
import { timeoutSignal } from '../clock.js'
import type { SwarmConn } from './conn.js'
import type { Clock, TimerHandle } from '../interfaces/clock.js'
import type { Logger } from '@libp2p/logger'

export interface ConnectionMonitorOptions {
  livenessInterval: number
  livenessTimeout: number
  idleConnectionTimeout: number
}

/**
 * Watches the swarm's connections on its clock: pings each one whose muxer can (Yamux) every `livenessInterval` and
 * aborts those whose peer does not answer within `livenessTimeout` (a peer that vanished without closing: power
 * loss, a cut link, a NAT that forgot us), and closes connections that have had no stream for
 * `idleConnectionTimeout`. Either is off at 0.
 */
export class ConnectionMonitor {
  #livenessTimer: TimerHandle | undefined
  #idleTimer: TimerHandle | undefined
  #running = false

  constructor (private readonly clock: Clock, private readonly options: ConnectionMonitorOptions,
    private readonly conns: () => SwarmConn[], private readonly log: Logger) {}

  start (): void {
    this.#running = true
    this.#armLiveness()
    this.#armIdle()
  }

  stop (): void {
    this.#running = false
    if (this.#livenessTimer !== undefined) this.clock.clearTimeout(this.#livenessTimer)
    if (this.#idleTimer !== undefined) this.clock.clearTimeout(this.#idleTimer)
    this.#livenessTimer = undefined
    this.#idleTimer = undefined
  }

  #armLiveness (): void {
    const interval = this.options.livenessInterval
    if (!this.#running || interval === 0) return
    this.#livenessTimer = this.clock.setTimeout(() => {
      this.#livenessTimer = undefined
      for (const conn of this.conns()) void this.#check(conn)
      this.#armLiveness()
    }, interval)
  }

  async #check (conn: SwarmConn): Promise<void> {
    const ping = conn.muxed.ping
    if (ping === undefined || conn.status !== 'open') return
    const ms = this.options.livenessTimeout
    const timeout = timeoutSignal(this.clock, ms, undefined,
      () => new ConnectionClosedError(`the peer did not answer a keep-alive ping within ${ms} ms: it is gone`))
    try {
      await ping({ signal: timeout.signal })
    } catch (err) {
      if (conn.status !== 'open') return
      this.log('connection %s to %p failed its liveness check: %s', conn.id, conn.remotePeer, describe(err))
      conn.muxed.abort(timeout.signal.aborted ? timeout.signal.reason as Error : new ConnectionClosedError(`keep-alive ping failed: ${describe(err)}`, { cause: err }))
    } finally {
      timeout.clear()
    }
  }

  #armIdle (): void {
    const idle = this.options.idleConnectionTimeout
    if (!this.#running || idle === 0) return
    // Checked at a quarter of the timeout: a connection closes between 1 and 1.25 timeouts after its last stream.
    this.#idleTimer = this.clock.setTimeout(() => {
      this.#idleTimer = undefined
      const now = this.clock.now()
      for (const conn of this.conns()) {
        if (conn.idleSince !== undefined && now - conn.idleSince >= idle) {
          this.log('closing connection %s to %p: no stream for %d ms', conn.id, conn.remotePeer, now - conn.idleSince)
          void conn.close()
        }
      }
      this.#armIdle()
    }, Math.max(1, Math.floor(idle / 4)))
  }
}
