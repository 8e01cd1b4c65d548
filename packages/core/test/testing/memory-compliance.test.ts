import { memory } from '../../src/testing/memory-transport.js'
import { transportComplianceTests } from '../../src/testing/transport-compliance.js'

transportComplianceTests({
  name: 'memory',
  modules: () => [memory()],
  listenAddrs: ['/memory/0'],
  deadAddr: '/memory/nobody-listens-here'
})
