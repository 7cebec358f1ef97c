// The store's only view of consensus. manager/raft's RaftNode implements ReplicatedLog and
// drives a StateMachine; the store codes against these two interfaces and imports nothing else
// from raft (its tests run it on real in-process RaftNodes).

export interface ReplicatedLog {
  /**
   * Proposes data; resolves once committed AND applied locally, with whatever
   * StateMachine.apply returned for it. Rejects with an Error whose `code` is 'NOT_LEADER'
   * (and has `leaderId: number`, 0 if unknown), 'NO_QUORUM', 'PROPOSAL_DROPPED',
   * 'PROPOSAL_TOO_LARGE' or 'STOPPED'.
   */
  propose(data: Uint8Array): Promise<{ index: number; result: unknown }>;
  /**
   * Linearizable read barrier: resolves once the local state reflects every write committed
   * before the call (ReadIndex). Rejects like propose.
   */
  readIndex(): Promise<void>;
  readonly isLeader: boolean;
}

export interface StateMachine {
  /**
   * Applies one committed entry, in log order; deterministic (same result on every manager).
   * The return value reaches the proposer.
   */
  apply(index: number, data: Uint8Array): unknown;
  /** Serializes all state as of the last applied index. */
  snapshot(): Uint8Array;
  /** Replaces all state with a snapshot taken at `index`. */
  restore(data: Uint8Array, index: number): void;
}

/** The error codes ReplicatedLog promises; anything else is a bug and is passed through as is. */
export type ReplicatedLogErrorCode =
  | 'NOT_LEADER'
  | 'NO_QUORUM'
  | 'PROPOSAL_DROPPED'
  | 'PROPOSAL_TOO_LARGE'
  | 'STOPPED';
