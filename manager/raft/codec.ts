// The wire codec: types.ts objects <-> protobuf bytes (proto/raft.proto), through protobufjs
// runtime reflection. It sits on the transport's hot path (every batch of peer messages) and
// under every LevelStorage record, so decoding goes straight from protobufjs's generated
// decoders to plain objects, and validateMessage says why a decoded message cannot be real.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import {
  ConfState, EMPTY, Entry, EntryType, HardState, Message, MessageType, Snapshot, SnapshotMetadata,
} from './types.js';

/** Where the schema lives relative to the repository root (the same from dist/ and from source). */
const PROTO_PATH_IN_REPO = join('proto', 'raft.proto');

/** A varint holds at most 10 bytes (64 bits in 7-bit groups). */
const MAX_VARINT_BYTES = 10;

/** One piece of a Snapshot message as it travels on the SendSnapshot call. */
export interface SnapshotChunk {
  from: number;
  to: number;
  term: number;
  /** Only in the first chunk (offset 0); null in the others. */
  metadata: SnapshotMetadata | null;
  offset: number;
  data: Uint8Array;
  last: boolean;
}

/** Walks up from this file until a directory holds proto/raft.proto: works from dist/ and from a source checkout. */
function findProtoFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = dirname(dir)) {
    const candidate = join(dir, PROTO_PATH_IN_REPO);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`cannot find ${PROTO_PATH_IN_REPO} in ${here} or any directory above it`);
  }
}

const root = protobuf.loadSync(findProtoFile());
const EntryWire = root.lookupType('berth.raft.Entry');
const HardStateWire = root.lookupType('berth.raft.HardState');
const SnapshotMetadataWire = root.lookupType('berth.raft.SnapshotMetadata');
const SnapshotWire = root.lookupType('berth.raft.Snapshot');
const MessageBatchWire = root.lookupType('berth.raft.MessageBatch');
const SnapshotChunkWire = root.lookupType('berth.raft.SnapshotChunk');

/**
 * A protobufjs reader whose uint64 fields come back as plain numbers. protobufjs returns Long
 * objects whenever the `long` package is installed (it is its own dependency); switching that off
 * globally (protobuf.util.Long) would change it for every other protobufjs user in the process,
 * and Long allocates per field. Values of 2^53 and above lose precision but stay >= 2^53, so
 * validateMessage rejects them as unsafe integers.
 */
class NumberReader extends protobuf.Reader {
  /** Typed as Long only to match the base class; the generated decoders just store the value. */
  override uint64(): protobuf.Long {
    const buf = this.buf;
    let pos = this.pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (pos >= this.len) throw new RangeError(`index out of range: ${pos} + 1 > ${this.len}`);
      const byte = buf[pos++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        this.pos = pos;
        return value as unknown as protobuf.Long;
      }
      scale *= 128;
    }
    throw new Error('invalid varint encoding');
  }
}

/**
 * Reads from a plain Uint8Array view of the input (no copy): bytes fields then come back as
 * Uint8Array views rather than Buffers, matching types.ts. They share memory with the input,
 * which callers hand over and do not reuse.
 */
function readerFor(bytes: Uint8Array): NumberReader {
  const plain = Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new NumberReader(plain);
}

// Shapes of what the generated decoders return. A field absent from the wire reads as the
// prototype default: a frozen Long zero for uint64, an empty array for bytes, null for messages.
type WireU64 = number | protobuf.Long;
interface WireEntry { term: WireU64; index: WireU64; type: number; data: Uint8Array }
interface WireHardState { term: WireU64; vote: WireU64; commit: WireU64 }
interface WireConfState { voters: number[]; learners: number[] }
interface WireSnapshotMetadata { index: WireU64; term: WireU64; confState: WireConfState | null }
interface WireSnapshot { metadata: WireSnapshotMetadata | null; data: Uint8Array }
interface WireMessage {
  type: number; from: WireU64; to: WireU64; term: WireU64; logTerm: WireU64; index: WireU64;
  entries: WireEntry[]; commit: WireU64; reject: boolean; rejectHint: WireU64;
  snapshot: WireSnapshot | null; context: Uint8Array;
}
interface WireMessageBatch { messages: WireMessage[] }
interface WireSnapshotChunk {
  from: WireU64; to: WireU64; term: WireU64; metadata: WireSnapshotMetadata | null;
  offset: WireU64; data: Uint8Array; last: boolean;
}

/** Present uint64 fields are numbers (NumberReader); the only other value is the default zero. */
function u64(v: WireU64): number {
  return typeof v === 'number' ? v : 0;
}

function bytesOf(v: Uint8Array): Uint8Array {
  return v.length === 0 ? EMPTY : v;
}

// Object literals below list fields in the same order as types.ts's constructors (emptyMessage,
// MemoryStorage's placeholder entry) so decoded and locally built objects share V8 shapes.

function entryFromWire(w: WireEntry): Entry {
  return { term: u64(w.term), index: u64(w.index), type: w.type, data: bytesOf(w.data) };
}

function confStateFromWire(w: WireConfState | null): ConfState {
  return w === null ? { voters: [], learners: [] } : { voters: w.voters, learners: w.learners };
}

function snapshotMetadataFromWire(w: WireSnapshotMetadata | null): SnapshotMetadata {
  if (w === null) return { index: 0, term: 0, confState: { voters: [], learners: [] } };
  return { index: u64(w.index), term: u64(w.term), confState: confStateFromWire(w.confState) };
}

function snapshotFromWire(w: WireSnapshot): Snapshot {
  return { metadata: snapshotMetadataFromWire(w.metadata), data: bytesOf(w.data) };
}

function messageFromWire(w: WireMessage): Message {
  const wireEntries = w.entries;
  const entries: Entry[] = new Array(wireEntries.length);
  for (let i = 0; i < wireEntries.length; i++) entries[i] = entryFromWire(wireEntries[i]);
  return {
    type: w.type,
    from: u64(w.from),
    to: u64(w.to),
    term: u64(w.term),
    logTerm: u64(w.logTerm),
    index: u64(w.index),
    entries,
    commit: u64(w.commit),
    reject: w.reject,
    rejectHint: u64(w.rejectHint),
    snapshot: w.snapshot === null ? null : snapshotFromWire(w.snapshot),
    context: bytesOf(w.context),
  };
}

// Encoding: field names in types.ts are the camel-cased proto names, so objects encode as they are.

export function encodeMessageBatch(messages: Message[]): Uint8Array {
  return MessageBatchWire.encode({ messages }).finish();
}

/** Throws on bytes that are not a MessageBatch; check each message with validateMessage. */
export function decodeMessageBatch(bytes: Uint8Array): Message[] {
  const wire = MessageBatchWire.decode(readerFor(bytes)) as unknown as WireMessageBatch;
  const wireMessages = wire.messages;
  const messages: Message[] = new Array(wireMessages.length);
  for (let i = 0; i < wireMessages.length; i++) messages[i] = messageFromWire(wireMessages[i]);
  return messages;
}

export function encodeEntry(entry: Entry): Uint8Array {
  return EntryWire.encode(entry).finish();
}

export function decodeEntry(bytes: Uint8Array): Entry {
  return entryFromWire(EntryWire.decode(readerFor(bytes)) as unknown as WireEntry);
}

export function encodeHardState(hardState: HardState): Uint8Array {
  return HardStateWire.encode(hardState).finish();
}

export function decodeHardState(bytes: Uint8Array): HardState {
  const w = HardStateWire.decode(readerFor(bytes)) as unknown as WireHardState;
  return { term: u64(w.term), vote: u64(w.vote), commit: u64(w.commit) };
}

export function encodeSnapshotMetadata(metadata: SnapshotMetadata): Uint8Array {
  return SnapshotMetadataWire.encode(metadata).finish();
}

export function decodeSnapshotMetadata(bytes: Uint8Array): SnapshotMetadata {
  return snapshotMetadataFromWire(SnapshotMetadataWire.decode(readerFor(bytes)) as unknown as WireSnapshotMetadata);
}

export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  return SnapshotWire.encode(snapshot).finish();
}

export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  return snapshotFromWire(SnapshotWire.decode(readerFor(bytes)) as unknown as WireSnapshot);
}

export function encodeSnapshotChunk(chunk: SnapshotChunk): Uint8Array {
  return SnapshotChunkWire.encode(chunk).finish();
}

export function decodeSnapshotChunk(bytes: Uint8Array): SnapshotChunk {
  const w = SnapshotChunkWire.decode(readerFor(bytes)) as unknown as WireSnapshotChunk;
  return {
    from: u64(w.from),
    to: u64(w.to),
    term: u64(w.term),
    metadata: w.metadata === null ? null : snapshotMetadataFromWire(w.metadata),
    offset: u64(w.offset),
    data: bytesOf(w.data),
    last: w.last,
  };
}

function isId(v: number): boolean {
  return Number.isSafeInteger(v) && v > 0;
}

function isCount(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

function isMessageType(v: number): v is MessageType {
  return typeof MessageType[v] === 'string';
}

function isEntryType(v: number): v is EntryType {
  return typeof EntryType[v] === 'string';
}

/** Why snapshot metadata cannot be real, or null. Exported for the snapshot receiver. */
export function validateSnapshotMetadata(metadata: SnapshotMetadata): string | null {
  if (!isId(metadata.index)) return `bad snapshot index ${metadata.index}`;
  if (!isCount(metadata.term)) return `bad snapshot term ${metadata.term}`;
  const { voters, learners } = metadata.confState;
  // A cluster with no voter could never have committed the snapshot's last entry.
  if (voters.length === 0) return 'snapshot membership has no voters';
  for (const id of voters) if (!isId(id)) return `bad voter id ${id} in snapshot membership`;
  for (const id of learners) if (!isId(id)) return `bad learner id ${id} in snapshot membership`;
  return null;
}

/**
 * Why a decoded message cannot have come from a correct peer, or null if it could. The transport
 * drops (and logs) such messages, so a bug or corruption on one node never crashes another.
 */
export function validateMessage(m: Message): string | null {
  if (!isMessageType(m.type)) return `unknown message type ${m.type}`;
  const name = MessageType[m.type];
  if (!isId(m.from)) return `${name}: bad sender id ${m.from}`;
  if (!isId(m.to)) return `${name}: bad recipient id ${m.to}`;
  if (m.from === m.to) return `${name}: sent by node ${m.from} to itself`;
  if (!isCount(m.term)) return `${name}: bad term ${m.term}`;
  if (!isCount(m.logTerm)) return `${name}: bad log term ${m.logTerm}`;
  if (!isCount(m.index)) return `${name}: bad index ${m.index}`;
  if (!isCount(m.commit)) return `${name}: bad commit ${m.commit}`;
  if (!isCount(m.rejectHint)) return `${name}: bad reject hint ${m.rejectHint}`;

  if (m.entries.length > 0) {
    if (m.type !== MessageType.Append) return `${name}: carries ${m.entries.length} entries`;
    // Log matching: the entries follow (index, logTerm) directly and their terms never decrease.
    let previousTerm = m.logTerm;
    for (let i = 0; i < m.entries.length; i++) {
      const e = m.entries[i];
      const expected = m.index + 1 + i;
      if (e.index !== expected) return `${name}: entry ${i} has index ${e.index}, expected ${expected}`;
      if (!isEntryType(e.type)) return `${name}: entry ${e.index} has unknown type ${e.type}`;
      if (!isCount(e.term)) return `${name}: entry ${e.index} has bad term ${e.term}`;
      if (e.term > m.term) return `${name}: entry ${e.index} has term ${e.term}, above the message term ${m.term}`;
      if (e.term < previousTerm) return `${name}: entry ${e.index} has term ${e.term}, below the term before it (${previousTerm})`;
      previousTerm = e.term;
    }
  }

  if (m.type === MessageType.Snapshot) {
    if (m.snapshot === null || m.snapshot.metadata.index === 0) return `${name}: no snapshot`;
    const why = validateSnapshotMetadata(m.snapshot.metadata);
    if (why !== null) return `${name}: ${why}`;
    if (m.snapshot.metadata.term > m.term) {
      return `${name}: snapshot term ${m.snapshot.metadata.term} is above the message term ${m.term}`;
    }
  } else if (m.snapshot !== null) {
    return `${name}: carries a snapshot`;
  }
  return null;
}
