import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, it } from 'node:test'
import { noise, pureJsCrypto } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { nodeNoiseCrypto } from '../../src/upgrader/noise-crypto.js'
import { createTestSwarm, echoHandler, connect, waitFor } from '../../src/testing/swarms.js'
import { readAll } from '../../src/reader.js'
import type { ICryptoInterface, NoiseInit } from '@chainsafe/libp2p-noise'
import type { MessageStream, MultiaddrConnection, SecuredConnection, StreamMuxerFactory, Upgrader } from '@libp2p/interface'
import type { Swarm } from '../../src/swarm/swarm.js'

/**
 * Noise's interface is typed against uint8arraylist 2, core against 3; the lists are interchangeable at run time
 * (the implementation under test relies on the same), so the tests hand core's lists to both implementations.
 */
type NoiseList = Exclude<Parameters<ICryptoInterface['hashSHA256']>[0], Uint8Array>
const asNoiseList = (list: Uint8ArrayList): NoiseList => list as unknown as NoiseList

const ours = nodeNoiseCrypto
const reference = pureJsCrypto

const nonce = (n: number): Uint8Array => {
  const bytes = new Uint8Array(12)
  new DataView(bytes.buffer).setUint32(4, n, true)
  return bytes
}

/** A list of `data` cut into pieces of the given sizes (the rest in a last piece). */
function split (data: Uint8Array, ...sizes: number[]): Uint8ArrayList {
  const list = new Uint8ArrayList()
  let at = 0
  for (const size of sizes) {
    list.append(data.subarray(at, at + size))
    at += size
  }
  list.append(data.subarray(at))
  return list
}

const bytes = (data: Uint8Array | NoiseList): Uint8Array => Uint8Array.from(data.subarray())

describe('nodeNoiseCrypto', () => {
  it('derives the same HKDF outputs as noise\'s own implementation', () => {
    const cases: Array<[Uint8Array, Uint8Array]> = [
      [new Uint8Array(32), new Uint8Array(0)],
      [randomBytes(32), new Uint8Array(0)],
      [randomBytes(32), randomBytes(32)],
      [randomBytes(32), randomBytes(1)],
      [randomBytes(32), randomBytes(100)]
    ]
    for (const [ck, ikm] of cases) {
      const got = ours.getHKDF(ck, ikm)
      const want = reference.getHKDF(ck, ikm)
      assert.equal(got.length, 3)
      for (let i = 0; i < 3; i++) {
        assert.equal(got[i].byteLength, 32)
        assert.deepEqual(bytes(got[i]), bytes(want[i]))
      }
    }
  })

  it('hashes arrays and lists as noise\'s own implementation does', () => {
    for (const size of [0, 1, 64, 80, 1024, 1025, 70_000]) {
      const data = randomBytes(size)
      const want = bytes(reference.hashSHA256(data))
      assert.deepEqual(bytes(ours.hashSHA256(data)), want, `array of ${size}`)
      assert.deepEqual(bytes(ours.hashSHA256(asNoiseList(new Uint8ArrayList(data)))), want, `single-buffer list of ${size}`)
      assert.deepEqual(bytes(ours.hashSHA256(asNoiseList(split(data, size >> 2, size >> 2)))), want, `three-buffer list of ${size}`)
    }
  })

  it('agrees with noise\'s own X25519 both ways, on generated and seeded keys', () => {
    const seedA = randomBytes(32)
    const seedB = randomBytes(32)
    const a = ours.generateX25519KeyPairFromSeed(seedA)
    const b = reference.generateX25519KeyPairFromSeed(seedB)
    assert.deepEqual(bytes(a.publicKey), bytes(reference.generateX25519KeyPairFromSeed(seedA).publicKey))
    assert.deepEqual(bytes(a.privateKey), bytes(seedA))
    const want = bytes(reference.generateX25519SharedKey(seedA, b.publicKey))
    assert.deepEqual(bytes(ours.generateX25519SharedKey(a.privateKey, b.publicKey)), want)
    assert.deepEqual(bytes(ours.generateX25519SharedKey(b.privateKey, a.publicKey)), want)
    // a private key noise did not get from us, and keys as lists
    assert.deepEqual(bytes(ours.generateX25519SharedKey(seedA, asNoiseList(split(b.publicKey, 5)))), want)
    assert.deepEqual(bytes(ours.generateX25519SharedKey(asNoiseList(split(b.privateKey, 16)), a.publicKey)), want)

    const e = ours.generateX25519KeyPair()
    assert.equal(e.publicKey.byteLength, 32)
    assert.equal(e.privateKey.byteLength, 32)
    assert.deepEqual(bytes(reference.generateX25519KeyPairFromSeed(e.privateKey).publicKey), bytes(e.publicKey))
    const shared = bytes(reference.generateX25519SharedKey(b.privateKey, e.publicKey))
    // twice: the second DH uses the remembered key objects
    assert.deepEqual(bytes(ours.generateX25519SharedKey(e.privateKey, b.publicKey)), shared)
    assert.deepEqual(bytes(ours.generateX25519SharedKey(e.privateKey, b.publicKey)), shared)
  })

  it('uses the current bytes of a private key changed in place, not a remembered key object', () => {
    const a = ours.generateX25519KeyPair()
    const b = reference.generateX25519KeyPair()
    ours.generateX25519SharedKey(a.privateKey, b.publicKey)
    const other = randomBytes(32)
    a.privateKey.set(other)
    assert.deepEqual(bytes(ours.generateX25519SharedKey(a.privateKey, b.publicKey)), bytes(reference.generateX25519SharedKey(other, b.publicKey)))
  })

  it('rejects an all-zero or low-order peer key, and a key of the wrong length', () => {
    const a = ours.generateX25519KeyPair()
    const lowOrder = [
      new Uint8Array(32),
      Uint8Array.from([1, ...new Uint8Array(31)]),
      // a point of order 8
      Uint8Array.from(Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex'))
    ]
    for (const key of lowOrder) {
      assert.throws(() => ours.generateX25519SharedKey(a.privateKey, key))
      assert.throws(() => reference.generateX25519SharedKey(a.privateKey, key), 'noise\'s own refuses it too')
    }
    assert.throws(() => ours.generateX25519SharedKey(a.privateKey, randomBytes(31)), /32 bytes/)
    assert.throws(() => ours.generateX25519SharedKey(randomBytes(33), a.publicKey), /32 bytes/)
  })

  it('encrypts and decrypts interchangeably with noise\'s own ChaCha20-Poly1305', () => {
    const k = randomBytes(32)
    const ad = randomBytes(32)
    for (const size of [0, 1, 100, 511, 512, 1199, 1200, 65519]) {
      const plaintext = randomBytes(size)
      const n = nonce(size)
      const sealedByUs = ours.chaCha20Poly1305Encrypt(plaintext, n, ad, k)
      assert.equal(sealedByUs.byteLength, size + 16)
      assert.deepEqual(bytes(reference.chaCha20Poly1305Decrypt(sealedByUs, n, ad, k)), bytes(plaintext), `ours -> reference, ${size} B`)
      const sealedByThem = reference.chaCha20Poly1305Encrypt(plaintext, n, ad, k)
      assert.deepEqual(bytes(sealedByUs), bytes(sealedByThem), `same ciphertext, ${size} B`)
      assert.deepEqual(bytes(ours.chaCha20Poly1305Decrypt(sealedByThem, n, ad, k)), bytes(plaintext), `reference -> ours, ${size} B`)
      // the ciphertext as a list, its tag split across buffers
      if (size > 0) {
        const asList = asNoiseList(split(bytes(sealedByThem), size >> 1, (size >> 1) + 8))
        assert.deepEqual(bytes(ours.chaCha20Poly1305Decrypt(asList, n, ad, k)), bytes(plaintext), `list -> ours, ${size} B`)
      }
    }
  })

  it('encrypts a plaintext list spread across buffers', () => {
    const k = randomBytes(32)
    const ad = randomBytes(32)
    for (const size of [300, 5000, 65519]) {
      const plaintext = randomBytes(size)
      const n = nonce(1)
      const sealed = ours.chaCha20Poly1305Encrypt(asNoiseList(split(plaintext, 7, 100, size >> 1)), n, ad, k)
      assert.deepEqual(bytes(sealed), bytes(reference.chaCha20Poly1305Encrypt(plaintext, n, ad, k)))
      assert.deepEqual(bytes(reference.chaCha20Poly1305Decrypt(sealed, n, ad, k)), bytes(plaintext))
    }
  })

  it('throws on a flipped ciphertext or tag bit, a wrong AD, a wrong nonce, or a message shorter than a tag', () => {
    const k = randomBytes(32)
    const ad = randomBytes(32)
    for (const size of [0, 100, 1200, 65519]) {
      const plaintext = randomBytes(size)
      const sealed = bytes(ours.chaCha20Poly1305Encrypt(plaintext, nonce(0), ad, k))
      const positions = size > 0 ? [0, size - 1, size, size + 15] : [0, 15]
      for (const at of positions) {
        const bad = Uint8Array.from(sealed)
        bad[at] ^= 1
        assert.throws(() => ours.chaCha20Poly1305Decrypt(bad, nonce(0), ad, k), `bit flipped at ${at} of ${size} B`)
        assert.throws(() => ours.chaCha20Poly1305Decrypt(asNoiseList(split(bad, 3)), nonce(0), ad, k), `bit flipped at ${at} of ${size} B, as a list`)
      }
      const wrongAd = Uint8Array.from(ad)
      wrongAd[0] ^= 1
      assert.throws(() => ours.chaCha20Poly1305Decrypt(sealed, nonce(0), wrongAd, k), `wrong AD, ${size} B`)
      assert.throws(() => ours.chaCha20Poly1305Decrypt(sealed, nonce(1), ad, k), `wrong nonce, ${size} B`)
    }
    assert.throws(() => ours.chaCha20Poly1305Decrypt(randomBytes(15), nonce(0), ad, k))
  })
})

describe('Noise handshakes with nodeNoiseCrypto', () => {
  const swarms: Swarm[] = []
  const conns: MultiaddrConnection[] = []
  afterEach(async () => {
    await Promise.all(swarms.splice(0).map(async s => { await s.close() }))
    for (const c of conns.splice(0)) c.abort(new Error('test over'))
  })

  /** Secures one in-memory connection with a noise of each given configuration. */
  async function secure (outboundInit: NoiseInit, inboundInit: NoiseInit): Promise<[SecuredConnection, SecuredConnection]> {
    const muxers = { getStreamMuxers: () => new Map<string, StreamMuxerFactory>() } as unknown as Upgrader
    const keyA = await generateKeyPair('Ed25519')
    const keyB = await generateKeyPair('Ed25519')
    const peerA = peerIdFromPrivateKey(keyA)
    const peerB = peerIdFromPrivateKey(keyB)
    const a = noise(outboundInit)({ peerId: peerA, privateKey: keyA, logger: defaultLogger(), upgrader: muxers })
    const b = noise(inboundInit)({ peerId: peerB, privateKey: keyB, logger: defaultLogger(), upgrader: muxers })
    const [connA, connB] = multiaddrConnectionPair()
    conns.push(connA, connB)
    const [outbound, inbound] = await Promise.all([
      a.secureOutbound(connA, { remotePeer: peerB }),
      b.secureInbound(connB)
    ])
    assert.equal(outbound.remotePeer.toString(), peerB.toString())
    assert.equal(inbound.remotePeer.toString(), peerA.toString())
    return [outbound, inbound]
  }

  /** Sends `data` from one secured stream and waits until the other has received all of it. */
  async function transfer (from: MessageStream, to: MessageStream, data: Uint8Array): Promise<Uint8Array> {
    const received = new Uint8ArrayList()
    const done = new Promise<void>((resolve, reject) => {
      const onMessage = (evt: { data: Uint8Array | { subarray: () => Uint8Array } }): void => {
        received.append(evt.data.subarray())
        if (received.byteLength >= data.byteLength) {
          to.removeEventListener('message', onMessage)
          resolve()
        }
      }
      to.addEventListener('message', onMessage)
      to.addEventListener('close', () => { reject(new Error('closed before all data arrived')) }, { once: true })
    })
    // several sizes, so both the small-message and the native cipher paths carry traffic
    for (let at = 0, i = 0; at < data.byteLength; i++) {
      const size = [1, 100, 600, 70_000][i % 4]
      from.send(data.subarray(at, at + size))
      at += size
    }
    await done
    return received.subarray()
  }

  async function checkBothWays (outboundInit: NoiseInit, inboundInit: NoiseInit): Promise<void> {
    const [outbound, inbound] = await secure(outboundInit, inboundInit)
    const there = randomBytes(300_000)
    const back = randomBytes(150_000)
    assert.deepEqual(await transfer(outbound.connection, inbound.connection, there), Uint8Array.from(there))
    assert.deepEqual(await transfer(inbound.connection, outbound.connection, back), Uint8Array.from(back))
  }

  it('completes with nodeNoiseCrypto on both sides and carries data both ways', async () => {
    await checkBothWays({ crypto: nodeNoiseCrypto }, { crypto: nodeNoiseCrypto })
  })

  it('interoperates with stock noise as initiator and as responder', async () => {
    await checkBothWays({ crypto: nodeNoiseCrypto }, {})
    await checkBothWays({}, { crypto: nodeNoiseCrypto })
  })

  it('interoperates with a fixed static key given as a seed', async () => {
    await checkBothWays({ crypto: nodeNoiseCrypto, staticNoiseKey: randomBytes(32) }, { staticNoiseKey: randomBytes(32) })
  })

  it('secures swarm connections through the default upgrader', async () => {
    const a = await createTestSwarm()
    const b = await createTestSwarm()
    swarms.push(a, b)
    b.setStreamHandler(echoHandler(b))
    const conn = await connect(a, b)
    assert.equal(conn.stat().security, '/noise')
    // both offer Yamux in Noise's extensions, so neither side ran a multistream round for the muxer
    assert.equal(conn.stat().usedEarlyMuxerNegotiation, true)
    await waitFor(() => b.connsToPeer(a.localPeer).length === 1, 'the inbound side to take the connection')
    assert.equal(b.connsToPeer(a.localPeer)[0].stat().usedEarlyMuxerNegotiation, true)
    const stream = await a.newStream(b.localPeer, { protocols: ['/echo/1.0.0'] })
    const data = randomBytes(200_000)
    const reply = readAll(stream)
    await stream.write(data)
    await stream.closeWrite()
    assert.deepEqual(await reply, Uint8Array.from(data))
  })
})
