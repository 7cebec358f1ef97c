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
 * For writes, which only the raft leader can commit. Checked up front so a follower answers
 * "not the leader" instead of whatever its possibly stale state says about the object; a
 * leadership change after this check still surfaces as the store's own error.
 */
export function requireLeader(backend: ClusterBackend): ManagerAccess {
  const access = requireManager(backend);
  // The raft view may still name this manager as leader just after it stepped down.
  if (!access.store.isLeader) throw notLeaderError(access.managers.filter((m) => m.nodeId !== access.local.nodeId));
  return access;
}

/**
 * For reads: dockerd answers every manager's reads from the leader, so a follower must not
 * answer from a state older than what the client may already have seen. Costs one ReadIndex
 * round; without a quorum it fails with the no-leader 503, as dockerd's reads do.
 */
export async function requireManagerForReads(backend: ClusterBackend): Promise<ManagerAccess> {
  const access = requireManager(backend);
  await access.store.readLinearizable();
  return access;
}
