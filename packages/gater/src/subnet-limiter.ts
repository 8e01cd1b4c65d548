import type { IpAddress } from './ip.js'

/** At most `maxConnections` concurrent inbound connections from the addresses sharing `prefixLength` leading bits. */
export interface SubnetLimit {
  prefixLength: number
  maxConnections: number
}

/** Subnet caps per address family; a connection must fit under every cap its address falls under. */
export interface SubnetLimits {
  readonly ipv4: readonly SubnetLimit[]
  readonly ipv6: readonly SubnetLimit[]
}

/**
 * go-libp2p's resource manager defaults (conn_limiter.go): 8 connections per IPv4 address (as many as the swarm
 * dials concurrently to one peer), 8 per IPv6 /56 and 64 per IPv6 /48.
 */
export const DEFAULT_SUBNET_LIMITS: SubnetLimits = Object.freeze({
  ipv4: Object.freeze([{ prefixLength: 32, maxConnections: 8 }]),
  ipv6: Object.freeze([{ prefixLength: 56, maxConnections: 8 }, { prefixLength: 48, maxConnections: 64 }])
})

/** Counts connections per subnet (go's connLimiter): a reservation is a list of subnet keys to give back. */
export class SubnetConnLimiter {
  readonly #counts = new Map<string, number>()

  constructor (private readonly limits: SubnetLimits) {}

  /** Counts a connection from `ip` under every cap and returns its reservation, or undefined (nothing counted) when a cap is reached. */
  tryAdd (ip: IpAddress): string[] | undefined {
    const limits = ip.family === 4 ? this.limits.ipv4 : this.limits.ipv6
    const keys: string[] = []
    for (let i = 0; i < limits.length; i++) {
      const key = `${i}|${ip.prefixKey(limits[i].prefixLength)}`
      if ((this.#counts.get(key) ?? 0) + 1 > limits[i].maxConnections) return undefined
      keys.push(key)
    }
    for (const key of keys) this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1)
    return keys
  }

  /** Gives a reservation back. */
  release (keys: readonly string[]): void {
    for (const key of keys) {
      const n = (this.#counts.get(key) ?? 0) - 1
      if (n <= 0) this.#counts.delete(key)
      else this.#counts.set(key, n)
    }
  }

  /** How many connections from `ip`'s subnet of the `index`-th cap of its family are counted. */
  count (ip: IpAddress, index = 0): number {
    const limits = ip.family === 4 ? this.limits.ipv4 : this.limits.ipv6
    const limit = limits[index]
    return limit === undefined ? 0 : this.#counts.get(`${index}|${ip.prefixKey(limit.prefixLength)}`) ?? 0
  }

  /** How many subnets hold at least one connection. */
  get size (): number {
    return this.#counts.size
  }
}
