import { createHash, randomBytes } from 'node:crypto'
import { after, it } from 'node:test'
import { peerIdFromString } from '@libp2p/peer-id'
import { HOST_VERSION } from '@tswarm/host'
import { MatrixReport } from '../src/report.js'
import type { PeerProcess } from '../src/peer-process.js'
import type { Stream } from '@tswarm/core'
import type { PeerId } from '@libp2p/interface'

export const MiB = 1024 * 1024
export const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
export const fmt = (ms: number): string => ms < 10 ? ms.toFixed(2) : ms.toFixed(1)

/** What the tswarm host sends in identify (the host's default). */
export const TSWARM_AGENT = `tswarm/${HOST_VERSION} node/${process.versions.node}`

/** The matrix of this test file; printed, and written to `TSWARM_INTEROP_REPORT` when set, after the last test. */
export function matrixReport (section: string, title: string): MatrixReport {
  const report = new MatrixReport(section, title)
  report.versions.set('tswarm', `@tswarm/host ${HOST_VERSION} on Node ${process.versions.node}`)
  after(() => {
    if (report.results.length === 0) return
    process.stdout.write(`\n${report.table()}\n\n`)
    const path = process.env.TSWARM_INTEROP_REPORT
    if (path !== undefined && path !== '') report.write(path)
  })
  return report
}

export interface Cell {
  peer: string
  transport: string
  direction: string
}

/** A test that is also a matrix entry: its return value is the entry's detail, its failure the entry's reason. */
export function check (report: MatrixReport, cell: Cell, name: string, fn: () => Promise<string>): void {
  it(name, async () => {
    try {
      const detail = await fn()
      report.record({ ...cell, check: name, ok: true, detail })
    } catch (err) {
      report.record({ ...cell, check: name, ok: false, detail: (err as Error).message.split('\n')[0] })
      throw err
    }
  })
}

export function peerIdOf (peer: PeerProcess): PeerId {
  return peerIdFromString(peer.ready.peerId)
}

/** Writes `bytes` random bytes in 64 KiB chunks; returns their hash. */
export async function writeRandom (stream: Stream, bytes: number): Promise<string> {
  const hash = createHash('sha256')
  for (let off = 0; off < bytes; off += 64 * 1024) {
    const chunk = randomBytes(Math.min(64 * 1024, bytes - off))
    hash.update(chunk)
    await stream.write(chunk)
  }
  return hash.digest('hex')
}

/** Reads a stream to its end; returns the byte count and hash. */
export async function readHashed (stream: Stream): Promise<{ bytes: number, sha256: string }> {
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of stream) {
    hash.update(chunk)
    bytes += chunk.byteLength
  }
  return { bytes, sha256: hash.digest('hex') }
}
