import { createHash, createPublicKey, randomBytes } from 'node:crypto'
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromMultihash, peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { IdentityNotFoundError, InvalidIdentityError, InvalidOptionError, InvalidPeerIdError, describe } from './errors.js'
import type { ECDSAPublicKey, PeerId, PrivateKey, PublicKey } from '@libp2p/interface'
import type { JsonWebKey as NodeJsonWebKey } from 'node:crypto'

/** The key types a libp2p identity can have. Ed25519 is the default everywhere in libp2p and the one to prefer. */
export type KeyType = 'Ed25519' | 'secp256k1' | 'ECDSA' | 'RSA'

/** Options of {@link generateIdentity}. Each applies to one key type only; giving it for another is an error. */
export interface GenerateIdentityOptions {
  /** RSA modulus size in bits, from 2048 to 8192 (go-libp2p's limits). Default: 2048. */
  bits?: number
  /** ECDSA curve. Default: `'P-256'`. */
  curve?: 'P-256' | 'P-384' | 'P-521'
}

const KEY_TYPES: readonly KeyType[] = ['Ed25519', 'secp256k1', 'ECDSA', 'RSA']
const CURVES: ReadonlyArray<GenerateIdentityOptions['curve']> = ['P-256', 'P-384', 'P-521']
// go-libp2p refuses RSA keys outside these bounds (MinRsaKeyBits, maxRsaKeyBits), so larger or smaller keys would not
// interoperate.
const MIN_RSA_BITS = 2048
const MAX_RSA_BITS = 8192

const SHA2_256 = 0x12

const RESTORE_ADVICE = 'restore it from a backup, or move it aside to create a new identity (the peer ID will change)'

/**
 * Generates a new private key, the identity of a swarm.
 *
 * @example
 * ```ts
 * const key = await generateIdentity()
 * console.log(peerIdOf(key).toString()) // 12D3KooW...
 * ```
 */
export async function generateIdentity (type: KeyType = 'Ed25519', options: GenerateIdentityOptions = {}): Promise<PrivateKey> {
  if (!KEY_TYPES.includes(type)) throw new InvalidOptionError('type', type, KEY_TYPES.join(', '))
  if (options.bits !== undefined && type !== 'RSA') throw new InvalidOptionError('bits', options.bits, `no value: bits applies to RSA keys only, not ${type}`)
  if (options.curve !== undefined && type !== 'ECDSA') throw new InvalidOptionError('curve', options.curve, `no value: curve applies to ECDSA keys only, not ${type}`)

  switch (type) {
    case 'Ed25519':
      return generateKeyPair('Ed25519')
    case 'secp256k1':
      return generateKeyPair('secp256k1')
    case 'ECDSA': {
      const curve = options.curve ?? 'P-256'
      if (!CURVES.includes(curve)) throw new InvalidOptionError('curve', curve, CURVES.join(', '))
      return generateKeyPair('ECDSA', curve)
    }
    case 'RSA': {
      const bits = options.bits ?? MIN_RSA_BITS
      if (!Number.isInteger(bits) || bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
        throw new InvalidOptionError('bits', bits, `an integer from ${MIN_RSA_BITS} to ${MAX_RSA_BITS}`)
      }
      return generateKeyPair('RSA', bits)
    }
  }
}

/**
 * The peer ID of a key pair, as go-libp2p and js-libp2p derive it.
 *
 * ECDSA: @libp2p/peer-id has no ECDSA peer IDs, and @libp2p/crypto encodes ECDSA public keys in a form go-libp2p does
 * not accept, so the ID is derived here the way go-libp2p does (sha2-256 of the protobuf public key holding the PKIX
 * DER). Such an ID reports `type` `'RSA'` and no `publicKey`, like any ID parsed from a hashed multihash. Prefer
 * Ed25519: the js-libp2p security handshakes cannot authenticate ECDSA peers.
 */
export function peerIdOf (key: PrivateKey | PublicKey): PeerId {
  const publicKey = 'publicKey' in key ? key.publicKey : key
  if (publicKey.type === 'ECDSA') return ecdsaPeerId(publicKey)
  return peerIdFromPublicKey(publicKey)
}

/** Encodes a private key as the libp2p protobuf `PrivateKey` message (go-libp2p's `crypto.MarshalPrivateKey`). */
export function encodePrivateKey (key: PrivateKey): Uint8Array {
  return privateKeyToProtobuf(key)
}

/**
 * Decodes the libp2p protobuf `PrivateKey` message, as written by {@link encodePrivateKey}, js-libp2p or go-libp2p.
 * Throws an InvalidIdentityError when the bytes are not one.
 */
export function decodePrivateKey (bytes: Uint8Array): PrivateKey {
  return decode(bytes, undefined)
}

/**
 * Writes a private key to `path` (protobuf encoded, readable by {@link loadIdentity} and go-libp2p), replacing any
 * file there. The write is atomic, so a crash leaves either the old file or the new one, never a torn one. The file
 * gets mode 0600; missing parent directories are created with mode 0700.
 */
export async function saveIdentity (path: string, key: PrivateKey): Promise<void> {
  await writeAtomic(path, encodePrivateKey(key), 'replace')
}

/**
 * Reads a private key written by {@link saveIdentity} (or go-libp2p). Throws an IdentityNotFoundError when there is no
 * file, and an InvalidIdentityError when it cannot be read or is not a valid private key. It never generates a key.
 */
export async function loadIdentity (path: string): Promise<PrivateKey> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new IdentityNotFoundError(path)
    throw new InvalidIdentityError(path, `cannot be read (${describe(err)}): check that it is a regular file this process may read`, err)
  }
  const key = decode(bytes, path)
  await checkKeyPair(key, path)
  return key
}

/**
 * Loads the identity at `path`, or creates one of `type` there when no file exists. A file that exists but cannot be
 * loaded is an error (an InvalidIdentityError), never a reason to replace it: that would silently change the peer ID.
 * Safe against concurrent callers: when two race to create, both end up with the key that was written first.
 */
export async function loadOrCreateIdentity (path: string, type: KeyType = 'Ed25519'): Promise<{ privateKey: PrivateKey, created: boolean }> {
  try {
    return { privateKey: await loadIdentity(path), created: false }
  } catch (err) {
    if (!(err instanceof IdentityNotFoundError)) throw err
  }
  const privateKey = await generateIdentity(type)
  const written = await writeAtomic(path, encodePrivateKey(privateKey), 'create')
  if (written) return { privateKey, created: true }
  return { privateKey: await loadIdentity(path), created: false }
}

/**
 * Parses a peer ID in any of its string forms: base58btc multihash (`12D3KooW…`, `Qm…`, `16Uiu2…`) or CIDv1
 * (`bafz…`, `k51…`). Surrounding whitespace is ignored. Throws an InvalidPeerIdError otherwise.
 */
export function parsePeerId (input: string): PeerId {
  let id: PeerId
  try {
    id = peerIdFromString(input.trim())
  } catch (err) {
    throw new InvalidPeerIdError(input, err)
  }
  // A URL peer ID names an HTTP gateway, not a key: nothing could ever authenticate as it.
  if (id.type === 'url') throw new InvalidPeerIdError(input, 'it is a URL peer ID, not the hash of a public key')
  return id
}

function decode (bytes: Uint8Array, path: string | undefined): PrivateKey {
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    const problem = `not a libp2p private key (${describe(err)}): expected the protobuf encoding written by saveIdentity() or go-libp2p's crypto.MarshalPrivateKey`
    throw new InvalidIdentityError(path, path === undefined ? problem : `${problem}; ${RESTORE_ADVICE}`, err)
  }
}

// Ed25519 files store the public half next to the private one and it is used as is, so a damaged public half would
// quietly give a wrong peer ID; a sign/verify round trip catches that (and any other inconsistent pair).
async function checkKeyPair (key: PrivateKey, path: string): Promise<void> {
  const probe = new TextEncoder().encode('tswarm identity check')
  let ok: boolean
  try {
    ok = await key.publicKey.verify(probe, await key.sign(probe))
  } catch (err) {
    throw new InvalidIdentityError(path, `holds a key that cannot sign (${describe(err)}); ${RESTORE_ADVICE}`, err)
  }
  if (!ok) throw new InvalidIdentityError(path, `holds a public key that does not match its private key (the file is damaged); ${RESTORE_ADVICE}`)
}

// go-libp2p inlines (identity-hashes) only public keys of at most 42 encoded bytes; an ECDSA key is always longer,
// so its peer ID is always the sha2-256 form.
function ecdsaPeerId (key: ECDSAPublicKey): PeerId {
  const { kty, crv, x, y } = key.jwk
  const jwk: NodeJsonWebKey = { kty, crv, x, y }
  const spki = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' })
  // protobuf PublicKey { Type (1) = ECDSA (3), Data (2) = spki }
  const message = Buffer.concat([Buffer.from([0x08, 0x03, 0x12, ...varint(spki.length)]), spki])
  const digest = new Uint8Array(createHash('sha256').update(message).digest())
  const bytes = new Uint8Array(2 + digest.length)
  bytes.set([SHA2_256, digest.length])
  bytes.set(digest, 2)
  return peerIdFromMultihash({ code: SHA2_256, size: digest.length, digest, bytes })
}

function varint (n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return out
}

/**
 * Writes `bytes` to a temporary file beside `path`, flushes it, then moves it into place. With `'create'` the move
 * fails when `path` exists (link() is atomic and exclusive, unlike rename()); returns false in that case.
 */
async function writeAtomic (path: string, bytes: Uint8Array, mode: 'replace' | 'create'): Promise<boolean> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const fh = await open(tmp, 'wx', 0o600)
  try {
    try {
      // The umask can only clear bits of the mode given to open(); set it exactly so the owner can read it back.
      await fh.chmod(0o600)
      await fh.writeFile(bytes)
      await fh.sync()
    } finally {
      await fh.close()
    }
    if (mode === 'replace') {
      await rename(tmp, path)
    } else {
      try {
        await link(tmp, path)
      } catch (err) {
        if (errnoCode(err) === 'EEXIST') return false
        throw err
      }
    }
  } finally {
    await unlink(tmp).catch(() => {})
  }
  await syncDir(dir)
  return true
}

// Without this a crash right after the rename could lose the directory entry on some file systems.
async function syncDir (dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  } catch {
    // Not every platform can open or fsync a directory (Windows); the file itself is already flushed.
  }
}

function errnoCode (err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined
}
