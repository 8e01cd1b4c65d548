import { SystemClock } from '@tswarm/core'
import { reporterComplianceTests } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import { BandwidthCounter, metrics } from '../src/index.js'
import type { ReporterCounts } from '@tswarm/core/testing'

function counts (c: BandwidthCounter): ReporterCounts {
  const pick = (s: { totalIn: number, totalOut: number }): { in: number, out: number } => ({ in: s.totalIn, out: s.totalOut })
  return {
    totals: () => pick(c.getBandwidthTotals()),
    forPeer: p => pick(c.getBandwidthForPeer(p)),
    forProtocol: p => pick(c.getBandwidthForProtocol(p))
  }
}

reporterComplianceTests({
  name: 'BandwidthCounter over the in-memory transport',
  factory: () => new BandwidthCounter(new SystemClock()),
  counts
})

reporterComplianceTests({
  name: 'BandwidthCounter over TCP, alongside the rest of metrics()',
  factory: () => {
    const c = new BandwidthCounter(new SystemClock())
    c.start()
    return c
  },
  counts,
  dispose: c => { c.stop() },
  // metrics() brings its tracer and service too; the suite's reporter replaces its counter as REPORTER
  modules: () => [tcp(), metrics()],
  listenAddrs: ['/ip4/127.0.0.1/tcp/0']
})
