// Unstable: the entries (and snapshot) the core has accepted but the driver has not persisted yet.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Unstable } from '../../../manager/raft/unstable.js';
import { EMPTY, Snapshot } from '../../../manager/raft/types.js';
import { entries } from './core-harness.js';

function snap(index: number, term: number): Snapshot {
  return { metadata: { index, term, confState: { voters: [1], learners: [] } }, data: EMPTY };
}

function unstable(offset: number, terms: number[], snapshot: Snapshot | null = null): Unstable {
  const u = new Unstable(offset);
  u.snapshot = snapshot;
  u.entries = entries(offset, terms);
  return u;
}

const indexes = (u: Unstable) => u.entries.map((e) => e.index);
const termsOf = (u: Unstable) => u.entries.map((e) => e.term);

test('maybeFirstIndex is known only from a pending snapshot', () => {
  assert.equal(unstable(5, [1]).maybeFirstIndex(), undefined);
  assert.equal(unstable(5, [], snap(4, 1)).maybeFirstIndex(), 5);
  assert.equal(unstable(5, [1], snap(4, 1)).maybeFirstIndex(), 5);
});

test('maybeLastIndex comes from the entries, else the snapshot, else is unknown', () => {
  assert.equal(unstable(5, [1, 1]).maybeLastIndex(), 6);
  assert.equal(unstable(5, [1, 1], snap(4, 1)).maybeLastIndex(), 6);
  assert.equal(unstable(5, [], snap(4, 1)).maybeLastIndex(), 4);
  assert.equal(unstable(5, []).maybeLastIndex(), undefined);
});

test('maybeTerm answers for its entries and the snapshot index only', () => {
  const u = unstable(5, [1, 2], snap(4, 1));
  assert.equal(u.maybeTerm(4), 1, 'the snapshot index');
  assert.equal(u.maybeTerm(5), 1);
  assert.equal(u.maybeTerm(6), 2);
  assert.equal(u.maybeTerm(7), undefined, 'past the end');
  assert.equal(u.maybeTerm(3), undefined, 'before the snapshot');
  const plain = unstable(5, [1, 2]);
  assert.equal(plain.maybeTerm(4), undefined, 'below the offset without a snapshot: storage knows');
});

test('stableTo drops the entries persisted up to (index, term)', () => {
  const u = unstable(5, [1, 1, 2]);
  u.stableTo(6, 1);
  assert.deepEqual([u.offset, ...indexes(u)], [7, 7]);
  u.stableTo(7, 2);
  assert.deepEqual([u.offset, u.entries.length], [8, 0]);
});

test('stableTo ignores a position whose term no longer matches (the entries were replaced meanwhile)', () => {
  const u = unstable(5, [1, 1, 2]);
  u.stableTo(6, 3);
  assert.deepEqual([u.offset, ...indexes(u)], [5, 5, 6, 7]);
  u.stableTo(8, 2);
  assert.deepEqual([u.offset, ...indexes(u)], [5, 5, 6, 7], 'past the end');
  const withSnap = unstable(5, [1], snap(4, 1));
  withSnap.stableTo(4, 1);
  assert.deepEqual([withSnap.offset, ...indexes(withSnap)], [5, 5], 'the snapshot index is not an entry');
});

test('stableSnapTo clears the snapshot only for its own index', () => {
  const u = unstable(5, [], snap(4, 1));
  u.stableSnapTo(3);
  assert.notEqual(u.snapshot, null);
  u.stableSnapTo(4);
  assert.equal(u.snapshot, null);
});

test('restore replaces everything with the snapshot', () => {
  const u = unstable(5, [1, 1, 1]);
  const s = snap(10, 3);
  u.restore(s);
  assert.deepEqual([u.offset, u.entries.length, u.snapshot], [11, 0, s]);
  assert.equal(u.maybeLastIndex(), 10);
});

test('truncateAndAppend appends right after the last entry', () => {
  const u = unstable(5, [1, 1]);
  u.truncateAndAppend(entries(7, [2, 2]));
  assert.deepEqual([u.offset, ...termsOf(u)], [5, 1, 1, 2, 2]);
});

test('truncateAndAppend replaces a suffix that starts inside the unstable entries', () => {
  const u = unstable(5, [1, 1, 1, 1]);
  u.truncateAndAppend(entries(6, [3]));
  assert.deepEqual([u.offset, ...indexes(u)], [5, 5, 6]);
  assert.deepEqual(termsOf(u), [1, 3]);
});

test('truncateAndAppend replaces everything from an index at or before the offset (the storage suffix too)', () => {
  const u = unstable(5, [1, 1]);
  u.truncateAndAppend(entries(5, [2]));
  assert.deepEqual([u.offset, ...termsOf(u)], [5, 2]);
  u.truncateAndAppend(entries(3, [4, 4]));
  assert.deepEqual([u.offset, ...indexes(u)], [3, 3, 4]);
  assert.deepEqual(termsOf(u), [4, 4]);
});

test('slice returns [lo, hi) of the unstable entries', () => {
  const u = unstable(5, [1, 1, 2, 2]);
  assert.deepEqual(u.slice(6, 8).map((e) => e.index), [6, 7]);
  assert.deepEqual(u.slice(5, 9).map((e) => e.index), [5, 6, 7, 8]);
  assert.deepEqual(u.slice(7, 7), []);
});
