import { InvalidOptionError, Lifecycle, PEERSTORE, SWARM_SERVICE, instancePerContainerCachingFactory } from '@tswarm/core'
import { LevelDatastore } from 'datastore-level'
import { PEERSTORE_DATASTORE, PERSISTENT_PEERSTORE_CONFIG } from '../tokens.js'
import { PersistentPeerstore } from './persistent-peerstore.js'
import type { PersistentPeerstoreConfig } from './persistent-peerstore.js'
import type { DependencyContainer, SwarmModule } from '@tswarm/core'
import type { Datastore } from 'interface-datastore'

export const PERSISTENT_PEERSTORE_MODULE_NAME = '@tswarm/host/persistent-peerstore'

/** Options of {@link persistentPeerstore}: give `path` or `datastore`. */
export interface PersistentPeerstoreOptions {
  /**
   * Directory of a LevelDB database, created when missing. The peerstore opens it at swarm start and closes it with
   * the swarm. One process at a time may hold it.
   */
  path?: string
  /**
   * A datastore to use instead of `path` (e.g. `MemoryDatastore` from datastore-core, or a namespace of a datastore
   * shared with other components). Its owner opens and closes it.
   */
  datastore?: Datastore
  /**
   * Key prefix of the peer entries.
   *
   * @default '/peers'
   */
  prefix?: string
  /**
   * Changes are written this long (ms) after the first of them, in one batch.
   *
   * @default 500
   */
  writeDelay?: number
  /**
   * Write at once when this many peers changed since the last write.
   *
   * @default 1000
   */
  maxPendingPeers?: number
}

/**
 * A module that replaces the in-memory peerstore with a {@link PersistentPeerstore}. It registers the peerstore under
 * `PEERSTORE` and, as the same instance, under `SWARM_SERVICE`, so that the swarm loads it at start (before it
 * listens or dials) and writes it out when it closes.
 *
 * @example
 * ```ts
 * const host = await createHost({ modules: [tcp(), persistentPeerstore({ path: './peerstore' })] })
 * ```
 */
export function persistentPeerstore (options: PersistentPeerstoreOptions): SwarmModule {
  const config = resolveConfig(options)
  return {
    name: PERSISTENT_PEERSTORE_MODULE_NAME,
    register (container: DependencyContainer): void {
      container.register(PERSISTENT_PEERSTORE_CONFIG, { useValue: config })
      if (options.datastore !== undefined) {
        container.register(PEERSTORE_DATASTORE, { useValue: options.datastore })
      } else {
        const path = options.path as string
        // built on resolve, not here: registering must not touch the disk
        container.register(PEERSTORE_DATASTORE, { useFactory: instancePerContainerCachingFactory(() => new LevelDatastore(path)) })
      }
      container.register(PersistentPeerstore, { useClass: PersistentPeerstore }, { lifecycle: Lifecycle.ContainerScoped })
      container.register(PEERSTORE, { useToken: PersistentPeerstore })
      container.register(SWARM_SERVICE, { useToken: PersistentPeerstore })
    }
  }
}

function resolveConfig (options: PersistentPeerstoreOptions): PersistentPeerstoreConfig {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('persistentPeerstore options', options, '{ path } or { datastore }')
  const hasPath = options.path !== undefined
  const hasDatastore = options.datastore !== undefined
  if (hasPath === hasDatastore) {
    throw new InvalidOptionError('persistentPeerstore', hasPath ? 'both path and datastore' : 'neither path nor datastore', 'exactly one of path (a directory) or datastore')
  }
  if (hasPath && (typeof options.path !== 'string' || options.path === '')) throw new InvalidOptionError('persistentPeerstore.path', options.path, 'a directory path')
  const prefix = options.prefix ?? '/peers'
  if (typeof prefix !== 'string' || !/^\/[^/]+(\/[^/]+)*$/.test(prefix)) throw new InvalidOptionError('persistentPeerstore.prefix', prefix, 'a key prefix such as /peers')
  const writeDelay = options.writeDelay ?? 500
  if (!Number.isSafeInteger(writeDelay) || writeDelay < 0) throw new InvalidOptionError('persistentPeerstore.writeDelay', writeDelay, 'an integer number of ms >= 0')
  const maxPendingPeers = options.maxPendingPeers ?? 1000
  if (!Number.isSafeInteger(maxPendingPeers) || maxPendingPeers <= 0) throw new InvalidOptionError('persistentPeerstore.maxPendingPeers', maxPendingPeers, 'a positive integer')
  return Object.freeze({ prefix, writeDelay, maxPendingPeers, ownsDatastore: !hasDatastore })
}
