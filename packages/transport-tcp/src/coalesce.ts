import type { MultiaddrConnection } from '@libp2p/interface'
import type { Socket } from 'node:net'
import type { Uint8ArrayList } from 'uint8arraylist'

/** What @libp2p/tcp's connection class has but does not type: its socket and the method that writes to it. */
interface SendingConnection {
  socket?: Socket
  sendData?: (data: Uint8ArrayList) => { sentBytes: number, canSendMore: boolean }
}

/**
 * Gathers every write a connection makes in one turn of the event loop into one `writev` system call. Each layer
 * above the socket hands over its pieces separately (a Yamux header, Noise's length prefix, the ciphertext, the tag),
 * and @libp2p/tcp writes each piece with its own call: a connection's set-up made 30 write calls, now 7, and a
 * receiver's window updates no longer cost two calls each. The socket is corked at the first write of a turn and
 * uncorked when the turn's synchronous work and its microtasks are done (`process.nextTick`), so nothing waits for
 * a timer.
 */
export function coalesceWrites (maConn: MultiaddrConnection): void {
  const conn = maConn as MultiaddrConnection & SendingConnection
  const socket = conn.socket
  const sendData = conn.sendData
  if (socket === undefined || typeof sendData !== 'function') return
  let corked = false
  const uncork = (): void => {
    corked = false
    socket.uncork()
  }
  conn.sendData = (data) => {
    if (!corked) {
      corked = true
      socket.cork()
      process.nextTick(uncork)
    }
    return sendData.call(conn, data)
  }
}
