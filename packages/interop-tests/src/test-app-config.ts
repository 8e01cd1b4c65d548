/**
 * The transport-interop test-app contract's configuration: libp2p/test-plans' lowercase variables and
 * libp2p/unified-testing's uppercase ones (interop/PROTOCOL.md has the table).
 */
import { SwarmError } from '@tswarm/core'

/** The configuration is not one tswarm can run; the message says which variable and what it accepts. */
export class TestAppConfigError extends SwarmError {
  override readonly name: string = 'TestAppConfigError'
}

export interface TestAppConfig {
  transport: 'tcp' | 'quic-v1'
  isDialer: boolean
  ip: string
  redisAddr: string
  timeoutSeconds: number
  /** Redis list the listener's address goes to. */
  redisKey: string
  /** The newer contract (TEST_KEY set) reports in YAML. */
  output: 'json' | 'yaml'
}

/** Reads the contract's variables; an uppercase name wins over its lowercase one. */
export function readConfig (env: NodeJS.ProcessEnv): TestAppConfig {
  const get = (upper: string, lower?: string): string | undefined => {
    const value = env[upper] ?? (lower === undefined ? undefined : env[lower])
    return value === '' ? undefined : value
  }
  const transport = get('TRANSPORT', 'transport')
  if (transport !== 'tcp' && transport !== 'quic-v1') {
    throw new TestAppConfigError(`transport=${String(transport)}: tswarm's test app runs tcp or quic-v1`)
  }
  const security = get('SECURE_CHANNEL', 'security')
  const muxer = get('MUXER', 'muxer')
  if (transport === 'tcp') {
    if (security !== 'noise') throw new TestAppConfigError(`security=${String(security)}: tswarm secures TCP with noise only`)
    if (muxer !== 'yamux') throw new TestAppConfigError(`muxer=${String(muxer)}: tswarm multiplexes TCP with yamux only`)
  }
  const dialer = get('IS_DIALER', 'is_dialer')
  if (dialer !== 'true' && dialer !== 'false') throw new TestAppConfigError(`is_dialer=${String(dialer)}: expected true or false`)
  const timeoutSeconds = Number(get('TEST_TIMEOUT_SECONDS', 'test_timeout_seconds') ?? '180')
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new TestAppConfigError(`test_timeout_seconds=${timeoutSeconds}: expected a positive number`)
  const testKey = get('TEST_KEY')
  return {
    transport,
    isDialer: dialer === 'true',
    ip: get('LISTENER_IP', 'ip') ?? '0.0.0.0',
    redisAddr: get('REDIS_ADDR', 'redis_addr') ?? 'redis:6379',
    timeoutSeconds,
    redisKey: testKey === undefined ? 'listenerAddr' : `${testKey}_listener_multiaddr`,
    output: testKey === undefined ? 'json' : 'yaml'
  }
}
