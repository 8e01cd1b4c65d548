import type { Reporter } from './interfaces/reporter.js'

/** The default reporter: counts nothing, costs nothing. Replace it with @tswarm/metrics' BandwidthCounter. */
export class NullReporter implements Reporter {
  logSentMessage (): void {}
  logRecvMessage (): void {}
  logSentMessageStream (): void {}
  logRecvMessageStream (): void {}
}
