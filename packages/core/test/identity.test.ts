import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { privateKeyToCryptoKeyPair } from '@libp2p/crypto/keys'
import {
  decodePrivateKey, encodePrivateKey, generateIdentity, loadIdentity, loadOrCreateIdentity, parsePeerId, peerIdOf,
  saveIdentity
} from '../src/identity.js'
import type { GenerateIdentityOptions, KeyType } from '../src/identity.js'

let dir: string

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tswarm-identity-'))
})

after(async () => {
  await rm(dir, { recursive: true, force: true })
})

const cases: Array<{ type: KeyType, options?: GenerateIdentityOptions }> = [
  { type: 'Ed25519' },
  { type: 'secp256k1' },
  { type: 'ECDSA' },
  { type: 'ECDSA', options: { curve: 'P-521' } },
  { type: 'RSA' }
]

describe('identity: save and load', () => {
  for (const { type, options } of cases) {
    it(`round-trips ${type}${options?.curve !== undefined ? ` ${options.curve}` : ''} keys with the same peer ID`, async () => {
      const key = await generateIdentity(type, options)
      assert.equal(key.type, type)
      const path = join(dir, `roundtrip-${type}-${options?.curve ?? 'default'}`, 'nested', 'key')
      await saveIdentity(path, key)

      const loaded = await loadIdentity(path)
      assert.equal(loaded.type, type)
      assert.ok(loaded.equals(key))
      assert.ok(peerIdOf(loaded).equals(peerIdOf(key)))
      assert.equal(peerIdOf(loaded.publicKey).toString(), peerIdOf(key).toString())
      assert.deepEqual(encodePrivateKey(decodePrivateKey(encodePrivateKey(key))), encodePrivateKey(key))
      assert.ok(parsePeerId(peerIdOf(key).toString()).equals(peerIdOf(key)))
    })
  }

  it('writes the file with mode 0600 and no temporary files left behind', async () => {
    const sub = join(dir, 'mode')
    const path = join(sub, 'key')
    await saveIdentity(path, await generateIdentity())
    await saveIdentity(path, await generateIdentity()) // overwriting goes through the same temp + rename path
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    assert.deepEqual(await readdir(sub), ['key'])
  })

  it('gives Ed25519 peer IDs in the 12D3KooW form', async () => {
    assert.match(peerIdOf(await generateIdentity()).toString(), /^12D3KooW/)
  })

  it('derives ECDSA peer IDs as go-libp2p does: sha2-256 of the protobuf public key holding the PKIX DER', async () => {
    const key = await generateIdentity('ECDSA')
    const { publicKey } = await privateKeyToCryptoKeyPair(key)
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', publicKey))
    assert.ok(spki.length < 128) // so the protobuf length prefix is one byte
    const message = Uint8Array.from([0x08, 0x03, 0x12, spki.length, ...spki])
    const expected = createHash('sha256').update(message).digest()
    const id = peerIdOf(key)
    assert.equal(id.toMultihash().code, 0x12)
    assert.deepEqual(Buffer.from(id.toMultihash().digest), expected)
    assert.match(id.toString(), /^Qm/)
  })
})

describe('identity: errors', () => {
  it('throws IdentityNotFoundError for a missing file', async () => {
    await assert.rejects(loadIdentity(join(dir, 'does-not-exist')), { name: 'IdentityNotFoundError' })
  })

  it('throws InvalidIdentityError, with the cause, for a file that is not a private key', async () => {
    const path = join(dir, 'corrupt')
    await writeFile(path, 'this is not a key\n')
    await assert.rejects(loadIdentity(path), (err: Error) => {
      assert.equal(err.name, 'InvalidIdentityError')
      assert.ok(err.cause instanceof Error)
      assert.match(err.message, /not a libp2p private key/)
      assert.ok(err.message.includes(path))
      assert.match(err.message, /backup/)
      return true
    })
  })

  it('throws InvalidIdentityError for an empty file', async () => {
    const path = join(dir, 'empty')
    await writeFile(path, new Uint8Array())
    await assert.rejects(loadIdentity(path), { name: 'InvalidIdentityError' })
  })

  it('throws InvalidIdentityError when the stored public half does not match the private half', async () => {
    const bytes = encodePrivateKey(await generateIdentity('Ed25519'))
    bytes[bytes.length - 1] ^= 0xff // the last 32 bytes of an Ed25519 key are its public key
    const path = join(dir, 'mismatched')
    await writeFile(path, bytes)
    await assert.rejects(loadIdentity(path), (err: Error) => {
      assert.equal(err.name, 'InvalidIdentityError')
      assert.match(err.message, /does not match/)
      return true
    })
  })

  it('throws InvalidIdentityError for a path that cannot be read as a file', async () => {
    const path = join(dir, 'a-directory')
    await mkdir(path)
    await assert.rejects(loadIdentity(path), (err: Error) => {
      assert.equal(err.name, 'InvalidIdentityError')
      assert.match(err.message, /cannot be read/)
      return true
    })
  })

  it('decodePrivateKey throws InvalidIdentityError for bad bytes', () => {
    assert.throws(() => decodePrivateKey(Uint8Array.from([1, 2, 3])), { name: 'InvalidIdentityError' })
  })

  it('rejects options that do not fit the key type', async () => {
    await assert.rejects(generateIdentity('Ed25519', { bits: 4096 }), { name: 'InvalidOptionError' })
    await assert.rejects(generateIdentity('RSA', { curve: 'P-256' }), { name: 'InvalidOptionError' })
    await assert.rejects(generateIdentity('RSA', { bits: 1024 }), { name: 'InvalidOptionError' })
    await assert.rejects(generateIdentity('DSA' as KeyType), { name: 'InvalidOptionError' })
  })
})

describe('identity: loadOrCreateIdentity', () => {
  it('creates the key once, then loads it', async () => {
    const path = join(dir, 'load-or-create', 'key')
    const first = await loadOrCreateIdentity(path)
    assert.equal(first.created, true)
    assert.equal(first.privateKey.type, 'Ed25519')
    assert.equal((await stat(path)).mode & 0o777, 0o600)

    const second = await loadOrCreateIdentity(path)
    assert.equal(second.created, false)
    assert.ok(second.privateKey.equals(first.privateKey))
  })

  it('creates the requested key type', async () => {
    const { privateKey, created } = await loadOrCreateIdentity(join(dir, 'load-or-create-secp', 'key'), 'secp256k1')
    assert.equal(created, true)
    assert.equal(privateKey.type, 'secp256k1')
  })

  it('fails on a corrupt file and leaves it alone', async () => {
    const path = join(dir, 'load-or-create-corrupt')
    await writeFile(path, 'garbage')
    await assert.rejects(loadOrCreateIdentity(path), { name: 'InvalidIdentityError' })
    assert.equal(await readFile(path, 'utf8'), 'garbage')
  })

  it('gives concurrent callers the same key', async () => {
    const path = join(dir, 'load-or-create-race', 'key')
    const results = await Promise.all([1, 2, 3, 4].map(async () => loadOrCreateIdentity(path)))
    assert.equal(results.filter(r => r.created).length, 1)
    const onDisk = await loadIdentity(path)
    for (const r of results) assert.ok(r.privateKey.equals(onDisk))
  })
})

describe('identity: parsePeerId', () => {
  it('parses base58 and CID forms to equal peer IDs', async () => {
    const id = peerIdOf(await generateIdentity())
    assert.ok(parsePeerId(id.toString()).equals(id))
    assert.ok(parsePeerId(id.toCID().toString()).equals(id))
    assert.ok(parsePeerId(` ${id.toString()}\n`).equals(id))
    const rsa = peerIdOf(await generateIdentity('RSA'))
    assert.ok(parsePeerId(rsa.toString()).equals(rsa))
  })

  for (const input of ['', 'hello', '12D3KooWnotapeerid', 'Qm', 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi']) {
    it(`throws InvalidPeerIdError for ${JSON.stringify(input)}`, () => {
      assert.throws(() => parsePeerId(input), (err: Error) => {
        assert.equal(err.name, 'InvalidPeerIdError')
        assert.notEqual(err.cause, undefined)
        return true
      })
    })
  }

  it('rejects a URL peer ID, which names no key', () => {
    const url = new TextEncoder().encode('https://example.com/')
    const identityMultihash = Uint8Array.from([0x00, url.length, ...url])
    assert.throws(() => parsePeerId(base58btc(identityMultihash)), { name: 'InvalidPeerIdError' })
  })

  it('keeps the message short for huge input', () => {
    assert.throws(() => parsePeerId('x'.repeat(100_000)), (err: Error) => err.message.length < 400)
  })
})

// Just enough base58btc to build test input that the libraries under test would not produce.
function base58btc (bytes: Uint8Array): string {
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
  let n = BigInt(`0x${Buffer.from(bytes).toString('hex')}`)
  let out = ''
  while (n > 0n) {
    out = alphabet[Number(n % 58n)] + out
    n /= 58n
  }
  for (const b of bytes) {
    if (b !== 0) break
    out = `1${out}`
  }
  return out
}
