import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..')
const BIN = join(ROOT, 'node_modules', '.bin')
// npm and the tools run on the project's Node 22 (first on PATH), as the npm scripts do.
const env = { ...process.env, PATH: `${BIN}:${process.env.PATH ?? ''}` }

interface PackageInfo { name: string, dir: string, tarball?: string }

/** Every workspace package under packages/ that is meant to be published. */
async function publishable (): Promise<PackageInfo[]> {
  const out: PackageInfo[] = []
  for (const entry of await readdir(join(ROOT, 'packages'))) {
    const dir = join(ROOT, 'packages', entry)
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name: string, private?: boolean }
    if (manifest.private !== true) out.push({ name: manifest.name, dir })
  }
  return out
}

describe('the packages as published', () => {
  let work: string
  let packages: PackageInfo[]

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'tswarm-pack-'))
    packages = await publishable()
    for (const p of packages) {
      const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: p.dir, env, timeout: 120_000 })
      p.tarball = join(work, stdout.trim().split('\n').pop() ?? '')
    }
  })

  after(async () => {
    await rm(work, { recursive: true, force: true })
  })

  it('packs core, the transports and every other published package', () => {
    const names = packages.map(p => p.name)
    for (const required of ['@tswarm/core', '@tswarm/transport-tcp', '@tswarm/transport-quic', '@tswarm/gater', '@tswarm/metrics', '@tswarm/host']) {
      assert.ok(names.includes(required), `${required} is not packed`)
    }
  })

  it('every packed package resolves with its types for ESM consumers (arethetypeswrong)', async () => {
    for (const p of packages) {
      // ESM only on purpose (js-libp2p v3 is ESM only): CommonJS resolution modes are out of scope.
      const result = await run('attw', [p.tarball ?? '', '--profile', 'esm-only', '--format', 'ascii'], { env, timeout: 120_000 })
        .then(() => 'ok', (err: { stdout?: string }) => err.stdout ?? String(err))
      assert.equal(result, 'ok', `${p.name}:\n${result}`)
    }
  })

  it('installs from the tarballs alone into a fresh project, where a TCP + QUIC + gater + metrics node connects to another', async () => {
    const app = join(work, 'app')
    await run('mkdir', ['-p', app])
    const deps = Object.fromEntries(packages.map(p => [p.name, `file:${p.tarball ?? ''}`]))
    // A consumer brings the DI peers core asks for; nothing else comes from this repository.
    await writeFile(join(app, 'package.json'), JSON.stringify({
      name: 'tswarm-consumer', private: true, type: 'module',
      dependencies: { ...deps, tsyringe: '^4.10.0', 'reflect-metadata': '^0.2.2' }
    }, null, 2))
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app, env, timeout: 600_000 })
    await writeFile(join(app, 'main.js'), `
      import { AddrTTL, createSwarm, pluginInstance } from '@tswarm/core'
      import { tcp } from '@tswarm/transport-tcp'
      import { quic } from '@tswarm/transport-quic'
      import { BLOCK_LIST, blockList, inboundLimits } from '@tswarm/gater'
      import { SWARM_METRICS, metrics } from '@tswarm/metrics'
      const m = metrics()
      const server = await createSwarm({
        modules: [tcp(), quic(), m, blockList(), inboundLimits()],
        listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/udp/0/quic-v1']
      })
      server.setStreamHandler(async stream => {
        await server.negotiateInbound(stream, ['/hello/1.0.0'])
        await stream.write('hello from a packed tswarm')
        await stream.closeWrite()
      })
      const client = await createSwarm({ modules: [tcp(), quic(), m] })
      client.peerstore.addAddrs(server.localPeer, server.listenAddresses(), AddrTTL.PERMANENT)
      const stream = await client.newStream(server.localPeer, { protocols: ['/hello/1.0.0'] })
      let text = ''
      for await (const chunk of stream) text += new TextDecoder().decode(chunk)
      const counted = pluginInstance(server, SWARM_METRICS).bandwidth.getBandwidthForProtocol('/hello/1.0.0').totalOut
      const scraped = (await pluginInstance(server, SWARM_METRICS).scrape()).includes('libp2p_swarm_connections_opened_total')
      await pluginInstance(server, BLOCK_LIST).blockPeer(client.localPeer.toString())
      console.log(JSON.stringify({ text, transport: stream.conn.stat().transport, counted, scraped, blockedClosed: server.connsToPeer(client.localPeer).length === 0 }))
      await client.close()
      await server.close()
    `)
    const { stdout } = await run(process.execPath, ['main.js'], { cwd: app, env, timeout: 60_000 })
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { text?: string, transport?: string, counted?: number, scraped?: boolean, blockedClosed?: boolean }
    assert.equal(result.text, 'hello from a packed tswarm')
    assert.equal(result.transport, 'quic-v1', 'a TCP + QUIC node should reach a TCP + QUIC node over QUIC first')
    assert.equal(result.counted, 'hello from a packed tswarm'.length, 'the packed metrics counted the bytes sent')
    assert.equal(result.scraped, true, 'the packed metrics expose the swarm series')
    assert.equal(result.blockedClosed, true, 'blocking a connected peer with the packed gater closed its connection')
  })
})
