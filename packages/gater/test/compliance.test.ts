import { pluginInstance } from '@tswarm/core'
import { gaterComplianceTests, memory } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import { BLOCK_LIST, blockList, inboundLimits } from '../src/index.js'
import type { SwarmModule } from '@tswarm/core'
import type { GaterFixture } from '@tswarm/core/testing'

function blockListFixture (extra: () => SwarmModule[] = () => []): GaterFixture {
  return {
    modules: [blockList(), ...extra()],
    blockPeer: async (swarm, peer) => { await pluginInstance(swarm, BLOCK_LIST).blockPeer(peer) },
    unblockPeer: async (swarm, peer) => { await pluginInstance(swarm, BLOCK_LIST).unblockPeer(peer) }
  }
}

gaterComplianceTests({
  name: 'block list over tcp',
  modules: () => [tcp()],
  listenAddrs: ['/ip4/127.0.0.1/tcp/0'],
  gater: () => blockListFixture(),
  refusedBy: 'block-list',
  closesLiveConnections: true
})

gaterComplianceTests({
  name: 'block list over the memory transport',
  modules: () => [memory()],
  listenAddrs: ['/memory/0'],
  gater: () => blockListFixture(),
  refusedBy: 'block-list',
  closesLiveConnections: true
})

// The limits' gaters must answer every hook like any other, and stay out of the way of normal traffic, even when
// they apply to loopback.
gaterComplianceTests({
  name: 'block list with inbound limits on loopback, over tcp',
  modules: () => [tcp()],
  listenAddrs: ['/ip4/127.0.0.1/tcp/0'],
  gater: () => blockListFixture(() => [inboundLimits({ applyToLoopback: true })]),
  refusedBy: 'block-list',
  closesLiveConnections: true
})
