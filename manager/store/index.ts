// The store's public surface; other manager components import from here only.
export { Store, DEFAULT_WATCH_HISTORY } from './store.js';
export type { StoreOptions, UpdateResult } from './store.js';
export type { ReplicatedLog, StateMachine, ReplicatedLogErrorCode } from './replicated-log.js';
export type { Transaction } from './transaction.js';
export type { StoreReader, FindQuery } from './query.js';
export type { IndexValuesByKind, ServiceSlot } from './schema.js';
export type { StoreEvent, ChangeAction } from './events.js';
export type { Watch, WatchOptions, Subscription } from './watch-hub.js';
export { thaw } from './frozen.js';
export { isTaskUpToDate, jsonEqual } from './up-to-date.js';
export type { Frozen, Thawed } from './frozen.js';
export { newObjectId, isObjectId, OBJECT_ID_LENGTH } from './object-id.js';
export { OBJECT_KINDS, TASK_STATES, isObjectKind } from './objects.js';
export type {
  ObjectKind, ObjectsByKind, StoredObject, NewObject, ObjectMeta, Version, Labels,
  Node, NodeSpec, NodeRole, NodeAvailability, Service, ServiceSpec, Task, TaskState, TaskStatus,
  Network, Secret, Config, Cluster,
} from './objects.js';
export {
  StoreError, NotLeaderError, NoQuorumError, ProposalDroppedError, ProposalTooLargeError,
  StoreStoppedError, VersionConflictError, NameConflictError, AlreadyExistsError, NotFoundError,
  AmbiguousReferenceError, InvalidActionError, WatchHistoryCompactedError, WatchOverflowError,
  WatchResetError,
} from './errors.js';
export type { StoreErrorCode, ErrorDetails } from './errors.js';
