// What an update callback works with: reads that see the transaction's own pending writes, and
// writes recorded as at most one action per object (a create then an update is one create; a
// create then a delete is nothing), which is the form a batch must take (see codec.ts).
// Errors a caller can know about from the state it read are thrown here, at the call that
// caused them; the authoritative checks still happen at apply.
import type { Action, Batch } from './actions.js';
import { bodyOf, storedObject } from './actions.js';
import { toPlainData } from './codec.js';
import { AlreadyExistsError, InvalidActionError, NotFoundError, VersionConflictError } from './errors.js';
import type { Frozen } from './frozen.js';
import { resolveReference } from './lookup.js';
import { isObjectId } from './object-id.js';
import type { NewObject, ObjectKind, ObjectsByKind, StoredObject } from './objects.js';
import type { AnyQuery, FindQuery, StoreReader } from './query.js';
import { findInTable, matchesQuery } from './query.js';
import type { Tables } from './schema.js';
import { indexesOf, tableOf } from './schema.js';

export interface Transaction extends StoreReader {
  /** Records a create; assigns a new ID unless the object has one. Returns the object as it will be stored (Version.Index 0 until committed). */
  create<K extends ObjectKind>(kind: K, object: NewObject<K> | Frozen<NewObject<K>>): Frozen<ObjectsByKind[K]>;
  /**
   * Records an update of an object read from the store (or this transaction), typically a
   * thaw()ed and edited copy; its Version.Index is the version the change is based on.
   */
  update<K extends ObjectKind>(kind: K, object: Frozen<ObjectsByKind[K]>): Frozen<ObjectsByKind[K]>;
  /** Records a delete; with expectedVersion, only if the object is still at that version. */
  delete(kind: ObjectKind, id: string, expectedVersion?: number): void;
}

interface PendingWrite {
  readonly kind: ObjectKind;
  readonly id: string;
  readonly op: 'create' | 'update' | 'delete';
  /** The object as this transaction now sees it; undefined for a delete. */
  readonly object?: Frozen<StoredObject>;
  readonly expectedVersion?: number;
}

type AnyObject = Frozen<StoredObject>;

export class BatchBuilder implements Transaction {
  /** Keyed by kind/id, in the order objects were first written: the order actions are proposed in. */
  private readonly pending = new Map<string, PendingWrite>();
  private finished = false;

  /**
   * @param tables the live committed state this transaction reads through
   * @param at the proposer's clock for this batch, RFC 3339
   */
  constructor(
    private readonly tables: Tables,
    private readonly at: string,
    private readonly newId: () => string,
  ) {}

  get<K extends ObjectKind>(kind: K, id: string): Frozen<ObjectsByKind[K]> | undefined {
    return this.visible(kind, id) as Frozen<ObjectsByKind[K]> | undefined;
  }

  find<K extends ObjectKind>(kind: K, query?: FindQuery<K>): Frozen<ObjectsByKind[K]>[] {
    return this.findAny(kind, query as AnyQuery | undefined) as Frozen<ObjectsByKind[K]>[];
  }

  lookup<K extends ObjectKind>(kind: K, reference: string): Frozen<ObjectsByKind[K]> {
    const hasNames = 'name' in indexesOf(kind);
    return resolveReference(kind, reference, {
      byId: (id) => this.visible(kind, id),
      byName: (name) => (hasNames ? this.findAny(kind, { name }) : []),
      byIdPrefix: (prefix) => [
        ...tableOf(this.tables, kind).withIdPrefix(prefix).filter((o) => !this.pending.has(key(kind, o.ID))),
        ...this.pendingObjects(kind).filter((o) => o.ID.startsWith(prefix)),
      ],
    }) as Frozen<ObjectsByKind[K]>;
  }

  create<K extends ObjectKind>(kind: K, object: NewObject<K> | Frozen<NewObject<K>>): Frozen<ObjectsByKind[K]> {
    this.assertOpen();
    const body = toPlainData(object, `new ${kind}`);
    if (body.ID !== undefined && !isObjectId(body.ID)) {
      throw new InvalidActionError(`${kind} ID ${JSON.stringify(body.ID)} is not 25 lowercase alphanumerics`);
    }
    const id = (body.ID as string | undefined) ?? this.newId();
    if (this.pending.get(key(kind, id))?.op === 'delete') {
      throw new InvalidActionError(`${kind} ${id} was deleted earlier in this transaction; an ID cannot be reused within one transaction`);
    }
    if (this.visible(kind, id)) throw new AlreadyExistsError(kind, id);
    const stored = storedObject({ ...body, ID: id }, 0, this.at, this.at);
    this.pending.set(key(kind, id), { kind, id, op: 'create', object: stored });
    return stored as Frozen<ObjectsByKind[K]>;
  }

  update<K extends ObjectKind>(kind: K, object: Frozen<ObjectsByKind[K]>): Frozen<ObjectsByKind[K]> {
    this.assertOpen();
    const body = toPlainData(object, `${kind} update`);
    if (typeof body.ID !== 'string') throw new InvalidActionError(`a ${kind} update needs the object's ID`);
    const readVersion = (body.Version as { Index?: unknown } | undefined)?.Index;
    if (!Number.isSafeInteger(readVersion)) {
      throw new InvalidActionError(`a ${kind} update needs the Version.Index it was read at (update the object the store returned)`);
    }
    const id = body.ID;
    const current = this.visible(kind, id);
    if (!current) throw new NotFoundError(kind, id);
    if (current.Version.Index !== readVersion) throw new VersionConflictError(kind, id, readVersion as number, current.Version.Index);
    const earlier = this.pending.get(key(kind, id));
    // A pending object keeps the version it was read at: the version apply will check.
    const stored = storedObject({ ...body, ID: id }, current.Version.Index, current.CreatedAt, this.at);
    if (earlier) {
      this.pending.set(key(kind, id), { ...earlier, object: stored });
    } else {
      this.pending.set(key(kind, id), { kind, id, op: 'update', object: stored, expectedVersion: current.Version.Index });
    }
    return stored as Frozen<ObjectsByKind[K]>;
  }

  delete(kind: ObjectKind, id: string, expectedVersion?: number): void {
    this.assertOpen();
    const current = this.visible(kind, id);
    if (!current) throw new NotFoundError(kind, id);
    if (expectedVersion !== undefined && current.Version.Index !== expectedVersion) {
      throw new VersionConflictError(kind, id, expectedVersion, current.Version.Index);
    }
    const earlier = this.pending.get(key(kind, id));
    if (earlier?.op === 'create') {
      this.pending.delete(key(kind, id));
      return;
    }
    // An earlier update was based on a version; the delete that replaces it keeps that guard.
    const guard = earlier?.expectedVersion ?? expectedVersion;
    this.pending.set(key(kind, id), { kind, id, op: 'delete', ...(guard === undefined ? {} : { expectedVersion: guard }) });
  }

  /** Ends the transaction: later calls throw, and the recorded actions become one batch. */
  finish(): Batch {
    this.finished = true;
    const actions: Action[] = [];
    for (const write of this.pending.values()) {
      if (write.op === 'delete') {
        actions.push(write.expectedVersion === undefined
          ? { op: 'delete', kind: write.kind, id: write.id }
          : { op: 'delete', kind: write.kind, id: write.id, expectedVersion: write.expectedVersion });
      } else if (write.op === 'create') {
        actions.push({ op: 'create', kind: write.kind, object: bodyOf(write.object!) });
      } else {
        actions.push({ op: 'update', kind: write.kind, expectedVersion: write.expectedVersion!, object: bodyOf(write.object!) });
      }
    }
    return { at: this.at, actions };
  }

  private visible(kind: ObjectKind, id: string): AnyObject | undefined {
    const write = this.pending.get(key(kind, id));
    if (write) return write.object;
    return tableOf(this.tables, kind).get(id);
  }

  private findAny(kind: ObjectKind, query: AnyQuery = {}): AnyObject[] {
    const committed = findInTable(kind, tableOf(this.tables, kind), query).filter((o) => !this.pending.has(key(kind, o.ID)));
    return [...committed, ...this.pendingObjects(kind).filter((o) => matchesQuery(kind, o, query))];
  }

  private pendingObjects(kind: ObjectKind): AnyObject[] {
    const objects: AnyObject[] = [];
    for (const write of this.pending.values()) if (write.kind === kind && write.object) objects.push(write.object);
    return objects;
  }

  private assertOpen(): void {
    if (this.finished) throw new InvalidActionError('the transaction has finished; write only inside the update callback, before its promise settles');
  }
}

function key(kind: ObjectKind, id: string): string {
  return `${kind}/${id}`;
}
