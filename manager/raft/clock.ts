// Time and scheduling for the driver, injectable so a simulator can run real RaftNodes on
// virtual time (test/sim/store-sim.ts) and replay a run from its seed.

export interface Clock {
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  /** Runs fn soon, after the current work (the driver batches inputs until then). */
  setImmediate(fn: () => void): void;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
  setImmediate: (fn) => { setImmediate(fn); },
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
