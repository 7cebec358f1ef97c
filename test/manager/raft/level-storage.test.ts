import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Level } from 'level';
import { LevelStorage } from '../../../manager/raft/level-storage.js';
import { MemoryStorage, Storage } from '../../../manager/raft/storage.js';
import { ConfState, Entry, EntryType, HardState, Snapshot } from '../../../manager/raft/types.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-level-storage-'));
  dirs.push(dir);
  return dir;
}

function entry(index: number, term: number, size = 8): Entry {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return { term, index, type: index % 7 === 0 ? EntryType.ConfChange : EntryType.Normal, data };
}

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

const confState: ConfState = { voters: [1, 2, 3], learners: [4] };

/** The layout the store promises: 'e' then the index as 8 big-endian bytes. */
function rawEntryKey(index: number): Buffer {
  const key = Buffer.alloc(9);
  key[0] = 0x65;
  key.writeUInt32BE(Math.floor(index / 2 ** 32), 1);
  key.writeUInt32BE(index % 2 ** 32, 5);
  return key;
}

async function withRawDb(dir: string, fn: (db: Level<Buffer, Buffer>) => Promise<void>): Promise<void> {
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

async function flipByte(dir: string, key: Buffer, offsetFromEnd = 1): Promise<void> {
  await withRawDb(dir, async (db) => {
    const value = await db.get(key);
    assert.ok(value, `no record under ${key.toString('hex')}`);
    const corrupted = Buffer.from(value);
    corrupted[corrupted.length - offsetFromEnd] ^= 0x5a;
    await db.put(key, corrupted);
  });
}

/** Everything the core can read must match. */
function assertSameView(actual: Storage, expected: Storage): void {
  assert.deepEqual(actual.initialState(), expected.initialState());
  assert.equal(actual.firstIndex(), expected.firstIndex());
  assert.equal(actual.lastIndex(), expected.lastIndex());
  assert.deepEqual(actual.snapshot(), expected.snapshot());
  for (let i = expected.firstIndex() - 1; i <= expected.lastIndex(); i++) {
    assert.equal(actual.term(i), expected.term(i), `term(${i})`);
  }
  if (expected.lastIndex() >= expected.firstIndex()) {
    const all = (s: Storage): Entry[] => s.entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER);
    assert.deepEqual(all(actual), all(expected));
  }
}

describe('LevelStorage', () => {
  it('starts empty, like MemoryStorage', async () => {
    const storage = await LevelStorage.open(tempDir());
    assertSameView(storage, new MemoryStorage());
    await storage.close();
  });

  it('round-trips hard state and entries through close and reopen', async () => {
    const dir = tempDir();
    const hardState: HardState = { term: 3, vote: 2, commit: 9 };
    const storage = await LevelStorage.open(dir);
    await storage.save(hardState, entries(1, 10, 3), null);
    const expected = new MemoryStorage();
    expected.save(hardState, entries(1, 10, 3), null);
    assertSameView(storage, expected);
    await storage.close();

    const reopened = await LevelStorage.open(dir);
    assertSameView(reopened, expected);
    await reopened.close();
  });

  it('writes each save as one synced batch', async () => {
    const storage = await LevelStorage.open(tempDir());
    await storage.save({ term: 1, vote: 1, commit: 0 }, entries(1, 5, 1), null);
    const db = (storage as unknown as { db: Level<Buffer, Buffer> }).db;
    const calls: Array<{ ops: number; sync: unknown }> = [];
    const batch = db.batch.bind(db) as (ops: unknown[], options: { sync?: boolean }) => Promise<void>;
    (db as unknown as { batch: typeof batch }).batch = (ops, options) => {
      calls.push({ ops: ops.length, sync: options?.sync });
      return batch(ops, options);
    };
    // Overwrites 3..5 and appends 6: puts 3,4,5,6 and the hard state, deletes nothing.
    await storage.save({ term: 2, vote: 2, commit: 2 }, entries(3, 6, 2), null);
    assert.deepEqual(calls, [{ ops: 5, sync: true }]);
    await storage.close();
  });

  it('deletes a conflicting suffix on disk, so it stays gone after reopen', async () => {
    const dir = tempDir();
    const storage = await LevelStorage.open(dir);
    await storage.save({ term: 1, vote: 1, commit: 3 }, entries(1, 10, 1), null);
    await storage.save({ term: 2, vote: 0, commit: 3 }, entries(6, 7, 2), null);
    assert.equal(storage.lastIndex(), 7);
    await storage.close();

    const reopened = await LevelStorage.open(dir);
    assert.equal(reopened.lastIndex(), 7);
    assert.equal(reopened.term(5), 1);
    assert.equal(reopened.term(6), 2);
    assert.deepEqual(reopened.entries(6, 8, Infinity), entries(6, 7, 2));
    await reopened.close();

    await withRawDb(dir, async (db) => {
      for (let i = 8; i <= 10; i++) assert.equal(await db.get(rawEntryKey(i)), undefined, `stale entry ${i} on disk`);
    });
  });

  it('keeps a snapshot and its compaction across reopen', async () => {
    const dir = tempDir();
    const storage = await LevelStorage.open(dir);
    const expected = new MemoryStorage();
    for (const s of [storage, expected]) await s.save({ term: 2, vote: 1, commit: 20 }, [...entries(1, 10, 1), ...entries(11, 20, 2)], null);
    const data = new Uint8Array(200_000).fill(7);
    // Snapshot at 15 but keep entries after 12 so a slow follower can still catch up from the log.
    for (const s of [storage, expected]) await s.createSnapshot(15, confState, data, 12);
    assert.equal(storage.firstIndex(), 13);
    assertSameView(storage, expected);
    await storage.close();

    let reopened = await LevelStorage.open(dir);
    assertSameView(reopened, expected);
    for (const s of [reopened, expected]) await s.createSnapshot(18, confState, data.subarray(0, 10), 18);
    await reopened.close();

    reopened = await LevelStorage.open(dir);
    assertSameView(reopened, expected);
    assert.equal(reopened.firstIndex(), 19);
    assert.equal(reopened.snapshot().metadata.index, 18);
    await reopened.close();

    await withRawDb(dir, async (db) => {
      for (let i = 1; i <= 18; i++) assert.equal(await db.get(rawEntryKey(i)), undefined, `compacted entry ${i} on disk`);
    });
  });

  it('replaces the whole log with a snapshot received from the leader', async () => {
    const dir = tempDir();
    const storage = await LevelStorage.open(dir);
    const expected = new MemoryStorage();
    const snapshot: Snapshot = { metadata: { index: 50, term: 4, confState }, data: new Uint8Array([1, 2, 3]) };
    for (const s of [storage, expected]) {
      await s.save({ term: 1, vote: 1, commit: 5 }, entries(1, 10, 1), null);
      await s.save({ term: 4, vote: 0, commit: 50 }, entries(51, 52, 4), snapshot);
    }
    assertSameView(storage, expected);
    await storage.close();
    const reopened = await LevelStorage.open(dir);
    assertSameView(reopened, expected);
    await reopened.close();
    await withRawDb(dir, async (db) => {
      for (let i = 1; i <= 10; i++) assert.equal(await db.get(rawEntryKey(i)), undefined, `old entry ${i} on disk`);
    });
  });

  it('skips the already-compacted part of an append', async () => {
    const dir = tempDir();
    const storage = await LevelStorage.open(dir);
    const expected = new MemoryStorage();
    for (const s of [storage, expected]) {
      await s.save(null, entries(1, 10, 1), null);
      await s.createSnapshot(5, confState, new Uint8Array([1]), 5);
      await s.save(null, entries(3, 12, 1), null); // 3..5 are compacted, 6..10 rewritten, 11..12 new
      await s.save(null, entries(1, 4, 1), null); // entirely compacted: nothing to do
    }
    assertSameView(storage, expected);
    await storage.close();
    const reopened = await LevelStorage.open(dir);
    assertSameView(reopened, expected);
    assert.equal(reopened.firstIndex(), 6);
    assert.equal(reopened.lastIndex(), 12);
    await reopened.close();
  });

  it('finishes writes issued before close, and refuses writes after it', async () => {
    const dir = tempDir();
    const storage = await LevelStorage.open(dir);
    const pending = storage.save({ term: 1, vote: 1, commit: 0 }, entries(1, 3, 1), null);
    await storage.close();
    await pending;
    await assert.rejects(async () => storage.save(null, entries(4, 4, 1), null), /closed/);
    const reopened = await LevelStorage.open(dir);
    assert.equal(reopened.lastIndex(), 3);
    await reopened.close();
  });

  it('refuses an append that leaves a gap, without writing anything', async () => {
    const dir = tempDir();
    const storage = await LevelStorage.open(dir);
    await storage.save(null, entries(1, 3, 1), null);
    await assert.rejects(storage.save({ term: 9, vote: 0, commit: 0 }, entries(6, 7, 1), null), /missing log entries/);
    assert.equal(storage.lastIndex(), 3);
    await storage.save(null, entries(4, 4, 1), null);
    await storage.close();
    const reopened = await LevelStorage.open(dir);
    assert.equal(reopened.lastIndex(), 4);
    assert.deepEqual(reopened.initialState().hardState, { term: 0, vote: 0, commit: 0 });
    await reopened.close();
  });

  describe('refuses to start on a damaged store', () => {
    async function damagedStore(damage: (dir: string) => Promise<void>): Promise<string> {
      const dir = tempDir();
      const storage = await LevelStorage.open(dir);
      await storage.save({ term: 2, vote: 1, commit: 4 }, entries(1, 10, 2), null);
      await storage.createSnapshot(3, confState, new Uint8Array([5, 6, 7]), 3);
      await storage.close();
      await damage(dir);
      return dir;
    }

    async function assertOpenFails(dir: string, message: RegExp): Promise<void> {
      await assert.rejects(LevelStorage.open(dir), (err: Error) => {
        assert.match(err.message, message);
        assert.ok(err.message.startsWith(`raft storage ${dir}: `), err.message);
        return true;
      });
      // The database handle was released: the store can still be opened for inspection.
      await withRawDb(dir, async () => undefined);
    }

    it('an entry whose checksum fails', async () => {
      const dir = await damagedStore((d) => flipByte(d, rawEntryKey(7)));
      await assertOpenFails(dir, /entry 7 checksum mismatch/);
    });

    it('an entry whose stored checksum itself is damaged', async () => {
      const dir = await damagedStore(async (d) => {
        await withRawDb(d, async (db) => {
          const value = Buffer.from(await db.get(rawEntryKey(5)));
          value[0] ^= 0xff;
          await db.put(rawEntryKey(5), value);
        });
      });
      await assertOpenFails(dir, /entry 5 checksum mismatch/);
    });

    it('an entry copied under another index', async () => {
      const dir = await damagedStore((d) => withRawDb(d, async (db) => {
        await db.put(rawEntryKey(6), await db.get(rawEntryKey(5)));
      }));
      await assertOpenFails(dir, /entry 6 checksum mismatch/);
    });

    it('a missing entry', async () => {
      const dir = await damagedStore((d) => withRawDb(d, (db) => db.del(rawEntryKey(6))));
      await assertOpenFails(dir, /log gap: expected entry 6, found entry 7/);
    });

    it('the hard state', async () => {
      const dir = await damagedStore((d) => flipByte(d, Buffer.from('h')));
      await assertOpenFails(dir, /hard state checksum mismatch/);
    });

    it('the snapshot', async () => {
      const dir = await damagedStore((d) => flipByte(d, Buffer.from('s'), 2));
      await assertOpenFails(dir, /snapshot checksum mismatch/);
    });

    it('the log start', async () => {
      const dir = await damagedStore((d) => flipByte(d, Buffer.from('c')));
      await assertOpenFails(dir, /log start checksum mismatch/);
    });

    it('a truncated record', async () => {
      const dir = await damagedStore((d) => withRawDb(d, (db) => db.put(Buffer.from('h'), Buffer.from([1, 2]))));
      await assertOpenFails(dir, /hard state is truncated/);
    });

    it('records without a format version', async () => {
      const dir = await damagedStore((d) => withRawDb(d, (db) => db.del(Buffer.from('v'))));
      await assertOpenFails(dir, /no format version record/);
    });
  });

  it('matches MemoryStorage over many mixed writes and reopens', async () => {
    const dir = tempDir();
    let storage = await LevelStorage.open(dir);
    const expected = new MemoryStorage();
    // Deterministic pseudo-random choices (xorshift32) so a failure reproduces.
    let seed = 0x9e3779b9;
    const random = (n: number): number => {
      seed ^= seed << 13; seed >>>= 0;
      seed ^= seed >>> 17;
      seed ^= seed << 5; seed >>>= 0;
      return seed % n;
    };
    let term = 1;

    for (let round = 0; round < 400; round++) {
      // Several writes issued without waiting: LevelStorage must apply them in call order.
      const pending: Array<Promise<void> | void> = [];
      const writes = 1 + random(3);
      for (let w = 0; w < writes; w++) {
        const first = expected.firstIndex();
        const last = expected.lastIndex();
        const choice = random(100);
        let hardState: HardState | null = null;
        if (random(2) === 0) hardState = { term, vote: random(4), commit: Math.max(0, last - random(3)) };

        if (choice < 45) {
          const count = 1 + random(6);
          const batch = entries(last + 1, last + count, term);
          pending.push(storage.save(hardState, batch, null), expected.save(hardState, batch, null));
        } else if (choice < 65 && last > expected.snapshot().metadata.index) {
          // A new leader overwrites an uncommitted suffix: never what a snapshot covers, as in Raft.
          term++;
          const snapshotIndex = expected.snapshot().metadata.index;
          const from = snapshotIndex + 1 + random(last - snapshotIndex);
          const batch = entries(from, from + random(8), term);
          const hs = { term, vote: 0, commit: Math.min(expected.initialState().hardState.commit, from - 1) };
          pending.push(storage.save(hs, batch, null), expected.save(hs, batch, null));
        } else if (choice < 85 && last > expected.snapshot().metadata.index) {
          const index = expected.snapshot().metadata.index + 1 + random(last - expected.snapshot().metadata.index);
          const compactTo = index - random(4);
          const data = new Uint8Array(1 + random(64)).fill(round & 0xff);
          pending.push(storage.createSnapshot(index, confState, data, compactTo), expected.createSnapshot(index, confState, data, compactTo));
        } else if (choice < 90) {
          term++;
          const index = Math.max(1, last + random(5) - 2);
          const snapshot: Snapshot = { metadata: { index, term, confState }, data: new Uint8Array([round & 0xff]) };
          const hs = { term, vote: 0, commit: index };
          pending.push(storage.save(hs, [], snapshot), expected.save(hs, [], snapshot));
        } else {
          pending.push(storage.save(hardState ?? { term, vote: 1, commit: 0 }, [], null), expected.save(hardState ?? { term, vote: 1, commit: 0 }, [], null));
        }
      }
      await Promise.all(pending);
      assertSameView(storage, expected);

      if (round % 50 === 49) {
        await storage.close();
        storage = await LevelStorage.open(dir);
        assertSameView(storage, expected);
      }
    }
    await storage.close();
    const reopened = await LevelStorage.open(dir);
    assertSameView(reopened, expected);
    await reopened.close();
  });
});
