// The log as the core sees it: the persisted part (Storage) followed by the unstable part,
// with the commit and apply positions. All consistency checks on appends live here.

import { CompactedError, Storage, UnavailableError, limitSize } from './storage.js';
import { Unstable } from './unstable.js';
import type { Entry, Snapshot } from './types.js';

export class RaftLog {
  readonly unstable: Unstable;
  /** Highest index known to be stored on a quorum. */
  committed: number;
  /** Highest index handed to the state machine. */
  applied: number;

  constructor(readonly storage: Storage) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /** Term of entry i; throws CompactedError or UnavailableError outside [firstIndex - 1, lastIndex]. */
  term(i: number): number {
    const dummy = this.firstIndex() - 1;
    if (i < dummy) throw new CompactedError(i, dummy + 1);
    if (i > this.lastIndex()) throw new UnavailableError(i, this.lastIndex());
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    return this.storage.term(i);
  }

  /** Term of entry i, or 0 when it is out of range (never a real term). Hot path: no exceptions. */
  termOrZero(i: number): number {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return 0;
    const t = this.unstable.maybeTerm(i);
    return t !== undefined ? t : this.storage.term(i);
  }

  matchTerm(i: number, term: number): boolean {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return false;
    return this.termOrZero(i) === term;
  }

  /**
   * A follower's answer to Append(index, logTerm, committed, ents): the new last index if the
   * log matched at (index, logTerm), or -1 if it did not (Raft §5.3).
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number {
    if (!this.matchTerm(index, logTerm)) return -1;
    const lastNew = index + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new Error(`raft log: entry ${conflict} conflicts with committed entry (committed ${this.committed})`);
      }
      this.append(ents.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    if (ents[0].index - 1 < this.committed) {
      throw new Error(`raft log: append after ${ents[0].index - 1} is below committed ${this.committed}`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * First index among ents whose term differs from ours, or the first new index past our log;
   * 0 when every entry is already present with the same term.
   */
  findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= index whose term is <= term: the leader uses it to skip a whole term of
   * mismatching entries per round trip instead of one entry (Raft §5.3, optimisation).
   */
  findConflictByTerm(index: number, term: number): number {
    for (let i = index; i >= this.firstIndex() - 1; i--) {
      const t = this.termOrZero(i);
      if (t <= term) return i;
    }
    return Math.max(0, this.firstIndex() - 1);
  }

  /** Entries in [lo, hi) within maxBytes (at least one). */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo >= hi) return [];
    const first = this.firstIndex();
    if (lo < first) throw new CompactedError(lo, first);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    let ents: Entry[] = [];
    const offset = this.unstable.offset;
    if (lo < offset) {
      ents = this.storage.entries(lo, Math.min(hi, offset), maxBytes);
      // Storage stopped early on the size limit: do not add unstable entries after a gap.
      if (ents.length < Math.min(hi, offset) - lo) return ents;
    }
    if (hi > offset) {
      const unstable = this.unstable.slice(Math.max(lo, offset), hi);
      ents = ents.length > 0 ? ents.concat(unstable) : unstable;
    }
    return limitSize(ents, maxBytes);
  }

  /** Entries from i to the end, within maxBytes. */
  entriesFrom(i: number, maxBytes: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxBytes);
  }

  hasNextCommittedEntries(): boolean {
    return this.committed > Math.max(this.applied, this.firstIndex() - 1);
  }

  nextCommittedEntries(maxBytes: number): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 <= lo) return [];
    return this.slice(lo, this.committed + 1, maxBytes);
  }

  commitTo(toCommit: number): void {
    if (toCommit <= this.committed) return;
    if (toCommit > this.lastIndex()) {
      throw new Error(`raft log: commit ${toCommit} is beyond last index ${this.lastIndex()}`);
    }
    this.committed = toCommit;
  }

  /** A leader commits only entries of its own term by counting replicas (Raft §5.4.2). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOrZero(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    if (i > this.committed || i < this.applied) {
      throw new Error(`raft log: applied ${i} out of range [${this.applied}, ${this.committed}]`);
    }
    this.applied = i;
  }

  /** Candidate's log is at least as up-to-date as ours (Raft §5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }
}
