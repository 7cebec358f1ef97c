// Every byte format the store owns, in one place: raft entries (batches) and snapshots are JSON
// in UTF-8, each with a format number so a later format can be told apart. Decoding validates
// shape only (state-dependent checks are apply-batch.ts's), and fails the same way on every
// manager because JSON.parse and these checks are deterministic.
import type { Action, Batch, ObjectBody } from './actions.js';
import { InvalidActionError } from './errors.js';
import type { Frozen } from './frozen.js';
import { isObjectId } from './object-id.js';
import type { ObjectKind, StoredObject } from './objects.js';
import { OBJECT_KINDS, isObjectKind } from './objects.js';

const BATCH_FORMAT = 1;
const SNAPSHOT_FORMAT = 1;

const utf8Encoder = new TextEncoder();
// fatal: invalid UTF-8 is a malformed entry, not something to paper over with U+FFFD.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeBatch(batch: Batch): Uint8Array {
  return utf8Encoder.encode(JSON.stringify({ format: BATCH_FORMAT, at: batch.at, actions: batch.actions }));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isVersionIndex(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function parseJson(data: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(utf8Decoder.decode(data));
  } catch {
    throw new InvalidActionError(`${what} is not UTF-8 JSON`);
  }
}

function decodeBody(kind: ObjectKind, raw: unknown, position: number): ObjectBody {
  if (!isPlainObject(raw)) throw new InvalidActionError(`action ${position}: object must be a JSON object`);
  if (!isObjectId(raw.ID)) throw new InvalidActionError(`action ${position}: ${kind} ID ${JSON.stringify(raw.ID)} is not 25 lowercase alphanumerics`);
  if (!isPlainObject(raw.Spec)) throw new InvalidActionError(`action ${position}: ${kind} ${raw.ID} has no Spec object`);
  return raw as ObjectBody;
}

function decodeAction(raw: unknown, position: number): Action {
  if (!isPlainObject(raw)) throw new InvalidActionError(`action ${position} is not a JSON object`);
  const { op, kind } = raw;
  if (!isObjectKind(kind)) throw new InvalidActionError(`action ${position}: unknown kind ${JSON.stringify(kind)}`);
  switch (op) {
    case 'create':
      return { op, kind, object: decodeBody(kind, raw.object, position) };
    case 'update':
      if (!isVersionIndex(raw.expectedVersion)) throw new InvalidActionError(`action ${position}: update needs a non-negative integer expectedVersion`);
      return { op, kind, expectedVersion: raw.expectedVersion, object: decodeBody(kind, raw.object, position) };
    case 'delete':
      if (!isObjectId(raw.id)) throw new InvalidActionError(`action ${position}: ${kind} ID ${JSON.stringify(raw.id)} is not 25 lowercase alphanumerics`);
      if (raw.expectedVersion !== undefined && !isVersionIndex(raw.expectedVersion)) {
        throw new InvalidActionError(`action ${position}: expectedVersion must be a non-negative integer`);
      }
      return raw.expectedVersion === undefined ? { op, kind, id: raw.id } : { op, kind, id: raw.id, expectedVersion: raw.expectedVersion };
    default:
      throw new InvalidActionError(`action ${position}: unknown op ${JSON.stringify(op)}`);
  }
}

/** Parses and shape-checks a raft entry; throws InvalidActionError. */
export function decodeBatch(data: Uint8Array): Batch {
  const raw = parseJson(data, 'raft entry');
  if (!isPlainObject(raw)) throw new InvalidActionError('raft entry is not a JSON object');
  if (raw.format !== BATCH_FORMAT) throw new InvalidActionError(`unsupported batch format ${JSON.stringify(raw.format)} (this manager reads format ${BATCH_FORMAT})`);
  if (typeof raw.at !== 'string' || Number.isNaN(Date.parse(raw.at))) throw new InvalidActionError('batch timestamp "at" is not an RFC 3339 time');
  if (!Array.isArray(raw.actions)) throw new InvalidActionError('batch has no actions array');
  const actions = raw.actions.map(decodeAction);
  // One action per object keeps apply simple and its outcome independent of action order;
  // Transaction already folds repeated writes to one object into one action.
  const seen = new Set<string>();
  for (const [position, action] of actions.entries()) {
    const id = action.op === 'delete' ? action.id : action.object.ID;
    const key = `${action.kind}/${id}`;
    if (seen.has(key)) throw new InvalidActionError(`action ${position}: ${action.kind} ${id} appears twice in one batch`);
    seen.add(key);
  }
  return { at: raw.at, actions };
}

/**
 * Normalizes a caller's object to exactly what will be stored (a JSON round trip drops
 * undefined fields and turns Dates into strings), so a transaction's view of its own pending
 * writes matches what apply will produce. Also the transaction's defensive copy.
 */
export function toPlainData(value: unknown, what: string): Record<string, unknown> {
  let plain: unknown;
  try {
    plain = JSON.parse(JSON.stringify(value));
  } catch (error) {
    throw new InvalidActionError(`${what} cannot be stored as JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(plain)) throw new InvalidActionError(`${what} must be an object`);
  return plain;
}

export interface SnapshotContents {
  /** The store's applied index when the snapshot was taken. */
  readonly appliedIndex: number;
  /** Every kind's rows in creation order (see table.ts). */
  readonly tables: { readonly [K in ObjectKind]: readonly Frozen<StoredObject>[] };
}

export function encodeSnapshot(contents: SnapshotContents): Uint8Array {
  return utf8Encoder.encode(JSON.stringify({ format: SNAPSHOT_FORMAT, appliedIndex: contents.appliedIndex, tables: contents.tables }));
}

/**
 * Snapshots come from our own snapshot(), so a malformed one means corruption or a version
 * mismatch; that throws a plain Error for the raft driver to stop on, rather than a rejection.
 */
export function decodeSnapshot(data: Uint8Array): SnapshotContents {
  let raw: unknown;
  try {
    raw = JSON.parse(utf8Decoder.decode(data));
  } catch (error) {
    throw new Error(`store snapshot is not UTF-8 JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(raw) || raw.format !== SNAPSHOT_FORMAT) {
    throw new Error(`store snapshot has unsupported format ${JSON.stringify(isPlainObject(raw) ? raw.format : raw)} (this manager reads format ${SNAPSHOT_FORMAT})`);
  }
  if (!isVersionIndex(raw.appliedIndex) || !isPlainObject(raw.tables)) throw new Error('store snapshot lacks appliedIndex or tables');
  const tables = raw.tables;
  for (const kind of OBJECT_KINDS) {
    const rows = tables[kind] ?? [];
    if (!Array.isArray(rows) || !rows.every((row) => isPlainObject(row) && isObjectId(row.ID))) {
      throw new Error(`store snapshot table "${kind}" is malformed`);
    }
    tables[kind] = rows;
  }
  return raw as unknown as SnapshotContents;
}
