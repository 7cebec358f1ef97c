// Polling for the integration tests: real daemons converge in their own time, so a test asks
// again every 100 ms until a condition holds, and fails naming what it waited for.

/** Resolves with the first truthy value of `fn` (errors count as "not yet"); rejects after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | false | undefined> | T | false | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve().then(fn).catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
