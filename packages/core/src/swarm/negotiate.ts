import { timeoutSignal } from '../clock.js'
import { ProtocolNegotiationError, TimeoutError } from '../errors.js'
import { multistreamListen, multistreamSelect } from '../multistream.js'
import type { Clock } from '../interfaces/clock.js'
import type { SwarmStream } from './stream.js'

/**
 * Runs multistream-select on a swarm stream, as dialer (`select`) or listener (`handle`), bounded by `timeoutMs` and
 * the caller's signal. Records the agreed protocol on the stream and puts back what was read past it, so the
 * application reads it first. Fails with a ProtocolNegotiationError whose cause says why.
 */
export async function negotiate (stream: SwarmStream, role: 'select' | 'handle', protocols: readonly string[],
  clock: Clock, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  if (protocols.length === 0) throw new ProtocolNegotiationError(protocols, new Error('no protocols given'))
  const timeout = timeoutSignal(clock, timeoutMs, signal,
    () => new TimeoutError(`protocol negotiation did not finish within ${timeoutMs} ms`))
  // a failed negotiation resets the stream (the callers do), so reporting needs no resuming on that path
  stream.beginNegotiation()
  try {
    const options = { signal: timeout.signal }
    const { protocol, leftover } = role === 'select'
      ? await multistreamSelect(stream, protocols, options)
      : await multistreamListen(stream, protocols, options)
    stream.negotiated(protocol, leftover)
    return protocol
  } catch (err) {
    throw new ProtocolNegotiationError(protocols, timeout.signal.aborted ? timeout.signal.reason : err)
  } finally {
    timeout.clear()
  }
}
