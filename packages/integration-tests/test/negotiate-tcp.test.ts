import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { tcp } from '@tswarm/transport-tcp'
import { createSwarm, multistreamProposal } from '@tswarm/core'
import { connect, echoHandler, readAll } from '@tswarm/core/testing'
import type { Swarm } from '@tswarm/core'

const ECHO = '/echo/1.0.0'
const utf8 = new TextEncoder()

// A lazy dialer (go-libp2p's, or a host's optimistic stream) sends the proposal, its data and its end of stream
// before any answer. Over real sockets they reach the listener in one frame, which is the case that matters.
describe('inbound multistream-select over TCP', () => {
  let server: Swarm
  let client: Swarm

  before(async () => {
    server = await createSwarm({ modules: [tcp()], listen: ['/ip4/127.0.0.1/tcp/0'] })
    server.setStreamHandler(echoHandler(server, ECHO))
    client = await createSwarm({ modules: [tcp()] })
    await connect(client, server)
  })

  after(async () => { await Promise.all([client.close(), server.close()]) })

  it('serves a proposal, data and end of stream that arrive together, 100 times in parallel', async () => {
    const results = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const stream = await client.newStream(server.localPeer)
      const data = utf8.encode(`stream ${i}`)
      await stream.write(Buffer.concat([multistreamProposal(ECHO), data]))
      await stream.closeWrite()
      return Buffer.from(await readAll(stream))
    }))
    for (const [i, back] of results.entries()) {
      assert.equal(back.toString(), `${Buffer.from(multistreamProposal(ECHO)).toString()}stream ${i}`)
    }
  })

  it('negotiates fully as the dialer and reads the first bytes the listener sent with its answer', async () => {
    const stream = await client.newStream(server.localPeer, { protocols: ['/not-served/1.0.0', ECHO] })
    assert.equal(stream.protocol, ECHO)
    await stream.write('round trip')
    await stream.closeWrite()
    assert.equal(Buffer.from(await readAll(stream)).toString(), 'round trip')
  })
})
