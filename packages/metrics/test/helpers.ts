import { setTimeout as sleep } from 'node:timers/promises'

/** Polls an async condition (a scrape) until it holds; fails after `timeoutMs`. */
export async function until (what: string, check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}
