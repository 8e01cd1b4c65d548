import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { assembleSwarm, createSwarm } from '../src/create-swarm.js'
import { generateIdentity, peerIdOf } from '../src/identity.js'
import { CLOCK, PEERSTORE, TRANSPORT, UPGRADER } from '../src/tokens.js'
import { ManualClock } from '../src/testing/manual-clock.js'
import { MemoryTransport, memory } from '../src/testing/memory-transport.js'
import type { Swarm } from '../src/swarm/swarm.js'
import type { SwarmModule } from '../src/interfaces/module.js'

describe('createSwarm', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })

  it('refuses to assemble without a transport, saying what to add', async () => {
    await assert.rejects(createSwarm({ modules: [] }), (err: Error) => {
      assert.equal(err.name, 'SwarmAssemblyError')
      assert.match(err.message, /no transport is registered.*tcp\(\)/)
      return true
    })
  })

  it('names the module whose register() threw, and keeps its error as the cause', async () => {
    const boom = new Error('boom')
    const bad: SwarmModule = { name: 'my-plugin', register () { throw boom } }
    await assert.rejects(createSwarm({ modules: [memory(), bad] }), (err: Error) => {
      assert.equal(err.name, 'ModuleRegistrationError')
      assert.match(err.message, /"my-plugin".*boom/)
      assert.equal(err.cause, boom)
      return true
    })
  })

  it('rejects an unknown or bad option by name', async () => {
    await assert.rejects(createSwarm({ modules: [memory()], options: { dialTimeout: -1 } }), /options\.dialTimeout=-1/)
    await assert.rejects(createSwarm({ modules: [memory()], options: { dialTimout: 5 } as never }), /options\.dialTimout/)
  })

  it('uses the given identity', async () => {
    const key = await generateIdentity('Ed25519')
    const s = await createSwarm({ privateKey: key, modules: [memory()] })
    swarms.push(s)
    assert.equal(s.localPeer.toString(), peerIdOf(key).toString())
  })

  it('refuses an identity no peer ID can be derived from, naming the key types that work', async () => {
    const ecdsa = await generateIdentity('ECDSA')
    await assert.rejects(createSwarm({ privateKey: ecdsa, modules: [memory()] }), (err: Error) => {
      assert.equal(err.name, 'SwarmAssemblyError')
      assert.match(err.message, /ECDSA key cannot be a swarm identity.*Ed25519/)
      return true
    })
  })

  it('lets a module replace a core default (last registration wins)', async () => {
    const clock = new ManualClock()
    const swapClock: SwarmModule = { name: 'clock', register (c) { c.register(CLOCK, { useValue: clock }) } }
    const { swarm, container } = await assembleSwarm({ modules: [memory(), swapClock] })
    swarms.push(swarm)
    assert.equal(container.resolve(CLOCK), clock)
  })

  it('gives two swarms in one process nothing in common', async () => {
    const a = await assembleSwarm({ modules: [memory()] })
    const b = await assembleSwarm({ modules: [memory()] })
    swarms.push(a.swarm, b.swarm)
    assert.notEqual(a.swarm.localPeer.toString(), b.swarm.localPeer.toString())
    assert.notEqual(a.container.resolve(PEERSTORE), b.container.resolve(PEERSTORE))
    assert.notEqual(a.container.resolve(UPGRADER), b.container.resolve(UPGRADER))
    assert.notEqual(a.container.resolveAll(TRANSPORT)[0], b.container.resolveAll(TRANSPORT)[0])
    assert.equal(a.container.resolve(PEERSTORE), a.swarm.peerstore, 'one peerstore per swarm')
  })

  it('closes the swarm when listening fails everywhere', async () => {
    await assert.rejects(createSwarm({ modules: [memory()], listen: ['/ip4/127.0.0.1/tcp/0'] }), (err: Error) => err.name === 'ListenError')
  })

  it('refuses duplicate transports for one protocol and transports with none', async () => {
    await assert.rejects(createSwarm({ modules: [memory(), memory()] }), (err: Error) => {
      assert.match(err.message, /both claim the "memory" protocol/)
      return true
    })
    const s = await createSwarm({ modules: [memory()] })
    swarms.push(s)
    const useless = Object.assign(new MemoryTransport(), { protocols: [] })
    assert.throws(() => { s.addTransport(useless) }, /handles no multiaddr protocols/)
    await s.close()
    assert.throws(() => { s.addTransport(new MemoryTransport()) }, (err: Error) => err.name === 'SwarmClosedError')
  })
})
