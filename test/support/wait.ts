// Waiting in tests: for something to become true, or for a test to let a
// wrapped handler go on. Every wait has a deadline and fails the test past it:
// none returns as if it had succeeded.

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Probes until `probe` answers something other than undefined; past the deadline, fails. */
export const until = async <T>(what: string, probe: () => Promise<T | undefined>, { timeoutMs = 30_000, everyMs = 50 } = {}): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
};

/** Runs `attempt` until it stops throwing (a failed `expect` included); past the deadline, its last error fails the test. */
export const eventually = async <T>(what: string, attempt: () => Promise<T>, { timeoutMs = 45_000, everyMs = 250 } = {}): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: not so after ${timeoutMs} ms: ${(error as Error).message}`);
    }
    await sleep(everyMs);
  }
};

/** A gate a wrapped handler waits at (`passed()`) while it is closed. */
export const gate = () => {
  let open: () => void = () => {};
  let opened: Promise<void> = Promise.resolve();
  return {
    close: () => {
      opened = new Promise((resolve) => (open = resolve));
    },
    open: () => open(),
    passed: () => opened,
  };
};
