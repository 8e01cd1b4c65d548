import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { disable, enable } from '@libp2p/logger'
import { swarmLogger } from '../src/logger.js'

describe('swarmLogger', () => {
  afterEach(() => { disable() })

  it('hands every component one silent logger while DEBUG is unset, so connections allocate no loggers', () => {
    disable()
    const loggers = swarmLogger()
    const a = loggers.forComponent('libp2p:tcp:connection')
    const b = loggers.forComponent('libp2p:yamux')
    assert.equal(a, b)
    assert.equal(a.enabled, false)
    assert.equal(a.newScope?.('outbound'), a)
    // calling it does nothing and throws nothing
    a('message %s', 'x')
    a.error('error %e', new Error('x'))
    a.trace('trace')
  })

  it('gives real loggers, enabled by the DEBUG patterns, once logging is enabled', () => {
    enable('tswarm:test*')
    const loggers = swarmLogger()
    const on = loggers.forComponent('tswarm:test')
    const off = loggers.forComponent('libp2p:other')
    assert.notEqual(on, off)
    assert.equal(on.enabled, true)
    assert.equal(off.enabled, false)
    assert.equal(on.newScope?.('sub').enabled, true)
  })
})
