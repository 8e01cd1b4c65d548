#!/usr/bin/env node
/**
 * The tswarm demo node. `npm start` runs it with defaults: TCP on every interface (port 4001), identity kept in
 * `.tswarm/identity.key`, an echo protocol, and a status line until Ctrl-C.
 */
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { AddrTTL, createSwarm, loadOrCreateIdentity, parseMultiaddr, parsePeerId } from '@tswarm/core'
import { tcp } from '@tswarm/transport-tcp'
import type { Swarm } from '@tswarm/core'

const ECHO = '/echo/1.0.0'
const HELP = `usage: tswarm [options]

Starts a node that answers ${ECHO}, prints its peer ID and addresses, then a status line until Ctrl-C.

options:
  --listen <multiaddr>   listen address (repeatable; default /ip4/0.0.0.0/tcp/4001 and /ip6/::/tcp/4001)
  --data-dir <dir>       where the identity is kept (default .tswarm in the current directory)
  --dial <multiaddr>     also dial this peer (…/p2p/<id>), echo a greeting, and print the reply
  --help                 this text`

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      listen: { type: 'string', multiple: true },
      'data-dir': { type: 'string' },
      dial: { type: 'string' },
      help: { type: 'boolean' }
    }
  })
  if (values.help === true) {
    console.log(HELP)
    return
  }
  // Installed before anything starts, so a Ctrl-C during start-up also shuts down cleanly.
  let swarm: Swarm | undefined
  let status: ReturnType<typeof setInterval> | undefined
  const stop = (): void => {
    clearInterval(status)
    process.stdout.write('\nclosing...\n')
    Promise.resolve(swarm?.close()).then(() => { process.exit(0) }, (err: unknown) => { fail(err) })
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)

  // npm runs scripts inside the package folder; INIT_CWD is where the user typed the command.
  const dataDir = resolve(process.env.INIT_CWD ?? process.cwd(), values['data-dir'] ?? '.tswarm')
  const { privateKey, created } = await loadOrCreateIdentity(join(dataDir, 'identity.key'))
  const listen = values.listen ?? ['/ip4/0.0.0.0/tcp/4001', '/ip6/::/tcp/4001']
  const node = await createSwarm({ privateKey, modules: [tcp()], listen })
  swarm = node
  node.setStreamHandler(async stream => {
    await node.negotiateInbound(stream, [ECHO])
    for await (const chunk of stream) await stream.write(chunk)
    await stream.closeWrite()
  })

  console.log(`peer ID ${node.localPeer.toString()}${created ? ` (new identity saved in ${dataDir})` : ''}`)
  for (const a of node.interfaceListenAddresses()) console.log(`listening on ${a.toString()}/p2p/${node.localPeer.toString()}`)

  if (values.dial !== undefined) await greet(node, values.dial)

  status = setInterval(() => {
    process.stdout.write(`\rpeers ${node.peers().length}  connections ${node.conns().length}   `)
  }, 1_000)
}

async function greet (swarm: Swarm, target: string): Promise<void> {
  const addr = parseMultiaddr(target)
  const id = addr.getComponents().find(c => c.name === 'p2p')?.value
  if (id === undefined) throw new Error(`--dial needs an address ending in /p2p/<peer id>, got ${target}`)
  const peer = parsePeerId(id)
  swarm.peerstore.addAddrs(peer, [addr], AddrTTL.PERMANENT)
  const stream = await swarm.newStream(peer, { protocols: [ECHO] })
  await stream.write(`hello from ${swarm.localPeer.toString()}`)
  await stream.closeWrite()
  let reply = ''
  for await (const chunk of stream) reply += new TextDecoder().decode(chunk)
  console.log(`echo from ${peer.toString()}: ${reply}`)
}

function fail (err: unknown): never {
  console.error(`tswarm: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
}

main().catch(fail)
