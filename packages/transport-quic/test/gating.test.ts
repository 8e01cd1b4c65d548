import { connectionGatingTests } from '@tswarm/core/testing'
import { quic } from '../src/index.js'

connectionGatingTests({ name: 'quic-v1', modules: () => [quic()], listenAddrs: ['/ip4/127.0.0.1/udp/0/quic-v1'], nativeHandshake: true })
