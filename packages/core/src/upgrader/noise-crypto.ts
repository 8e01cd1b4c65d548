import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hash, hkdfSync, timingSafeEqual } from 'node:crypto'
import { asCrypto } from '@chainsafe/libp2p-noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import type { ICryptoInterface, KeyPair } from '@chainsafe/libp2p-noise'
import type { KeyObject } from 'node:crypto'

/**
 * Noise's crypto primitives (X25519, HKDF-SHA256, SHA-256, ChaCha20-Poly1305) over node:crypto, cutting the
 * handshake CPU and the per-byte cost of the stock implementation, which rebuilds an X25519 KeyObject from DER for
 * every DH, runs HKDF in pure JS, and copies every large ciphertext to append its tag.
 */

const KEY_LENGTH = 32
const TAG_LENGTH = 16
const CHACHA20_POLY1305 = 'chacha20-poly1305'
const EMPTY = new Uint8Array(0)
/** 32 bytes in unpadded base64url. */
const BASE64URL_KEY_LENGTH = 43

/**
 * Below this many plaintext bytes the WebAssembly ChaCha20-Poly1305 beats the native cipher: creating a native
 * cipher context costs ~4 µs whatever the size. Measured on Node 22 (µs per call, WebAssembly / native):
 * seal 128 B 2.0 / 5.4, 256 B 3.0 / 5.5, 448 B 4.2 / 5.4, 512 B 4.4 / 5.8, 768 B 6.2 / 5.9;
 * open 128 B 2.5 / 4.7, 256 B 3.1 / 4.6, 448 B 4.3 / 4.5, 512 B 4.7 / 4.7, 768 B 6.3 / 4.8.
 * Above it native wins by far (1200 B: 18 / 10 µs for seal+open; 65519 B: 850 / 61 µs). The WebAssembly cipher is
 * the one noise itself exports (`asCrypto`), so this adds no dependency.
 */
const SMALL_MESSAGE = 512

/**
 * Multi-buffer SHA-256 input up to this size is joined and hashed in one call: one copy of a few hundred bytes is
 * cheaper than a hash object fed buffer by buffer (1.4 vs 1.8 µs for Noise's 64-80 byte handshake hashes).
 */
const SMALL_HASH_INPUT = 1024

/**
 * The list type noise's interface speaks. Noise 17 is built against uint8arraylist 2 and core against 3: at run
 * time their lists are interchangeable (each recognises the other by a shared registered symbol and reads it by
 * iteration), but TypeScript sees their private fields as different types.
 */
type NoiseList = Exclude<Parameters<ICryptoInterface['hashSHA256']>[0], Uint8Array>

/** A list we built, typed as noise's; see `NoiseList`. */
function asNoiseList (list: Uint8ArrayList): NoiseList {
  return list as unknown as NoiseList
}

/** A KeyObject we made for some key bytes, with a copy of those bytes so a later change to them is noticed. */
interface CachedKey {
  bytes: Uint8Array
  key: KeyObject
}

/**
 * Private KeyObjects by the private-key array we handed noise. Noise passes that same array back for every DH
 * (the static key for every handshake, the ephemeral twice per handshake), so parsing it again each time, as the
 * stock implementation does (~30 µs, as OpenSSL derives the public key on import), is pure waste. Weak, so keys
 * noise drops are collected.
 */
const privateKeys = new WeakMap<Uint8Array, CachedKey>()

/**
 * Public KeyObjects by the array or list noise passes as the remote key. Noise passes the same remote ephemeral
 * object to two DHs per handshake, so the second finds its KeyObject here.
 */
const publicKeys = new WeakMap<Uint8Array | NoiseList, CachedKey>()

/** Key bytes from an array or a list, copying only when a list spans buffers. */
function keyBytes (data: Uint8Array | NoiseList): Uint8Array {
  const bytes = data.subarray()
  if (bytes.byteLength !== KEY_LENGTH) throw new Error(`X25519 key must be ${KEY_LENGTH} bytes, got ${bytes.byteLength}`)
  return bytes
}

function toBase64Url (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

/** Decodes into memory of its own: `Buffer.from` would put a private key in the pool slab other Buffers share. */
function fromBase64Url (text: string | undefined): Uint8Array {
  const bytes = Buffer.alloc(KEY_LENGTH)
  if (text?.length !== BASE64URL_KEY_LENGTH || bytes.write(text, 'base64url') !== KEY_LENGTH) throw new Error('X25519 key export is not a 32-byte key')
  return bytes
}

/**
 * A public KeyObject from raw bytes via JWK: 3.7 µs against 7.5 µs for the same key wrapped in an SPKI DER prefix
 * (Node 22, base64url encoding included), as the JWK path skips the ASN.1 parser.
 */
function publicKeyObject (publicKey: Uint8Array | NoiseList): KeyObject {
  const bytes = keyBytes(publicKey)
  const cached = publicKeys.get(publicKey)
  if (cached !== undefined && equalBytes(cached.bytes, bytes)) return cached.key
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: toBase64Url(bytes) }, format: 'jwk' })
  publicKeys.set(publicKey, { bytes: Uint8Array.from(bytes), key })
  return key
}

/**
 * The private KeyObject for key bytes: the cached one when these are the very bytes we made it for, else parsed
 * (a key noise got elsewhere, or one changed in place since).
 */
function privateKeyObject (privateKey: Uint8Array | NoiseList): KeyObject {
  const bytes = keyBytes(privateKey)
  if (privateKey instanceof Uint8Array) {
    const cached = privateKeys.get(privateKey)
    // Constant time: these are secret bytes.
    if (cached !== undefined && timingSafeEqual(cached.bytes, bytes)) return cached.key
  }
  const key = importPrivateKey(bytes)
  if (privateKey instanceof Uint8Array) privateKeys.set(privateKey, { bytes: Uint8Array.from(bytes), key })
  return key
}

/** PKCS#8 wrapping of a raw X25519 private key; Node's JWK import would need the public key we do not have. */
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20])

function importPrivateKey (bytes: Uint8Array): KeyObject {
  const der = new Uint8Array(PKCS8_PREFIX.byteLength + KEY_LENGTH)
  der.set(PKCS8_PREFIX)
  der.set(bytes, PKCS8_PREFIX.byteLength)
  try {
    return createPrivateKey({ key: Buffer.from(der.buffer), format: 'der', type: 'pkcs8' })
  } finally {
    der.fill(0)
  }
}

/** A key pair from a private KeyObject: one JWK export yields both raw keys, cheaper than two DER exports. */
function keyPairOf (key: KeyObject): KeyPair {
  const jwk = key.export({ format: 'jwk' })
  const privateKey = fromBase64Url(jwk.d)
  privateKeys.set(privateKey, { bytes: Uint8Array.from(privateKey), key })
  return { publicKey: fromBase64Url(jwk.x), privateKey }
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

function isAllZero (bytes: Uint8Array): boolean {
  // Accumulated rather than early-exit, so the time taken says nothing about the secret.
  let acc = 0
  for (let i = 0; i < bytes.byteLength; i++) acc |= bytes[i]
  return acc === 0
}

export const nodeNoiseCrypto: ICryptoInterface = {
  /**
   * The one-shot `hash` skips creating a Hash object (0.8 vs 1.3 µs for 64 bytes). Noise hashes small lists (the
   * running hash plus a handshake field), which are joined first; large lists stream through a Hash object rather
   * than being copied.
   */
  hashSHA256 (data: Uint8Array | NoiseList): Uint8Array {
    if (data instanceof Uint8Array) return hash('sha256', data, 'buffer')
    // subarray() of a single-buffer list is that buffer, no copy.
    if (data.byteLength <= SMALL_HASH_INPUT) return hash('sha256', data.subarray(), 'buffer')
    const h = createHash('sha256')
    for (const buf of data) h.update(buf)
    return h.digest()
  },

  /**
   * Noise's HKDF(ck, ikm) with three outputs is RFC 5869 HKDF-SHA256 with salt = ck, empty info and 96 bytes of
   * output: T(1) = HMAC(prk, 0x01), T(2) = HMAC(prk, T(1) || 0x02), T(3) = HMAC(prk, T(2) || 0x03). So one native
   * `hkdfSync` call yields the same bytes as the four HMACs (the tests check this against noise's own version).
   */
  getHKDF (ck: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
    const okm = new Uint8Array(hkdfSync('sha256', ikm, ck, EMPTY, 3 * KEY_LENGTH))
    return [okm.subarray(0, KEY_LENGTH), okm.subarray(KEY_LENGTH, 2 * KEY_LENGTH), okm.subarray(2 * KEY_LENGTH)]
  },

  /** Keeps the generated KeyObject (see `privateKeys`), so neither DH with this key parses it again. */
  generateX25519KeyPair (): KeyPair {
    return keyPairOf(generateKeyPairSync('x25519').privateKey)
  },

  /**
   * For a fixed static key. The returned private key is our own copy, so the caller changing its seed later cannot
   * leave a stale KeyObject behind it.
   */
  generateX25519KeyPairFromSeed (seed: Uint8Array): KeyPair {
    return keyPairOf(importPrivateKey(keyBytes(seed)))
  },

  /**
   * OpenSSL refuses a DH whose result is all zero (a low-order or zero peer key), as noise's default does through
   * the same call; the explicit check keeps that refusal whatever the OpenSSL build.
   */
  generateX25519SharedKey (privateKey: Uint8Array | NoiseList, publicKey: Uint8Array | NoiseList): Uint8Array {
    const shared = diffieHellman({ privateKey: privateKeyObject(privateKey), publicKey: publicKeyObject(publicKey) })
    if (isAllZero(shared)) throw new Error('X25519 shared secret is all zero: the remote key is of low order')
    return shared
  },

  /**
   * Native above `SMALL_MESSAGE`, returning [ciphertext, tag] as a list: appending the tag by copying costs ~7 µs
   * per 64 KiB message (35 vs 28 µs), and noise appends what we return to a list anyway.
   */
  chaCha20Poly1305Encrypt (plaintext: Uint8Array | NoiseList, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array): NoiseList | Uint8Array {
    if (plaintext.byteLength < SMALL_MESSAGE) return asCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)
    const cipher = createCipheriv(CHACHA20_POLY1305, k, nonce, { authTagLength: TAG_LENGTH })
    cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
    const output = new Uint8ArrayList()
    if (plaintext instanceof Uint8Array) {
      output.append(cipher.update(plaintext))
    } else {
      for (const buf of plaintext) output.append(cipher.update(buf))
    }
    // A stream cipher has nothing left at the end, but final() is what computes the tag.
    const final = cipher.final()
    if (final.byteLength > 0) output.append(final)
    output.append(cipher.getAuthTag())
    return asNoiseList(output)
  },

  /**
   * Native above `SMALL_MESSAGE` (where `dst`, an in-place target only the WebAssembly cipher can use, is ignored).
   * A single-buffer plaintext is returned as an array, so callers see the same shape as from the stock version.
   * A bad tag or AD throws from final(), before any plaintext is handed out.
   */
  chaCha20Poly1305Decrypt (ciphertext: Uint8Array | NoiseList, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array, dst?: Uint8Array): NoiseList | Uint8Array {
    const textLength = ciphertext.byteLength - TAG_LENGTH
    if (textLength < 0) throw new Error('ChaCha20-Poly1305 ciphertext is shorter than its tag')
    if (textLength < SMALL_MESSAGE) return asCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
    const decipher = createDecipheriv(CHACHA20_POLY1305, k, nonce, { authTagLength: TAG_LENGTH })
    decipher.setAAD(ad, { plaintextLength: textLength })
    decipher.setAuthTag(ciphertext.subarray(textLength))
    if (ciphertext instanceof Uint8Array) {
      const plain = decipher.update(ciphertext.subarray(0, textLength))
      decipher.final()
      return plain
    }
    const parts: Uint8Array[] = []
    for (const buf of ciphertext.sublist(0, textLength)) parts.push(decipher.update(buf))
    decipher.final()
    return parts.length === 1 ? parts[0] : asNoiseList(new Uint8ArrayList(...parts))
  }
}
