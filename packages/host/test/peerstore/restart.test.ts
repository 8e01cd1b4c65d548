import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { errorIs } from '@tswarm/core'
import { IdentifyMetadata, persistentPeerstore } from '../../src/index.js'
import { ECHO, closeAll, connectHosts, echo, readAll, tcpHost } from '../helpers.js'
import type { Host } from '../../src/index.js'

describe('a peerstore on LevelDB survives a restart', () => {
  let dir: string
  let remote: Host

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tswarm-peerstore-'))
    remote = await tcpHost()
    remote.handle(ECHO, echo)
  })

  after(async () => {
    await remote.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('the next host started on the same path reads what the first one learned, and dials with it', async () => {
    const path = join(dir, 'store')
    const first = await tcpHost({ modules: [persistentPeerstore({ path })] })
    try {
      await connectHosts(first, remote)
    } finally {
      await first.close()
    }

    const second = await tcpHost({ modules: [persistentPeerstore({ path })] })
    let third: Host | undefined
    try {
      assert.deepEqual(second.peerstore.addrs(remote.peerId).map(String), remote.addrs().map(String))
      assert.deepEqual(second.peerstore.getProtocols(remote.peerId).sort(), remote.getProtocols().sort())
      assert.equal(second.peerstore.get(remote.peerId, IdentifyMetadata.AGENT_VERSION), remote.config.agentVersion)
      assert.ok(second.peerstore.get(remote.peerId, IdentifyMetadata.SIGNED_PEER_RECORD) instanceof Uint8Array)
      assert.ok(second.peerstore.pubKey(remote.peerId)?.equals(remote.peerId.publicKey))

      // no address given: the stored ones are enough
      const stream = await second.newStream(remote.peerId, ECHO)
      await stream.write('remembered')
      await stream.closeWrite()
      assert.equal(new TextDecoder().decode(await readAll(stream)), 'remembered')

      // LevelDB admits one process at a time: a second host on the same path fails to start, and says why
      const err = await tcpHost({ modules: [persistentPeerstore({ path })] }).then(async h => { third = h }, (e: unknown) => e)
      assert.ok(errorIs(err, 'PeerstoreOpenError'), String(err))
    } finally {
      await closeAll(second, third)
    }
  })

  it('a fresh path starts empty', async () => {
    const host = await tcpHost({ modules: [persistentPeerstore({ path: join(dir, 'fresh') })] })
    try {
      assert.deepEqual(host.peerstore.peers(), [])
      await connectHosts(host, remote)
      assert.ok(host.peerstore.peers().some(p => p.equals(remote.peerId)))
    } finally {
      await host.close()
    }
  })
})
