import { transportComplianceTests } from '@tswarm/core/testing'
import { websockets } from '../src/index.js'

// The suite every tswarm transport runs, passed by a transport from outside the project.
transportComplianceTests({
  name: 'third-party WebSockets',
  modules: () => [websockets()],
  listenAddrs: ['/ip4/127.0.0.1/tcp/0/ws'],
  deadAddr: '/ip4/127.0.0.1/tcp/1/ws'
})

// core's connection-gating table is not run here: @libp2p/websockets 10.1.21 cannot abort a connection on Node
// (its sendReset passes close code 1006, which the ws library rejects with a TypeError), so a connection the listener
// refuses after the handshake stays open until the other side closes it. See README.md.
