// The seeded simulation as part of `npm test`: a fixed range of seeds so CI is reproducible;
// `npm run test:sim -- --seeds N --from S` explores further.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeeds } from './seed-runner.js';
import { runSeed } from './raft-sim.js';

const SEEDS = 2000;

test(`raft simulation: seeds 1..${SEEDS} keep election safety, log matching, leader completeness and state machine safety`, async () => {
  const result = await runSeeds(1, SEEDS);
  console.log(`simulated ${SEEDS} clusters: ${JSON.stringify(result.totals)}`);
  assert.deepEqual(result.failures, []);
  assert.equal(result.passed, SEEDS);
  // The runs must really exercise the hard cases, or passing means little.
  for (const k of ['elections', 'crashes', 'snapshots', 'confChanges', 'transfers', 'reads']) {
    assert.ok(result.totals[k] > SEEDS / 10, `too few ${k}: ${result.totals[k]}`);
  }
});

test('raft simulation: one seed replays identically', () => {
  const a = runSeed(4242);
  const b = runSeed(4242);
  assert.deepEqual(a, b);
});

test('raft simulation: clusters of 3, 5 and 7 all pass', () => {
  for (const size of [3, 5, 7]) {
    for (let seed = 1; seed <= 20; seed++) {
      const r = runSeed(10_000 + seed, { size });
      assert.ok(r.ok, r.failure);
    }
  }
});

for (const bug of ['send-before-persist', 'forget-vote'] as const) {
  test(`raft simulation: a planted driver bug (${bug}) is caught`, async () => {
    const result = await runSeeds(1, 300, { plantedBug: bug });
    console.log(`planted ${bug}: ${result.failed} of 300 seeds fail, e.g. ${result.failures[0]}`);
    assert.ok(result.failed > 0, 'the simulation did not notice the planted bug');
  });
}
