import { connectionGatingTests } from '@tswarm/core/testing'
import { tcp } from '../src/index.js'

connectionGatingTests({ name: 'tcp', modules: () => [tcp()], listenAddrs: ['/ip4/127.0.0.1/tcp/0'] })
