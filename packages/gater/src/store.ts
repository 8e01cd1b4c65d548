import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { describe } from '@tswarm/core'
import { GaterStoreError } from './errors.js'
import type { Datastore } from 'interface-datastore'

/** Where a gater keeps its rules. */
export interface StoreOptions {
  path?: string
  datastore?: Datastore
}

/** A datastore ready for use, with how to release it. */
export interface OpenedStore {
  readonly store: Datastore
  /** The LevelDB directory, when the store was opened by path. */
  readonly path?: string
  /** Closes the store when this gater opened it; a datastore the caller gave is left open. */
  close(): Promise<void>
}

/**
 * Opens the store a gater's options name: LevelDB at `path`, the caller's `datastore` as is, or `memory` (kept by the
 * module, so rules outlive one swarm in this process but not the process).
 */
export async function openStore (owner: string, options: StoreOptions, memory: MemoryDatastore): Promise<OpenedStore> {
  if (options.datastore !== undefined) return { store: options.datastore, close: async () => {} }
  if (options.path === undefined) return { store: memory, close: async () => {} }
  const path = options.path
  const level = new LevelDatastore(path)
  try {
    // Opened through the Level instance rather than LevelDatastore.open(), which keeps only "Database failed to
    // open" and drops the reason (a held lock, a corrupt manifest, a file where the directory should be).
    await level.db.open({ createIfMissing: true, compression: false })
  } catch (err) {
    const reason = (err as { cause?: unknown }).cause ?? err
    const text = describe(reason)
    const hint = /lock/i.test(text)
      ? '; another process, or another swarm in this one, is using this store: give each its own path'
      : /corrupt/i.test(text)
        ? '; the store is damaged: restore it from a backup, or delete the directory to start with no rules'
        : /EEXIST|ENOTDIR/.test(text)
          ? '; the path exists and is not a directory: give the path of a directory (created when missing)'
          : /EACCES|EPERM|EROFS/.test(text)
            ? '; this process may not write there: give a writable directory'
            : ''
    throw new GaterStoreError(owner, `could not open the LevelDB rule store at ${path}: ${text}${hint}`, { path, cause: reason })
  }
  return { store: level, path, close: async () => { await level.close() } }
}
