import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { LISTEN, killAll, runCli, spawnMain, stop } from './support.js'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'


interface Running { child: ChildProcessWithoutNullStreams, output: () => string }

/** Starts the CLI; resolves once its output matches `pattern`. */
async function spawnCli (args: string[], pattern: RegExp): Promise<Running & { match: RegExpMatchArray }> {
  const child = spawnMain(args)
  let out = ''
  const collect = (b: Buffer): void => { out += b.toString() }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ${String(pattern)} within 30 s; output:\n${out}`)) }, 30_000)
    const check = (): void => {
      const m = out.match(pattern)
      if (m !== null) { clearTimeout(timer); resolve(m) }
    }
    child.stdout.on('data', check)
    child.stderr.on('data', check)
    child.on('exit', () => { clearTimeout(timer); const m = out.match(pattern); if (m !== null) resolve(m); else reject(new Error(`exited; output:\n${out}`)) })
  })
  return { child, output: () => out, match }
}



describe('the demo CLI', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tswarm-demo-'))
  after(async () => {
    killAll()
    await rm(dir, { recursive: true, force: true })
  })

  it('starts, prints its identity and dialable addresses, answers echo over TCP and QUIC, and stops on Ctrl-C', async () => {
    // Listeners start together, so the QUIC and TCP lines come in either order: wait for both, whole.
    const node = await spawnCli([...LISTEN, '--data-dir', join(dir, 'a')],
      /(?=[\s\S]*listening on (\/ip4\/127\.0\.0\.1\/udp\/\d+\/quic-v1\/p2p\/\w+)\n)(?=[\s\S]*listening on (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+)\n)/)
    assert.match(node.output(), /peer ID 12D3KooW\w+ \(new identity saved/)
    const tcpAddr = node.match[2]
    const viaTcp = await runCli(['echo', tcpAddr, 'over', 'tcp'])
    assert.equal(viaTcp.code, 0, viaTcp.stderr)
    assert.match(viaTcp.stdout, /echo from 12D3KooW\w+ over tcp: over tcp/)
    const viaQuic = await runCli(['echo', node.match[1], '--json'])
    assert.equal(viaQuic.code, 0, viaQuic.stderr)
    const result = JSON.parse(viaQuic.stdout) as { transport: string, reply: string }
    assert.deepEqual({ transport: result.transport, reply: result.reply }, { transport: 'quic-v1', reply: 'hello' })
    assert.equal(await stop(node.child), 0)
  })

  it('prints a status line with peers, connections by transport and bandwidth', async () => {
    const node = await spawnCli([...LISTEN, '--data-dir', join(dir, 's'), '--json'], /"event":"started".*\n/)
    const started = JSON.parse(node.output().split('\n')[0]) as { addrs: string[] }
    await runCli(['echo', started.addrs.find(a => a.includes('/tcp/')) ?? '', 'x'.repeat(1000)])
    const status = await new Promise<{ totalIn: number, connections: Record<string, number> }>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`no status line counting the echo:\n${node.output()}`)) }, 10_000)
      node.child.stdout.on('data', () => {
        const lines = node.output().split('\n').slice(0, -1).filter(l => l.includes('"event":"status"'))
        const last = lines.map(l => JSON.parse(l) as { totalIn: number, connections: Record<string, number> }).find(s => s.totalIn >= 1000)
        if (last !== undefined) { clearTimeout(timer); resolve(last) }
      })
    })
    assert.ok(status.totalIn >= 1000)
    assert.equal(typeof status.connections, 'object')
    assert.equal(await stop(node.child), 0)
  })

  it('keeps its identity across runs, and `id` reads it', async () => {
    const first = await spawnCli([...LISTEN, '--data-dir', join(dir, 'c')], /peer ID (\w+)[ \n]/)
    assert.equal(await stop(first.child), 0)
    const id = await runCli(['id', '--data-dir', join(dir, 'c'), '--json'])
    assert.equal((JSON.parse(id.stdout) as { peerId: string }).peerId, first.match[1])
    const second = await spawnCli([...LISTEN, '--data-dir', join(dir, 'c')], /peer ID (\w+)[ \n]/)
    assert.equal(second.match[1], first.match[1])
    assert.doesNotMatch(second.output(), /new identity/)
    assert.equal(await stop(second.child), 0)
  })

  it('refuses a blocked address after a restart, and accepts it again once unblocked', async () => {
    const data = join(dir, 'b')
    const blocked = await runCli(['block', '127.0.0.1', '--data-dir', data])
    assert.equal(blocked.code, 0, blocked.stderr)
    assert.match(blocked.stdout, /blocked address 127\.0\.0\.1/)
    let node = await spawnCli([...LISTEN, '--data-dir', data], /listening on (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+)\n/)
    const refused = await runCli(['echo', node.match[1]])
    assert.notEqual(refused.code, 0)
    assert.match(refused.stderr, /^tswarm: could not reach \w+: /)
    assert.equal(await stop(node.child), 0)
    assert.equal((await runCli(['unblock', '127.0.0.1', '--data-dir', data])).code, 0)
    node = await spawnCli([...LISTEN, '--data-dir', data], /listening on (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+)\n/)
    assert.equal((await runCli(['echo', node.match[1]])).code, 0)
    assert.equal(await stop(node.child), 0)
  })

  it('gives one clear line (and one per address of a failed dial or listen) and a non-zero exit for bad input, never a stack trace', async () => {
    const cases: Array<[string[], RegExp, number]> = [
      [['echo', '/ip4/not-an-ip/tcp/1'], /^tswarm: invalid multiaddr "\/ip4\/not-an-ip\/tcp\/1"/, 1],
      [['echo', '/ip4/127.0.0.1/tcp/1'], /has no \/p2p\/<peer id>/, 1],
      [['echo', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWHFrmLWTTDD4NodngtRMEVYgxrsDMp4F5iVSV8CdJ9Vwo'], /^tswarm: could not reach 12D3KooW\w+: .*\n {2}\/ip4\/127\.0\.0\.1\/tcp\/1: ECONNREFUSED: nothing listens there/, 2],
      [['frobnicate'], /unknown command "frobnicate"/, 1],
      [['start', '--listen'], /argument missing|requires a value|--listen/i, 1],
      [['start', '--metrics-port', 'x'], /--metrics-port takes a whole number/, 1],
      [['block'], /give what to block/, 1]
    ]
    for (const [args, pattern, lines] of cases) {
      const r = await runCli(args)
      assert.notEqual(r.code, 0, `${args.join(' ')} exited 0`)
      assert.match(r.stderr, pattern, `${args.join(' ')}: ${r.stderr}`)
      assert.equal(r.stderr.trim().split('\n').length, lines, `${args.join(' ')} printed ${r.stderr.trim().split('\n').length} lines, expected ${lines}:\n${r.stderr}`)
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'printed a stack trace')
    }
  })

  it('names each listen address that failed at start, and why (a port in use)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tswarm-busy-'))
    const first = spawnMain(['--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, 'a'), '--json'])
    try {
      const addr = await new Promise<string>((resolve, reject) => {
        let out = ''
        const timer = setTimeout(() => { reject(new Error(`the first node did not start:\n${out}`)) }, 30_000)
        first.stdout.on('data', (b: Buffer) => {
          out += b.toString()
          const line = out.split('\n').find(l => l.includes('"event":"started"'))
          if (line !== undefined) {
            clearTimeout(timer)
            resolve((JSON.parse(line) as { addrs: string[] }).addrs[0].replace(/\/p2p\/.*$/, ''))
          }
        })
      })
      const r = await runCli(['start', '--listen', addr, '--data-dir', join(dir, 'b')])
      assert.notEqual(r.code, 0)
      const lines = r.stderr.trim().split('\n')
      assert.match(lines[0], /^tswarm: failed to listen on any of 1 address:/, r.stderr)
      assert.match(lines[1], new RegExp(`^ {2}${addr.replaceAll('/', '\\/')}: .*EADDRINUSE.*the port is in use`), r.stderr)
    } finally {
      await stop(first)
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('prints help for every command', async () => {
    for (const cmd of ['start', 'id', 'echo', 'block', 'unblock']) {
      const r = await runCli([cmd, '--help'])
      assert.equal(r.code, 0)
      assert.match(r.stdout, new RegExp(`usage: tswarm.*${cmd === 'start' ? '' : cmd}`))
    }
  })
})
