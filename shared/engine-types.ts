// Docker Engine API (v1.41) shapes for the swarm bootstrap subset, as they travel on the wire:
// field names and nesting follow dockerd's JSON exactly, so the API, the daemon and clients
// share one definition. Durations are int64 nanoseconds, timestamps RFC 3339 in UTC.

export type NodeRole = 'manager' | 'worker';
export type NodeAvailability = 'active' | 'pause' | 'drain';
export type LocalNodeState = 'inactive' | 'pending' | 'active' | 'error' | 'locked';

export interface ExternalCA {
  Protocol: 'cfssl';
  URL: string;
  Options?: Record<string, string>;
  CACert?: string;
}

/**
 * The cluster-wide settings (`docker swarm update`), complete: every default filled in. (A type
 * alias, not an interface, so it is assignable to the store's loosely typed specs.)
 */
export type SwarmSpec = {
  /** Always "default": dockerd refuses to rename the cluster. */
  Name: string;
  Labels: Record<string, string>;
  Orchestration: { TaskHistoryRetentionLimit: number };
  Raft: {
    SnapshotInterval: number;
    KeepOldSnapshots: number;
    LogEntriesForSlowFollowers: number;
    ElectionTick: number;
    HeartbeatTick: number;
  };
  Dispatcher: { HeartbeatPeriod: number };
  CAConfig: {
    NodeCertExpiry: number;
    ExternalCAs?: ExternalCA[];
    SigningCACert?: string;
    /** Accepted on update for the CA to act on; never rendered back. */
    SigningCAKey?: string;
    ForceRotate?: number;
  };
  TaskDefaults: { LogDriver?: { Name: string; Options?: Record<string, string> } };
  EncryptionConfig: { AutoLockManagers: boolean };
};

/** `POST /swarm/init`, after the API has validated it and filled every default. */
export interface SwarmInitRequest {
  ListenAddr: string;
  AdvertiseAddr: string;
  DataPathAddr: string;
  DataPathPort: number;
  ForceNewCluster: boolean;
  Spec: SwarmSpec;
  AutoLockManagers: boolean;
  Availability: NodeAvailability;
  /** CIDRs for overlay subnets; empty means the allocator's default pool. */
  DefaultAddrPool: string[];
  SubnetSize: number;
}

/** `POST /swarm/join`, validated, Availability defaulted. */
export interface SwarmJoinRequest {
  ListenAddr: string;
  AdvertiseAddr: string;
  DataPathAddr: string;
  RemoteAddrs: string[];
  JoinToken: string;
  Availability: NodeAvailability;
}

export interface TLSInfo {
  TrustRoot: string;
  /** Base64 DER of the root CA's subject. */
  CertIssuerSubject: string;
  /** Base64 DER of the root CA's public key. */
  CertIssuerPublicKey: string;
}

export interface JoinTokens {
  Worker: string;
  Manager: string;
}

export interface ObjectVersion {
  Index: number;
}

/** The cluster object as `/info` shows it (Swarm.Cluster). */
export interface ClusterInfo {
  ID: string;
  Version: ObjectVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: SwarmSpec;
  TLSInfo: TLSInfo;
  RootRotationInProgress: boolean;
  DefaultAddrPool: string[] | null;
  SubnetSize: number;
  DataPathPort: number;
}

/** `GET /swarm`: the cluster plus its join tokens. */
export interface SwarmInspect extends ClusterInfo {
  JoinTokens: JoinTokens;
}

export interface PeerInfo {
  NodeID: string;
  Addr: string;
}

/** The `Swarm` section of `GET /info`; Nodes, Managers and Cluster only on managers. */
export interface SwarmInfo {
  NodeID: string;
  NodeAddr: string;
  LocalNodeState: LocalNodeState;
  ControlAvailable: boolean;
  Error: string;
  RemoteManagers: PeerInfo[] | null;
  Nodes?: number;
  Managers?: number;
  Cluster?: ClusterInfo;
}

/** A type alias for the same reason as SwarmSpec. */
export type EngineNodeSpec = {
  Name?: string;
  Labels: Record<string, string>;
  Role: NodeRole;
  Availability: NodeAvailability;
};

export interface ManagerStatus {
  /** Present (true) only on the leader. */
  Leader?: boolean;
  Reachability: 'reachable' | 'unreachable' | 'unknown';
  Addr: string;
}

/** A node as `GET /nodes` shows it; ManagerStatus only on raft members. */
export interface EngineNode {
  ID: string;
  Version: ObjectVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: EngineNodeSpec;
  Description: {
    Hostname?: string;
    Platform: { Architecture: string; OS: string };
    Resources: { NanoCPUs: number; MemoryBytes: number; [field: string]: unknown };
    Engine: { EngineVersion?: string; Labels?: Record<string, string>; Plugins?: { Type: string; Name: string }[] };
    TLSInfo: TLSInfo;
    [field: string]: unknown;
  };
  Status: { State: string; Message?: string; Addr?: string };
  ManagerStatus?: ManagerStatus;
}

// ---- services (`docker service …`) ----

export type RestartCondition = 'none' | 'on-failure' | 'any';
export type UpdateFailureAction = 'pause' | 'continue' | 'rollback';
export type UpdateOrder = 'stop-first' | 'start-first';
export type PortProtocol = 'tcp' | 'udp' | 'sctp';
export type PortPublishMode = 'ingress' | 'host';

/** EndpointSpec.Ports[] and Endpoint.Ports[]. */
export type EnginePortConfig = {
  Name?: string;
  Protocol: PortProtocol;
  TargetPort: number;
  /** 0 in a spec: the manager picks one (ingress) or the worker does (host). */
  PublishedPort?: number;
  PublishMode: PortPublishMode;
};

/** UpdateConfig and RollbackConfig; durations in nanoseconds. */
export type EngineUpdateConfig = {
  Parallelism: number;
  Delay?: number;
  FailureAction: UpdateFailureAction;
  Monitor?: number;
  MaxFailureRatio: number;
  Order: UpdateOrder;
};

export type EngineServiceMode =
  | { Replicated: { Replicas: number } }
  | { Global: Record<string, never> }
  | { ReplicatedJob: { MaxConcurrent: number; TotalCompletions: number } }
  | { GlobalJob: Record<string, never> };

/**
 * A service spec as stored and shown with `insertDefaults=false`: what the client sent, with
 * dockerd's conversion-time normalisation (Mode, RestartPolicy.Condition, UpdateConfig enums,
 * EndpointSpec.Mode, Runtime, Isolation). Fields Berth does not interpret pass through as sent.
 */
export type EngineServiceSpec = {
  Name: string;
  Labels: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: { Image: string; Isolation?: string; StopGracePeriod?: number; [field: string]: unknown };
    Resources?: {
      Limits?: { NanoCPUs?: number; MemoryBytes?: number; Pids?: number };
      Reservations?: { NanoCPUs?: number; MemoryBytes?: number; [field: string]: unknown };
    };
    RestartPolicy?: { Condition: RestartCondition; Delay?: number; MaxAttempts: number; Window?: number };
    Placement?: {
      Constraints?: string[];
      Preferences?: { Spread: { SpreadDescriptor: string } }[];
      MaxReplicas?: number;
      Platforms?: { Architecture: string; OS: string }[];
    };
    Networks?: { Target: string; Aliases?: string[]; DriverOpts?: Record<string, string> }[];
    ForceUpdate: number;
    Runtime: string;
    [field: string]: unknown;
  };
  Mode: EngineServiceMode;
  UpdateConfig?: EngineUpdateConfig;
  RollbackConfig?: EngineUpdateConfig;
  EndpointSpec?: { Mode: 'vip' | 'dnsrr'; Ports?: EnginePortConfig[] };
  [field: string]: unknown;
};

/** `ServiceStatus`, only with `GET /services?status=true`. */
export interface EngineServiceStatus {
  RunningTasks: number;
  DesiredTasks: number;
  CompletedTasks: number;
}

export type UpdateState = 'updating' | 'paused' | 'completed' | 'rollback_started' | 'rollback_paused' | 'rollback_completed';

/** A service as `GET /services` shows it. PreviousSpec only after an update; UpdateStatus only once one started. */
export interface EngineService {
  ID: string;
  Version: ObjectVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: EngineServiceSpec;
  PreviousSpec?: EngineServiceSpec;
  Endpoint: { Spec: Partial<NonNullable<EngineServiceSpec['EndpointSpec']>>; Ports?: EnginePortConfig[]; VirtualIPs?: { NetworkID: string; Addr: string }[] };
  UpdateStatus?: { State: UpdateState; StartedAt?: string; CompletedAt?: string; Message: string };
  ServiceStatus?: EngineServiceStatus;
}

/** `POST /services/create` answers 201 with this; Warnings only when there are some (dockerd 20.10 omits it). */
export interface ServiceCreateResponse {
  ID: string;
  Warnings?: string[];
}

/** `POST /services/{id}/update` answers 200 with this (`{"Warnings":null}` when there are none). */
export interface ServiceUpdateResponse {
  Warnings: string[] | null;
}
