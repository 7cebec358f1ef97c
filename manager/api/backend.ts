// What the API needs from the daemon it runs in. The daemon implements this; the API never
// reaches into raft, the CA or the host directly, so it runs the same on a manager, a worker and
// a daemon outside any swarm, and tests drive it with a small fake.
import type { Store } from '../store/index.js';
import type { LocalNodeState, NodeRole, SwarmInitRequest, SwarmJoinRequest } from '../../shared/engine-types.js';
import type { LogRecord, SubscribeLogsRequest } from '../../shared/log-protocol.js';

export type { SwarmInitRequest, SwarmJoinRequest } from '../../shared/engine-types.js';

/** This daemon's place in a swarm, as `/info` and `/_ping` report it. */
export interface LocalNodeInfo {
  state: LocalNodeState;
  /** Empty outside a swarm. */
  nodeId: string;
  /** The address other nodes reach this one at (no port); empty outside a swarm. */
  nodeAddr: string;
  /** null outside a swarm. */
  role: NodeRole | null;
  /** True once this manager's store and raft are serving (dockerd's ControlAvailable). */
  controlAvailable: boolean;
  /** Why the state is 'error'; empty otherwise. */
  error: string;
  /** Managers this node knows of (host:port of their swarm listener). */
  remoteManagers: { NodeID: string; Addr: string }[];
}

/** One raft member, as this manager sees it. */
export interface ManagerMemberStatus {
  /** The swarm node ID of the member (not its raft id). */
  nodeId: string;
  /** host:port of its swarm listener, shown as ManagerStatus.Addr and in join commands. */
  addr: string;
  leader: boolean;
  /** Whether this manager currently hears from it (the local member is always reachable). */
  reachable: boolean;
}

/** Host facts for `/info`; cheap to call on every request. */
export interface SystemInfo {
  /** The host name (Info.Name). */
  name: string;
  ncpu: number;
  memTotal: number;
  kernelVersion: string;
  operatingSystem: string;
  /** "linux". */
  osType: string;
  /** uname -m style: "x86_64", "aarch64". */
  architecture: string;
  /** Engine labels, "key=value". */
  labels: string[];
}

export interface ClusterBackend {
  local(): LocalNodeInfo;
  /** The replicated store, only on managers (null on workers and outside a swarm). */
  store(): Store | null;
  /** Raft membership as seen by this manager (ManagerStatus, quorum checks); null if not a manager. */
  managers(): ManagerMemberStatus[] | null;
  /**
   * Creates a swarm with this node as its first manager; resolves with the new node ID. The
   * request arrives validated with every default filled in (Spec included). Called only when
   * this node is outside a swarm, or with ForceNewCluster.
   *
   * The API then reads the one 'cluster' object the daemon writes: `Spec` (req.Spec),
   * `JoinTokens: { Worker, Manager }`, `TLSInfo` (else `RootCA.CACert` is shown as TrustRoot;
   * the rest of RootCA is never shown), and at top level `DefaultAddrPool` (omit or [] for the
   * default), `SubnetSize`, `DataPathPort`. Nodes are 'node' objects whose `Description` carries
   * Hostname, Platform, Resources, Engine, and `Status` State/Addr; Spec.Role is the desired role.
   */
  init(req: SwarmInitRequest): Promise<string>;
  /** Joins an existing swarm; called only when this node is outside a swarm. */
  join(req: SwarmJoinRequest): Promise<void>;
  /**
   * Leaves the swarm. The API has already refused an unforced leave that would cost a manager's
   * quorum, with dockerd's warning; `force` is passed on for the daemon's own checks.
   */
  leave(force: boolean): Promise<void>;
  /** A new join token for the current root CA (`SWMTKN-1-…`), for swarm update's rotate flags. */
  newJoinToken(): string;
  systemInfo(): SystemInfo;
  /**
   * Task logs through the leader's log broker (manager/logbroker), on managers. Resolves once the
   * subscription is in place (or rejects with an ApiError); the lines then come in batches,
   * each task's in order, until a request that does not follow is complete or `signal` aborts.
   * Absent where logs are not served (the API refuses with NOT_SUPPORTED).
   */
  logs?(request: SubscribeLogsRequest, signal: AbortSignal): Promise<AsyncIterable<LogRecord[]>>;
}
