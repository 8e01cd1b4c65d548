import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { readConfig } from '../src/test-app-config.js'

describe('transport-interop configuration', () => {
  it('reads test-plans\' lowercase variables with their defaults', () => {
    const config = readConfig({ transport: 'tcp', security: 'noise', muxer: 'yamux', is_dialer: 'true' })
    assert.deepEqual(config, {
      transport: 'tcp', isDialer: true, ip: '0.0.0.0', redisAddr: 'redis:6379', timeoutSeconds: 180, redisKey: 'listenerAddr', output: 'json'
    })
  })

  it('lets the uppercase names of unified-testing win, with TEST_KEY naming the Redis key and YAML output', () => {
    const config = readConfig({
      transport: 'tcp', TRANSPORT: 'quic-v1', is_dialer: 'true', IS_DIALER: 'false', LISTENER_IP: '127.0.0.1', REDIS_ADDR: 'localhost:7000', TEST_KEY: 'abc'
    })
    assert.equal(config.transport, 'quic-v1')
    assert.equal(config.isDialer, false)
    assert.equal(config.ip, '127.0.0.1')
    assert.equal(config.redisAddr, 'localhost:7000')
    assert.equal(config.redisKey, 'abc_listener_multiaddr')
    assert.equal(config.output, 'yaml')
  })

  it('refuses what tswarm cannot run, naming the variable', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ transport: 'webtransport', is_dialer: 'true' }, /transport=webtransport/],
      [{ transport: 'tcp', security: 'tls', muxer: 'yamux', is_dialer: 'true' }, /security=tls/],
      [{ transport: 'tcp', security: 'noise', muxer: 'mplex', is_dialer: 'true' }, /muxer=mplex/],
      [{ transport: 'quic-v1', is_dialer: 'maybe' }, /is_dialer=maybe/],
      [{ transport: 'quic-v1', is_dialer: 'true', test_timeout_seconds: '-1' }, /test_timeout_seconds/]
    ]
    for (const [env, message] of cases) {
      assert.throws(() => readConfig(env), (err: Error) => err.name === 'TestAppConfigError' && message.test(err.message))
    }
  })
})
