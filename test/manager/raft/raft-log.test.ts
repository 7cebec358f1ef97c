// RaftLog: the persisted log (Storage) followed by the unstable entries, with the commit and apply
// positions and the consistency checks of §5.3 (the AppendEntries receiver rules of Figure 2).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftLog } from '../../../manager/raft/raft-log.js';
import { CompactedError, MemoryStorage, UnavailableError } from '../../../manager/raft/storage.js';
import { EMPTY, Entry, EntryType, Snapshot } from '../../../manager/raft/types.js';
import { entries } from './core-harness.js';

/** A log whose storage has a snapshot at (snapIndex, snapTerm) then `stored`, followed by `unstable` in memory. */
function makeLog(opts: { snapIndex?: number; snapTerm?: number; stored?: number[]; unstable?: number[]; bare?: boolean } = {}): RaftLog {
  const snapIndex = opts.snapIndex ?? 0;
  const storage = new MemoryStorage();
  if (snapIndex > 0) {
    storage.applySnapshot({ metadata: { index: snapIndex, term: opts.snapTerm ?? 1, confState: { voters: [1], learners: [] } }, data: EMPTY });
  }
  const make = opts.bare ? bareEntries : entries;
  storage.append(make(snapIndex + 1, opts.stored ?? []));
  const log = new RaftLog(storage);
  if (opts.unstable?.length) log.append(make(log.lastIndex() + 1, opts.unstable));
  return log;
}

/** Entries without data: each costs exactly 24 bytes against size limits. */
function bareEntries(first: number, terms: number[]): Entry[] {
  return terms.map((term, i) => ({ index: first + i, term, type: EntryType.Normal, data: EMPTY }));
}

const termsFrom = (log: RaftLog, from = log.firstIndex()) => {
  const out: number[] = [];
  for (let i = from; i <= log.lastIndex(); i++) out.push(log.term(i));
  return out;
};
const idx = (ents: Entry[]) => ents.map((e) => e.index);

test('a new log starts after the storage\'s snapshot, with commit and apply at the snapshot', () => {
  const log = makeLog({ snapIndex: 5, snapTerm: 3, stored: [3, 4, 4] });
  assert.deepEqual([log.firstIndex(), log.lastIndex(), log.lastTerm()], [6, 8, 4]);
  assert.deepEqual([log.committed, log.applied, log.unstable.offset], [5, 5, 9]);
  assert.equal(log.term(5), 3, 'the snapshot index has a term');
  assert.throws(() => log.term(4), CompactedError);
  assert.throws(() => log.term(9), UnavailableError);
  assert.deepEqual([log.termOrZero(4), log.termOrZero(5), log.termOrZero(9)], [0, 3, 0]);
  assert.deepEqual([log.matchTerm(8, 4), log.matchTerm(8, 3), log.matchTerm(9, 0)], [true, false, false]);
});

test('terms are read from the unstable entries first, then from storage', () => {
  const log = makeLog({ stored: [1, 1, 2], unstable: [3, 3] });
  assert.deepEqual(termsFrom(log), [1, 1, 2, 3, 3]);
  assert.equal(log.unstable.offset, 4);
  // Unstable entries that replace a stored suffix hide it.
  log.append(entries(3, [4]));
  assert.deepEqual(termsFrom(log), [1, 1, 4]);
  assert.equal(log.lastIndex(), 3);
});

test('findConflict: the first entry whose term differs or that is new, or 0 when all are present', () => {
  const log = makeLog({ stored: [1, 2, 3] });
  const cases: [Entry[], number][] = [
    [[], 0],
    [entries(1, [1, 2, 3]), 0],
    [entries(2, [2, 3]), 0],
    [entries(3, [3]), 0],
    [entries(1, [1, 2, 3, 4, 4]), 4],
    [entries(2, [2, 3, 4, 4]), 4],
    [entries(4, [4, 4]), 4],
    [entries(1, [4, 4]), 1],
    [entries(2, [1, 4, 4]), 2],
    [entries(3, [1, 2, 4, 4]), 3],
  ];
  for (const [ents, want] of cases) {
    assert.equal(log.findConflict(ents), want, JSON.stringify(ents.map((e) => [e.index, e.term])));
  }
});

test('maybeAppend: accepts only if the log matches at (prevIndex, prevTerm), appends the new entries, truncates conflicts, and commits up to min(leaderCommit, last new)', () => {
  // The follower's log: 1@1 2@2 3@3, nothing committed.
  const cases: { prev: number; prevTerm: number; commit: number; ents: Entry[]; result: number; terms: number[]; committed: number }[] = [
    // No match at prev: rejected, nothing changes.
    { prev: 3, prevTerm: 2, commit: 3, ents: entries(4, [4]), result: -1, terms: [1, 2, 3], committed: 0 },
    { prev: 4, prevTerm: 4, commit: 3, ents: entries(5, [4]), result: -1, terms: [1, 2, 3], committed: 0 },
    // Matching heartbeats move the commit index, never past the last new entry.
    { prev: 3, prevTerm: 3, commit: 3, ents: [], result: 3, terms: [1, 2, 3], committed: 3 },
    { prev: 3, prevTerm: 3, commit: 4, ents: [], result: 3, terms: [1, 2, 3], committed: 3 },
    { prev: 3, prevTerm: 3, commit: 2, ents: [], result: 3, terms: [1, 2, 3], committed: 2 },
    { prev: 2, prevTerm: 2, commit: 3, ents: [], result: 2, terms: [1, 2, 3], committed: 2 },
    // New entries.
    { prev: 3, prevTerm: 3, commit: 3, ents: entries(4, [4]), result: 4, terms: [1, 2, 3, 4], committed: 3 },
    { prev: 3, prevTerm: 3, commit: 5, ents: entries(4, [4]), result: 4, terms: [1, 2, 3, 4], committed: 4 },
    { prev: 3, prevTerm: 3, commit: 3, ents: entries(4, [4, 4]), result: 5, terms: [1, 2, 3, 4, 4], committed: 3 },
    // Conflicts: the existing entry and all that follow it are replaced.
    { prev: 2, prevTerm: 2, commit: 3, ents: entries(3, [4]), result: 3, terms: [1, 2, 4], committed: 3 },
    { prev: 1, prevTerm: 1, commit: 3, ents: entries(2, [4]), result: 2, terms: [1, 4], committed: 2 },
    { prev: 1, prevTerm: 1, commit: 3, ents: entries(2, [4, 4, 4]), result: 4, terms: [1, 4, 4, 4], committed: 3 },
    // Already present: nothing is truncated, even past the entries sent.
    { prev: 1, prevTerm: 1, commit: 0, ents: entries(2, [2]), result: 2, terms: [1, 2, 3], committed: 0 },
    { prev: 2, prevTerm: 2, commit: 3, ents: entries(3, [3]), result: 3, terms: [1, 2, 3], committed: 3 },
  ];
  for (const c of cases) {
    const log = makeLog({ stored: [1, 2, 3] });
    const label = JSON.stringify({ ...c, ents: c.ents.map((e) => [e.index, e.term]) });
    assert.equal(log.maybeAppend(c.prev, c.prevTerm, c.commit, c.ents), c.result, label);
    assert.deepEqual(termsFrom(log), c.terms, label);
    assert.equal(log.committed, c.committed, label);
  }
});

test('maybeAppend refuses to replace a committed entry', () => {
  const log = makeLog({ stored: [1, 2, 3] });
  log.commitTo(2);
  assert.throws(() => log.maybeAppend(1, 1, 3, entries(2, [4])), /conflicts with committed/);
  assert.deepEqual(termsFrom(log), [1, 2, 3]);
});

test('append refuses entries that would start at or before the commit index', () => {
  const log = makeLog({ stored: [1, 1, 1] });
  log.commitTo(2);
  assert.throws(() => log.append(entries(2, [2])), /below committed/);
  assert.equal(log.append([]), 3, 'appending nothing returns the last index');
  assert.equal(log.append(entries(3, [2])), 3);
  assert.deepEqual(termsFrom(log), [1, 1, 2]);
});

test('findConflictByTerm: the last index at or below the given one whose term is <= the given term', () => {
  // 1@1 2@2 3@2 4@4 5@4 6@5
  const log = makeLog({ stored: [1, 2, 2, 4, 4, 5] });
  const cases: [number, number, number][] = [
    [6, 5, 6], [6, 4, 5], [6, 3, 3], [6, 2, 3], [6, 1, 1], [6, 0, 0],
    [3, 4, 3], [5, 3, 3], [1, 0, 0],
  ];
  for (const [index, term, want] of cases) assert.equal(log.findConflictByTerm(index, term), want, `(${index}, ${term})`);
  // An index past our log has an unknown term: treat it as a possible match.
  assert.equal(log.findConflictByTerm(8, 1), 8);
});

test('findConflictByTerm never goes below the first known index (the snapshot\'s)', () => {
  const log = makeLog({ snapIndex: 3, snapTerm: 2, stored: [4, 4, 5] }); // 3@2 (snapshot) 4@4 5@4 6@5
  assert.equal(log.findConflictByTerm(6, 3), 3);
  assert.equal(log.findConflictByTerm(6, 1), 3);
  assert.equal(log.findConflictByTerm(6, 4), 5);
});

test('commitTo only moves forward, and never past the last index', () => {
  const log = makeLog({ stored: [1, 1, 1] });
  log.commitTo(2);
  log.commitTo(1);
  assert.equal(log.committed, 2);
  assert.throws(() => log.commitTo(4), /beyond last index/);
  assert.equal(log.committed, 2);
});

test('maybeCommit commits only an index of the given (current) term (§5.4.2)', () => {
  const log = makeLog({ stored: [1, 2, 3] });
  assert.equal(log.maybeCommit(2, 3), false, 'index 2 is of term 2');
  assert.equal(log.committed, 0);
  assert.equal(log.maybeCommit(3, 3), true);
  assert.equal(log.committed, 3);
  assert.equal(log.maybeCommit(3, 3), false, 'nothing new');
  assert.equal(log.maybeCommit(2, 2), false, 'never backwards');
});

test('slice reads [lo, hi) across storage and unstable entries, within maxBytes', () => {
  // Storage: snapshot 3@3, then 4..6; unstable: 7..9. Entries cost 24 bytes each.
  const log = makeLog({ snapIndex: 3, snapTerm: 3, stored: [3, 3, 3], unstable: [4, 4, 4], bare: true });
  assert.equal(log.unstable.offset, 7);
  assert.deepEqual(idx(log.slice(4, 10, Infinity)), [4, 5, 6, 7, 8, 9]);
  assert.deepEqual(idx(log.slice(5, 8, Infinity)), [5, 6, 7], 'across the boundary');
  assert.deepEqual(idx(log.slice(4, 7, Infinity)), [4, 5, 6], 'storage only');
  assert.deepEqual(idx(log.slice(7, 10, Infinity)), [7, 8, 9], 'unstable only');
  assert.deepEqual(log.slice(5, 5, Infinity), []);
  assert.deepEqual(idx(log.slice(4, 10, 4 * 24)), [4, 5, 6, 7], 'the limit applies across the boundary');
  assert.deepEqual(idx(log.slice(7, 10, 2 * 24)), [7, 8]);
  assert.deepEqual(idx(log.slice(5, 10, 1)), [5], 'storage stopped on the limit: no unstable entries after the gap');
  assert.deepEqual(idx(log.slice(6, 10, 1)), [6], 'at least one entry');
  assert.throws(() => log.slice(3, 5, Infinity), CompactedError);
  assert.throws(() => log.slice(4, 11, Infinity), UnavailableError);
  assert.deepEqual(idx(log.entriesFrom(8, Infinity)), [8, 9]);
  assert.deepEqual(log.entriesFrom(10, Infinity), []);
});

test('committed entries are handed out from applied + 1 to the commit index, and appliedTo stays within [applied, committed]', () => {
  const log = makeLog({ stored: [1, 1, 1, 1, 1, 1] });
  assert.equal(log.hasNextCommittedEntries(), false);
  log.commitTo(4);
  assert.equal(log.hasNextCommittedEntries(), true);
  assert.deepEqual(idx(log.nextCommittedEntries(Infinity)), [1, 2, 3, 4]);
  log.appliedTo(2);
  assert.deepEqual(idx(log.nextCommittedEntries(Infinity)), [3, 4]);
  assert.throws(() => log.appliedTo(5), /out of range/, 'not past the commit index');
  assert.throws(() => log.appliedTo(1), /out of range/, 'not backwards');
  log.appliedTo(4);
  assert.equal(log.hasNextCommittedEntries(), false);
  assert.deepEqual(log.nextCommittedEntries(Infinity), []);
});

test('isUpToDate compares the last term first, then the last index (§5.4.1)', () => {
  const log = makeLog({ stored: [1, 2, 2] }); // last 3@2
  assert.equal(log.isUpToDate(3, 2), true);
  assert.equal(log.isUpToDate(4, 2), true);
  assert.equal(log.isUpToDate(2, 2), false);
  assert.equal(log.isUpToDate(1, 3), true);
  assert.equal(log.isUpToDate(9, 1), false);
});

test('restore replaces the log with a snapshot: committed at its index, first index after it', () => {
  const log = makeLog({ stored: [1, 1, 2], unstable: [2] });
  const snap: Snapshot = { metadata: { index: 10, term: 5, confState: { voters: [1], learners: [] } }, data: EMPTY };
  log.restore(snap);
  assert.deepEqual([log.firstIndex(), log.lastIndex(), log.committed, log.term(10)], [11, 10, 10, 5]);
  assert.equal(log.snapshot(), snap, 'the pending snapshot is the log\'s snapshot until persisted');
  assert.throws(() => log.term(9), CompactedError);
  log.append(entries(11, [5]));
  assert.deepEqual(termsFrom(log, 10), [5, 5]);
});

test('stableTo moves persisted entries out of the unstable part unless they were replaced meanwhile', () => {
  const log = makeLog({ stored: [1], unstable: [2, 2] }); // 2@2 3@2 unstable
  log.stableTo(3, 1);
  assert.equal(log.unstable.offset, 2, 'term mismatch: ignored');
  log.stableTo(2, 2);
  assert.equal(log.unstable.offset, 3);
  assert.deepEqual(idx(log.unstable.entries), [3]);
});
