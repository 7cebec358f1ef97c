// What watchers receive and what a successful update returns: one event per written object.
import type { Frozen } from './frozen.js';
import type { ObjectKind, ObjectsByKind } from './objects.js';

export type ChangeAction = 'create' | 'update' | 'delete';

interface EventOf<K extends ObjectKind> {
  /** The raft index of the entry that made the change; every event of one batch shares it. */
  readonly index: number;
  readonly kind: K;
  readonly action: ChangeAction;
  /** The object as written; for 'delete', as it was last stored. */
  readonly object: Frozen<ObjectsByKind[K]>;
  /** For 'update', the object just before the change. */
  readonly oldObject?: Frozen<ObjectsByKind[K]>;
}

/** Discriminated by `kind`, so `if (e.kind === 'task') e.object.ServiceID` type-checks. */
export type StoreEvent = { [K in ObjectKind]: EventOf<K> }[ObjectKind];
