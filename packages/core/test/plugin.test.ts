import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { connectionManager } from '../src/connmgr/module.js'
import { createSwarm } from '../src/create-swarm.js'
import { inject, injectable } from '../src/di.js'
import { InvalidOptionError } from '../src/errors.js'
import { definePlugin, pluginInstance } from '../src/plugin.js'
import { resourceLimits } from '../src/resources/module.js'
import { memory } from '../src/testing/memory-transport.js'
import { introduce } from '../src/testing/swarms.js'
import { CLOCK, CONNECTION_GATER, CONNECTION_MANAGER, LIMIT_RESOURCE_MANAGER, SWARM_SERVICE, createToken } from '../src/tokens.js'
import type { Clock } from '../src/interfaces/clock.js'
import type { ConnectionGater } from '../src/interfaces/gater.js'
import type { SwarmModule } from '../src/interfaces/module.js'
import type { Network, SwarmService } from '../src/interfaces/network.js'
import type { Swarm } from '../src/swarm/swarm.js'

interface CounterConfig { readonly start: number }

const COUNTER = createToken<Counter>('@tswarm/core-test/v1', 'Counter')
const COUNTER_CONFIG = createToken<CounterConfig>('@tswarm/core-test/v1', 'CounterConfig')

function resolveCounterOptions (options: { start?: number } = {}): CounterConfig {
  const start = options.start ?? 0
  if (!Number.isInteger(start)) throw new InvalidOptionError('counter.start', start, 'a whole number')
  return Object.freeze({ start })
}

/** A plugin as the README says to write one: an injectable class, its config injected by token. */
@injectable()
class Counter implements ConnectionGater, SwarmService {
  readonly name = 'counter'
  value: number
  running = false

  constructor (@inject(COUNTER_CONFIG) config: CounterConfig, @inject(CLOCK) readonly clock: Clock) {
    this.value = config.start
  }

  interceptPeerDial (): boolean {
    this.value++
    return true
  }

  start (_network: Network): void { this.running = true }
  stop (): void { this.running = false }
}

function counter (options: { start?: number } = {}, exclusive = false): SwarmModule {
  return definePlugin({
    name: '@tswarm/core-test:counter',
    factory: 'counter()',
    token: COUNTER,
    config: { token: COUNTER_CONFIG, value: resolveCounterOptions(options) },
    instance: { useClass: Counter },
    register: c => {
      c.register(CONNECTION_GATER, { useToken: COUNTER })
      c.register(SWARM_SERVICE, { useToken: COUNTER })
    },
    exclusive: exclusive ? c => c.running : undefined
  })
}

describe('definePlugin() and pluginInstance()', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })
  const make = async (modules: SwarmModule[]): Promise<Swarm> => {
    const s = await createSwarm({ modules: [memory(), ...modules], listen: ['/memory/0'] })
    swarms.push(s)
    return s
  }

  it('validates options when the module is made, before any swarm', () => {
    assert.throws(() => counter({ start: 1.5 }), (err: Error) => err.name === 'InvalidOptionError' && /counter\.start=1\.5/.test(err.message))
    assert.throws(() => definePlugin({ name: 'loose', token: COUNTER, config: { token: COUNTER_CONFIG, value: { start: 0 } }, instance: { useClass: Counter } }),
      /loose: the config must be frozen/)
  })

  it('reaches the one instance that fills the plugin\'s seams, built with its injected config', async () => {
    const s = await make([counter({ start: 5 })])
    const c = pluginInstance(s, COUNTER)
    assert.ok(c instanceof Counter)
    assert.equal(c.value, 5)
    assert.equal(c.running, true, 'the same instance was started as a service')
    const other = await make([])
    introduce(s, other)
    await s.dialPeer(other.localPeer)
    assert.equal(c.value, 6, 'the same instance was asked as a gater')
    assert.equal(pluginInstance(s, COUNTER), c)
  })

  it('gives each swarm its own instance from one module, still reachable after close', async () => {
    const mod = counter()
    const [a, b] = [await make([mod]), await make([mod])]
    assert.notEqual(pluginInstance(a, COUNTER), pluginInstance(b, COUNTER))
    const kept = pluginInstance(a, COUNTER)
    await a.close()
    assert.equal(pluginInstance(a, COUNTER), kept)
    assert.equal(kept.running, false)
  })

  it('says what to do when asked about a swarm without the plugin', async () => {
    const plain = await make([])
    assert.throws(() => pluginInstance(plain, COUNTER), (err: Error) => {
      assert.equal(err.name, 'PluginNotFoundError')
      assert.match(err.message, /@tswarm\/core-test\/v1:Counter in this swarm: pass the module that registers it to createSwarm/)
      return true
    })
    assert.throws(() => pluginInstance({} as Swarm, COUNTER), { name: 'PluginNotFoundError', message: /not made by createSwarm/ })
  })

  it('refuses to be registered twice in one swarm', async () => {
    await assert.rejects(createSwarm({ modules: [memory(), counter(), counter()] }), (err: Error) => {
      assert.equal(err.name, 'ModuleRegistrationError')
      assert.match(err.message, /counter\(\) is registered twice in one swarm/)
      return true
    })
  })

  it('serves one running swarm at a time when exclusive', async () => {
    const mod = counter({}, true)
    const first = await make([mod])
    await assert.rejects(createSwarm({ modules: [memory(), mod] }), /this counter\(\) module already serves a running swarm: call counter\(\) again/)
    await first.close()
    const second = await make([mod])
    assert.equal(pluginInstance(second, COUNTER).running, true)
  })

  it('reaches core\'s own plugins the same way', async () => {
    const s = await make([connectionManager({ lowWater: 1, highWater: 2 }), resourceLimits({ streamsPerPeer: 7 })])
    const cm = pluginInstance(s, CONNECTION_MANAGER)
    cm.protect(s.localPeer, 'me')
    assert.ok(cm.isProtected(s.localPeer))
    assert.equal(pluginInstance(s, LIMIT_RESOURCE_MANAGER).limits.streamsPerPeer, 7)
    assert.equal(s.resources, pluginInstance(s, LIMIT_RESOURCE_MANAGER), 'the swarm uses the manager the module registered')
  })
})
