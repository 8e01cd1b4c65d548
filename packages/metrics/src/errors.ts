import { SwarmError, describe } from '@tswarm/core'

/**
 * A registry given in `metrics({ registry })` already holds a series this package registers, most often because
 * the same registry was given to a second swarm. prom-client refuses two series of one name in one registry.
 */
export class MetricsRegistryConflictError extends SwarmError {
  override readonly name: string = 'MetricsRegistryConflictError'
  constructor (readonly metricName: string) {
    super(`the prom-client registry already holds "${metricName}": give each swarm its own registry (the default), ` +
      'or close the swarm that registered it first; Prometheus scrapes several swarms in one process as several ' +
      'endpoints (an `http` option with its own port per swarm)')
  }
}

/** The `/metrics` HTTP endpoint could not listen (the port is taken, the host is not local...). */
export class MetricsServerError extends SwarmError {
  override readonly name: string = 'MetricsServerError'
  constructor (readonly host: string, readonly port: number, cause: unknown) {
    super(`the metrics endpoint could not listen on ${host}:${port}: ${describe(cause)}; ` +
      'pick another port (0 lets the system choose) or leave `http` unset', { cause })
  }
}
