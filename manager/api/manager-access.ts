// Which daemons may serve cluster state. Only a manager with a working store does; everyone
// else gets dockerd's 503 for their situation (outside a swarm, a worker, a locked swarm, a
// manager still starting), which the CLI prints as is.
import { apiError } from '../../shared/errors.js';
import type { Store } from '../store/index.js';
import type { ClusterBackend, LocalNodeInfo, ManagerMemberStatus } from './backend.js';
import { notLeaderError } from './store-errors.js';

export interface ManagerAccess {
  readonly store: Store;
  /** Raft membership; empty if the daemon could not tell (treated as "no member is known"). */
  readonly managers: readonly ManagerMemberStatus[];
  readonly local: LocalNodeInfo;
}

/** A manager with a working store: enough for answers that need no cluster state (unlock key). */
export function requireManager(backend: ClusterBackend): ManagerAccess {
  const local = backend.local();
  if (local.state === 'locked') throw apiError('SWARM_LOCKED');
  if (local.role === 'worker') throw apiError('WORKER_NODE');
  if (local.role === null || local.state === 'inactive') throw apiError('NOT_IN_SWARM');
  const store = backend.store();
  if (!local.controlAvailable || store === null) throw apiError('MANAGER_NOT_READY');
  return { store, managers: backend.managers() ?? [], local };
}

/**
 * For writes. Any manager takes them, as in Docker Swarm: a follower's raft node forwards the
 * proposal to the leader (version checks at apply time keep a follower's slightly stale reads
 * safe). With no leader known the write fails with dockerd's no-leader 503.
 */
export function requireManagerForWrites(backend: ClusterBackend): ManagerAccess {
  const access = requireManager(backend);
  if (!access.store.isLeader && !access.managers.some((m) => m.leader)) {
    throw notLeaderError(access.managers.filter((m) => m.nodeId !== access.local.nodeId));
  }
  return access;
}

/**
 * For reads: dockerd answers every manager's reads from the leader, so a follower must not
 * answer from a state older than what the client may already have seen — one ReadIndex round.
 * Unlike dockerd, when there is no leader or no quorum the manager still answers from its own
 * state (operators need `node ls` most when the cluster is broken); writes keep failing.
 */
export async function requireManagerForReads(backend: ClusterBackend): Promise<ManagerAccess> {
  const access = requireManager(backend);
  try {
    await access.store.readLinearizable();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'NO_QUORUM' && code !== 'NOT_LEADER' && code !== 'PROPOSAL_DROPPED') throw err;
  }
  return access;
}
