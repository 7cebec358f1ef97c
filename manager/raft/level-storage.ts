// Raft's durable storage: a MemoryStorage view (the core reads synchronously) written through to
// a LevelDB database. Every save is one synced batch (the driver calls it once per Ready, so that
// is the group commit), and the in-memory view changes only once the batch is durable.
//
// Records, each value prefixed by a CRC-32 of its key and payload:
//   'v'                 format version (uint32 big-endian)
//   'h'                 HardState (protobuf)
//   's'                 Snapshot (protobuf: metadata and data)
//   'c'                 the last compacted log position as an Entry (index, term): the log starts after it
//   'e' + index (u64be) Entry (protobuf); big-endian so keys sort by index
// The log on disk holds exactly the in-memory view's entries, (c.index, lastIndex], with no gaps;
// open() refuses to start when a checksum fails or the entries are not contiguous.

import * as zlib from 'node:zlib';
import { Level } from 'level';
import { decodeEntry, decodeHardState, decodeSnapshot, encodeEntry, encodeHardState, encodeSnapshot } from './codec.js';
import { MemoryStorage, PersistentStorage, UnavailableError, cloneConfState } from './storage.js';
import {
  ConfState, EMPTY, Entry, EntryType, HardState, Snapshot, emptyHardState, emptySnapshot,
} from './types.js';

const KEY_FORMAT = Buffer.from('v');
const KEY_HARD_STATE = Buffer.from('h');
const KEY_SNAPSHOT = Buffer.from('s');
const KEY_LOG_START = Buffer.from('c');
const ENTRY_PREFIX = 0x65; // 'e'
/** The prefix byte and the index as a 64-bit big-endian integer. */
const ENTRY_KEY_LENGTH = 9;
/** Range bounds covering every entry key: the prefix with index 0, and the next prefix byte. */
const ENTRY_RANGE_START = Buffer.from([ENTRY_PREFIX, 0, 0, 0, 0, 0, 0, 0, 0]);
const ENTRY_RANGE_END = Buffer.from([ENTRY_PREFIX + 1]);
/** Bumped when the record layout changes, so a binary refuses a store it would misread. */
const FORMAT_VERSION = 1;
/** CRC-32 (IEEE, as zlib computes it) stored big-endian in front of every payload. */
const CHECKSUM_BYTES = 4;
const TWO_TO_32 = 2 ** 32;

type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

function entryKey(index: number): Buffer {
  const key = Buffer.allocUnsafe(ENTRY_KEY_LENGTH);
  key[0] = ENTRY_PREFIX;
  // Indexes stay below 2^53, so two 32-bit halves avoid a BigInt per key.
  key.writeUInt32BE(Math.floor(index / TWO_TO_32), 1);
  key.writeUInt32BE(index % TWO_TO_32, 5);
  return key;
}

function indexOfEntryKey(key: Buffer): number {
  return key.readUInt32BE(1) * TWO_TO_32 + key.readUInt32BE(5);
}

/** The checksum covers the key too, so a value that ends up under another key is caught. */
function checksum(key: Buffer, payload: Uint8Array): number {
  return zlib.crc32(payload, zlib.crc32(key));
}

function seal(key: Buffer, payload: Uint8Array): Buffer {
  const value = Buffer.allocUnsafe(CHECKSUM_BYTES + payload.byteLength);
  value.writeUInt32BE(checksum(key, payload), 0);
  value.set(payload, CHECKSUM_BYTES);
  return value;
}

function put(key: Buffer, payload: Uint8Array): BatchOp {
  return { type: 'put', key, value: seal(key, payload) };
}

function formatPayload(): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(FORMAT_VERSION, 0);
  return payload;
}

/** A log position stored as an Entry without data, like MemoryStorage's placeholder entry. */
interface LogPosition { index: number; term: number }

function encodeLogPosition(p: LogPosition): Uint8Array {
  return encodeEntry({ term: p.term, index: p.index, type: EntryType.Normal, data: EMPTY });
}

export class LevelStorage implements PersistentStorage {
  /** Writes run one at a time, each computed from the view the previous one left. */
  private queue: Promise<void> = Promise.resolve();
  /** Set when a write fails: disk and view may then disagree, so nothing more is written. */
  private failure: Error | null = null;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly db: Level<Buffer, Buffer>,
    private readonly memory: MemoryStorage,
  ) {}

  /** Opens (or creates) the store in `dir` and loads it; throws, naming the record, if anything is corrupt. */
  static async open(dir: string): Promise<LevelStorage> {
    if (typeof zlib.crc32 !== 'function') {
      throw new Error(`raft storage ${dir}: needs Node.js >= 20.15 (zlib.crc32 for record checksums)`);
    }
    const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    try {
      const memory = await load(db, dir);
      return new LevelStorage(dir, db, memory);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return this.memory.initialState();
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.memory.entries(lo, hi, maxBytes);
  }

  term(i: number): number {
    return this.memory.term(i);
  }

  firstIndex(): number {
    return this.memory.firstIndex();
  }

  lastIndex(): number {
    return this.memory.lastIndex();
  }

  snapshot(): Snapshot {
    return this.memory.snapshot();
  }

  /**
   * Same effect as MemoryStorage.save, as one batch: synced unless `sync` is false, which the
   * driver passes when only the commit index moved (it is re-learned from the leader after a crash).
   */
  save(hardState: HardState | null, entries: Entry[], snapshot: Snapshot | null, sync = true): Promise<void> {
    return this.serialize(async () => {
      const ops: BatchOp[] = [];
      let first = this.memory.firstIndex();
      let last = this.memory.lastIndex();

      if (snapshot !== null && snapshot.metadata.index > this.memory.snapshot().metadata.index) {
        // The log restarts after the snapshot: every entry goes.
        for (let i = first; i <= last; i++) ops.push({ type: 'del', key: entryKey(i) });
        ops.push(put(KEY_SNAPSHOT, encodeSnapshot(snapshot)));
        ops.push(put(KEY_LOG_START, encodeLogPosition(snapshot.metadata)));
        first = snapshot.metadata.index + 1;
        last = snapshot.metadata.index;
      }

      if (entries.length > 0 && entries[entries.length - 1].index >= first) {
        const fresh = entries[0].index < first ? entries.slice(first - entries[0].index) : entries;
        if (fresh[0].index > last + 1) {
          throw new Error(`missing log entries: last index ${last}, appending from ${fresh[0].index}`);
        }
        for (const e of fresh) ops.push(put(entryKey(e.index), encodeEntry(e)));
        // Entries past the new ones belong to a conflicting suffix that the append replaces.
        for (let i = fresh[fresh.length - 1].index + 1; i <= last; i++) ops.push({ type: 'del', key: entryKey(i) });
      }

      if (hardState !== null) ops.push(put(KEY_HARD_STATE, encodeHardState(hardState)));

      if (ops.length > 0) await this.write(ops, sync);
      this.memory.save(hardState, entries, snapshot);
    });
  }

  /** Same effect as MemoryStorage.createSnapshot; the compacted entries are deleted in the same synced batch. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array, compactTo: number): Promise<void> {
    return this.serialize(async () => {
      if (index <= this.memory.snapshot().metadata.index) return;
      if (index > this.memory.lastIndex()) throw new UnavailableError(index, this.memory.lastIndex());
      const snapshot: Snapshot = { metadata: { index, term: this.memory.term(index), confState: cloneConfState(confState) }, data };
      const ops: BatchOp[] = [put(KEY_SNAPSHOT, encodeSnapshot(snapshot))];
      const compactIndex = Math.min(compactTo, index);
      const first = this.memory.firstIndex();
      if (compactIndex >= first) {
        for (let i = first; i <= compactIndex; i++) ops.push({ type: 'del', key: entryKey(i) });
        ops.push(put(KEY_LOG_START, encodeLogPosition({ index: compactIndex, term: this.memory.term(compactIndex) })));
      }
      await this.write(ops);
      this.memory.createSnapshot(index, confState, data, compactTo);
    });
  }

  /** Waits for pending writes, then closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.db.close();
  }

  private serialize(operation: () => Promise<void>): Promise<void> {
    // Checked at call time: writes issued before close() still complete.
    if (this.closed) return Promise.reject(new Error(`raft storage ${this.dir}: closed`));
    const result = this.queue.then(() => {
      if (this.failure !== null) throw this.failure;
      return operation();
    });
    // The queue only orders operations; each caller sees its own outcome through `result`.
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async write(ops: BatchOp[], sync = true): Promise<void> {
    try {
      await this.db.batch(ops, { sync });
    } catch (err) {
      this.failure = new Error(`raft storage ${this.dir}: write failed, refusing further writes: ${(err as Error).message}`, { cause: err });
      throw this.failure;
    }
  }
}

/** Reads every record, checks it, and rebuilds the in-memory view the last write left. */
async function load(db: Level<Buffer, Buffer>, dir: string): Promise<MemoryStorage> {
  const corrupt = (what: string): Error => new Error(`raft storage ${dir}: ${what}`);

  /** The payload of a record, or an Error naming it when its checksum fails. */
  const open = (key: Buffer, value: Buffer, what: string): Buffer => {
    if (value.byteLength < CHECKSUM_BYTES) throw corrupt(`${what} is truncated (${value.byteLength} bytes)`);
    const payload = value.subarray(CHECKSUM_BYTES);
    if (value.readUInt32BE(0) !== checksum(key, payload)) throw corrupt(`${what} checksum mismatch`);
    return payload;
  };

  /** Decodes a checked payload; a failure here means a writer bug rather than a flipped bit, but it is corrupt all the same. */
  const decode = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw corrupt(`${what} is unreadable: ${(err as Error).message}`);
    }
  };

  const [formatValue, hardStateValue, snapshotValue, logStartValue] =
    (await db.getMany([KEY_FORMAT, KEY_HARD_STATE, KEY_SNAPSHOT, KEY_LOG_START])) as Array<Buffer | undefined>;

  if (formatValue === undefined) {
    for await (const key of db.keys({ limit: 1 })) {
      throw corrupt(`has records (first key ${JSON.stringify(key.toString('latin1'))}) but no format version record`);
    }
    await db.put(KEY_FORMAT, seal(KEY_FORMAT, formatPayload()), { sync: true });
  } else {
    const payload = open(KEY_FORMAT, formatValue, 'format version');
    const version = payload.byteLength === 4 ? payload.readUInt32BE(0) : -1;
    if (version !== FORMAT_VERSION) throw corrupt(`format version ${version}, this build reads version ${FORMAT_VERSION}`);
  }

  const hardState = hardStateValue === undefined
    ? emptyHardState()
    : decode('hard state', () => decodeHardState(open(KEY_HARD_STATE, hardStateValue, 'hard state')));
  const snapshot = snapshotValue === undefined
    ? emptySnapshot()
    : decode('snapshot', () => decodeSnapshot(open(KEY_SNAPSHOT, snapshotValue, 'snapshot')));
  const logStart: LogPosition = logStartValue === undefined
    ? { index: 0, term: 0 }
    : decode('log start', () => decodeEntry(open(KEY_LOG_START, logStartValue, 'log start')));
  const snapshotIndex = snapshot.metadata.index;
  if (logStart.index > snapshotIndex) {
    throw corrupt(`log starts after entry ${logStart.index}, past the snapshot at ${snapshotIndex}`);
  }

  const entries: Entry[] = [];
  let expected = logStart.index + 1;
  for await (const [key, value] of db.iterator({ gte: ENTRY_RANGE_START, lt: ENTRY_RANGE_END })) {
    if (key.byteLength !== ENTRY_KEY_LENGTH) throw corrupt(`malformed entry key ${key.toString('hex')}`);
    const index = indexOfEntryKey(key);
    const what = `entry ${index}`;
    const payload = open(key, value, what);
    if (index !== expected) throw corrupt(`log gap: expected entry ${expected}, found entry ${index}`);
    const entry = decode(what, () => decodeEntry(payload));
    if (entry.index !== index) throw corrupt(`${what} holds entry ${entry.index}`);
    entries.push(entry);
    expected++;
  }

  const memory = new MemoryStorage();
  if (logStart.index === snapshotIndex) {
    if (logStart.term !== snapshot.metadata.term) {
      throw corrupt(`log start term ${logStart.term} differs from the snapshot term ${snapshot.metadata.term}`);
    }
    memory.applySnapshot(snapshot);
    memory.append(entries);
  } else {
    // The log still holds entries the snapshot covers (it was taken with compactTo < index): rebuild
    // the log from its start, then record the snapshot over it without compacting further.
    memory.applySnapshot({
      metadata: { index: logStart.index, term: logStart.term, confState: snapshot.metadata.confState },
      data: EMPTY,
    });
    memory.append(entries);
    if (snapshotIndex > memory.lastIndex()) {
      throw corrupt(`snapshot at ${snapshotIndex} is past the last log entry ${memory.lastIndex()}`);
    }
    if (memory.term(snapshotIndex) !== snapshot.metadata.term) {
      throw corrupt(`snapshot term ${snapshot.metadata.term} differs from entry ${snapshotIndex}'s term ${memory.term(snapshotIndex)}`);
    }
    memory.createSnapshot(snapshotIndex, snapshot.metadata.confState, snapshot.data, logStart.index);
  }
  if (hardState.commit > memory.lastIndex()) {
    throw corrupt(`hard state commit ${hardState.commit} is past the last log entry ${memory.lastIndex()}`);
  }
  memory.setHardState(hardState);
  return memory;
}
