import { AbstractMultiaddrConnection } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { toError } from '@tswarm/core'
import type { NativeConnection } from './binding.js'
import type { Logger } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'

export interface QuicMultiaddrConnectionInit {
  connection: NativeConnection
  direction: 'inbound' | 'outbound'
  log: Logger
}

/**
 * A QUIC connection as a js-libp2p v3 MultiaddrConnection, for `Upgrader.adoptSecured`. It carries no bytes of its
 * own (streams do); it reports the connection's end and closes it. `remoteAddr` ends in the remote's `/p2p/<id>`,
 * proven by its TLS certificate.
 */
export class QuicMultiaddrConnection extends AbstractMultiaddrConnection {
  readonly connection: NativeConnection

  constructor (init: QuicMultiaddrConnectionInit) {
    super({ remoteAddr: multiaddr(init.connection.remoteMultiaddr()), direction: init.direction, log: init.log })
    this.connection = init.connection
    // closed() resolves whoever closed it (either side, idle timeout, endpoint close); never rejects.
    init.connection.closed().then(() => { this.onTransportClosed() }, (err: unknown) => {
      this.onTransportClosed(toError(err))
    })
  }

  sendData (): SendResult {
    throw new Error('a QUIC connection carries bytes on its streams only')
  }

  sendReset (): void {
    this.connection.abort()
  }

  sendPause (): void {
    // quinn's flow control applies per stream; there is nothing to pause here
  }

  sendResume (): void {
    // see sendPause
  }

  async sendClose (): Promise<void> {
    // The binding has no graceful close: CONNECTION_CLOSE at once. Streams were closed first by the muxer.
    this.connection.abort()
  }
}
