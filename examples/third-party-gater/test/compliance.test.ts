import { pluginInstance } from '@tswarm/core'
import { gaterComplianceTests } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import { PEER_BANS, peerBans } from '../src/index.js'

// The suite every gater plugin runs, ours or a third party's: named gaters, boolean-or-promise answers, a banned
// peer refused in both directions with a refusal that names "peer-bans", other traffic flowing, unbanning restoring.
gaterComplianceTests({
  name: 'third-party peer bans over tcp',
  modules: () => [tcp()],
  listenAddrs: ['/ip4/127.0.0.1/tcp/0'],
  gater: () => ({
    modules: [peerBans()],
    blockPeer: (swarm, peer) => { pluginInstance(swarm, PEER_BANS).ban(peer) },
    unblockPeer: (swarm, peer) => { pluginInstance(swarm, PEER_BANS).unban(peer) }
  }),
  refusedBy: 'peer-bans'
})
