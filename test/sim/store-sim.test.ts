// Linearizability of the replicated store, checked on histories driven through the store API in
// the deterministic simulator (real RaftNodes and Stores on virtual time and a seeded network).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runStoreSeed } from './store-sim.js';

const SEEDS = 100;

test(`store simulation: ${SEEDS} seeded histories of puts and linearizable gets through the store API are linearizable`, async () => {
  let operations = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = await runStoreSeed(seed);
    assert.equal(r.linearizable, true, `seed ${seed}: ${r.reason}`);
    operations += r.completed;
  }
  console.log(`checked ${operations} completed operations over ${SEEDS} seeds`);
  assert.ok(operations > SEEDS * 50, 'the workload really ran');
});

test('store simulation: a planted stale-read bug (followers skip ReadIndex) is caught by the checker', async () => {
  let caught = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const r = await runStoreSeed(seed, { staleReads: true });
    assert.notEqual(r.linearizable, 'unknown', `seed ${seed}: the checker gave up`);
    if (r.linearizable === false) caught++;
  }
  console.log(`stale reads caught in ${caught} of 20 seeds`);
  assert.ok(caught >= 10, `the checker caught the stale reads in only ${caught} of 20 seeds`);
});

test('store simulation: a seed replays to the same history', async () => {
  const a = await runStoreSeed(7);
  const b = await runStoreSeed(7);
  assert.deepEqual(a, b);
});
