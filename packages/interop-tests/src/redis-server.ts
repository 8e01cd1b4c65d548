/**
 * A Redis server for the transport-interop runs: the one `TSWARM_REDIS_ADDR` names (CI starts one), else Debian's
 * `redis-server` started here on a free loopback port and stopped afterwards, as a user would run it.
 */
import { execFileSync, spawn } from 'node:child_process'
import { freePort } from '@tswarm/core/testing'
import { RedisClient } from './redis.js'
import type { ChildProcess } from 'node:child_process'

export interface RedisServer {
  addr: string
  stop(): Promise<void>
}

/** Why no Redis server can be had here, or undefined when one can. */
export function redisMissing (): string | undefined {
  if (process.env.TSWARM_REDIS_ADDR !== undefined && process.env.TSWARM_REDIS_ADDR !== '') return undefined
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
    return undefined
  } catch {
    return 'transport-interop skipped: redis-server is missing (Debian: apt-get install redis-server; or set TSWARM_REDIS_ADDR=host:port)'
  }
}

export async function startRedis (): Promise<RedisServer> {
  const given = process.env.TSWARM_REDIS_ADDR
  if (given !== undefined && given !== '') return { addr: given, stop: async () => {} }
  const port = await freePort()
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const exited = new Promise<void>(resolve => child.once('exit', () => { resolve() }))
  const addr = `127.0.0.1:${port}`
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      const client = await RedisClient.connect(addr, 1000)
      client.close()
      break
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL')
        throw new Error(`redis-server on ${addr} did not start: ${(err as Error).message}`)
      }
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
  return {
    addr,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      await exited
    }
  }
}
