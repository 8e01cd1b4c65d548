#!/usr/bin/env node
/**
 * The tswarm command-line node. `tswarm` (or `npm start`) runs a node; the other commands talk to one.
 */
import { CliError, addressReasons, help, output, parse } from './cli.js'
import { blockCmd, unblockCmd } from './commands/block.js'
import { echo } from './commands/echo.js'
import { id } from './commands/id.js'
import { peers } from './commands/peers.js'
import { perf } from './commands/perf.js'
import { ping } from './commands/ping.js'
import { start } from './commands/start.js'
import type { Command } from './cli.js'
import { describe } from '@tswarm/core'

const COMMANDS: Command[] = [start, id, ping, echo, perf, peers, blockCmd, unblockCmd]

function usage (): string {
  return ['usage: tswarm <command> [options]', '', 'commands:',
    ...COMMANDS.map(c => `  ${c.name.padEnd(10)}${c.summary.split('. ')[0]}`),
    '', 'tswarm <command> --help shows a command\'s options; with no command, tswarm runs start.'].join('\n')
}

/** js-libp2p v3 needs Node 22 (Promise.withResolvers); on an older Node it fails deep inside a handshake instead. */
const MIN_NODE_MAJOR = 22

async function main (argv: string[]): Promise<void> {
  const major = Number(process.versions.node.split('.')[0])
  if (major < MIN_NODE_MAJOR) {
    throw new CliError(`tswarm needs Node ${MIN_NODE_MAJOR} or later, this is Node ${process.versions.node}; run it through npm ` +
      '(npm start, npm run tswarm -- <command>), which uses the project\'s own Node 22')
  }
  if (argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    console.log(usage())
    return
  }
  const named = COMMANDS.find(c => c.name === argv[0])
  if (named === undefined && argv[0] !== undefined && !argv[0].startsWith('-')) {
    throw new CliError(`unknown command "${argv[0]}"; commands: ${COMMANDS.map(c => c.name).join(', ')}`)
  }
  const command = named ?? start
  const { values, positionals } = parse(command, named === undefined ? argv : argv.slice(1))
  if (values.help === true) {
    console.log(help(command))
    return
  }
  await command.run({ values, positionals, out: output(values.json === true) })
}

main(process.argv.slice(2)).then(() => {
  // One-shot commands are done; start returns only after closing its node.
  process.exitCode ??= 0
}, (err: unknown) => {
  // A failure is one clear line (and one per address of a failed dial), never a stack trace: the errors say what to do.
  const message = describe(err).split('\n')[0]
  const addresses = addressReasons(err)
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ error: message, addresses }))
  } else {
    console.error(`tswarm: ${message}`)
    for (const a of addresses) console.error(`  ${a.addr}: ${a.reason}`)
  }
  process.exitCode = 1
})
