/**
 * The /metrics endpoint checked by Prometheus's own tools, as an operator would use them: `promtool check metrics`
 * on what it serves, and a real Prometheus server that scrapes it and answers a query for a series through its API.
 * Debian's `prometheus` package brings both; where it is missing the suite skips with one line (`.ci/run` installs
 * it and sets TSWARM_REQUIRE_TOOLS=1, which turns the skip into a failure).
 */
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createSwarm, pluginInstance } from '@tswarm/core'
import { echoHandler, freePort, introduce } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import { METRIC_PREFIX, SWARM_METRICS, metrics } from '../src/index.js'
import type { ChildProcess } from 'node:child_process'
import type { Swarm } from '@tswarm/core'

function missingTool (): string | undefined {
  for (const tool of ['promtool', 'prometheus']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' })
    } catch {
      return `Prometheus tools skipped: ${tool} is missing (Debian: apt-get install prometheus)`
    }
  }
  return undefined
}

const missing = missingTool()
const required = process.env.TSWARM_REQUIRE_TOOLS === '1'
if (missing !== undefined && !required) process.stdout.write(`# ${missing}\n`)

describe('the /metrics endpoint in Prometheus\'s own tools', { skip: missing !== undefined && !required ? missing : false }, () => {
  let a: Swarm
  let b: Swarm
  let url: URL

  before(async () => {
    if (missing !== undefined) throw new Error(`${missing} (TSWARM_REQUIRE_TOOLS=1: a missing tool fails the run)`)
    a = await createSwarm({ modules: [tcp(), metrics({ http: { port: 0 } })], listen: ['/ip4/127.0.0.1/tcp/0'] })
    b = await createSwarm({ modules: [tcp()], listen: ['/ip4/127.0.0.1/tcp/0'] })
    b.setStreamHandler(echoHandler(b, '/echo/1.0.0'))
    introduce(a, b)
    // a connection and a stream, so the series have samples with labels
    const stream = await a.newStream(b.localPeer, { protocols: ['/echo/1.0.0'] })
    await stream.write(new Uint8Array(1000))
    await stream.closeWrite()
    for await (const chunk of stream) assert.ok(chunk.byteLength > 0)
    url = new URL(pluginInstance(a, SWARM_METRICS).httpAddress?.url ?? '')
  })

  after(async () => { await Promise.all([a?.close(), b?.close()]) })

  it('passes promtool check metrics', async () => {
    const text = await (await fetch(url)).text()
    // promtool reads the exposition on stdin and exits non-zero on a format error (lint findings go to stderr)
    const result = await new Promise<{ code: number | null, stderr: string }>(resolve => {
      const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
      child.once('exit', code => { resolve({ code, stderr }) })
      child.stdin.end(text)
    })
    assert.equal(result.code, 0, `promtool check metrics failed:\n${result.stderr}`)
    assert.equal(result.stderr.trim(), '', `promtool found problems:\n${result.stderr}`)
  })

  it('is scraped by a Prometheus server, which answers a query for a swarm series', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tswarm-prometheus-'))
    const port = await freePort()
    const config = [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: tswarm',
      `    metrics_path: ${url.pathname}`,
      '    static_configs:',
      `      - targets: ['${url.host}']`
    ].join('\n')
    await writeFile(join(dir, 'prometheus.yml'), config)
    const server: ChildProcess = spawn('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`
    ], { stdio: 'ignore' })
    const exited = new Promise<void>(resolve => server.once('exit', () => { resolve() }))
    try {
      const query = `${METRIC_PREFIX}connections_opened_total`
      const deadline = Date.now() + 30_000
      let found: Array<{ metric: Record<string, string>, value: [number, string] }> = []
      while (found.length === 0) {
        if (Date.now() > deadline) throw new Error(`Prometheus returned no ${query} within 30 s`)
        await new Promise(resolve => setTimeout(resolve, 500))
        try {
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(query)}`)
          const body = await res.json() as { status: string, data?: { result: typeof found } }
          if (body.status === 'success') found = body.data?.result ?? []
        } catch {
          // not up yet: its port refuses until it has loaded the config
        }
      }
      const opened = found.reduce((n, r) => n + Number(r.value[1]), 0)
      assert.ok(opened >= 1, `Prometheus read ${opened} opened connections`)
      assert.ok(found.every(r => r.metric.job === 'tswarm'))
    } finally {
      server.kill('SIGTERM')
      await exited
      await rm(dir, { recursive: true, force: true })
    }
  })
})
