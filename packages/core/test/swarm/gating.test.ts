import { connectionGatingTests } from '../../src/testing/gating-compliance.js'
import { memory } from '../../src/testing/memory-transport.js'

connectionGatingTests({ name: 'memory', modules: () => [memory()], listenAddrs: ['/memory/0'] })
