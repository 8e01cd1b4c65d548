import { join } from 'node:path'
import { loadOrCreateIdentity, peerIdOf } from '@tswarm/core'
import { str } from '../cli.js'
import { dataDirOf } from '../node.js'
import type { Command } from '../cli.js'

export const id: Command = {
  name: 'id',
  usage: 'tswarm id [--data-dir <dir>] [--json]',
  summary: 'Prints the node\'s peer ID and key type (creating the identity on first use).',
  options: {
    'data-dir': { type: 'string', description: 'where the identity is kept (default .tswarm in the current directory)' }
  },
  async run ({ values, out }) {
    const dir = dataDirOf(str(values, 'data-dir'))
    const { privateKey, created } = await loadOrCreateIdentity(join(dir, 'identity.key'))
    const peerId = peerIdOf(privateKey).toString()
    out.result(`${peerId} (${privateKey.type}${created ? ', new' : ''})`, { peerId, keyType: privateKey.type, created, dataDir: dir })
  }
}
