// How the store's typed errors reach an Engine API client. Not-found and conflicts keep the
// statuses the CLI branches on; a stale version is dockerd's 500 "update out of sequence"; raft
// trouble is 503 with dockerd's no-leader text, or names the leader when one is known.
import { apiError } from '../../shared/errors.js';
import type { ApiError } from '../../shared/errors.js';
import { NotLeaderError } from '../store/index.js';
import type { StoreError } from '../store/index.js';
import type { ManagerMemberStatus } from './backend.js';

/** Where writes must go, by the raft view's leader; no known leader is dockerd's no-leader case. */
export function notLeaderError(managers: readonly ManagerMemberStatus[] | null, fallback?: NotLeaderError): ApiError {
  const leader = managers?.find((m) => m.leader);
  if (leader) return apiError('NOT_LEADER', { leader: `node ${leader.nodeId} at ${leader.addr}` });
  if (fallback?.leaderAddress) return apiError('NOT_LEADER', { leader: `the manager at ${fallback.leaderAddress}` });
  if (fallback?.leaderId) return apiError('NOT_LEADER', { leader: `raft member ${fallback.leaderId.toString(16)}` });
  return apiError('NO_LEADER');
}

/** The API error for a store error; null for errors that mean a bug (they become a logged 500). */
export function apiErrorFromStore(error: StoreError, managers: readonly ManagerMemberStatus[] | null): ApiError | null {
  const d = error.details;
  switch (error.code) {
    case 'NOT_FOUND':
      return apiError('NOT_FOUND', { kind: String(d.kind), reference: String(d.reference) });
    case 'AMBIGUOUS_REFERENCE':
      return apiError('AMBIGUOUS_REFERENCE', { kind: String(d.kind), reference: String(d.reference), matches: Number(d.matches) });
    case 'NAME_CONFLICT':
      return apiError('NAME_CONFLICT', { kind: String(d.kind), name: String(d.name) });
    case 'ALREADY_EXISTS':
      return apiError('ALREADY_EXISTS', { kind: String(d.kind), id: String(d.id) });
    case 'VERSION_CONFLICT':
      return apiError('UPDATE_OUT_OF_SEQUENCE');
    case 'NOT_LEADER':
      // No known leader is an election in progress or a lost quorum: dockerd's no-leader case.
      return error instanceof NotLeaderError && error.leaderId !== 0 ? notLeaderError(managers, error) : apiError('NO_LEADER');
    case 'NO_QUORUM':
      return apiError('NO_LEADER');
    case 'PROPOSAL_DROPPED':
      return apiError('WRITE_DROPPED');
    case 'PROPOSAL_TOO_LARGE':
      return apiError('TRANSACTION_TOO_LARGE', { bytes: Number(d.bytes) });
    case 'STOPPED':
      return apiError('SHUTTING_DOWN');
    default:
      return null;
  }
}
