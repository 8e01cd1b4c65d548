import { parseArgs } from 'node:util'
import { SwarmError, describe, findError } from '@tswarm/core'
import type { DialError, ListenError } from '@tswarm/core'

/** Why one address of a failed dial failed, and what to do. */
export interface AddrReason {
  addr: string
  reason: string
}

/**
 * A user error: printed as one line (and, for a failed dial, one line per address), exit code 1, never a stack
 * trace. With `--json`, printed as `{"error": …, "addresses": [{"addr", "reason"}]}`.
 */
export class CliError extends SwarmError {
  override readonly name: string = 'CliError'
  constructor (message: string, readonly addresses: readonly AddrReason[] = [], options?: ErrorOptions) {
    super(message, options)
  }
}

/** Why each address failed, when `err` is (or holds) a failed dial or listen; else none. */
export function addressReasons (err: unknown): AddrReason[] {
  if (err instanceof CliError) return [...err.addresses]
  const found = (findError(err, 'DialError') ?? findError(err, 'ListenError')) as DialError | ListenError | undefined
  return found?.reasons() ?? []
}

/** The CliError for `what` failing with `err`: its first line, and why at each address of a failed dial. */
export function failure (what: string, err: unknown): CliError {
  return new CliError(`${what}: ${describe(err).split('\n')[0]}`, addressReasons(err), { cause: err })
}

export interface OptionSpec {
  type: 'string' | 'boolean'
  multiple?: boolean
  description: string
}

export interface Command {
  name: string
  usage: string
  summary: string
  options: Record<string, OptionSpec>
  run(args: { values: Record<string, string | boolean | string[] | undefined>, positionals: string[], out: Output }): Promise<void>
}

/** Where commands print: text for people, or one JSON object per line with --json. */
export interface Output {
  json: boolean
  /** A result: `text` for people, `data` for --json. */
  result(text: string, data: Record<string, unknown>): void
}

export function output (json: boolean): Output {
  return {
    json,
    result (text, data) {
      console.log(json ? JSON.stringify(data) : text)
    }
  }
}

export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print results as JSON, one object per line' },
  help: { type: 'boolean', description: 'show this help' }
}

export function parse (command: Command, argv: string[]): { values: Record<string, string | boolean | string[] | undefined>, positionals: string[] } {
  const options = Object.fromEntries(Object.entries({ ...command.options, ...COMMON_OPTIONS })
    .map(([name, spec]) => [name, spec.multiple === true ? { type: spec.type, multiple: true } : { type: spec.type }]))
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals }
  } catch (err) {
    throw new CliError(`${describe(err)} (see: tswarm ${command.name} --help)`)
  }
}

export function help (command: Command): string {
  const opts = Object.entries({ ...command.options, ...COMMON_OPTIONS })
    .map(([name, spec]) => `  --${name}${spec.type === 'string' ? ' <value>' : ''}`.padEnd(28) + spec.description)
  return [`usage: ${command.usage}`, '', command.summary, '', 'options:', ...opts].join('\n')
}

/** A string option, or `fallback`. */
export function str (values: Record<string, unknown>, name: string, fallback?: string): string | undefined {
  const v = values[name]
  return typeof v === 'string' ? v : fallback
}

/** A whole-number option within bounds, or `fallback`; anything else is a CliError naming the option. */
export function int (values: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = values[name]
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`--${name} takes a whole number from ${min} to ${max}, not ${String(raw)}`)
  return n
}
