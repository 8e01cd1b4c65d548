import type { Multiaddr } from '@multiformats/multiaddr'

/** How one address of a dial ended, or where it stands. */
export type PlanOutcome =
  | 'scheduled' // ranked, waiting for its delay
  | 'dialing' // dial in flight
  | 'connected'
  | 'failed'
  | 'backoff' // skipped: failed recently
  | 'black-hole' // skipped: its address class looks unreachable
  | 'filtered' // skipped before ranking (no transport, self, gater, ...)
  | 'cancelled' // not finished when the dial ended

/** One address in a dial plan. Times are ms on the swarm's clock, relative to when the dial started. */
export interface PlanEntry {
  readonly addr: Multiaddr
  /** The delay the ranker gave it; undefined for addresses filtered before ranking. */
  readonly rankDelay?: number
  /** When its dial began. */
  startedAt?: number
  /** When its dial ended. */
  endedAt?: number
  outcome: PlanOutcome
  error?: Error
}

/**
 * What a dial did with each address: its rank delay, when it started, and how it ended. Every DialError carries
 * one, so "why did this dial fail?" is answered by the error itself; `toString()` prints it as a table.
 */
export class DialPlan {
  constructor (readonly entries: readonly PlanEntry[]) {}

  toString (): string {
    const rows = this.entries.map(e => [
      e.addr.toString(),
      e.rankDelay === undefined ? '-' : `${e.rankDelay} ms`,
      e.startedAt === undefined ? '-' : `+${e.startedAt} ms`,
      e.endedAt === undefined ? '-' : `+${e.endedAt} ms`,
      e.outcome,
      e.error === undefined ? '' : e.error.message.split('\n')[0]
    ])
    const header = ['address', 'rank delay', 'started', 'ended', 'outcome', 'error']
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)))
    const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()
    return [line(header), ...rows.map(line)].join('\n')
  }
}
