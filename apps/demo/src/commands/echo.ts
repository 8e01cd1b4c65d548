import { readAll } from '@tswarm/core'
import { failure } from '../cli.js'
import { ECHO, dataDirOf, startNode, targetOf } from '../node.js'
import type { Command } from '../cli.js'

export const echo: Command = {
  name: 'echo',
  usage: 'tswarm echo <multiaddr>/p2p/<peer id> [text] [--json]',
  summary: 'Sends text (default "hello") to a node\'s /echo/1.0.0 and prints what comes back.',
  options: {},
  async run ({ positionals, out }) {
    const [target, ...words] = positionals
    const text = words.length > 0 ? words.join(' ') : 'hello'
    const node = await startNode({ dataDir: dataDirOf(undefined), listen: [], ephemeral: true })
    try {
      const peer = targetOf(node.swarm, target)
      const started = performance.now()
      const stream = await node.host.newStream(peer, ECHO).catch(err => {
        throw failure(`could not reach ${peer.toString()}`, err)
      })
      await stream.write(text)
      await stream.closeWrite()
      const reply = new TextDecoder().decode(await readAll(stream))
      const ms = performance.now() - started
      out.result(`echo from ${peer.toString()} over ${stream.conn.stat().transport}: ${reply} (${ms.toFixed(1)} ms)`,
        { peer: peer.toString(), transport: stream.conn.stat().transport, reply, ms })
    } finally {
      await node.host.close()
    }
  }
}
