import { transportComplianceTests } from '@tswarm/core/testing'
import { quic } from '../src/index.js'

transportComplianceTests({
  name: 'quic-v1 over IPv4 loopback',
  modules: () => [quic()],
  listenAddrs: ['/ip4/127.0.0.1/udp/0/quic-v1'],
  // Nothing listens on UDP port 1 of loopback: the handshake times out (handshakeTimeout, 5 s by default).
  deadAddr: '/ip4/127.0.0.1/udp/1/quic-v1',
  // QUIC connections travel over the listener's UDP socket: closing it closes them.
  listenerCloseKeepsConnections: false
})
