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
