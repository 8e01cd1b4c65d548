import { transportComplianceTests } from '@tswarm/core/testing'
import { tcp } from '../src/index.js'

transportComplianceTests({
  name: 'tcp over IPv4 loopback',
  modules: () => [tcp()],
  listenAddrs: ['/ip4/127.0.0.1/tcp/0'],
  // Port 1 (tcpmux) is privileged and unused on a test machine: the dial is refused at once.
  deadAddr: '/ip4/127.0.0.1/tcp/1',
  // @libp2p/tcp's listener destroys every socket it accepted when it closes, upgraded or not
  listenerCloseKeepsConnections: false
})
