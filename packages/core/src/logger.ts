import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, Logger } from '@libp2p/interface'

const noop = (): void => {}

/** One logger for every component while logging is off: it makes nothing and so costs nothing per connection. */
const SILENT: Logger = Object.assign((): void => {}, {
  enabled: false,
  error: noop,
  trace: noop,
  newScope: (): Logger => SILENT
})

/**
 * The swarm's default {@link ComponentLogger}: `@libp2p/logger` when `DEBUG` names anything, else one shared silent
 * logger. Every js-libp2p layer (the TCP socket, Noise, Yamux, each stream) asks for its own logger per connection
 * and per stream, and `@libp2p/logger` builds three `debug` instances for each even when nothing is enabled: about
 * 3 KiB of heap per idle connection end, measured with heap snapshots. `DEBUG` is read when a logger is asked for
 * (`@libp2p/logger`'s `enable()` and `disable()` keep it in step), so set it before creating the swarm.
 */
export function swarmLogger (): ComponentLogger {
  const real = defaultLogger()
  return {
    forComponent (name: string): Logger {
      return (process.env.DEBUG ?? '') === '' ? SILENT : real.forComponent(name)
    }
  }
}
