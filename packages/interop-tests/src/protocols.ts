/** The protocols every interop peer serves besides identify, ping and perf (interop/PROTOCOL.md). */
export const ECHO = '/echo/1.0.0'
export const DIGEST = '/interop/digest/1.0.0'
export const RESET = '/interop/reset/1.0.0'
export const OBSERVE = '/interop/observe/1.0.0'
// the spec's perf protocol, as the host serves it
export { PERF_PROTOCOL as PERF } from '@tswarm/host'
