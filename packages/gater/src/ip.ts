/**
 * The gaters' IP addresses and subnets are core's (`@tswarm/core`'s one CIDR type and address parser), re-exported
 * so that this package's API and imports stay as they were.
 */
export { Cidr, IpAddress, ipOfMultiaddr, parseCidr, parseIp, toCidr, toIp } from '@tswarm/core'
export type { IpFamily } from '@tswarm/core'
