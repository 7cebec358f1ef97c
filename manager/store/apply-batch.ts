// Deciding and applying one batch. planBatch checks every action against the current tables
// without touching them; commitPlan then writes the whole plan. So a rejected batch changes
// nothing, and since both steps read only the tables and the entry, every manager reaches the
// same verdict. The Store also runs planBatch before proposing, to fail fast on doomed batches.
import type { Batch } from './actions.js';
import { storedObject } from './actions.js';
import { AlreadyExistsError, InvalidActionError, NameConflictError, NotFoundError, StoreError, VersionConflictError, toRejection } from './errors.js';
import type { Rejection } from './errors.js';
import type { StoreEvent } from './events.js';
import { deepFreeze } from './frozen.js';
import type { Frozen } from './frozen.js';
import type { ObjectKind, StoredObject } from './objects.js';
import type { Tables } from './schema.js';
import { indexesOf, tableOf } from './schema.js';

interface PlannedWrite {
  readonly kind: ObjectKind;
  readonly id: string;
  readonly action: 'create' | 'update' | 'delete';
  /** The object to store; undefined for a delete. */
  readonly object?: Frozen<StoredObject>;
}

export type BatchOutcome =
  | { readonly ok: true; readonly events: readonly StoreEvent[] }
  | { readonly ok: false; readonly rejection: Rejection };

/** Checks every action against the tables as they are now; throws the first failure, in action order. */
export function planBatch(tables: Tables, index: number, batch: Batch): PlannedWrite[] {
  const plan: PlannedWrite[] = [];
  for (const action of batch.actions) {
    const table = tableOf(tables, action.kind);
    if (action.op === 'create') {
      const id = action.object.ID;
      if (table.get(id)) throw new AlreadyExistsError(action.kind, id);
      plan.push({ kind: action.kind, id, action: 'create', object: storedObject(action.object, index, batch.at, batch.at) });
      continue;
    }
    const id = action.op === 'delete' ? action.id : action.object.ID;
    const current = table.get(id);
    if (!current) throw new NotFoundError(action.kind, id);
    if (action.expectedVersion !== undefined && action.expectedVersion !== current.Version.Index) {
      throw new VersionConflictError(action.kind, id, action.expectedVersion, current.Version.Index);
    }
    if (action.op === 'delete') {
      plan.push({ kind: action.kind, id, action: 'delete' });
    } else {
      // CreatedAt comes from the stored object, never from the proposer.
      plan.push({ kind: action.kind, id, action: 'update', object: storedObject(action.object, index, current.CreatedAt, batch.at) });
    }
  }
  checkIndexConstraints(tables, plan);
  return plan;
}

/**
 * Required and unique index keys, checked against the state the whole batch would leave behind,
 * so a batch may free a name and reuse it, or swap two names, in any action order.
 */
function checkIndexConstraints(tables: Tables, plan: readonly PlannedWrite[]): void {
  const touched = new Set(plan.map((w) => `${w.kind}/${w.id}`));
  const claimedBy = new Map<string, string>();
  for (const write of plan) {
    if (!write.object) continue;
    const table = tableOf(tables, write.kind);
    for (const [indexName, index] of Object.entries(indexesOf(write.kind))) {
      const keys = index.keysOf(write.object);
      if (keys.length === 0 && index.requiredField) {
        throw new InvalidActionError(`${write.kind} ${write.id} needs a non-empty ${index.requiredField}`);
      }
      if (!index.unique) continue;
      for (const key of keys) {
        const claim = `${write.kind}/${indexName}/${key}`;
        const earlierInBatch = claimedBy.get(claim);
        if (earlierInBatch !== undefined) throw new NameConflictError(write.kind, displayName(write.object, key), earlierInBatch);
        claimedBy.set(claim, write.id);
        // An owner written by this batch gives its key up unless it claims it again above.
        const owner = table.uniqueOwner(indexName, key);
        if (owner !== undefined && owner !== write.id && !touched.has(`${write.kind}/${owner}`)) {
          throw new NameConflictError(write.kind, displayName(write.object, key), owner);
        }
      }
    }
  }
}

/** Index keys are lower-cased names; show the user the name as they wrote it. */
function displayName(object: Frozen<StoredObject>, key: string): string {
  const name = object.Spec.Name;
  return typeof name === 'string' && name.toLowerCase() === key ? name : key;
}

/** Writes a plan produced by planBatch against the same tables; cannot fail. */
export function commitPlan(tables: Tables, index: number, plan: readonly PlannedWrite[]): StoreEvent[] {
  const events: StoreEvent[] = [];
  for (const write of plan) {
    const table = tableOf(tables, write.kind);
    if (write.object) {
      const previous = table.put(write.object);
      events.push(deepFreeze({ index, kind: write.kind, action: write.action, object: write.object, ...(previous ? { oldObject: previous } : {}) }) as StoreEvent);
    } else {
      const previous = table.delete(write.id)!;
      events.push(deepFreeze({ index, kind: write.kind, action: 'delete', object: previous }) as StoreEvent);
    }
  }
  return events;
}

/** Plans and commits, turning a deterministic failure into a plain-data rejection. */
export function applyBatch(tables: Tables, index: number, batch: Batch): BatchOutcome {
  let plan: PlannedWrite[];
  try {
    plan = planBatch(tables, index, batch);
  } catch (error) {
    if (error instanceof StoreError) return { ok: false, rejection: toRejection(error) };
    throw error;
  }
  return { ok: true, events: commitPlan(tables, index, plan) };
}
