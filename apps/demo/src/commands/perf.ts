import { CliError, failure, int } from '../cli.js'
import { dataDirOf, startNode, targetOf } from '../node.js'
import type { Command } from '../cli.js'
import type { Stream } from '@tswarm/core'

const PERF = '/perf/1.0.0'
const CHUNK = 64 * 1024

export const perf: Command = {
  name: 'perf',
  usage: 'tswarm perf <multiaddr>/p2p/<peer id> [--upload <MiB>] [--download <MiB>] [--json]',
  summary: 'Measures throughput up and down to a node with the libp2p perf protocol (/perf/1.0.0), with a progress bar.',
  options: {
    upload: { type: 'string', description: 'MiB to send (default 64)' },
    download: { type: 'string', description: 'MiB to ask back (default 64)' }
  },
  async run ({ values, positionals, out }) {
    const up = int(values, 'upload', 64, 0, 16_384) * 1024 * 1024
    const down = int(values, 'download', 64, 0, 16_384) * 1024 * 1024
    const node = await startNode({ dataDir: dataDirOf(undefined), listen: [], ephemeral: true })
    try {
      const peer = targetOf(node.swarm, positionals[0])
      const stream = await node.host.newStream(peer, PERF).catch(err => {
        throw failure(`could not reach ${peer.toString()} for perf`, err)
      })
      const bar = progress(!out.json && process.stdout.isTTY)
      const { uploadMs, downloadMs } = await run(stream, up, down, bar)
      bar.done()
      const mbps = (bytes: number, ms: number): number => ms === 0 ? 0 : bytes * 8 / (ms / 1000) / 1e6
      const transport = stream.conn.stat().transport
      out.result(`perf with ${peer.toString()} over ${transport}: up ${mbps(up, uploadMs).toFixed(0)} Mbit/s (${(up / 1048576).toFixed(0)} MiB), ` +
        `down ${mbps(down, downloadMs).toFixed(0)} Mbit/s (${(down / 1048576).toFixed(0)} MiB)`,
      { peer: peer.toString(), transport, uploadBytes: up, downloadBytes: down, uploadMs, downloadMs, uploadMbps: mbps(up, uploadMs), downloadMbps: mbps(down, downloadMs) })
    } finally {
      await node.host.close()
    }
  }
}

/**
 * The perf client (libp2p perf spec): the bytes wanted back as a big-endian uint64, the upload, a half-close, then
 * the download read to its end. Written here rather than taken from the host so the bar can follow every chunk.
 */
async function run (stream: Stream, up: number, down: number, bar: Progress): Promise<{ uploadMs: number, downloadMs: number }> {
  const header = new Uint8Array(8)
  new DataView(header.buffer).setBigUint64(0, BigInt(down))
  const started = performance.now()
  await stream.write(header)
  const chunk = new Uint8Array(CHUNK)
  for (let sent = 0; sent < up;) {
    const n = Math.min(CHUNK, up - sent)
    await stream.write(n === CHUNK ? chunk : chunk.subarray(0, n))
    sent += n
    bar.update('up', sent, up)
  }
  await stream.closeWrite()
  const uploaded = performance.now()
  let received = 0
  for await (const data of stream) {
    received += data.byteLength
    bar.update('down', received, down)
  }
  if (received !== down) throw new CliError(`the peer sent ${received} of the ${down} bytes asked for`)
  return { uploadMs: uploaded - started, downloadMs: performance.now() - uploaded }
}

interface Progress {
  update(phase: string, done: number, total: number): void
  done(): void
}

/** A one-line bar on a terminal; nothing when output goes to a pipe or is JSON. */
function progress (enabled: boolean): Progress {
  let last = 0
  return {
    update (phase, done, total) {
      const now = performance.now()
      if (!enabled || (now - last < 100 && done < total)) return
      last = now
      const width = 30
      const filled = total === 0 ? width : Math.round(width * done / total)
      process.stdout.write(`\r${phase.padEnd(4)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(done / 1048576).toFixed(1)}/${(total / 1048576).toFixed(1)} MiB`)
    },
    done () {
      if (enabled) process.stdout.write('\n')
    }
  }
}
