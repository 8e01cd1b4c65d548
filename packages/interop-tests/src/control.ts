/**
 * The serving side of the interop peer control protocol (interop/PROTOCOL.md) for peers written in TypeScript: JSON
 * lines in on standard input, answers and events out on standard output, one line per write so lines never mix.
 */
import { createInterface } from 'node:readline'

export type CommandArgs = Record<string, unknown>
export type CommandHandler = (args: CommandArgs) => Promise<Record<string, unknown>>

const DEFAULT_TIMEOUT_MS = 30_000

/** Writes one JSON line on standard output. */
export function emit (line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`)
}

/** Reads a string argument or fails with a message naming it. */
export function stringArg (args: CommandArgs, name: string): string {
  const value = args[name]
  if (typeof value !== 'string' || value === '') throw new Error(`argument "${name}" must be a non-empty string`)
  return value
}

/** Reads a non-negative integer argument (or its default) or fails with a message naming it. */
export function intArg (args: CommandArgs, name: string, fallback?: number): number {
  const value = args[name] ?? fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`argument "${name}" must be a non-negative integer`)
  }
  return value
}

/**
 * Serves commands until standard input ends or `quit` arrives, then calls `close` and resolves. Each command runs
 * under its own `timeoutMs` (default 30 s); a failure or a timeout becomes an `ok: false` answer, never a crash.
 */
export async function serveCommands (handlers: Record<string, CommandHandler>, close: () => Promise<void>): Promise<void> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
  const running = new Set<Promise<void>>()
  for await (const line of lines) {
    if (line.trim() === '') continue
    let request: CommandArgs
    try {
      const parsed: unknown = JSON.parse(line)
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object')
      request = parsed as CommandArgs
    } catch (err) {
      emit({ id: null, ok: false, error: `malformed command line: ${(err as Error).message}` })
      continue
    }
    const id = typeof request.id === 'number' ? request.id : null
    const cmd = request.cmd
    if (cmd === 'quit') {
      await Promise.allSettled(running)
      await close()
      emit({ id, ok: true })
      return
    }
    const handler = typeof cmd === 'string' ? handlers[cmd] : undefined
    if (id === null || handler === undefined) {
      emit({ id, ok: false, error: id === null ? 'a command needs a numeric "id"' : `unknown command ${String(cmd)}` })
      continue
    }
    const run = runOne(id, handler, request).finally(() => running.delete(run))
    running.add(run)
  }
  await Promise.allSettled(running)
  await close()
}

async function runOne (id: number, handler: CommandHandler, args: CommandArgs): Promise<void> {
  const timeoutMs = typeof args.timeoutMs === 'number' ? args.timeoutMs : DEFAULT_TIMEOUT_MS
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`timeout after ${timeoutMs} ms`)) }, timeoutMs)
  })
  try {
    const result = await Promise.race([handler(args), timeout])
    emit({ id, ok: true, ...result })
  } catch (err) {
    emit({ id, ok: false, error: (err as Error).message })
  } finally {
    clearTimeout(timer)
  }
}
