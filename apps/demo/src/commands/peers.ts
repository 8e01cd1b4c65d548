import { str } from '../cli.js'
import { dataDirOf, startNode } from '../node.js'
import type { Command } from '../cli.js'

export const peers: Command = {
  name: 'peers',
  usage: 'tswarm peers [--data-dir <dir>] [--json]',
  summary: 'Lists the peers the node has learned of (kept in its data directory): addresses, protocols, agent.',
  options: {
    'data-dir': { type: 'string', description: 'the node\'s data directory (default .tswarm in the current directory)' }
  },
  async run ({ values, out }) {
    const node = await startNode({ dataDir: dataDirOf(str(values, 'data-dir')), listen: [] })
    try {
      const store = node.swarm.peerstore
      const known = store.peers().filter(p => !p.equals(node.swarm.localPeer))
      if (known.length === 0 && !out.json) console.log('no peers known yet')
      for (const peer of known) {
        const agent = store.get(peer, 'AgentVersion')
        const addrs = store.addrs(peer).map(String)
        const protocols = store.getProtocols(peer)
        out.result(`${peer.toString()}  ${typeof agent === 'string' ? agent : 'agent unknown'}\n  addrs: ${addrs.join(', ') || 'none'}\n  protocols: ${protocols.join(', ') || 'unknown'}`,
          { peer: peer.toString(), agent, addrs, protocols })
      }
    } finally {
      await node.host.close()
    }
  }
}
