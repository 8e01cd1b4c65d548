import { InvalidOptionError, PEERSTORE, SWARM_SERVICE, definePlugin, instancePerContainerCachingFactory } from '@tswarm/core'
import { LevelDatastore } from 'datastore-level'
import { PEERSTORE_DATASTORE, PERSISTENT_PEERSTORE, PERSISTENT_PEERSTORE_CONFIG } from '../tokens.js'
import { PersistentPeerstore } from './persistent-peerstore.js'
import type { PersistentPeerstoreConfig } from './persistent-peerstore.js'
import type { SwarmModule } from '@tswarm/core'
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
 * its own `PERSISTENT_PEERSTORE`, and points `PEERSTORE` and `SWARM_SERVICE` at that instance, so that the swarm
 * loads it at start (before it listens or dials) and writes it out when it closes. Options are checked here. The
 * instance is `swarm.peerstore`, or `pluginInstance(swarm, PERSISTENT_PEERSTORE)` for its own methods (`flush`).
 *
 * @example
 * ```ts
 * const host = await createHost({ modules: [tcp(), persistentPeerstore({ path: './peerstore' })] })
 * ```
 */
export function persistentPeerstore (options: PersistentPeerstoreOptions): SwarmModule {
  const config = resolvePersistentPeerstoreOptions(options)
  return definePlugin({
    name: PERSISTENT_PEERSTORE_MODULE_NAME,
    factory: 'persistentPeerstore()',
    token: PERSISTENT_PEERSTORE,
    config: { token: PERSISTENT_PEERSTORE_CONFIG, value: config },
    instance: { useClass: PersistentPeerstore },
    register (container) {
      const { datastore, path } = config
      if (datastore !== undefined) {
        container.register(PEERSTORE_DATASTORE, { useValue: datastore })
      } else {
        // built on resolve, not here: registering must not touch the disk
        container.register(PEERSTORE_DATASTORE, { useFactory: instancePerContainerCachingFactory(() => new LevelDatastore(path as string)) })
      }
      container.register(PEERSTORE, { useToken: PERSISTENT_PEERSTORE })
      container.register(SWARM_SERVICE, { useToken: PERSISTENT_PEERSTORE })
    }
  })
}

/**
 * Validates the options of {@link persistentPeerstore} (an InvalidOptionError naming the option) and fills in the
 * defaults, frozen.
 */
export function resolvePersistentPeerstoreOptions (options: PersistentPeerstoreOptions): PersistentPeerstoreConfig {
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
  return Object.freeze({ path: options.path, datastore: options.datastore, prefix, writeDelay, maxPendingPeers, ownsDatastore: !hasDatastore })
}
