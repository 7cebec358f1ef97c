// MemoryStorage: the log the core reads, as the driver writes it (appends that may replace a
// conflicting suffix, snapshots, compaction) and the errors it reports outside its range.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompactedError, MemoryStorage, UnavailableError, limitSize } from '../../../manager/raft/storage.js';
import { EMPTY, Entry, EntryType, Snapshot, entrySize } from '../../../manager/raft/types.js';
import { entries, entry } from './core-harness.js';

const CONF = { voters: [1, 2, 3], learners: [] };

function snap(index: number, term: number, data = EMPTY): Snapshot {
  return { metadata: { index, term, confState: { voters: [1, 2, 3], learners: [] } }, data };
}

/** Storage whose snapshot is at (index, term) and whose log continues with `terms`. */
function storageWith(index: number, term: number, terms: number[]): MemoryStorage {
  const s = new MemoryStorage();
  if (index > 0) s.applySnapshot(snap(index, term));
  s.append(entries(index + 1, terms));
  return s;
}

const termsOf = (s: MemoryStorage) => s.entries(s.firstIndex(), s.lastIndex() + 1, Infinity).map((e) => e.term);

/** An entry with no data: exactly entrySize() = 24 bytes, for size-limit arithmetic. */
const bare = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: EMPTY });

test('an empty storage has no entries, index 0 of term 0, and an empty hard state', () => {
  const s = new MemoryStorage();
  assert.deepEqual([s.firstIndex(), s.lastIndex(), s.term(0)], [1, 0, 0]);
  assert.deepEqual(s.initialState(), { hardState: { term: 0, vote: 0, commit: 0 }, confState: { voters: [], learners: [] } });
  assert.equal(s.snapshot().metadata.index, 0);
});

test('applySnapshot restarts the log right after the snapshot, whose index keeps its term', () => {
  const s = storageWith(0, 0, [1, 1, 2]);
  s.applySnapshot(snap(5, 3));
  assert.deepEqual([s.firstIndex(), s.lastIndex(), s.term(5)], [6, 5, 3]);
  assert.deepEqual(s.initialState().confState, CONF);
  assert.throws(() => s.term(3), CompactedError, 'the old entries are gone');
});

test('applySnapshot ignores a snapshot that is not newer than the current one', () => {
  const s = storageWith(5, 3, [3, 4]);
  s.applySnapshot(snap(5, 3));
  s.applySnapshot(snap(4, 2));
  assert.deepEqual([s.firstIndex(), s.lastIndex(), s.term(7)], [6, 7, 4]);
});

test('append extends the log contiguously', () => {
  const s = storageWith(0, 0, [1, 1]);
  s.append(entries(3, [2, 2]));
  assert.deepEqual(termsOf(s), [1, 1, 2, 2]);
});

test('append replaces a conflicting suffix with the new entries', () => {
  const s = storageWith(0, 0, [1, 1, 1, 1, 1]);
  s.append(entries(3, [2, 2]));
  assert.deepEqual(termsOf(s), [1, 1, 2, 2], 'entries 3-5 of term 1 are replaced by 3-4 of term 2');
  s.append(entries(1, [3]));
  assert.deepEqual(termsOf(s), [3], 'from the very first entry');
});

test('append refuses a gap after the last entry', () => {
  const s = storageWith(0, 0, [1, 1]);
  assert.throws(() => s.append(entries(4, [1])), /missing log entries/);
  assert.equal(s.lastIndex(), 2);
});

test('append skips entries that are already compacted', () => {
  const s = storageWith(5, 2, [2, 2]);
  s.append(entries(2, [1, 1, 1])); // 2..4: all inside the snapshot
  assert.deepEqual([s.firstIndex(), s.lastIndex()], [6, 7]);
  s.append(entries(4, [2, 2, 3, 3])); // 4..7: 4 and 5 are compacted, 6 and 7 replace ours
  assert.deepEqual([s.firstIndex(), s.lastIndex()], [6, 7]);
  assert.deepEqual(termsOf(s), [3, 3]);
  s.append([]);
  assert.equal(s.lastIndex(), 7, 'appending nothing is a no-op');
});

test('term() throws CompactedError before the snapshot and UnavailableError past the last entry', () => {
  const s = storageWith(5, 2, [3, 3]);
  assert.throws(() => s.term(4), CompactedError);
  assert.equal(s.term(5), 2);
  assert.equal(s.term(7), 3);
  assert.throws(() => s.term(8), UnavailableError);
});

test('entries() returns [lo, hi) within maxBytes but at least one, and throws outside the log', () => {
  const s = new MemoryStorage();
  s.applySnapshot(snap(3, 1));
  s.append([bare(4, 1), bare(5, 1), bare(6, 2), bare(7, 2)]);
  assert.deepEqual(s.entries(4, 8, Infinity).map((e) => e.index), [4, 5, 6, 7]);
  assert.deepEqual(s.entries(5, 7, Infinity).map((e) => e.index), [5, 6]);
  assert.deepEqual(s.entries(4, 8, 2 * 24).map((e) => e.index), [4, 5]);
  assert.deepEqual(s.entries(4, 8, 2 * 24 + 23).map((e) => e.index), [4, 5]);
  assert.deepEqual(s.entries(4, 8, 0).map((e) => e.index), [4], 'at least one, so progress is possible');
  assert.throws(() => s.entries(3, 5, Infinity), CompactedError, 'the snapshot index itself has no entry');
  assert.throws(() => s.entries(6, 9, Infinity), UnavailableError);
});

test('compact drops the entries before the index and keeps the term at the index', () => {
  const s = storageWith(0, 0, [1, 1, 2, 2, 3]);
  s.compact(3);
  assert.deepEqual([s.firstIndex(), s.lastIndex(), s.term(3)], [4, 5, 2]);
  assert.throws(() => s.term(2), CompactedError);
  assert.deepEqual(termsOf(s), [2, 3]);
  s.compact(2);
  assert.equal(s.firstIndex(), 4, 'compacting an already compacted index is a no-op');
  assert.throws(() => s.compact(6), UnavailableError);
});

test('createSnapshot records index, term, configuration and data, and compacts up to compactTo', () => {
  const s = storageWith(1, 1, [1, 2, 2, 3, 3]); // 2..6
  const conf = { voters: [1, 2], learners: [3] };
  s.createSnapshot(5, conf, new Uint8Array([7]), 3);
  conf.voters.push(9); // the storage keeps its own copy
  const { metadata, data } = s.snapshot();
  assert.deepEqual(metadata, { index: 5, term: 3, confState: { voters: [1, 2], learners: [3] } });
  assert.deepEqual([...data], [7]);
  // Entries after compactTo stay so slow followers can still catch up from the log.
  assert.deepEqual([s.firstIndex(), s.lastIndex()], [4, 6]);
  assert.deepEqual(s.initialState().confState, { voters: [1, 2], learners: [3] });

  s.createSnapshot(4, conf, EMPTY, 4);
  assert.equal(s.snapshot().metadata.index, 5, 'an older snapshot is ignored');
  assert.throws(() => s.createSnapshot(7, conf, EMPTY, 7), UnavailableError);
  s.createSnapshot(6, { voters: [1], learners: [] }, EMPTY, 10);
  assert.deepEqual([s.firstIndex(), s.lastIndex(), s.term(6)], [7, 6, 3], 'compaction never passes the snapshot');
});

test('save persists a Ready in order: snapshot, then entries after it, then the hard state', () => {
  const s = storageWith(0, 0, [1, 1]);
  s.save({ term: 4, vote: 2, commit: 10 }, entries(11, [4, 4]), snap(10, 3));
  assert.deepEqual([s.firstIndex(), s.lastIndex(), s.term(10), s.term(12)], [11, 12, 3, 4]);
  assert.deepEqual(s.initialState().hardState, { term: 4, vote: 2, commit: 10 });
  s.save(null, [], null);
  assert.deepEqual(s.initialState().hardState, { term: 4, vote: 2, commit: 10 }, 'null means unchanged');
});

test('initialState returns copies the caller cannot use to change the storage', () => {
  const s = storageWith(2, 1, []);
  s.setHardState({ term: 3, vote: 1, commit: 2 });
  const st = s.initialState();
  st.hardState.term = 99;
  st.confState.voters.push(99);
  assert.deepEqual(s.initialState(), { hardState: { term: 3, vote: 1, commit: 2 }, confState: CONF });
});

test('limitSize keeps a prefix within the byte budget, and always the first entry', () => {
  const ents = [bare(1, 1), entry(2, 1, 'abcd'), bare(3, 1)];
  assert.equal(entrySize(ents[1]), 28);
  assert.deepEqual(limitSize(ents, 0).map((e) => e.index), [1]);
  assert.deepEqual(limitSize(ents, 24 + 27).map((e) => e.index), [1]);
  assert.deepEqual(limitSize(ents, 24 + 28).map((e) => e.index), [1, 2]);
  assert.equal(limitSize(ents, Infinity), ents, 'no copy when everything fits');
  assert.deepEqual(limitSize([], 0), []);
});
