// The vocabulary of the Raft library: log entries, persistent state, snapshots and the
// messages peers exchange. These are plain data; proto/raft.proto is their wire form.

/** Node ids are positive integers; 0 means "nobody" (no vote, no known leader). */
export const NONE = 0;

export enum EntryType {
  Normal = 0,
  /** data is an encoded ConfChange (see conf-change.ts). */
  ConfChange = 1,
}

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** What must be on disk before any message that depends on it is sent (Raft §5, Figure 2). */
export interface HardState {
  term: number;
  vote: number;
  commit: number;
}

export interface ConfState {
  voters: number[];
  learners: number[];
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  /** The application's serialized state at metadata.index. */
  data: Uint8Array;
}

export enum ConfChangeType {
  /** Adds a non-voting member that receives the log but does not count for quorum. */
  AddLearner = 0,
  /** Adds a voter, or promotes a learner to voter. */
  AddVoter = 1,
  Remove = 2,
}

export interface ConfChange {
  type: ConfChangeType;
  nodeId: number;
  /** Opaque to raft: the driver uses it to carry the member's address. */
  context: Uint8Array;
}

export enum MessageType {
  // Messages that travel between peers.
  Append = 1,
  AppendResponse = 2,
  Vote = 3,
  VoteResponse = 4,
  PreVote = 5,
  PreVoteResponse = 6,
  Heartbeat = 7,
  HeartbeatResponse = 8,
  Snapshot = 9,
  TimeoutNow = 10,
  ReadIndex = 11,
  ReadIndexResponse = 12,
}

/**
 * One message between peers. Fields not used by a type are zero/empty, as in etcd's raftpb:
 * - Append: index/logTerm = the entry preceding `entries`; commit = leader's commit.
 * - AppendResponse: index = last index matched (or the rejected index), rejectHint = follower's
 *   last index when rejecting, logTerm = term at rejectHint (for fast back-off).
 * - Vote/PreVote: index/logTerm = candidate's last log position; context = TRANSFER_CONTEXT when
 *   the election was started by a leadership transfer (voters then ignore their leader lease).
 * - Heartbeat: commit = min(leader commit, follower match); context = read-index request id.
 * - ReadIndex/ReadIndexResponse: context = request id, index = the read index.
 */
export interface Message {
  type: MessageType;
  from: number;
  to: number;
  term: number;
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  rejectHint: number;
  snapshot: Snapshot | null;
  context: Uint8Array;
}

export enum Role {
  Follower = 'follower',
  PreCandidate = 'pre-candidate',
  Candidate = 'candidate',
  Leader = 'leader',
}

/** A completed ReadIndex request: once applied >= index, local reads see every write acknowledged before the request. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
  /** The read could not be served (no leader, leadership lost): the caller should retry or fail. */
  rejected?: boolean;
}

export interface SoftState {
  lead: number;
  role: Role;
}

/**
 * The batch of work the pure core hands its driver. The driver must, in order:
 * 1. persist `snapshot` (if any), `entries` and `hardState` (if any) — one synced write;
 * 2. send `messages`;
 * 3. apply `committedEntries` to the state machine (ConfChange entries via RaftCore.applyConfChange);
 * 4. call RaftCore.advance(ready).
 */
export interface Ready {
  softState: SoftState | null;
  hardState: HardState | null;
  entries: Entry[];
  snapshot: Snapshot | null;
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  /** False when nothing durable changed (only messages/commit), so the driver may skip fsync. */
  mustSync: boolean;
}

export const EMPTY = new Uint8Array(0);

export function emptyMessage(type: MessageType, from: number, to: number, term: number): Message {
  return {
    type, from, to, term,
    logTerm: 0, index: 0, entries: [], commit: 0,
    reject: false, rejectHint: 0, snapshot: null, context: EMPTY,
  };
}

export function emptyHardState(): HardState {
  return { term: 0, vote: NONE, commit: 0 };
}

export function emptySnapshot(): Snapshot {
  return { metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } }, data: EMPTY };
}

export function isEmptySnapshot(s: Snapshot | null): boolean {
  return s === null || s.metadata.index === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** Bytes an entry costs against message and log size limits (data plus a fixed header). */
export function entrySize(e: Entry): number {
  return e.data.byteLength + 24;
}
