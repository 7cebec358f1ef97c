// What a daemon remembers about its place in a cluster, in <data-dir>/state.json: enough to come
// back as the same node after a restart. Certificates live beside it (certificates/), the raft
// log and store under raft/.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface NodeState {
  nodeId: string;
  role: 'manager' | 'worker';
  clusterId: string;
  /** Raft member id (managers only). */
  raftId: number;
  /** Where this node serves cluster traffic (raft, CA, dispatcher), e.g. 0.0.0.0:2377. */
  listenAddr: string;
  /** The address other nodes use to reach this one, host:port. */
  advertiseAddr: string;
  /** Managers known at the last contact, for a worker to reconnect after a restart. */
  managers: string[];
}

const STATE_FILE = 'state.json';

export function loadNodeState(dataDir: string): NodeState | null {
  try {
    return JSON.parse(readFileSync(join(dataDir, STATE_FILE), 'utf8')) as NodeState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read ${join(dataDir, STATE_FILE)}: ${(err as Error).message}`);
  }
}

/** Written to a temporary file and renamed, so a crash never leaves half a state file. */
export function saveNodeState(dataDir: string, state: NodeState): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const tmp = join(dataDir, `${STATE_FILE}.tmp`);
  writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(tmp, join(dataDir, STATE_FILE));
}

/** Forgets the cluster: state, certificates and raft data (after `leave`). */
export function clearNodeState(dataDir: string): void {
  for (const name of [STATE_FILE, 'certificates', 'raft']) rmSync(join(dataDir, name), { recursive: true, force: true });
}
