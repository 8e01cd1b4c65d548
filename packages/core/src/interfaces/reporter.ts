import type { PeerId } from '@libp2p/interface'

/** Byte totals and rates in one direction pair. Rates are bytes per second. */
export interface BandwidthStats {
  totalIn: number
  totalOut: number
  rateIn: number
  rateOut: number
}

/**
 * Receives a call for every chunk a swarm stream reads or writes (go-libp2p's metrics.Reporter).
 *
 * Calls happen on the data path: implementations MUST return quickly and MUST NOT throw.
 */
export interface Reporter {
  /** Bytes written to any connection. */
  logSentMessage(size: number): void
  /** Bytes read from any connection. */
  logRecvMessage(size: number): void
  /** Bytes written on a stream; `protocol` is `''` until one is negotiated. */
  logSentMessageStream(size: number, protocol: string, peer: PeerId): void
  /** Bytes read on a stream; `protocol` is `''` until one is negotiated. */
  logRecvMessageStream(size: number, protocol: string, peer: PeerId): void
}
