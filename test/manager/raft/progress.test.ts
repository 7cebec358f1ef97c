// The leader's view of a follower: probe / replicate / snapshot transitions, acknowledgements and
// rejections (including stale ones), and the inflight window that bounds pipelining.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress, ProgressState } from '../../../manager/raft/progress.js';
import { Inflights } from '../../../manager/raft/inflights.js';

function progress(opts: { match?: number; next: number; state?: ProgressState; window?: number }): Progress {
  const pr = new Progress(opts.next, opts.window ?? 4, false);
  pr.match = opts.match ?? 0;
  if (opts.state === ProgressState.Replicate) {
    pr.becomeReplicate();
    pr.next = opts.next;
  } else if (opts.state === ProgressState.Snapshot) {
    pr.becomeSnapshot(opts.next);
  }
  return pr;
}

test('a new progress probes from the given next index with nothing matched', () => {
  const pr = new Progress(8, 4, true);
  assert.deepEqual([pr.state, pr.match, pr.next, pr.isLearner, pr.isPaused()], [ProgressState.Probe, 0, 8, true, false]);
});

test('becomeReplicate resumes right after the match and clears the probe and the window', () => {
  const pr = progress({ match: 5, next: 9 });
  pr.probeSent = true;
  pr.becomeReplicate();
  assert.deepEqual([pr.state, pr.next, pr.probeSent, pr.inflights.size], [ProgressState.Replicate, 6, false, 0]);
});

test('becomeProbe resumes after the match, or after the snapshot when leaving the snapshot state', () => {
  const replicating = progress({ match: 5, next: 9, state: ProgressState.Replicate });
  replicating.inflights.add(7);
  replicating.becomeProbe();
  assert.deepEqual([replicating.state, replicating.next, replicating.inflights.size], [ProgressState.Probe, 6, 0]);

  const snapshotting = progress({ match: 5, next: 20, state: ProgressState.Snapshot });
  snapshotting.becomeProbe();
  assert.deepEqual([snapshotting.state, snapshotting.next, snapshotting.pendingSnapshot], [ProgressState.Probe, 21, 0]);

  // A failed snapshot (pendingSnapshot reset to 0) falls back to the match.
  const failed = progress({ match: 5, next: 20, state: ProgressState.Snapshot });
  failed.pendingSnapshot = 0;
  failed.becomeProbe();
  assert.equal(failed.next, 6);
});

test('in the snapshot state the follower is paused until the snapshot lands', () => {
  const pr = progress({ match: 3, next: 4 });
  pr.becomeSnapshot(50);
  assert.deepEqual([pr.state, pr.pendingSnapshot, pr.isPaused()], [ProgressState.Snapshot, 50, true]);
});

test('maybeUpdate records a higher match, moves next past it and clears the probe; a stale ack changes nothing', () => {
  const pr = progress({ match: 3, next: 5 });
  pr.probeSent = true;
  assert.equal(pr.maybeUpdate(6), true);
  assert.deepEqual([pr.match, pr.next, pr.probeSent], [6, 7, false]);

  pr.probeSent = true;
  assert.equal(pr.maybeUpdate(4), false, 'older than the match');
  assert.deepEqual([pr.match, pr.next, pr.probeSent], [6, 7, true]);

  pr.next = 10; // optimistically ahead
  assert.equal(pr.maybeUpdate(8), true);
  assert.equal(pr.next, 10, 'next never moves back on an ack');
});

test('optimisticUpdate moves next past what was just sent', () => {
  const pr = progress({ match: 3, next: 4, state: ProgressState.Replicate });
  pr.optimisticUpdate(9);
  assert.deepEqual([pr.match, pr.next], [3, 10]);
});

test('maybeDecrTo in replicate state: a rejection at or below the match is stale; otherwise next falls back to match + 1', () => {
  const pr = progress({ match: 5, next: 12, state: ProgressState.Replicate });
  assert.equal(pr.maybeDecrTo(5, 0), false);
  assert.equal(pr.maybeDecrTo(3, 0), false);
  assert.equal(pr.next, 12);
  assert.equal(pr.maybeDecrTo(9, 7), true);
  assert.equal(pr.next, 6);
});

test('maybeDecrTo in probe state: only the answer to the outstanding probe (next - 1) counts', () => {
  const stale = progress({ next: 10 });
  stale.probeSent = true;
  assert.equal(stale.maybeDecrTo(7, 2), false, 'answers an older probe');
  assert.deepEqual([stale.next, stale.probeSent], [10, true]);

  const cases = [
    { hint: 5, next: 6, why: 'the hint skips ahead: next = hint + 1' },
    { hint: 20, next: 9, why: 'but never past the rejected index' },
    { hint: 0, next: 1, why: 'and never below 1' },
  ];
  for (const c of cases) {
    const pr = progress({ next: 10 });
    pr.probeSent = true;
    assert.equal(pr.maybeDecrTo(9, c.hint), true, c.why);
    assert.deepEqual([pr.next, pr.probeSent], [c.next, false], c.why);
  }
});

test('isPaused: a probe is outstanding, or the replicate window is full', () => {
  const probe = progress({ next: 3 });
  probe.probeSent = true;
  assert.equal(probe.isPaused(), true);

  const rep = progress({ match: 2, next: 3, state: ProgressState.Replicate, window: 2 });
  rep.inflights.add(3);
  assert.equal(rep.isPaused(), false);
  rep.inflights.add(4);
  assert.equal(rep.isPaused(), true);
  rep.inflights.freeLE(3);
  assert.equal(rep.isPaused(), false);
});

test('inflights: a bounded window freed in order by acknowledgements', () => {
  const w = new Inflights(3);
  w.add(5);
  w.add(7);
  w.add(9);
  assert.equal(w.full(), true);
  assert.throws(() => w.add(11), /full/);
  w.freeLE(6);
  assert.equal(w.size, 2, 'frees 5 only');
  w.freeLE(4);
  assert.equal(w.size, 2, 'an old ack frees nothing');
  w.freeFirstOne();
  assert.equal(w.size, 1, 'frees 7');
  w.freeLE(100);
  assert.equal(w.size, 0);
  w.freeFirstOne();
  assert.equal(w.size, 0, 'freeing an empty window is a no-op');
});

test('inflights: the ring buffer stays correct across wrap-around and reset', () => {
  const w = new Inflights(3);
  let last = 0;
  for (let round = 0; round < 10; round++) {
    w.add(++last);
    w.add(++last);
    w.freeLE(last - 1);
    assert.equal(w.size, 1, `round ${round}`);
    w.freeLE(last);
    assert.equal(w.size, 0);
  }
  w.add(1);
  w.add(2);
  w.reset();
  assert.equal(w.size, 0);
  w.add(3);
  w.add(4);
  w.add(5);
  assert.equal(w.full(), true, 'the full capacity is available after reset');
});
