/**
 * `promise`, or a rejection with the signal's reason as soon as it aborts, so an abort is prompt even when what is
 * awaited cannot be cancelled. The losing promise's rejection is still handled (Promise.race subscribes to it).
 */
export async function raceAbort<T> (promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  signal.throwIfAborted()
  let onAbort = (): void => {}
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
