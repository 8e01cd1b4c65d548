import { isIP } from 'node:net'
import { CliError, str } from '../cli.js'
import { dataDirOf, startNode } from '../node.js'
import type { Command } from '../cli.js'
import type { BlockList } from '@tswarm/gater'

type Kind = 'peer' | 'address' | 'subnet'

/** What the user gave: a CIDR subnet, a bare IP address, or a peer ID. */
function kindOf (target: string): Kind {
  if (target.includes('/')) return 'subnet'
  if (isIP(target) !== 0) return 'address'
  return 'peer'
}

async function apply (list: BlockList, kind: Kind, target: string, block: boolean): Promise<void> {
  if (kind === 'subnet') await (block ? list.blockSubnet(target) : list.unblockSubnet(target))
  else if (kind === 'address') await (block ? list.blockAddr(target) : list.unblockAddr(target))
  else await (block ? list.blockPeer(target) : list.unblockPeer(target))
}

function blockCommand (block: boolean): Command {
  const name = block ? 'block' : 'unblock'
  return {
    name,
    usage: `tswarm ${name} <peer id | ip | cidr> [--data-dir <dir>] [--json]`,
    summary: `${block ? 'Blocks' : 'Unblocks'} a peer, an IP address or a subnet in the node's stored block list (in force from the node's next start).`,
    options: {
      'data-dir': { type: 'string', description: 'the node\'s data directory (default .tswarm in the current directory)' }
    },
    async run ({ values, positionals, out }) {
      const target = positionals[0]
      if (target === undefined) throw new CliError(`give what to ${name}: a peer ID, an IP address or a CIDR subnet`)
      const kind = kindOf(target)
      const node = await startNode({ dataDir: dataDirOf(str(values, 'data-dir')), listen: [] })
      try {
        const list = node.blocks
        if (list === undefined) throw new CliError('this node keeps no block list')
        await apply(list, kind, target, block)
        const blocked = { peers: list.blockedPeers().map(String), addrs: list.blockedAddrs().map(String), subnets: list.blockedSubnets().map(String) }
        out.result(`${block ? 'blocked' : 'unblocked'} ${kind} ${target}`, { action: name, kind, target, blocked })
      } finally {
        await node.host.close()
      }
    }
  }
}

export const blockCmd = blockCommand(true)
export const unblockCmd = blockCommand(false)
