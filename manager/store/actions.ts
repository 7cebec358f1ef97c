// The vocabulary of one raft entry: a batch of actions proposed together and applied
// all-or-nothing. Actions carry object bodies without the fields apply stamps (Version,
// CreatedAt, UpdatedAt); the batch carries the proposer's clock once, in `at`.
import { deepFreeze } from './frozen.js';
import type { Frozen } from './frozen.js';
import type { ObjectKind, StoredObject } from './objects.js';

/** A stored object minus the fields apply sets: ID plus kind-specific fields. */
export type ObjectBody = { readonly ID: string; readonly [field: string]: unknown };

export interface CreateAction {
  readonly op: 'create';
  readonly kind: ObjectKind;
  readonly object: ObjectBody;
}

export interface UpdateAction {
  readonly op: 'update';
  readonly kind: ObjectKind;
  /** The Version.Index the proposer read; apply rejects the batch if the object has moved on. */
  readonly expectedVersion: number;
  readonly object: ObjectBody;
}

export interface DeleteAction {
  readonly op: 'delete';
  readonly kind: ObjectKind;
  readonly id: string;
  /** When set, apply rejects the batch unless the object is still at this version. */
  readonly expectedVersion?: number;
}

export type Action = CreateAction | UpdateAction | DeleteAction;

export interface Batch {
  /** RFC 3339, from the proposer's clock: every manager stamps CreatedAt/UpdatedAt with it. */
  readonly at: string;
  readonly actions: readonly Action[];
}

/** The stored form of a body: meta fields first (as the Engine API lists them), frozen. */
export function storedObject(body: ObjectBody, versionIndex: number, createdAt: string, updatedAt: string): Frozen<StoredObject> {
  const { ID, Version: _version, CreatedAt: _createdAt, UpdatedAt: _updatedAt, ...fields } = body;
  return deepFreeze({ ID, Version: { Index: versionIndex }, CreatedAt: createdAt, UpdatedAt: updatedAt, ...fields }) as unknown as Frozen<StoredObject>;
}

/** The body of a stored (or pending) object, for putting it in an action. */
export function bodyOf(object: Frozen<StoredObject>): ObjectBody {
  const { Version: _version, CreatedAt: _createdAt, UpdatedAt: _updatedAt, ...body } = object;
  return body;
}
