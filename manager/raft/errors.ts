// Errors the library reports to its callers. Each has a stable `code` so layers above
// (the store, the API) can map them without matching on message text.

export class RaftError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'RaftError';
  }
}

/** Writes go to the leader; this node is not it. leaderId is 0 when no leader is known. */
export class NotLeaderError extends RaftError {
  constructor(readonly leaderId: number, readonly leaderAddress?: string) {
    super('NOT_LEADER', leaderId
      ? `not the leader: the leader is node ${leaderId.toString(16)}${leaderAddress ? ` at ${leaderAddress}` : ''}`
      : 'not the leader, and no leader is known (election in progress or quorum lost)');
  }
}

/** The proposal was certainly not applied (overwritten by another leader's entry, or refused): safe to retry. */
export class ProposalDroppedError extends RaftError {
  constructor(reason: string) {
    super('PROPOSAL_DROPPED', `proposal dropped: ${reason}`);
  }
}

export class ProposalTooLargeError extends RaftError {
  constructor(size: number, limit: number) {
    super('PROPOSAL_TOO_LARGE', `proposal of ${size} bytes exceeds the limit of ${limit} bytes`);
  }
}

/** No quorum confirmed in time. For a write the outcome is unknown: it may still take effect. */
export class NoQuorumError extends RaftError {
  constructor(detail: string) {
    super('NO_QUORUM', `no quorum: ${detail}`);
  }
}

export class ConfChangeError extends RaftError {
  constructor(message: string) {
    super('CONF_CHANGE_REJECTED', message);
  }
}

export class StoppedError extends RaftError {
  constructor() {
    super('STOPPED', 'raft node is stopped');
  }
}
