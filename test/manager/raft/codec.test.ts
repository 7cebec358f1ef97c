import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import {
  decodeEntry, decodeHardState, decodeMessageBatch, decodeSnapshot, decodeSnapshotChunk, decodeSnapshotMetadata,
  encodeEntry, encodeHardState, encodeMessageBatch, encodeSnapshot, encodeSnapshotChunk, encodeSnapshotMetadata,
  validateMessage,
} from '../../../manager/raft/codec.js';
import {
  EMPTY, Entry, EntryType, Message, MessageType, Snapshot, emptyMessage,
} from '../../../manager/raft/types.js';

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

function entry(index: number, term: number, data: Uint8Array = bytes(index & 0xff), type = EntryType.Normal): Entry {
  return { term, index, type, data };
}

function append(from: number, to: number, term: number, index: number, logTerm: number, entries: Entry[]): Message {
  return { ...emptyMessage(MessageType.Append, from, to, term), index, logTerm, entries, commit: index };
}

function snapshotMessage(from: number, to: number, term: number): Message {
  const snapshot: Snapshot = {
    metadata: { index: 100, term, confState: { voters: [1, 2, 3], learners: [4] } },
    data: bytes(9, 8, 7, 6),
  };
  return { ...emptyMessage(MessageType.Snapshot, from, to, term), snapshot };
}

/** A message using every field, with values at the edges of what the codec must carry. */
function everyField(): Message {
  return {
    type: MessageType.AppendResponse,
    from: Number.MAX_SAFE_INTEGER,
    to: 2 ** 40,
    term: 2 ** 32 + 1,
    logTerm: 2 ** 31,
    index: 2 ** 53 - 2,
    entries: [],
    commit: 127,
    reject: true,
    rejectHint: 128,
    snapshot: null,
    context: bytes(0, 255, 1),
  };
}

/** Fails if any value in the tree is a Long (or any object other than arrays, byte arrays and plain objects). */
function assertPlain(value: unknown, path = 'value'): void {
  if (value === null || typeof value !== 'object') return;
  if (value instanceof Uint8Array) {
    assert.equal(Object.getPrototypeOf(value), Uint8Array.prototype, `${path} should be a plain Uint8Array`);
    return;
  }
  const proto = Object.getPrototypeOf(value);
  assert.ok(proto === Object.prototype || proto === Array.prototype, `${path} is not a plain object (${proto?.constructor?.name})`);
  for (const [key, child] of Object.entries(value)) assertPlain(child, `${path}.${key}`);
}

describe('codec: message batches', () => {
  it('round-trips every message type and field', () => {
    const messages: Message[] = [
      append(1, 2, 5, 10, 4, [entry(11, 4), entry(12, 5, bytes(1, 2, 3), EntryType.ConfChange), entry(13, 5, EMPTY)]),
      everyField(),
      snapshotMessage(1, 3, 7),
      ...[3, 4, 5, 6, 7, 8, 10, 11, 12].map((type) => ({ ...emptyMessage(type, 2, 1, 9), context: bytes(type) })),
    ];
    const decoded = decodeMessageBatch(encodeMessageBatch(messages));
    assert.deepEqual(decoded, messages);
    assertPlain(decoded);
  });

  it('fills every field of a message that sets none but its header', () => {
    const [decoded] = decodeMessageBatch(encodeMessageBatch([emptyMessage(MessageType.Heartbeat, 1, 2, 0)]));
    assert.deepEqual(decoded, emptyMessage(MessageType.Heartbeat, 1, 2, 0));
    assert.deepEqual(Object.keys(decoded), Object.keys(emptyMessage(MessageType.Heartbeat, 1, 2, 0)));
    assert.equal(decoded.snapshot, null);
    assert.equal(decoded.context.byteLength, 0);
    assertPlain(decoded);
  });

  it('fills defaults when a peer writes zero values explicitly', () => {
    // protobufjs itself omits zero scalars; other encoders may write them, which its decoders treat as "delete".
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 2).fork()
      .uint32((1 << 3) | 0).uint32(MessageType.Heartbeat)
      .uint32((2 << 3) | 0).uint32(1)
      .uint32((3 << 3) | 0).uint32(2)
      .uint32((4 << 3) | 0).uint32(0) // term = 0
      .uint32((9 << 3) | 0).bool(false) // reject = false
      .uint32((12 << 3) | 2).bytes(EMPTY) // context = empty
      .ldelim();
    const [decoded] = decodeMessageBatch(w.finish());
    assert.deepEqual(decoded, emptyMessage(MessageType.Heartbeat, 1, 2, 0));
    assertPlain(decoded);
  });

  it('returns uint64 values as numbers, and flags those beyond 2^53 as impossible', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const [safe] = decodeMessageBatch(encodeMessageBatch([{ ...emptyMessage(MessageType.Vote, max, max - 1, max), index: max }]));
    assert.equal(typeof safe.term, 'number');
    assert.equal(safe.term, max);
    assert.equal(safe.index, max);
    assert.equal(validateMessage(safe), null);

    // from = 2^64 - 1 (ten varint bytes), which no JS number holds exactly.
    const huge = bytes(0x0a, 0x0f, 0x08, 0x03, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x18, 0x02);
    const [decoded] = decodeMessageBatch(huge);
    assert.equal(typeof decoded.from, 'number');
    assert.ok(decoded.from >= 2 ** 53);
    assert.match(validateMessage(decoded) ?? '', /bad sender id/);
  });

  it('returns bytes fields as plain Uint8Arrays even when the input is a Buffer', () => {
    const encoded = Buffer.from(encodeMessageBatch([append(1, 2, 1, 0, 0, [entry(1, 1, bytes(42))])]));
    const [decoded] = decodeMessageBatch(encoded);
    assert.equal(Object.getPrototypeOf(decoded.entries[0].data), Uint8Array.prototype);
    assert.deepEqual(decoded.entries[0].data, bytes(42));
  });

  it('skips fields it does not know (a newer peer)', () => {
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 2).fork()
      .uint32((1 << 3) | 0).uint32(MessageType.Heartbeat)
      .uint32((2 << 3) | 0).uint32(1)
      .uint32((3 << 3) | 0).uint32(2)
      .uint32((99 << 3) | 2).bytes(bytes(1, 2, 3))
      .ldelim();
    const [decoded] = decodeMessageBatch(w.finish());
    assert.deepEqual(decoded, emptyMessage(MessageType.Heartbeat, 1, 2, 0));
  });

  it('throws on bytes that are not a batch', () => {
    assert.throws(() => decodeMessageBatch(bytes(0x0a, 0x20, 0x08)));
    assert.throws(() => decodeMessageBatch(bytes(0xff, 0xff, 0xff)));
    assert.deepEqual(decodeMessageBatch(EMPTY), []);
  });
});

describe('codec: storage records', () => {
  it('round-trips entries', () => {
    for (const e of [entry(1, 1), entry(2 ** 50, 2 ** 33, bytes(1, 2, 3), EntryType.ConfChange), entry(7, 3, EMPTY)]) {
      const decoded = decodeEntry(encodeEntry(e));
      assert.deepEqual(decoded, e);
      assertPlain(decoded);
    }
  });

  it('round-trips hard states, including the all-zero one', () => {
    for (const hs of [{ term: 0, vote: 0, commit: 0 }, { term: 5, vote: 3, commit: 2 ** 45 }]) {
      const decoded = decodeHardState(encodeHardState(hs));
      assert.deepEqual(decoded, hs);
      assertPlain(decoded);
    }
  });

  it('round-trips snapshot metadata and snapshots', () => {
    const metadata = { index: 1000, term: 4, confState: { voters: [1, 2, 2 ** 40], learners: [] } };
    assert.deepEqual(decodeSnapshotMetadata(encodeSnapshotMetadata(metadata)), metadata);
    const snapshot: Snapshot = { metadata, data: new Uint8Array(100_000).fill(3) };
    const decoded = decodeSnapshot(encodeSnapshot(snapshot));
    assert.deepEqual(decoded, snapshot);
    assertPlain(decoded);
    assert.deepEqual(decodeSnapshotMetadata(EMPTY), { index: 0, term: 0, confState: { voters: [], learners: [] } });
  });

  it('round-trips snapshot chunks', () => {
    const first = {
      from: 1, to: 2, term: 3, offset: 0, data: bytes(1, 2), last: false,
      metadata: { index: 10, term: 3, confState: { voters: [1, 2], learners: [3] } },
    };
    const last = { from: 1, to: 2, term: 3, metadata: null, offset: 2, data: bytes(3), last: true };
    assert.deepEqual(decodeSnapshotChunk(encodeSnapshotChunk(first)), first);
    assert.deepEqual(decodeSnapshotChunk(encodeSnapshotChunk(last)), last);
  });
});

describe('codec: validateMessage', () => {
  const valid = append(1, 2, 5, 10, 4, [entry(11, 4), entry(12, 5)]);

  it('accepts correct messages of every kind', () => {
    assert.equal(validateMessage(valid), null);
    assert.equal(validateMessage(snapshotMessage(1, 2, 7)), null);
    assert.equal(validateMessage(everyField()), null);
    // Forwarded ReadIndex requests may carry term 0.
    assert.equal(validateMessage(emptyMessage(MessageType.ReadIndex, 2, 1, 0)), null);
  });

  const impossible: Array<[string, Message, RegExp]> = [
    ['unknown type', { ...valid, type: 99 as MessageType }, /unknown message type 99/],
    ['type zero', { ...valid, type: 0 as MessageType }, /unknown message type 0/],
    ['sender zero', { ...valid, from: 0 }, /bad sender id 0/],
    ['recipient zero', { ...valid, to: 0 }, /bad recipient id 0/],
    ['fractional id', { ...valid, to: 1.5 }, /bad recipient id/],
    ['message to itself', { ...valid, to: 1 }, /to itself/],
    ['negative term', { ...valid, term: -1 }, /bad term -1/],
    ['unsafe index', { ...valid, index: 2 ** 53 }, /bad index/],
    ['negative commit', { ...valid, commit: -3 }, /bad commit/],
    ['entries not after index', { ...valid, index: 9 }, /entry 0 has index 11, expected 10/],
    ['gap in entries', { ...valid, entries: [entry(11, 4), entry(13, 5)] }, /entry 1 has index 13, expected 12/],
    ['entry term above message term', { ...valid, entries: [entry(11, 6)] }, /above the message term/],
    ['entry terms decreasing', { ...valid, entries: [entry(11, 5), entry(12, 4)] }, /below the term before it/],
    ['entry term below log term', { ...valid, logTerm: 5, entries: [entry(11, 4)] }, /below the term before it/],
    ['unknown entry type', { ...valid, entries: [entry(11, 4, EMPTY, 7 as EntryType)] }, /unknown type 7/],
    ['entries on a vote', { ...emptyMessage(MessageType.Vote, 1, 2, 3), entries: [entry(1, 1)] }, /carries 1 entries/],
    ['snapshot message without snapshot', emptyMessage(MessageType.Snapshot, 1, 2, 3), /no snapshot/],
    ['snapshot on an append', { ...valid, snapshot: snapshotMessage(1, 2, 5).snapshot }, /carries a snapshot/],
    ['snapshot without voters', (() => {
      const m = snapshotMessage(1, 2, 7);
      m.snapshot!.metadata.confState.voters = [];
      return m;
    })(), /no voters/],
    ['snapshot from a later term', { ...snapshotMessage(1, 2, 7), term: 6 }, /above the message term/],
  ];
  for (const [what, message, why] of impossible) {
    it(`rejects ${what}`, () => {
      assert.match(validateMessage(message) ?? 'accepted', why);
    });
  }
});
