import { createToken } from '@tswarm/core'
import type { AllowList } from './allow-list.js'
import type { BlockList } from './block-list.js'
import type { InboundLimits, InboundLimitsConfig, LimitsExemption } from './inbound-limits.js'
import type { RuleListConfig } from './rule-list.js'
import type { Token } from '@tswarm/core'

function token<T> (name: string): Token<T> {
  return createToken<T>('@tswarm/gater/v1', name)
}

/** The resolved options of `blockList()`. Registered by the module. */
export const BLOCK_LIST_CONFIG = token<RuleListConfig>('BlockListConfig')
/**
 * The swarm's block list (single binding): `pluginInstance(swarm, BLOCK_LIST)` after `createSwarm`, or `@inject(BLOCK_LIST)`
 * in a plugin that blocks peers itself.
 */
export const BLOCK_LIST = token<BlockList>('BlockList')
/** The resolved options of `allowList()`. Registered by the module. */
export const ALLOW_LIST_CONFIG = token<RuleListConfig>('AllowListConfig')
/** The swarm's allow list (single binding): `pluginInstance(swarm, ALLOW_LIST)`. */
export const ALLOW_LIST = token<AllowList>('AllowList')
/** The resolved options of `inboundLimits()`. Registered by the module. */
export const INBOUND_LIMITS_CONFIG = token<InboundLimitsConfig>('InboundLimitsConfig')
/** The swarm's inbound limits (single binding), for their statistics: `pluginInstance(swarm, INBOUND_LIMITS).stats()`. */
export const INBOUND_LIMITS = token<InboundLimits>('InboundLimits')
/**
 * Multi-binding, optional: sources the inbound limits do not apply to. The allow list registers itself here; any
 * plugin may add its own.
 */
export const LIMITS_EXEMPTION = token<LimitsExemption>('LimitsExemption')
