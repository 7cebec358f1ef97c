// The parts of Engine API objects the CLI reads (catalog §2–4). Everything the daemon may leave out
// is optional, because the docker CLI tolerates missing keys and so does berth. Objects are sent
// back (node and swarm specs on update) exactly as received, so unknown keys survive.

export interface Version {
  Index: number;
}

export interface NodeSpec {
  Name?: string;
  Labels?: Record<string, string> | null;
  Role?: 'worker' | 'manager';
  Availability?: 'active' | 'pause' | 'drain';
  [key: string]: unknown;
}

export interface Node {
  ID: string;
  Version: Version;
  CreatedAt?: string;
  UpdatedAt?: string;
  Spec: NodeSpec;
  Description?: {
    Hostname?: string;
    Platform?: { Architecture?: string; OS?: string };
    Resources?: { NanoCPUs?: number; MemoryBytes?: number };
    Engine?: { EngineVersion?: string; Labels?: Record<string, string>; Plugins?: { Type: string; Name: string }[] };
    TLSInfo?: { TrustRoot?: string; CertIssuerSubject?: string; CertIssuerPublicKey?: string };
  };
  Status?: { State?: string; Message?: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string };
}

export interface SwarmSpec {
  Name?: string;
  Orchestration?: { TaskHistoryRetentionLimit?: number };
  Raft?: { SnapshotInterval?: number; KeepOldSnapshots?: number; HeartbeatTick?: number; ElectionTick?: number };
  Dispatcher?: { HeartbeatPeriod?: number };
  CAConfig?: { NodeCertExpiry?: number; ForceRotate?: number; SigningCACert?: string; ExternalCAs?: { Protocol: string; URL: string }[] };
  EncryptionConfig?: { AutoLockManagers?: boolean };
  [key: string]: unknown;
}

/** GET /swarm: the cluster as /info shows it, plus the join tokens. */
export interface Swarm {
  ID: string;
  Version: Version;
  Spec: SwarmSpec;
  RootRotationInProgress?: boolean;
  DefaultAddrPool?: string[] | null;
  SubnetSize?: number;
  DataPathPort?: number;
  JoinTokens?: { Worker: string; Manager: string };
}

export interface Info {
  ID?: string;
  Name?: string;
  ServerVersion?: string;
  Containers?: number;
  ContainersRunning?: number;
  ContainersPaused?: number;
  ContainersStopped?: number;
  Images?: number;
  KernelVersion?: string;
  OperatingSystem?: string;
  OSType?: string;
  Architecture?: string;
  NCPU?: number;
  MemTotal?: number;
  DockerRootDir?: string;
  Debug?: boolean;
  Labels?: string[];
  ExperimentalBuild?: boolean;
  Warnings?: string[] | null;
  Swarm?: {
    NodeID?: string;
    NodeAddr?: string;
    LocalNodeState?: string;
    ControlAvailable?: boolean;
    Error?: string;
    RemoteManagers?: { NodeID: string; Addr: string }[] | null;
    Nodes?: number;
    Managers?: number;
    Cluster?: Omit<Swarm, 'JoinTokens'> | null;
  };
}

export interface VersionComponent {
  Name: string;
  Version: string;
  Details?: Record<string, string>;
}

export interface ServerVersion {
  Platform?: { Name?: string };
  Components?: VersionComponent[];
  Version?: string;
  ApiVersion?: string;
  MinAPIVersion?: string;
  GitCommit?: string;
  GoVersion?: string;
  Os?: string;
  Arch?: string;
  KernelVersion?: string;
  Experimental?: boolean;
  BuildTime?: string;
}

export interface Task {
  ID: string;
  CreatedAt?: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  DesiredState?: string;
  Spec?: { ContainerSpec?: { Image?: string } };
  Status?: {
    Timestamp?: string;
    State?: string;
    Err?: string;
    PortStatus?: { Ports?: { Protocol?: string; TargetPort?: number; PublishedPort?: number }[] };
  };
}

export interface Service {
  ID: string;
  Spec?: { Name?: string };
}
