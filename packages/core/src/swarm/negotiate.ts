import { handle, select } from '@libp2p/multistream-select'
import { timeoutSignal } from '../clock.js'
import { ProtocolNegotiationError, TimeoutError } from '../errors.js'
import type { Clock } from '../interfaces/clock.js'
import type { MuxedStream } from '../interfaces/transport.js'

/**
 * Runs multistream-select on a muxed stream, as dialer (`select`) or listener (`handle`), bounded by `timeoutMs`
 * and the caller's signal. Returns the agreed protocol.
 */
export async function negotiate (stream: MuxedStream, role: 'select' | 'handle', protocols: readonly string[],
  clock: Clock, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  if (protocols.length === 0) throw new ProtocolNegotiationError(protocols, new Error('no protocols given'))
  const timeout = timeoutSignal(clock, timeoutMs, signal,
    () => new TimeoutError(`protocol negotiation did not finish within ${timeoutMs} ms`))
  try {
    const list = [...protocols]
    return role === 'select'
      ? await select(stream, list, { signal: timeout.signal })
      : await handle(stream, list, { signal: timeout.signal })
  } catch (err) {
    throw new ProtocolNegotiationError(protocols, timeout.signal.aborted ? timeout.signal.reason : err)
  } finally {
    timeout.clear()
  }
}
