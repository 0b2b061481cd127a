// Waiting for a state, not for a time: polls until the condition holds, with a bound generous
// enough for a loaded machine, and names what it waited for when the bound runs out.

/** Polls `condition` every 100 ms until it returns a value; fails after `timeoutMs` naming `what`. */
export async function until<T>(what: string, condition: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
