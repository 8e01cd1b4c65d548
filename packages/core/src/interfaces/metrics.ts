import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Receives the dial events that connection notifications do not show (go-libp2p's swarm MetricsTracer).
 * Multi-binding `METRICS_TRACER`; every method is optional, called on the dial path, and MUST return quickly and
 * never throw. Connection open/close and handshake times come from notifications (`Conn.stat()`).
 */
export interface MetricsTracer {
  /** One address's dial failed (`transport` is the transport's name). */
  failedDialing?(addr: Multiaddr, transport: string, err: Error): void
  /** A `dialPeer` worker finished: whether it connected, how many addresses it dialed, and how long it took (ms). */
  dialCompleted?(peer: PeerId, success: boolean, dials: number, durationMs: number): void
  /** How long the address that connected waited for its rank before being dialed (ms). */
  dialRankingDelay?(delayMs: number): void
}
