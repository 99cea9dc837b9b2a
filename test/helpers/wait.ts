/**
 * Poll a condition until it holds or time runs out (for effects that are
 * asynchronous by design, such as a watched file).
 */

/** True as soon as `check()` holds, or its last value after `ms`. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms: number, stepMs = 50): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}
