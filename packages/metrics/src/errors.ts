import { SwarmError } from '@tswarm/core'

/**
 * A registry given in `metrics({ registry })` already holds a series this package registers, most often because
 * the same registry was given to a second swarm. prom-client refuses two series of one name in one registry.
 */
export class MetricsRegistryConflictError extends SwarmError {
  constructor (readonly metricName: string) {
    super(`the prom-client registry already holds "${metricName}": give each swarm its own registry (the default), ` +
      'or close the swarm that registered it first; Prometheus scrapes several swarms in one process as several ' +
      'endpoints (an `http` option with its own port per swarm)')
  }
}

/** The `/metrics` HTTP endpoint could not listen (the port is taken, the host is not local...). */
export class MetricsServerError extends SwarmError {
  constructor (readonly host: string, readonly port: number, cause: unknown) {
    super(`the metrics endpoint could not listen on ${host}:${port}: ${cause instanceof Error ? cause.message : String(cause)}; ` +
      'pick another port (0 lets the system choose) or leave `http` unset', { cause })
  }
}

/** `module.of(swarm)` was asked about a swarm that this `metrics()` module was not assembled into (or not yet started). */
export class MetricsNotFoundError extends SwarmError {
  constructor () {
    super('this swarm has no metrics from this metrics() module: pass the same module object in createSwarm({ modules }) ' +
      'and call of() once createSwarm has resolved')
  }
}
