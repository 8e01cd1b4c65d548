#!/usr/bin/env node
/**
 * tswarm's entry for libp2p's transport-interop test-app contract (libp2p/test-plans `transport-interop`, and the
 * uppercase variables of libp2p/unified-testing): configured by environment, the listener publishes its address in
 * Redis, the dialer takes it, connects, pings once, and prints the timings. interop/PROTOCOL.md has the table.
 */
import { AddrTTL } from '@tswarm/core'
import { createHost } from '@tswarm/host'
import { quic } from '@tswarm/transport-quic'
import { tcp } from '@tswarm/transport-tcp'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { RedisClient } from './redis.js'
import { TestAppConfigError, readConfig } from './test-app-config.js'
import type { TestAppConfig } from './test-app-config.js'

function listenAddr (config: TestAppConfig): string {
  const family = config.ip.includes(':') ? 'ip6' : 'ip4'
  return config.transport === 'tcp' ? `/${family}/${config.ip}/tcp/0` : `/${family}/${config.ip}/udp/0/quic-v1`
}

async function run (config: TestAppConfig): Promise<void> {
  const deadline = Date.now() + config.timeoutSeconds * 1000
  const redis = await RedisClient.connect(config.redisAddr, 10_000)
  const host = await createHost({
    modules: [tcp(), quic()],
    listen: config.isDialer ? [] : [listenAddr(config)],
    host: { identify: { runOnConnect: !config.isDialer } }
  })
  try {
    if (!config.isDialer) {
      // An unspecified listen IP gives one address per interface; another host can use any but loopback.
      const addrs = host.addrs().map(String)
      const addr = addrs.find(a => !a.startsWith('/ip4/127.') && !a.startsWith('/ip6/::1/')) ?? addrs[0]
      await redis.rpush(config.redisKey, `${addr}/p2p/${host.peerId.toString()}`)
      process.stderr.write(`listening on ${addrs.join(', ')}; published ${addr}\n`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { clearTimeout(timer); resolve() })
      })
      return
    }
    const seconds = Math.max(1, Math.floor((deadline - Date.now()) / 1000))
    const target = multiaddr(await redis.blpop(config.redisKey, seconds))
    const peerIdText = target.getComponents().find(c => c.name === 'p2p')?.value
    if (peerIdText === undefined) throw new TestAppConfigError(`the listener published ${target.toString()}, which has no /p2p/ part`)
    const peer = peerIdFromString(peerIdText)
    const started = performance.now()
    host.peerstore.addAddrs(peer, [target.decapsulateCode(421)], AddrTTL.TEMP)
    await host.swarm.dialPeer(peer, { signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) })
    const pingMs = await host.ping(peer)
    const totalMs = performance.now() - started
    if (config.output === 'yaml') {
      process.stdout.write(`latency:\n  handshake_plus_one_rtt: ${totalMs}\n  ping_rtt: ${pingMs}\n  unit: ms\n`)
    } else {
      // The contract spells the second key with three l's.
      process.stdout.write(`${JSON.stringify({ handshakePlusOneRTTMillis: totalMs, pingRTTMilllis: pingMs })}\n`)
    }
  } finally {
    redis.close()
    await host.close()
  }
}

async function main (): Promise<void> {
  const config = readConfig(process.env)
  const timer = setTimeout(() => {
    process.stderr.write(`transport-interop: no result within test_timeout_seconds=${config.timeoutSeconds}\n`)
    process.exit(1)
  }, config.timeoutSeconds * 1000 + 5000)
  timer.unref()
  await run(config)
}

main().then(() => { process.exit(0) }, (err: unknown) => {
  process.stderr.write(`transport-interop: ${(err as Error).message}\n`)
  process.exit(1)
})
