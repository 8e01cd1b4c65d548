import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { BufferedReader, TimeoutError, timeoutSignal, toError } from '@tswarm/core'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { PingError } from '../errors.js'
import type { PingConfig } from '../config.js'
import type { ProtocolHost } from '../host.js'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'
import type { Clock, Stream } from '@tswarm/core'

export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
/** Bytes in one ping (the spec's). */
export const PING_SIZE = 32

/**
 * `/ipfs/ping/1.0.0`: the dialer sends 32 random bytes, the listener echoes them, repeatedly on one stream. Round
 * trips are measured with `performance.now()`, not the swarm clock: they are measurements, not timeouts.
 */
export class PingService {
  readonly #host: ProtocolHost
  readonly #config: PingConfig
  readonly #clock: Clock
  readonly #log: Logger

  constructor (host: ProtocolHost, config: PingConfig, clock: Clock, log: Logger) {
    this.#host = host
    this.#config = config
    this.#clock = clock
    this.#log = log
  }

  /** Serves ping: the spec allows a dialer one stream and asks the listener to accept at most two. */
  start (): void {
    this.#host.handle(PING_PROTOCOL, async stream => { await this.#echo(stream) }, { maxInboundStreams: 2, maxOutboundStreams: 1 })
  }

  /** Pings `count` times on one stream and returns each round-trip time in ms. Throws a PingError. */
  async ping (peer: PeerId, count: number, options: AbortOptions = {}): Promise<number[]> {
    if (!Number.isSafeInteger(count) || count < 1) throw new PingError(`cannot ping ${count} times: give a positive integer`)
    const stream = await this.#host.newStream(peer, PING_PROTOCOL, options)
    const reader = new BufferedReader(stream)
    const rtts: number[] = []
    try {
      for (let i = 0; i < count; i++) {
        const ms = this.#config.timeout
        const timeout = timeoutSignal(this.#clock, ms, options.signal, () => new TimeoutError(`no ping reply within ${ms} ms`))
        try {
          const sent = randomBytes(PING_SIZE)
          const start = performance.now()
          await stream.write(sent, { signal: timeout.signal })
          const echoed = await reader.readExactly(PING_SIZE, { signal: timeout.signal })
          const rtt = performance.now() - start
          if (echoed === null) throw new PingError(`${peer.toString()} closed the ping stream instead of answering`)
          if (!uint8ArrayEquals(echoed, sent)) throw new PingError(`${peer.toString()} echoed different bytes than were sent`)
          rtts.push(rtt)
        } catch (err) {
          if (err instanceof PingError) throw err
          throw new PingError(`ping to ${peer.toString()} failed: ${toError(timeout.signal.aborted ? timeout.signal.reason : err).message}`, { cause: err })
        } finally {
          timeout.clear()
        }
      }
      // finish gracefully, reading the listener's end of stream too: the spec allows one outbound ping stream per
      // peer, and a stream still half open would count against the next ping
      const ms = this.#config.timeout
      const closing = timeoutSignal(this.#clock, ms, options.signal, () => new TimeoutError(`the ping stream did not close within ${ms} ms`))
      try {
        await stream.closeWrite({ signal: closing.signal })
        await reader.skipToEnd({ signal: closing.signal })
      } finally {
        closing.clear()
      }
      return rtts
    } catch (err) {
      stream.reset(toError(err))
      throw err
    }
  }

  /** Echoes each 32-byte ping until the dialer closes its side; a ping that takes too long resets the stream. */
  async #echo (stream: Stream): Promise<void> {
    const reader = new BufferedReader(stream)
    let pings = 0
    for (;;) {
      stream.setDeadline(this.#clock.now() + this.#config.timeout)
      const bytes = await reader.readExactly(PING_SIZE)
      if (bytes === null) break
      await stream.write(bytes)
      pings++
    }
    stream.setDeadline(null)
    await stream.close()
    this.#log.trace('answered %d pings from %p', pings, stream.conn.remotePeer)
  }
}
