import { int, str } from '../cli.js'
import { DEFAULT_LISTEN, dataDirOf, startNode } from '../node.js'
import type { Command } from '../cli.js'

const STATUS_EVERY_MS = 1_000

export const start: Command = {
  name: 'start',
  usage: 'tswarm [start] [--listen <multiaddr>]... [--data-dir <dir>] [--metrics-port <port>] [--json]',
  summary: 'Starts a node (TCP and QUIC on all interfaces, metrics on) that answers /echo/1.0.0, prints its peer ID and ' +
    'dialable addresses, then a status line until Ctrl-C.',
  options: {
    listen: { type: 'string', multiple: true, description: `listen address (repeatable; default ${DEFAULT_LISTEN.join(', ')})` },
    'data-dir': { type: 'string', description: 'where the identity is kept (default .tswarm in the current directory)' },
    'metrics-port': { type: 'string', description: 'serve Prometheus /metrics on 127.0.0.1:<port>' }
  },
  async run ({ values, out }) {
    // Listening for Ctrl-C before anything is printed: a user (or a script) may press it as soon as the first line shows.
    const stopped = new Promise<void>(resolve => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    const listen = (values.listen as string[] | undefined) ?? DEFAULT_LISTEN
    const metricsPort = values['metrics-port'] === undefined ? undefined : int(values, 'metrics-port', 0, 0, 65535)
    const node = await startNode({ dataDir: dataDirOf(str(values, 'data-dir')), listen, metricsPort })
    const { swarm } = node
    const stats = node.metrics
    const addrs = swarm.interfaceListenAddresses().map(a => `${a.toString()}/p2p/${swarm.localPeer.toString()}`)
    out.result(`peer ID ${swarm.localPeer.toString()}${node.created ? ` (new identity saved in ${node.dataDir})` : ''}`,
      { event: 'started', peerId: swarm.localPeer.toString(), created: node.created, addrs, metrics: stats.httpAddress?.url })
    if (!out.json) {
      for (const a of addrs) console.log(`listening on ${a}`)
      if (stats.httpAddress !== undefined) console.log(`metrics on ${stats.httpAddress.url}`)
    }

    // A status line: rewritten in place on a terminal, one line per tick otherwise (logs, pipes, --json).
    const inPlace = process.stdout.isTTY && !out.json
    const status = setInterval(() => {
      const byTransport: Record<string, number> = {}
      for (const c of swarm.conns()) byTransport[c.stat().transport] = (byTransport[c.stat().transport] ?? 0) + 1
      const bw = stats.bandwidth.getBandwidthTotals()
      const data = { event: 'status', peers: swarm.peers().length, connections: byTransport, totalIn: bw.totalIn, totalOut: bw.totalOut, rateIn: Math.round(bw.rateIn), rateOut: Math.round(bw.rateOut) }
      const conns = Object.entries(byTransport).map(([t, n]) => `${t} ${n}`).join(', ') || 'none'
      const text = `peers ${data.peers} | connections ${conns} | in ${kib(bw.totalIn)} (${kib(bw.rateIn)}/s) | out ${kib(bw.totalOut)} (${kib(bw.rateOut)}/s)`
      if (inPlace) process.stdout.write(`\r${text.padEnd(100)}`)
      else out.result(text, data)
    }, STATUS_EVERY_MS)

    await stopped
    clearInterval(status)
    if (inPlace) process.stdout.write('\n')
    await node.host.close()
    out.result('stopped', { event: 'stopped' })
  }
}

function kib (bytes: number): string {
  return bytes < 1024 ? `${Math.round(bytes)} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
