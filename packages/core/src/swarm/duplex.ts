import { Duplex } from 'node:stream'
import { toError } from '../errors.js'
import type { Stream } from '../interfaces/connection.js'

/**
 * A Node.js byte Duplex over any tswarm Stream, for `stream.pipeline`: reads pull with `read()`, writes await
 * `write()`, ending half-closes, destroying with an error resets and without one closes. Built only on the Stream
 * contract, so stream implementations outside core (the host's optimistic stream) share it.
 */
export function streamToDuplex (stream: Stream): Duplex {
  let pulling = false
  const duplex = new Duplex({
    read: () => {
      if (pulling) return
      pulling = true
      stream.read().then(chunk => {
        pulling = false
        duplex.push(chunk)
      }, (err: unknown) => {
        pulling = false
        duplex.destroy(toError(err))
      })
    },
    write: (chunk: Uint8Array, _encoding, callback) => {
      stream.write(chunk).then(() => { callback() }, (err: unknown) => { callback(toError(err)) })
    },
    final: callback => {
      stream.closeWrite().then(() => { callback() }, (err: unknown) => { callback(toError(err)) })
    },
    destroy: (err, callback) => {
      if (err !== null) {
        stream.reset(err)
        callback(err)
        return
      }
      stream.close().then(() => { callback(null) }, (e: unknown) => { callback(toError(e)) })
    }
  })
  return duplex
}
