// npm run test:sim -- --seeds N --from S [--size K] [--trace]
// Runs seeds S..S+N-1 of the raft simulation on every core, prints each failing seed (replay one
// with `--seeds 1 --from SEED --trace`) and a closing `N passed, N failed` line.

import { runSeed } from './raft-sim.js';
import { runSeeds } from './seed-runner.js';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`--${name} takes a non-negative integer`);
    process.exit(2);
  }
  return value;
}

const seeds = arg('seeds', 1000);
const from = arg('from', 1);
const size = arg('size', 0) || undefined;
const trace = process.argv.includes('--trace');
const started = Date.now();

if (trace) {
  // Tracing prints from the simulation itself, so run in this thread, in order.
  let failed = 0;
  for (let seed = from; seed < from + seeds; seed++) {
    const r = runSeed(seed, { trace, size });
    if (!r.ok) {
      failed++;
      console.log(`FAIL ${r.failure}`);
    }
  }
  console.log(`${seeds - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

const result = await runSeeds(from, seeds, { size });
for (const f of result.failures) console.log(`FAIL ${f}`);
console.log(`seeds ${from}..${from + seeds - 1} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(result.totals)}`);
console.log(`${result.passed} passed, ${result.failed} failed`);
process.exit(result.failed === 0 ? 0 : 1);
