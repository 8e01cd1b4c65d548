import { Uint8ArrayList } from 'uint8arraylist'
import { ProtocolNegotiationError } from '../errors.js'
import { multistreamProposal } from '../multistream.js'
import type { MessageStream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'

/**
 * Proposes one protocol on a raw connection without waiting for the answer (multistream-select's lazy dialer, as
 * go-multistream's lazy client and rust-libp2p's `V1Lazy` do for security protocols): the header and the proposal go
 * out at once, so whatever is sent next (the first Noise message) leaves in the same flight and the handshake costs
 * one round trip less. The answer is the first thing the listener sends, before its own Noise message.
 *
 * The answer must not reach whoever reads the connection next. This registers the connection's first 'message'
 * listener before that reader exists; EventTarget calls listeners in the order they were added, so it sees every
 * incoming chunk first, keeps it from the later listeners (`stopImmediatePropagation`) while the answer is
 * incomplete, and hands back what follows the answer with `unshift`, which the next reader then receives. The
 * listener is gone once the answer is in, so nothing stays on the data path.
 *
 * Resolves when the listener agreed. Rejects with a ProtocolNegotiationError when it answered anything else (`na`:
 * it does not speak the protocol) or the connection closed first, and when `signal` aborts; the caller then aborts the
 * connection, which also ends the handshake running behind the proposal.
 */
export async function selectLazily (conn: MessageStream, protocol: string, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted()
  const expected = multistreamProposal(protocol)
  const received = new Uint8ArrayList()
  const { promise, resolve, reject } = Promise.withResolvers<void>()

  const finish = (err?: Error): void => {
    conn.removeEventListener('message', onMessage)
    conn.removeEventListener('close', onClose)
    signal?.removeEventListener('abort', onAbort)
    if (err === undefined) resolve()
    else reject(err)
  }
  const onMessage = (evt: StreamMessageEvent): void => {
    evt.stopImmediatePropagation()
    const data = evt.data
    const need = expected.byteLength - received.byteLength
    received.append(data.byteLength > need ? data.subarray(0, need) : data)
    const got = received.subarray()
    if (!got.every((byte, i) => byte === expected[i])) {
      const answer = new TextDecoder().decode(got)
      finish(new ProtocolNegotiationError([protocol], new Error(`the listener answered ${JSON.stringify(answer)}: it does not accept the protocol`)))
      return
    }
    if (received.byteLength < expected.byteLength) return
    finish()
    // what came after the answer (the listener's first Noise message) belongs to the next reader
    if (data.byteLength > need) conn.unshift(data instanceof Uint8Array ? data.subarray(need) : data.sublist(need))
  }
  const onClose = (evt: StreamCloseEvent): void => {
    finish(new ProtocolNegotiationError([protocol], evt.error ?? new Error('the connection closed before the listener answered')))
  }
  const onAbort = (): void => {
    finish(new ProtocolNegotiationError([protocol], signal?.reason))
  }

  conn.addEventListener('message', onMessage)
  conn.addEventListener('close', onClose)
  signal?.addEventListener('abort', onAbort, { once: true })
  conn.send(expected)
  await promise
}
