import { createToken } from '@tswarm/core'
import type { HostConfig } from './config.js'
import type { PersistentPeerstore, PersistentPeerstoreConfig } from './peerstore/persistent-peerstore.js'
import type { Token } from '@tswarm/core'
import type { Datastore } from 'interface-datastore'

function token<T> (name: string): Token<T> {
  return createToken<T>('@tswarm/host/v1', name)
}

/** The resolved, frozen host configuration. Registered by `createHost`. */
export const HOST_CONFIG = token<HostConfig>('HostConfig')
/** The datastore under the persistent peerstore. Registered by `persistentPeerstore()`. */
export const PEERSTORE_DATASTORE = token<Datastore>('PeerstoreDatastore')
/**
 * The persistent peerstore (single binding), registered by `persistentPeerstore()`; `PEERSTORE` points at it.
 * `pluginInstance(swarm, PERSISTENT_PEERSTORE)` after assembly.
 */
export const PERSISTENT_PEERSTORE = token<PersistentPeerstore>('PersistentPeerstore')
/** The persistent peerstore's resolved options. Registered by `persistentPeerstore()`. */
export const PERSISTENT_PEERSTORE_CONFIG = token<PersistentPeerstoreConfig>('PersistentPeerstoreConfig')
