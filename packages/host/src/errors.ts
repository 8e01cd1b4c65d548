import { SwarmError, describe } from '@tswarm/core'
import type { Direction } from '@tswarm/core'
import type { PeerId } from '@libp2p/interface'

/**
 * A per-protocol stream limit was reached on a connection. Outbound, `newStream` throws it and opens nothing;
 * inbound, the stream is reset with it (the remote sees a reset). Raise the limit with `handle(protocol, handler,
 * { maxInboundStreams, maxOutboundStreams })`, or `newStream(…, { maxOutboundStreams })` for a protocol we only dial.
 */
export class StreamLimitExceededError extends SwarmError {
  override readonly name: string = 'StreamLimitExceededError'
  constructor (readonly protocol: string, readonly direction: Direction, readonly limit: number, readonly peer: PeerId) {
    super(`too many ${direction} streams for ${protocol} on one connection to ${peer.toString()}: the limit is ${limit}; ` +
      `raise max${direction === 'inbound' ? 'Inbound' : 'Outbound'}Streams for the protocol, or wait for streams to close`)
  }
}

/** `handle` was called for a protocol that already has a handler, without `force: true`. */
export class DuplicateProtocolHandlerError extends SwarmError {
  override readonly name: string = 'DuplicateProtocolHandlerError'
  constructor (readonly protocol: string) {
    super(`a handler for ${protocol} is already registered: call unhandle('${protocol}') first, or pass { force: true } to replace it`)
  }
}

/** The host was closed; create a new one to go on. */
export class HostClosedError extends SwarmError {
  override readonly name: string = 'HostClosedError'
  constructor (what = 'operation') {
    super(`host is closed: ${what} is not possible after close(); create a new host`)
  }
}

/** Identify with a peer failed, or its message was invalid (wrong key, bad signed record, too large). */
export class IdentifyError extends SwarmError {
  override readonly name: string = 'IdentifyError'
  constructor (readonly peer: PeerId, problem: string, cause?: unknown) {
    super(`identify with ${peer.toString()} failed: ${problem}${cause === undefined ? '' : `: ${describe(cause)}`}`,
      cause === undefined ? undefined : { cause })
  }
}

/** A signed peer record could not be verified, or names another peer than the one that sent it. */
export class InvalidSignedPeerRecordError extends SwarmError {
  override readonly name: string = 'InvalidSignedPeerRecordError'
}

/** A ping failed: the echo differed from what was sent, or the stream ended before it came back. */
export class PingError extends SwarmError {
  override readonly name: string = 'PingError'
}

/** A perf run failed: the remote sent a different number of bytes than asked for, or refused the request. */
export class PerfError extends SwarmError {
  override readonly name: string = 'PerfError'
}

/** The persistent peerstore could not open or read its datastore at start; the swarm does not start. */
export class PeerstoreOpenError extends SwarmError {
  override readonly name: string = 'PeerstoreOpenError'
}

/**
 * The persistent peerstore could not write changes to its datastore. While running, failed writes are retried; from
 * `close()` or `flush()` this error says that the last changes were not saved.
 */
export class PeerstoreWriteError extends SwarmError {
  override readonly name: string = 'PeerstoreWriteError'
}
