/** Every interop peer keeps running through bad input on its control channel, and answers it with an error. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PeerProcess } from '../src/peer-process.js'
import { interopRequired, locatePeer } from '../src/peers.js'
import type { PeerName } from '../src/peers.js'

const PEERS: PeerName[] = ['go-libp2p', 'rust-libp2p', 'js-libp2p']

for (const name of PEERS) {
  const located = locatePeer(name)
  describe(`${name} peer control`, { skip: !located.ok && !interopRequired() ? located.reason : false }, () => {
    it('answers a malformed line, an unknown command and a bad argument with errors, and keeps serving', async () => {
      if (!located.ok) throw new Error(located.reason)
      const peer = await PeerProcess.start(located.command, ['--listen', '/ip4/127.0.0.1/tcp/0'])
      try {
        assert.match(peer.ready.peerId, /^12D3KooW/)
        assert.ok(peer.ready.addrs.some(a => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/.test(a)), peer.ready.addrs.join(', '))
        peer.writeRaw('{not json')
        const answer = await peer.waitEvent(e => e.event === 'answer', 5000, 'an answer to the malformed line')
        assert.equal(answer.ok, false)
        assert.equal(answer.id, null)
        await assert.rejects(peer.request('no-such-command'), { name: 'InteropPeerError' })
        await assert.rejects(peer.request('ping', { peer: 'not-a-peer-id' }), { name: 'InteropPeerError' })
        const { connections } = await peer.request<{ connections: unknown[] }>('connections', { peer: peer.ready.peerId })
        assert.deepEqual(connections, [])
      } finally {
        await peer.stop()
      }
    })
  })
}
