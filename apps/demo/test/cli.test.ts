import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url))
const children: ChildProcessWithoutNullStreams[] = []

/** Starts the CLI and resolves once its output matches `pattern`, with everything printed so far. */
async function run (args: string[], pattern: RegExp): Promise<{ child: ChildProcessWithoutNullStreams, output: () => string, match: RegExpMatchArray }> {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, INIT_CWD: '' } })
  children.push(child)
  let out = ''
  child.stdout.on('data', (b: Buffer) => { out += b.toString() })
  child.stderr.on('data', (b: Buffer) => { out += b.toString() })
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ${String(pattern)} within 20 s; output:\n${out}`)) }, 20_000)
    const check = (): void => {
      const m = out.match(pattern)
      if (m !== null) { clearTimeout(timer); resolve(m) }
    }
    child.stdout.on('data', check)
    child.stderr.on('data', check)
    child.on('exit', code => { clearTimeout(timer); const m = out.match(pattern); if (m !== null) resolve(m); else reject(new Error(`exited ${String(code)}; output:\n${out}`)) })
  })
  return { child, output: () => out, match }
}

async function exitCode (child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode
  return new Promise(resolve => { child.on('exit', code => { resolve(code) }) })
}

describe('the demo CLI', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tswarm-demo-'))
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('starts, prints its identity and addresses, answers a second node, and stops cleanly on SIGINT', async () => {
    const server = await run(['--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, 'a')], /listening on (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+)/)
    assert.match(server.output(), /peer ID 12D3KooW\w+ \(new identity saved/)
    const addr = server.match[1]
    const client = await run(['--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, 'b'), '--dial', addr], /echo from \w+: (.*)/)
    assert.match(client.match[1], /^hello from 12D3KooW/)
    for (const c of [client.child, server.child]) {
      c.kill('SIGINT')
      assert.equal(await exitCode(c), 0)
    }
  })

  it('keeps its identity across runs', async () => {
    const first = await run(['--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, 'c')], /peer ID (\w+)/)
    first.child.kill('SIGINT')
    await exitCode(first.child)
    const second = await run(['--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, 'c')], /peer ID (\w+)/)
    assert.equal(second.match[1], first.match[1])
    assert.doesNotMatch(second.output(), /new identity/)
    second.child.kill('SIGINT')
    assert.equal(await exitCode(second.child), 0)
  })

  it('gives one clear line and a non-zero exit for a malformed multiaddr', async () => {
    const bad = await run(['--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, 'd'), '--dial', '/ip4/not-an-ip/tcp/1'], /tswarm: .*/)
    assert.notEqual(await exitCode(bad.child), 0)
    assert.doesNotMatch(bad.output(), /\n\s+at /, 'printed a stack trace')
  })
})
