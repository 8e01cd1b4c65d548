/**
 * libp2p's transport-interop test-app contract, run the way its runner does (one listener, one dialer, a real Redis
 * between them, configuration by environment): tswarm against the go and rust peers in both roles, over TCP and
 * QUIC, and tswarm against itself under the newer uppercase contract.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { after, before, describe } from 'node:test'
import { interopRequired, locatePeer } from '../src/peers.js'
import { redisMissing, startRedis } from '../src/redis-server.js'
import { check, fmt, matrixReport } from './helpers.js'
import type { PeerCommand } from '../src/peer-process.js'
import type { RedisServer } from '../src/redis-server.js'

const report = matrixReport('interop-transport', 'transport-interop test app (Redis)')

const TSWARM: PeerCommand = { name: 'tswarm', file: process.execPath, args: [fileURLToPath(new URL('../src/transport-interop.js', import.meta.url))] }

interface Exit { code: number | null, stdout: string, stderr: string }

/** Runs a test app with `env`; `stop()` ends a listener the way the runner does (SIGTERM). */
function runApp (app: PeerCommand, env: Record<string, string>, timeoutMs: number): { done: Promise<Exit>, stop: () => void } {
  const args = app.name === 'tswarm' ? app.args : [...app.args, 'transport-interop']
  const child = spawn(app.file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000) })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
  const done = new Promise<Exit>(resolve => {
    child.once('exit', code => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
  return { done, stop: () => { child.kill('SIGTERM') } }
}

const apps = (['go-libp2p', 'rust-libp2p'] as const).map(name => ({ name, located: locatePeer(name) }))
const missing = [redisMissing(), ...apps.map(a => a.located.ok ? undefined : a.located.reason)].filter(m => m !== undefined)
for (const m of missing) if (!interopRequired()) process.stdout.write(`# ${m}\n`)

describe('transport-interop test app', { skip: missing.length > 0 && !interopRequired() ? missing.join('; ') : false }, () => {
  let redis: RedisServer

  before(async () => {
    if (missing.length > 0) throw new Error(`${missing.join('; ')} (TSWARM_REQUIRE_INTEROP=1: missing pieces fail the run)`)
    redis = await startRedis()
  })

  after(async () => { await redis?.stop() })

  const pairs: Array<{ listener: PeerCommand, dialer: PeerCommand }> = []
  for (const { located } of apps) {
    if (!located.ok) continue
    pairs.push({ listener: TSWARM, dialer: located.command }, { listener: located.command, dialer: TSWARM })
  }
  pairs.push({ listener: TSWARM, dialer: TSWARM })

  for (const transport of ['tcp', 'quic-v1'] as const) {
    for (const { listener, dialer } of pairs) {
      const cell = { peer: `${listener.name} listens`, transport, direction: dialer.name }
      check(report, cell, 'handshake + 1 RTT', async () => {
        const env: Record<string, string> = {
          transport,
          ip: '127.0.0.1',
          redis_addr: redis.addr,
          test_timeout_seconds: '60',
          ...(transport === 'tcp' ? { security: 'noise', muxer: 'yamux' } : {})
        }
        const server = runApp(listener, { ...env, is_dialer: 'false' }, 90_000)
        const client = runApp(dialer, { ...env, is_dialer: 'true' }, 90_000)
        const result = await client.done
        server.stop()
        const served = await server.done
        assert.equal(result.code, 0, `the ${dialer.name} dialer exited ${String(result.code)}: ${result.stderr.slice(-600)}\nlistener: ${served.stderr.slice(-600)}`)
        const lines = result.stdout.trim().split('\n')
        assert.equal(lines.length, 1, `the dialer printed ${lines.length} lines on stdout`)
        const parsed = JSON.parse(lines[0]) as Record<string, unknown>
        assert.deepEqual(Object.keys(parsed).sort(), ['handshakePlusOneRTTMillis', 'pingRTTMilllis'])
        const total = parsed.handshakePlusOneRTTMillis
        const ping = parsed.pingRTTMilllis
        assert.ok(typeof total === 'number' && total > 0 && typeof ping === 'number' && ping >= 0 && ping <= total, lines[0])
        return `${fmt(total)} ms, ping ${fmt(ping)} ms`
      })
    }
  }

  check(report, { peer: 'tswarm listens', transport: 'tcp', direction: 'tswarm (uppercase contract)' }, 'handshake + 1 RTT', async () => {
    const env = { TRANSPORT: 'tcp', SECURE_CHANNEL: 'noise', MUXER: 'yamux', LISTENER_IP: '127.0.0.1', REDIS_ADDR: redis.addr, TEST_KEY: 'tswarm-self' }
    const server = runApp(TSWARM, { ...env, IS_DIALER: 'false' }, 90_000)
    const client = runApp(TSWARM, { ...env, IS_DIALER: 'true' }, 90_000)
    const result = await client.done
    server.stop()
    await server.done
    assert.equal(result.code, 0, result.stderr)
    const match = /^latency:\n {2}handshake_plus_one_rtt: ([\d.]+)\n {2}ping_rtt: ([\d.]+)\n {2}unit: ms\n$/.exec(result.stdout)
    assert.ok(match !== null, `not the YAML the contract asks for: ${result.stdout}`)
    return `${fmt(Number(match[1]))} ms, ping ${fmt(Number(match[2]))} ms`
  })
})
