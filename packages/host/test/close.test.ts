import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { it } from 'node:test'
import { fileURLToPath } from 'node:url'

const fixture = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'close-cleanly.js')

it('closes cleanly: after close() nothing keeps the process alive (TCP, QUIC, LevelDB, timers)', async t => {
  const child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (b: Buffer) => { stdout += b.toString() })
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString() })
  const started = Date.now()
  const killer = setTimeout(() => { child.kill('SIGKILL') }, 30_000)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve => child.on('exit', (c, s) => { resolve([c, s]) }))
  clearTimeout(killer)
  assert.equal(signal, null, `the process did not exit by itself within 30 s: something stayed open\n${stdout}\n${stderr}`)
  assert.equal(code, 0, stderr)
  const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { closed: boolean, resources: string[] }
  assert.equal(report.closed, true)
  t.diagnostic(`exited ${Date.now() - started} ms after start; handles right after close: ${report.resources.join(', ') || 'none'}`)
  const sockets = report.resources.filter(r => /TCP|UDP|Server/.test(r))
  assert.deepEqual(sockets, [], 'sockets still open after close()')
})
