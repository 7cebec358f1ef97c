// Reading through indexes: the query shape callers use, and how a query picks its rows.
import { InvalidActionError } from './errors.js';
import type { Frozen } from './frozen.js';
import type { ObjectKind, ObjectsByKind, StoredObject } from './objects.js';
import type { IndexValuesByKind } from './schema.js';
import { indexesOf } from './schema.js';
import type { Table } from './table.js';

/**
 * Index constraints (all must hold) plus an optional predicate, e.g.
 * `{ serviceId, desiredState: 'running' }` or `{ slot: { serviceId, slot: 3 } }`.
 */
export type FindQuery<K extends ObjectKind> = Partial<IndexValuesByKind[K]> & {
  where?: (object: Frozen<ObjectsByKind[K]>) => boolean;
};

/** Local reads; implemented by the Store (committed state) and by a Transaction (plus its writes). */
export interface StoreReader {
  get<K extends ObjectKind>(kind: K, id: string): Frozen<ObjectsByKind[K]> | undefined;
  /** Matching objects in creation order (a transaction lists its own writes last). */
  find<K extends ObjectKind>(kind: K, query?: FindQuery<K>): Frozen<ObjectsByKind[K]>[];
  /**
   * Resolves what a user typed, as the Engine API does: exact ID, then exact name
   * (case-insensitive), then unique ID prefix. Throws NotFoundError or AmbiguousReferenceError.
   */
  lookup<K extends ObjectKind>(kind: K, reference: string): Frozen<ObjectsByKind[K]>;
}

/** A query with the per-kind typing erased, for code that handles every kind alike. */
export type AnyQuery = { readonly [index: string]: unknown; readonly where?: (object: Frozen<StoredObject>) => boolean };

interface IndexConstraint {
  index: string;
  key: string;
}

function constraintsOf(kind: ObjectKind, query: AnyQuery): IndexConstraint[] {
  const indexes = indexesOf(kind);
  const constraints: IndexConstraint[] = [];
  for (const [name, value] of Object.entries(query)) {
    if (name === 'where' || value === undefined) continue;
    const index = indexes[name];
    if (!index) throw new InvalidActionError(`${kind} has no index "${name}" (indexes: ${Object.keys(indexes).join(', ')})`);
    constraints.push({ index: name, key: index.keyFor(value) });
  }
  return constraints;
}

function satisfies(kind: ObjectKind, object: Frozen<StoredObject>, constraints: IndexConstraint[], query: AnyQuery): boolean {
  const indexes = indexesOf(kind);
  for (const { index, key } of constraints) {
    if (!indexes[index].keysOf(object).includes(key)) return false;
  }
  return query.where ? query.where(object) : true;
}

export function matchesQuery(kind: ObjectKind, object: Frozen<StoredObject>, query: AnyQuery = {}): boolean {
  return satisfies(kind, object, constraintsOf(kind, query), query);
}

/** Starts from the most selective index constraint, then checks the rest on each candidate. */
export function findInTable(kind: ObjectKind, table: Table<Frozen<StoredObject>>, query: AnyQuery = {}): Frozen<StoredObject>[] {
  const constraints = constraintsOf(kind, query);
  if (constraints.length === 0) {
    const all = [...table.values()];
    return query.where ? all.filter(query.where) : all;
  }
  let narrowest = constraints[0];
  for (const c of constraints) {
    if (table.countByIndex(c.index, c.key) < table.countByIndex(narrowest.index, narrowest.key)) narrowest = c;
  }
  const rest = constraints.filter((c) => c !== narrowest);
  return table.byIndex(narrowest.index, narrowest.key).filter((o) => satisfies(kind, o, rest, query));
}
