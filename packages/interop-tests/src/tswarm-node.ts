/**
 * The tswarm side of the interop matrix: a host over TCP and QUIC serving the same protocols as every interop peer
 * (interop/PROTOCOL.md), with what its observe handler saw kept for the suite to check.
 */
import { createHash } from 'node:crypto'
import { createHost } from '@tswarm/host'
import { quic } from '@tswarm/transport-quic'
import { tcp } from '@tswarm/transport-tcp'
import { Mailbox } from './mailbox.js'
import { DIGEST, ECHO, OBSERVE, RESET } from './protocols.js'
import type { Stream } from '@tswarm/core'
import type { Host } from '@tswarm/host'

/** How a stream served by the observe handler ended. */
export interface ObservedEnd {
  peer: string
  outcome: 'eof' | 'reset' | 'error'
  bytes: number
  error?: string
}

export interface InteropNode {
  host: Host
  /** Resolves with the next end the observe handler sees from `peer` (already seen ones first). */
  observed(peer: string, timeoutMs: number): Promise<ObservedEnd>
}

/** Streams per protocol per connection: the matrix opens 100 echo streams at once. */
const MAX_STREAMS = 256

async function echo (stream: Stream): Promise<void> {
  for await (const chunk of stream) await stream.write(chunk)
  await stream.closeWrite()
}

export async function createInteropNode (listen: readonly string[] = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/udp/0/quic-v1']): Promise<InteropNode> {
  const host = await createHost({
    modules: [tcp(), quic()],
    listen: [...listen],
    host: { perf: { enabled: true }, identify: { pushDebounce: 20 }, maxInboundStreams: MAX_STREAMS, maxOutboundStreams: MAX_STREAMS }
  })
  const ends = new Mailbox<ObservedEnd>()
  host.handle(ECHO, echo)
  host.handle(DIGEST, async stream => {
    const hash = createHash('sha256')
    for await (const chunk of stream) hash.update(chunk)
    await stream.write(hash.digest())
    await stream.closeWrite()
  })
  host.handle(RESET, async stream => {
    await stream.read()
    stream.reset(new Error('reset on purpose by /interop/reset/1.0.0'))
  })
  host.handle(OBSERVE, async stream => {
    const peer = stream.conn.remotePeer.toString()
    let bytes = 0
    let end: ObservedEnd
    try {
      for await (const chunk of stream) bytes += chunk.byteLength
      end = { peer, outcome: 'eof', bytes }
      await stream.closeWrite()
    } catch (err) {
      const reset = (err as Error).name === 'StreamResetError'
      end = { peer, outcome: reset ? 'reset' : 'error', bytes, ...(reset ? {} : { error: (err as Error).message }) }
    }
    ends.put(end)
  })

  const observed = async (peer: string, timeoutMs: number): Promise<ObservedEnd> =>
    await ends.take(e => e.peer === peer, timeoutMs, () => new Error(`the observe handler saw no stream from ${peer} end within ${timeoutMs} ms`))
  return { host, observed }
}
