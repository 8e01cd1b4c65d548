import assert from 'node:assert/strict'
import { it } from 'node:test'
import { createSwarm, pluginInstance } from '@tswarm/core'
import { WEBSOCKETS_TRANSPORT, websockets } from '../src/index.js'

it('registers its transport under its own token, which the swarm dials /ws addresses with', async () => {
  const swarm = await createSwarm({ modules: [websockets()] })
  try {
    const transport = pluginInstance(swarm, WEBSOCKETS_TRANSPORT)
    assert.equal(transport.name, 'ws')
    assert.equal(swarm.transportForDialing('/ip4/127.0.0.1/tcp/4001/ws'), transport)
  } finally {
    await swarm.close()
  }
})
