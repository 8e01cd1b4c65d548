import { failure, int } from '../cli.js'
import { dataDirOf, startNode, targetOf } from '../node.js'
import type { Command } from '../cli.js'

export const ping: Command = {
  name: 'ping',
  usage: 'tswarm ping <multiaddr>/p2p/<peer id> [--count <n>] [--json]',
  summary: 'Measures round trips to a node with the libp2p ping protocol (/ipfs/ping/1.0.0).',
  options: {
    count: { type: 'string', description: 'how many pings (default 5)' }
  },
  async run ({ values, positionals, out }) {
    const count = int(values, 'count', 5, 1, 10_000)
    const node = await startNode({ dataDir: dataDirOf(undefined), listen: [], ephemeral: true })
    try {
      const peer = targetOf(node.swarm, positionals[0])
      const rtts = await node.host.pings(peer, count).catch(err => {
        throw failure(`could not ping ${peer.toString()}`, err)
      })
      const transport = node.swarm.connsToPeer(peer)[0]?.stat().transport ?? 'unknown'
      rtts.forEach((ms, i) => { if (!out.json) console.log(`ping ${i + 1}: ${ms.toFixed(2)} ms`) })
      const sorted = [...rtts].sort((a, b) => a - b)
      const median = sorted[Math.floor(sorted.length / 2)]
      out.result(`${count} pings to ${peer.toString()} over ${transport}: min ${sorted[0].toFixed(2)} / median ${median.toFixed(2)} / max ${sorted[sorted.length - 1].toFixed(2)} ms`,
        { peer: peer.toString(), transport, rtts, min: sorted[0], median, max: sorted[sorted.length - 1] })
    } finally {
      await node.host.close()
    }
  }
}
