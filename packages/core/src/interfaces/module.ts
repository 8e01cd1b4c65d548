import type { DependencyContainer } from 'tsyringe'

/**
 * A plugin: something that registers providers into a swarm's container (a transport, a gater, a reporter...).
 *
 * `register` only registers; it MUST NOT start I/O. It runs once per swarm, on that swarm's own child container.
 */
export interface SwarmModule {
  /** Shown in errors, e.g. `@tswarm/transport-tcp`. */
  readonly name: string
  register(container: DependencyContainer): void
}
