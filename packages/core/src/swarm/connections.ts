import type { SwarmConn } from './conn.js'
import type { PeerId } from '@libp2p/interface'

/** The swarm's connections by peer (go's swarm.conns), and which one to use for a peer. */
export class ConnectionSet {
  readonly #byPeer = new Map<string, Set<SwarmConn>>()

  add (conn: SwarmConn): void {
    const key = conn.remotePeer.toString()
    let set = this.#byPeer.get(key)
    if (set === undefined) {
      set = new Set()
      this.#byPeer.set(key, set)
    }
    set.add(conn)
  }

  /** Removes `conn`; says whether it was there and whether it was the peer's last. */
  remove (conn: SwarmConn): { removed: boolean, last: boolean } {
    const key = conn.remotePeer.toString()
    const set = this.#byPeer.get(key)
    if (set?.delete(conn) !== true) return { removed: false, last: false }
    if (set.size > 0) return { removed: true, last: false }
    this.#byPeer.delete(key)
    return { removed: true, last: true }
  }

  /** An open connection to the peer: the one with the most streams, the newest on a tie. */
  best (peer: PeerId): SwarmConn | undefined {
    let best: SwarmConn | undefined
    let bestStreams = -1
    for (const c of this.#byPeer.get(peer.toString()) ?? []) {
      if (c.status !== 'open') continue
      const streams = c.numStreams
      if (streams > bestStreams || (streams === bestStreams && best !== undefined && c.opened >= best.opened)) {
        best = c
        bestStreams = streams
      }
    }
    return best
  }

  /** Every connection, open or closing. */
  all (): SwarmConn[] {
    return [...this.#byPeer.values()].flatMap(s => [...s])
  }

  toPeer (peer: PeerId): SwarmConn[] {
    return [...this.#byPeer.get(peer.toString()) ?? []]
  }

  /** Peers with at least one connection. */
  peers (): PeerId[] {
    return [...this.#byPeer.values()].flatMap(s => {
      const first = s.values().next().value
      return first === undefined ? [] : [first.remotePeer]
    })
  }
}
