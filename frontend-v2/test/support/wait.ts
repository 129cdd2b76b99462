/** Waiting on conditions, never on the clock alone: every wait has a deadline and says what it waited for. */

export class WaitTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`timed out after ${ms} ms waiting for ${what}`);
    this.name = "WaitTimeout";
  }
}

/** Poll `probe` until it returns a value other than undefined (or throws, which fails at once). */
export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new WaitTimeout(what, ms);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The first `emitted` value for which `accept` holds, within `ms`. */
export function next<T>(
  what: string,
  subscribe: (listener: (value: T) => void) => () => void,
  accept: (value: T) => boolean = () => true,
  ms = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new WaitTimeout(what, ms));
    }, ms);
    const unsubscribe = subscribe((value) => {
      if (!accept(value)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    });
  });
}
