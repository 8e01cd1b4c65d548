import { GaterDisallowedError, describe } from './errors.js'
import type { ConnectionGater, GateHook, GateResult } from './interfaces/gater.js'

/**
 * Asks every gater at one hook, in registration order; the first that denies (or throws) refuses with a
 * GaterDisallowedError naming it and the hook. Gaters without the hook allow.
 */
export async function checkGates (gaters: readonly ConnectionGater[], hook: GateHook, detail: string,
  ask: (gater: ConnectionGater) => GateResult | undefined): Promise<void> {
  for (let i = 0; i < gaters.length; i++) {
    const gater = gaters[i]
    let allowed: boolean | undefined
    try {
      allowed = await ask(gater)
    } catch (err) {
      throw new GaterDisallowedError(hook, gaterName(gater, i), `${detail} (the gater threw: ${describe(err)})`, err)
    }
    if (allowed === false) throw new GaterDisallowedError(hook, gaterName(gater, i), detail)
  }
}

function gaterName (gater: ConnectionGater, index: number): string {
  return gater.name ?? gater.constructor?.name ?? `gater #${index}`
}
