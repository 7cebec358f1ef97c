// The shapes of stored objects. They follow the Docker Engine API's swarm objects closely enough
// that the API layer converts them field for field; fields the store itself never reads are
// typed loosely on purpose, so that the API and the components own their details.

/** Optimistic-concurrency token: the raft index of the object's last change. */
export interface Version {
  Index: number;
}

/** Fields every stored object carries; the store sets them, callers never do. */
export interface ObjectMeta {
  /** 25 lowercase alphanumerics (see object-id.ts). */
  ID: string;
  Version: Version;
  /** RFC 3339; the proposer's clock, carried in the raft entry so every manager agrees. */
  CreatedAt: string;
  UpdatedAt: string;
}

export type Labels = Record<string, string>;

export type NodeRole = 'worker' | 'manager';
export type NodeAvailability = 'active' | 'pause' | 'drain';

export interface NodeSpec {
  Name?: string;
  Labels?: Labels;
  Role: NodeRole;
  Availability: NodeAvailability;
  [field: string]: unknown;
}

export interface Node extends ObjectMeta {
  Spec: NodeSpec;
  Description?: { Hostname?: string; [field: string]: unknown };
  Status?: { State?: string; Message?: string; Addr?: string; [field: string]: unknown };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string; [field: string]: unknown };
}

export interface ServiceSpec {
  Name: string;
  Labels?: Labels;
  TaskTemplate?: Record<string, unknown>;
  Mode?: Record<string, unknown>;
  UpdateConfig?: Record<string, unknown>;
  RollbackConfig?: Record<string, unknown>;
  EndpointSpec?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface Service extends ObjectMeta {
  Spec: ServiceSpec;
  PreviousSpec?: ServiceSpec;
  Endpoint?: Record<string, unknown>;
  UpdateStatus?: Record<string, unknown>;
}

/** Swarm's task lifecycle, in order; see DESIGN.md "Tasks". */
export const TASK_STATES = [
  'new', 'pending', 'assigned', 'accepted', 'preparing', 'starting', 'running',
  'complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export interface TaskStatus {
  Timestamp?: string;
  State: TaskState;
  Message?: string;
  Err?: string;
  ContainerStatus?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface Task extends ObjectMeta {
  Name?: string;
  Labels?: Labels;
  Spec: Record<string, unknown>;
  ServiceID: string;
  /** 1..N for replicated services, 0..TotalCompletions-1 for replicated jobs (as SwarmKit); absent (or 0) for global services, whose tasks are keyed by node. */
  Slot?: number;
  /** Empty until the scheduler assigns the task. */
  NodeID?: string;
  DesiredState: TaskState;
  Status: TaskStatus;
  NetworksAttachments?: Record<string, unknown>[];
  /** The service's name and labels when the task was made (SwarmKit's Task.ServiceAnnotations): workers name containers after it. */
  ServiceAnnotations?: { Name: string; Labels?: Labels };
  /** The service's Endpoint when the task was made: its host-mode published ports are bound on the task's node. */
  Endpoint?: Record<string, unknown>;
  AssignedGenericResources?: Record<string, unknown>[];
  JobIteration?: Version;
}

export interface Network extends ObjectMeta {
  Spec: { Name: string; Labels?: Labels; [field: string]: unknown };
  /** Allocator-owned state (subnets, gateway, VXLAN id). */
  IPAMOptions?: Record<string, unknown>;
  DriverState?: Record<string, unknown>;
}

export interface Secret extends ObjectMeta {
  /** Data is base64, as in the Engine API; encryption at rest is the caller's concern. */
  Spec: { Name: string; Labels?: Labels; Data?: string; [field: string]: unknown };
}

export interface Config extends ObjectMeta {
  Spec: { Name: string; Labels?: Labels; Data?: string; [field: string]: unknown };
}

export interface Cluster extends ObjectMeta {
  Spec: { Name: string; Labels?: Labels; [field: string]: unknown };
  /** Join tokens, root CA, TLS info: owned by manager/ca. */
  JoinTokens?: Record<string, unknown>;
  TLSInfo?: Record<string, unknown>;
  RootRotationInProgress?: boolean;
}

export interface ObjectsByKind {
  node: Node;
  service: Service;
  task: Task;
  network: Network;
  secret: Secret;
  config: Config;
  cluster: Cluster;
}

export type ObjectKind = keyof ObjectsByKind;

/** Every kind, in the fixed order snapshots list them. */
export const OBJECT_KINDS: readonly ObjectKind[] = [
  'node', 'service', 'task', 'network', 'secret', 'config', 'cluster',
];

export function isObjectKind(value: unknown): value is ObjectKind {
  return typeof value === 'string' && (OBJECT_KINDS as readonly string[]).includes(value);
}

export type StoredObject = ObjectsByKind[ObjectKind];

/**
 * What a caller hands to create: everything but the fields the store sets; ID is optional.
 * (Top-level object types have no index signature precisely so this Omit keeps their fields.)
 */
export type NewObject<K extends ObjectKind> = Omit<ObjectsByKind[K], keyof ObjectMeta> & { ID?: string };
