import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { handle } from '@libp2p/multistream-select'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { SystemClock } from '../../src/clock.js'
import { DEFAULT_SWARM_CONFIG } from '../../src/config.js'
import { findError } from '../../src/errors.js'
import { swarmLogger } from '../../src/logger.js'
import { LimitResourceManager } from '../../src/resources/limit-resource-manager.js'
import { selectLazily } from '../../src/upgrader/lazy-select.js'
import { NoiseYamuxUpgrader } from '../../src/upgrader/upgrader.js'
import type { MessageStream } from '@libp2p/interface'

const utf8 = new TextEncoder()

/** The next `n` bytes a fresh reader of `conn` receives. */
async function readBytes (conn: MessageStream, n: number): Promise<Buffer> {
  const parts: Uint8Array[] = []
  let have = 0
  const { promise, resolve } = Promise.withResolvers<void>()
  const onMessage = (evt: { data: Uint8Array | { subarray: () => Uint8Array } }): void => {
    const bytes = evt.data.subarray()
    parts.push(bytes)
    have += bytes.byteLength
    if (have >= n) resolve()
  }
  conn.addEventListener('message', onMessage)
  await promise
  conn.removeEventListener('message', onMessage)
  return Buffer.concat(parts)
}

/** multistream header + `/noise` as the listener answers them, length-prefixed. */
const ANSWER = Buffer.concat([Buffer.from([19]), Buffer.from('/multistream/1.0.0\n'), Buffer.from([7]), Buffer.from('/noise\n')])

describe('selectLazily', () => {
  it('sends what follows the proposal without waiting, and the next reader sees only what follows the answer', async () => {
    const [dialer, listener] = multiaddrConnectionPair()
    const answered = selectLazily(dialer, '/noise')
    // a reader added after the proposal, as the Noise handshake is, must never see the answer
    const nextRead = readBytes(dialer, 5)
    dialer.send(utf8.encode('hello'))
    const chosen = await handle(listener, '/noise')
    assert.equal(chosen, '/noise')
    assert.equal((await readBytes(listener, 5)).toString(), 'hello')
    listener.send(utf8.encode('world'))
    await answered
    assert.equal((await nextRead).toString(), 'world')
    await Promise.all([dialer.close(), listener.close()])
  })

  it('takes an answer that arrives a byte at a time, with the reply in its last chunk', async () => {
    const [dialer, listener] = multiaddrConnectionPair()
    const answered = selectLazily(dialer, '/noise')
    const nextRead = readBytes(dialer, 3)
    for (let i = 0; i < ANSWER.byteLength - 1; i++) listener.send(ANSWER.subarray(i, i + 1))
    listener.send(Buffer.concat([ANSWER.subarray(ANSWER.byteLength - 1), Buffer.from('abc')]))
    await answered
    assert.equal((await nextRead).toString(), 'abc')
    await Promise.all([dialer.close(), listener.close()])
  })

  it('fails with a ProtocolNegotiationError saying what the listener answered when it refuses', async () => {
    const [dialer, listener] = multiaddrConnectionPair()
    const answered = selectLazily(dialer, '/noise')
    const refused = handle(listener, '/tls/1.0.0')
    await assert.rejects(answered, (err: Error) => {
      assert.equal(err.name, 'ProtocolNegotiationError')
      assert.match(err.message, /na\\n/)
      return true
    })
    dialer.abort(new Error('test over'))
    await assert.rejects(refused)
  })

  it('fails when the connection closes before the answer, and when the signal aborts', async () => {
    const [dialer, listener] = multiaddrConnectionPair()
    const answered = selectLazily(dialer, '/noise')
    listener.abort(new Error('gone'))
    await assert.rejects(answered, { name: 'ProtocolNegotiationError' })

    const [d2, l2] = multiaddrConnectionPair()
    const controller = new AbortController()
    const waiting = selectLazily(d2, '/noise', controller.signal)
    controller.abort(new Error('given up'))
    await assert.rejects(waiting, { name: 'ProtocolNegotiationError', message: /given up/ })
    await Promise.all([d2.close(), l2.close()])
  })
})

describe('NoiseYamuxUpgrader, outbound, with /noise proposed lazily', () => {
  async function upgrader (): Promise<NoiseYamuxUpgrader> {
    return new NoiseYamuxUpgrader(await generateKeyPair('Ed25519'), [], DEFAULT_SWARM_CONFIG, new SystemClock(), swarmLogger(), new LimitResourceManager())
  }

  it('names the negotiation when the listener refuses /noise', async () => {
    const [dialer, listener] = multiaddrConnectionPair()
    const upgrading = (await upgrader()).upgradeOutbound(dialer, { transport: 'memory' })
    const refused = handle(listener, '/tls/1.0.0')
    await assert.rejects(upgrading, (err: Error) => {
      assert.equal(err.name, 'UpgradeError')
      assert.match(err.message, /during security negotiation/)
      assert.equal(findError(err, 'ProtocolNegotiationError')?.name, 'ProtocolNegotiationError')
      return true
    })
    await assert.rejects(refused)
  })

  it('names the Noise handshake when the listener accepts /noise and then answers garbage', async () => {
    const [dialer, listener] = multiaddrConnectionPair()
    const upgrading = (await upgrader()).upgradeOutbound(dialer, { transport: 'memory' })
    assert.equal(await handle(listener, '/noise'), '/noise')
    // a length-prefixed "Noise message" of the right size for message 2 that is not one
    listener.send(Buffer.concat([Buffer.from([0, 200]), Buffer.alloc(200, 0x42)]))
    await assert.rejects(upgrading, (err: Error) => {
      assert.equal(err.name, 'UpgradeError')
      assert.match(err.message, /during noise handshake/)
      return true
    })
    listener.abort(new Error('test over'))
  })
})
