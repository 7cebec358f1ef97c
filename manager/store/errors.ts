// The store's error catalogue. Every error has a stable `code` (callers and the API switch on it,
// never on message text) and `details` with the facts the message was built from. Errors decided
// at apply time travel from apply to the proposer as plain `Rejection` data, because the apply
// result must be identical on every manager; the proposer turns it back into a typed error here.
import type { ObjectKind } from './objects.js';

export type StoreErrorCode =
  | 'NOT_LEADER'
  | 'NO_QUORUM'
  | 'PROPOSAL_DROPPED'
  | 'PROPOSAL_TOO_LARGE'
  | 'STOPPED'
  | 'VERSION_CONFLICT'
  | 'NAME_CONFLICT'
  | 'ALREADY_EXISTS'
  | 'NOT_FOUND'
  | 'AMBIGUOUS_REFERENCE'
  | 'INVALID_ACTION'
  | 'WATCH_HISTORY_COMPACTED'
  | 'WATCH_OVERFLOW'
  | 'WATCH_RESET';

export type ErrorDetails = Readonly<Record<string, string | number>>;

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** Writes go through the leader; this manager is not it. leaderId is 0 while none is known. */
export class NotLeaderError extends StoreError {
  constructor(readonly leaderId: number, readonly leaderAddress?: string, options?: ErrorOptions) {
    super('NOT_LEADER', leaderId
      ? `this manager is not the leader; the leader is node ${leaderId.toString(16)}${leaderAddress ? ` at ${leaderAddress}` : ''}`
      : 'this manager is not the leader and no leader is known (election in progress or quorum lost)',
    leaderAddress ? { leaderId, leaderAddress } : { leaderId }, options);
    this.name = 'NotLeaderError';
  }
}

/** A write that timed out this way may still commit later: re-read before retrying it. */
export class NoQuorumError extends StoreError {
  constructor(options?: ErrorOptions) {
    super('NO_QUORUM', 'no quorum of managers answered in time; the cluster cannot take writes or linearizable reads until a majority is back (a timed-out write may still be applied later)', {}, options);
    this.name = 'NoQuorumError';
  }
}

/** Raft lost the write before it committed (leadership changed, or too many in flight): safe to retry. */
export class ProposalDroppedError extends StoreError {
  constructor(options?: ErrorOptions) {
    super('PROPOSAL_DROPPED', 'the write was dropped before it committed and was not applied; retry it', {}, options);
    this.name = 'ProposalDroppedError';
  }
}

export class ProposalTooLargeError extends StoreError {
  constructor(bytes: number, options?: ErrorOptions) {
    super('PROPOSAL_TOO_LARGE', `the transaction encodes to ${bytes} bytes, more than one raft entry may carry; split it into smaller transactions`, { bytes }, options);
    this.name = 'ProposalTooLargeError';
  }
}

export class StoreStoppedError extends StoreError {
  constructor(options?: ErrorOptions) {
    super('STOPPED', 'the store is stopped (this manager is shutting down or left the cluster)', {}, options);
    this.name = 'StoreStoppedError';
  }
}

/** Optimistic concurrency failed: someone changed the object since the caller read it. */
export class VersionConflictError extends StoreError {
  constructor(kind: ObjectKind, id: string, expected: number, actual: number) {
    super('VERSION_CONFLICT',
      `update out of sequence: ${kind} ${id} was read at version ${expected} but is now at version ${actual}; re-read it and retry`,
      { kind, id, expectedVersion: expected, actualVersion: actual });
    this.name = 'VersionConflictError';
  }
}

export class NameConflictError extends StoreError {
  constructor(kind: ObjectKind, name: string, existingId: string) {
    super('NAME_CONFLICT', `${kind} name "${name}" is already in use by ${kind} ${existingId}`,
      { kind, name, existingId });
    this.name = 'NameConflictError';
  }
}

export class AlreadyExistsError extends StoreError {
  constructor(kind: ObjectKind, id: string) {
    super('ALREADY_EXISTS', `${kind} ${id} already exists`, { kind, id });
    this.name = 'AlreadyExistsError';
  }
}

/** `reference` is what the caller asked for: an ID, a name or an ID prefix. */
export class NotFoundError extends StoreError {
  constructor(kind: ObjectKind, reference: string) {
    super('NOT_FOUND', `${kind} ${reference} not found`, { kind, reference });
    this.name = 'NotFoundError';
  }
}

export class AmbiguousReferenceError extends StoreError {
  constructor(kind: ObjectKind, reference: string, matches: number) {
    super('AMBIGUOUS_REFERENCE', `${kind} ${reference} is ambiguous (${matches} matches found); use a longer ID prefix or the full ID`,
      { kind, reference, matches });
    this.name = 'AmbiguousReferenceError';
  }
}

/** The transaction asked for something no state could satisfy (malformed object, bad ID, ...). */
export class InvalidActionError extends StoreError {
  constructor(reason: string) {
    super('INVALID_ACTION', `invalid store action: ${reason}`, { reason });
    this.name = 'InvalidActionError';
  }
}

export class WatchHistoryCompactedError extends StoreError {
  constructor(fromIndex: number, oldestResumableIndex: number) {
    super('WATCH_HISTORY_COMPACTED',
      `cannot resume the watch from index ${fromIndex}: the store only retains events after index ${oldestResumableIndex}; re-list the objects and watch from the store's current index`,
      { fromIndex, oldestResumableIndex });
    this.name = 'WatchHistoryCompactedError';
  }
}

export class WatchOverflowError extends StoreError {
  constructor(limit: number) {
    super('WATCH_OVERFLOW',
      `the watcher fell more than ${limit} events behind and was closed so it would not hold the store back; re-list the objects and watch again`,
      { limit });
    this.name = 'WatchOverflowError';
  }
}

/** A snapshot replaced the whole state, so no event stream can describe the change. */
export class WatchResetError extends StoreError {
  constructor(snapshotIndex: number) {
    super('WATCH_RESET',
      `the store's state was replaced by a snapshot at index ${snapshotIndex}; re-list the objects and watch from index ${snapshotIndex}`,
      { snapshotIndex });
    this.name = 'WatchResetError';
  }
}

/** A deterministic apply-time failure, as plain data (see the file comment). */
export interface Rejection {
  readonly code: StoreErrorCode;
  readonly message: string;
  readonly details: ErrorDetails;
}

export function toRejection(error: StoreError): Rejection {
  return { code: error.code, message: error.message, details: error.details };
}

/** Rebuilds the typed error a rejection was made from, preserving its message and details. */
export function errorFromRejection(rejection: Rejection): StoreError {
  const d = rejection.details;
  const kind = d.kind as ObjectKind;
  switch (rejection.code) {
    case 'VERSION_CONFLICT':
      return new VersionConflictError(kind, String(d.id), Number(d.expectedVersion), Number(d.actualVersion));
    case 'NAME_CONFLICT':
      return new NameConflictError(kind, String(d.name), String(d.existingId));
    case 'ALREADY_EXISTS':
      return new AlreadyExistsError(kind, String(d.id));
    case 'NOT_FOUND':
      return new NotFoundError(kind, String(d.reference));
    case 'INVALID_ACTION':
      return new InvalidActionError(String(d.reason));
    default:
      return new StoreError(rejection.code, rejection.message, d);
  }
}

/**
 * Maps a ReplicatedLog rejection to the store's error; errors without a known code are bugs
 * elsewhere and are returned unchanged so their stack survives.
 */
export function errorFromLog(error: unknown, proposalBytes = 0): unknown {
  if (!(error instanceof Error)) return error;
  const raft = error as Error & { code?: unknown; leaderId?: unknown; leaderAddress?: unknown };
  const cause = { cause: error };
  switch (raft.code) {
    case 'NOT_LEADER':
      return new NotLeaderError(
        typeof raft.leaderId === 'number' ? raft.leaderId : 0,
        typeof raft.leaderAddress === 'string' ? raft.leaderAddress : undefined,
        cause);
    case 'NO_QUORUM':
      return new NoQuorumError(cause);
    case 'PROPOSAL_DROPPED':
      return new ProposalDroppedError(cause);
    case 'PROPOSAL_TOO_LARGE':
      return new ProposalTooLargeError(proposalBytes, cause);
    case 'STOPPED':
      return new StoreStoppedError(cause);
    default:
      return error;
  }
}
