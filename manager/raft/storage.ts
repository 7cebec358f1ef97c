// The storage the core reads from, and an in-memory implementation of it. The core never writes
// here: the driver persists what a Ready hands it and then tells the core to advance.
// LevelStorage (level-storage.ts) keeps this same in-memory view and writes it through to disk.

import { ConfState, Entry, HardState, Snapshot, emptyHardState, emptySnapshot, entrySize } from './types.js';

export class CompactedError extends Error {
  constructor(index: number, first: number) {
    super(`log index ${index} is compacted (first available index is ${first})`);
    this.name = 'CompactedError';
  }
}

export class UnavailableError extends Error {
  constructor(index: number, last: number) {
    super(`log index ${index} is not available yet (last index is ${last})`);
    this.name = 'UnavailableError';
  }
}

/** What the pure core needs to read. All calls are synchronous: the log since the last snapshot is kept in memory. */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at least one if any are available, and as many as fit in maxBytes. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of the entry at i; the snapshot's index also has a term. Throws CompactedError/UnavailableError. */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

/** What the driver writes; implemented by MemoryStorage (simulation, tests) and LevelStorage (disk). */
export interface PersistentStorage extends Storage {
  /**
   * Persists one Ready's durable parts as a single write; resolves once it is durable. `sync`
   * false (Ready.mustSync false: only the commit index moved) allows skipping the fsync.
   */
  save(hardState: HardState | null, entries: Entry[], snapshot: Snapshot | null, sync?: boolean): Promise<void> | void;
  /** Records an application snapshot at `index` (<= applied) and drops log entries before `compactTo`. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array, compactTo: number): Promise<void> | void;
}

export class MemoryStorage implements PersistentStorage {
  private hardState: HardState = emptyHardState();
  private snap: Snapshot = emptySnapshot();
  /** ents[0] is a placeholder at the snapshot's index and term, so term(snapshot index) is answerable. */
  private ents: Entry[] = [{ term: 0, index: 0, type: 0, data: new Uint8Array(0) }];

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: cloneConfState(this.snap.metadata.confState) };
  }

  firstIndex(): number {
    return this.ents[0].index + 1;
  }

  lastIndex(): number {
    return this.ents[0].index + this.ents.length - 1;
  }

  term(i: number): number {
    const offset = this.ents[0].index;
    if (i < offset) throw new CompactedError(i, offset + 1);
    if (i > this.lastIndex()) throw new UnavailableError(i, this.lastIndex());
    return this.ents[i - offset].term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.ents[0].index;
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  /** Replaces everything with the snapshot: the log restarts right after it. */
  applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index <= this.snap.metadata.index) return;
    this.snap = snap;
    this.ents = [{ term: snap.metadata.term, index: snap.metadata.index, type: 0, data: new Uint8Array(0) }];
  }

  /** Appends entries, replacing any existing suffix they conflict with (the core guarantees they are contiguous). */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return; // all already compacted
    // Skip the part that is already compacted.
    const fresh = first > entries[0].index ? entries.slice(first - entries[0].index) : entries;
    const offset = fresh[0].index - this.ents[0].index;
    if (offset > this.ents.length) {
      throw new Error(`missing log entries: last index ${this.lastIndex()}, appending from ${fresh[0].index}`);
    }
    this.ents.length = offset;
    for (const e of fresh) this.ents.push(e);
  }

  save(hardState: HardState | null, entries: Entry[], snapshot: Snapshot | null): void {
    if (snapshot) this.applySnapshot(snapshot);
    this.append(entries);
    if (hardState) this.setHardState(hardState);
  }

  createSnapshot(index: number, confState: ConfState, data: Uint8Array, compactTo: number): void {
    if (index <= this.snap.metadata.index) return;
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    this.snap = { metadata: { index, term: this.term(index), confState: cloneConfState(confState) }, data };
    this.compact(Math.min(compactTo, index));
  }

  /** Drops entries before `compactIndex`; the entry at compactIndex becomes the placeholder. */
  compact(compactIndex: number): void {
    const offset = this.ents[0].index;
    if (compactIndex <= offset) return;
    if (compactIndex > this.lastIndex()) throw new UnavailableError(compactIndex, this.lastIndex());
    const i = compactIndex - offset;
    const placeholder: Entry = { term: this.ents[i].term, index: this.ents[i].index, type: 0, data: new Uint8Array(0) };
    this.ents = [placeholder, ...this.ents.slice(i + 1)];
  }
}

/** Keeps a prefix of entries within maxBytes, but always at least one entry so progress is possible. */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length === 0) return entries;
  let size = entrySize(entries[0]);
  let n = 1;
  while (n < entries.length) {
    size += entrySize(entries[n]);
    if (size > maxBytes) break;
    n++;
  }
  return n === entries.length ? entries : entries.slice(0, n);
}

export function cloneConfState(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners] };
}
