import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'

/** The compiled CLI, run with this test's Node (22) as a user's npm scripts would. */
export const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url))
export const LISTEN = ['--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/ip4/127.0.0.1/udp/0/quic-v1']

/** Every CLI process the tests started, so an `after` hook can kill what is left. */
export const children: ChildProcessWithoutNullStreams[] = []

export function spawnMain (args: string[]): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, INIT_CWD: '' } })
  children.push(child)
  return child
}

/** Runs a one-shot CLI command to its end (bounded: 60 s). */
export async function runCli (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawnMain(args)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (b: Buffer) => { stdout += b.toString() })
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString() })
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${args.join(' ')} did not finish in 60 s:\n${stdout}${stderr}`)) }, 60_000)
    child.on('exit', c => { clearTimeout(timer); resolve(c) })
  })
  return { code, stdout, stderr }
}

/** Sends Ctrl-C (SIGINT) and resolves with the exit code. */
export async function stop (child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode
  const exited = new Promise<number | null>(resolve => { child.on('exit', code => { resolve(code) }) })
  child.kill('SIGINT')
  return exited
}

/** Kills whatever CLI process a failed test left running. */
export function killAll (): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
}
