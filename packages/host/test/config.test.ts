import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { tcp } from '@tswarm/transport-tcp'
import { createHost, resolveHostConfig } from '../src/index.js'

describe('resolveHostConfig', () => {
  it('fills in the documented defaults', () => {
    const c = resolveHostConfig()
    assert.match(c.agentVersion, /^tswarm\/0\.1\.0 node\//)
    assert.equal(c.protocolVersion, 'ipfs/0.1.0')
    assert.equal(c.maxInboundStreams, 32)
    assert.equal(c.maxOutboundStreams, 64)
    assert.equal(c.negotiateFully, false)
    assert.equal(c.announce, undefined)
    assert.deepEqual({ ...c.identify }, { timeout: 30_000, runOnConnect: true, pushDebounce: 100, maxMessageSize: 8192, maxPushConcurrency: 32 })
    assert.deepEqual({ ...c.ping }, { timeout: 10_000 })
    assert.deepEqual({ ...c.perf }, { enabled: false, maxSendBytes: Number.MAX_SAFE_INTEGER })
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.identify))
  })

  it('keeps defaults for fields given as undefined, and parses announce addresses', () => {
    const c = resolveHostConfig({ identify: { timeout: undefined, pushDebounce: 0 }, announce: ['/dns4/example.com/tcp/4001'] })
    assert.equal(c.identify.timeout, 30_000)
    assert.equal(c.identify.pushDebounce, 0)
    assert.equal(c.announce?.[0].toString(), '/dns4/example.com/tcp/4001')
  })

  it('names the option and the bad value', () => {
    assert.throws(() => resolveHostConfig({ maxInboundStreams: 0 }), { name: 'InvalidOptionError', message: /host\.maxInboundStreams=0/ })
    assert.throws(() => resolveHostConfig({ identify: { timeout: -5 } }), { name: 'InvalidOptionError', message: /host\.identify\.timeout/ })
    assert.throws(() => resolveHostConfig({ perf: { enabled: 'yes' as unknown as boolean } }), { message: /host\.perf\.enabled/ })
    assert.throws(() => resolveHostConfig({ identify: { pushDebounse: 1 } as never }), { message: /host\.identify\.pushDebounse/ })
    assert.throws(() => resolveHostConfig({ agentVersion: '' }), { message: /host\.agentVersion/ })
    assert.throws(() => resolveHostConfig({ announce: ['not an address'] }), { name: 'InvalidMultiaddrError' })
  })

  it('fails createHost before anything listens', async () => {
    await assert.rejects(createHost({ modules: [tcp()], listen: ['/ip4/127.0.0.1/tcp/0'], host: { maxOutboundStreams: 1.5 } }), { name: 'InvalidOptionError' })
  })
})
