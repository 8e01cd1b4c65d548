import { SwarmError, describe } from '@tswarm/core'

// Every error of this package extends SwarmError and sets its `name` as a string literal (a minifier renames
// classes), keeps its `cause`, and says what to do. A QUIC handshake that does not finish within handshakeTimeout
// fails with core's TimeoutError.

/** An address handed to the QUIC transport is not a QUIC-v1 address it can dial (`use: 'dial'`) or listen on. */
export class QuicAddressError extends SwarmError {
  override readonly name: string = 'QuicAddressError'

  constructor (readonly addr: string, readonly use: 'dial' | 'listen') {
    super(use === 'dial'
      ? `not a dialable QUIC-v1 address: ${addr}; expected /ip4/<ip>/udp/<port>/quic-v1 or /ip6/<ip>/udp/<port>/quic-v1 ` +
        'with a port other than 0, optionally ending in /p2p/<peer>'
      : `not a QUIC-v1 listen address: ${addr}; expected /ip4/<ip>/udp/<port>/quic-v1 or /ip6/<ip>/udp/<port>/quic-v1 ` +
        '(port 0 picks a free port)')
  }
}

/** The QUIC transport was closed (its swarm closed): it neither dials nor listens again. */
export class QuicTransportClosedError extends SwarmError {
  override readonly name: string = 'QuicTransportClosedError'

  constructor () {
    super('the QUIC transport is closed: it cannot dial or listen after close(); create a new swarm')
  }
}

/**
 * There is no QUIC dialing socket for the address family of a dial: it is disabled (`quic({ ipv4: false })` or
 * `ipv6: false`), or its socket could not be opened (`cause`), e.g. on a host without IPv6.
 */
export class QuicSocketUnavailableError extends SwarmError {
  override readonly name: string = 'QuicSocketUnavailableError'

  constructor (readonly family: 4 | 6, cause?: unknown) {
    const option = family === 4 ? 'ipv4' : 'ipv6'
    super(cause === undefined
      ? `no QUIC socket for IPv${family}: ${option} is disabled; set quic({ ${option}: true }) to dial IPv${family} addresses`
      : `no QUIC socket for IPv${family}: it could not be opened (${describe(cause)}); this host may not support ` +
        `IPv${family}: dial an address of the other family`,
    cause === undefined ? undefined : { cause })
  }
}

/** Not one QUIC dialing socket could be opened; `cause` is an AggregateError holding each family's failure. */
export class QuicSocketOpenError extends SwarmError {
  override readonly name: string = 'QuicSocketOpenError'

  constructor (errors: readonly unknown[]) {
    super(`no QUIC dialing socket could be opened (${errors.map(describe).join('; ')}): check that this process may ` +
      'bind UDP sockets (sandbox, firewall, file descriptor limit)', { cause: new AggregateError(errors, 'QUIC socket failures') })
  }
}

/** A QUIC listener could not be opened on an address; `cause` is the native binding's error. */
export class QuicListenError extends SwarmError {
  override readonly name: string = 'QuicListenError'

  constructor (readonly addr: string, cause: unknown) {
    super(`cannot listen on ${addr}: ${describe(cause)}; the UDP port may be in use or the IP not one of this ` +
      'machine\'s: choose another port (0 picks a free one) or address', { cause })
  }
}

/** The native QUIC dial failed before the handshake finished; `cause` is quinn's error. */
export class QuicDialError extends SwarmError {
  override readonly name: string = 'QuicDialError'

  constructor (readonly addr: string, cause: unknown) {
    super(`QUIC dial to ${addr} failed: ${describe(cause)}; check that a QUIC-v1 listener runs there and that UDP ` +
      'reaches it', { cause })
  }
}

/**
 * A QUIC connection came up without a usable remote peer ID (the binding reports it from the remote's TLS
 * certificate); the connection was closed. `cause` is the parse failure, if any.
 */
export class QuicRemotePeerError extends SwarmError {
  override readonly name: string = 'QuicRemotePeerError'

  constructor (readonly remoteAddr: string, cause?: unknown) {
    super(`the QUIC connection's remote address carries no valid peer ID: ${remoteAddr}` +
      `${cause === undefined ? '' : ` (${describe(cause)})`}; the native binding does not match @chainsafe/libp2p-quic ` +
      '2.x: reinstall it (npm install @chainsafe/libp2p-quic@^2.1.1)', cause === undefined ? undefined : { cause })
  }
}
