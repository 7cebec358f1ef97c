// The replicated object store: the state machine under the manager's raft log, and the only
// way manager components read and change cluster state. Tables change only in apply(), so every
// manager that applies the same entries holds the same state; update() is how a change gets
// into the log. Wiring (the RaftNode needs the state machine, the store needs the log):
//
//   const store = new Store();
//   const node = await RaftNode.start({ stateMachine: store, ... });
//   store.attach(node);
import { decodeBatch, decodeSnapshot, encodeBatch, encodeSnapshot } from './codec.js';
import type { SnapshotContents } from './codec.js';
import { applyBatch, planBatch } from './apply-batch.js';
import type { BatchOutcome } from './apply-batch.js';
import { StoreError, StoreStoppedError, errorFromLog, errorFromRejection, toRejection } from './errors.js';
import type { StoreEvent } from './events.js';
import { deepFreeze } from './frozen.js';
import type { Frozen } from './frozen.js';
import { resolveReference } from './lookup.js';
import { newObjectId } from './object-id.js';
import type { ObjectKind, ObjectsByKind, StoredObject } from './objects.js';
import { OBJECT_KINDS } from './objects.js';
import type { AnyQuery, FindQuery, StoreReader } from './query.js';
import { findInTable } from './query.js';
import type { ReplicatedLog, StateMachine } from './replicated-log.js';
import { createTables, indexesOf, tableOf } from './schema.js';
import type { Tables } from './schema.js';
import { BatchBuilder } from './transaction.js';
import type { Transaction } from './transaction.js';
import { WatchHub } from './watch-hub.js';
import type { Subscription, Watch, WatchOptions } from './watch-hub.js';

/**
 * Events kept for watchers to resume from, and the furthest any watcher may fall behind.
 * 10,000 covers several rounds of a 1,000-replica rolling update (about three events per task
 * replaced) and a manager's watchers reconnecting after a pause, while costing at most a few tens
 * of MB (events share the stored objects). A watcher further behind than this re-lists, which is
 * cheaper than the store holding unbounded memory for it. A single batch with more events than
 * this overtakes every watcher; raft's entry size limit keeps batches far smaller.
 */
export const DEFAULT_WATCH_HISTORY = 10_000;

export interface StoreOptions {
  /** The log to propose to; or call attach() once the RaftNode exists. */
  log?: ReplicatedLog;
  /** The proposer's clock for CreatedAt/UpdatedAt (tests pin it). Read once per update(). */
  now?: () => Date;
  /** Generates IDs for created objects (tests make them predictable). */
  newId?: () => string;
  /** See DEFAULT_WATCH_HISTORY. */
  watchHistory?: number;
}

export interface UpdateResult {
  /** The raft index of the batch; every written object's new Version.Index. */
  readonly index: number;
  /** One event per written object, in the order the transaction first wrote them. */
  readonly events: readonly StoreEvent[];
}

function isBatchOutcome(value: unknown): value is BatchOutcome {
  return typeof value === 'object' && value !== null && typeof (value as { ok?: unknown }).ok === 'boolean';
}

export class Store implements StateMachine, StoreReader {
  private log: ReplicatedLog | undefined;
  private readonly tables: Tables = createTables();
  private applied = 0;
  private readonly hub: WatchHub;
  private readonly now: () => Date;
  private readonly newId: () => string;
  private stopped = false;

  constructor(options: StoreOptions = {}) {
    this.log = options.log;
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? newObjectId;
    this.hub = new WatchHub(options.watchHistory ?? DEFAULT_WATCH_HISTORY, 0);
  }

  /** Connects the log once it exists; the RaftNode needs this store to be constructed first. */
  attach(log: ReplicatedLog): void {
    if (this.log && this.log !== log) throw new Error('store is already attached to a replicated log');
    this.log = log;
  }

  /** The raft index of the last entry applied (or of the restored snapshot). */
  get appliedIndex(): number {
    return this.applied;
  }

  get isLeader(): boolean {
    return this.log?.isLeader ?? false;
  }

  // ---- local reads: this manager's applied state, possibly behind the leader ----

  get<K extends ObjectKind>(kind: K, id: string): Frozen<ObjectsByKind[K]> | undefined {
    return this.tables[kind].get(id) as Frozen<ObjectsByKind[K]> | undefined;
  }

  find<K extends ObjectKind>(kind: K, query?: FindQuery<K>): Frozen<ObjectsByKind[K]>[] {
    return findInTable(kind, tableOf(this.tables, kind), query as AnyQuery | undefined) as Frozen<ObjectsByKind[K]>[];
  }

  lookup<K extends ObjectKind>(kind: K, reference: string): Frozen<ObjectsByKind[K]> {
    const table = tableOf(this.tables, kind);
    const hasNames = 'name' in indexesOf(kind);
    return resolveReference(kind, reference, {
      byId: (id) => table.get(id),
      byName: (name) => (hasNames ? findInTable(kind, table, { name }) : []),
      byIdPrefix: (prefix) => table.withIdPrefix(prefix),
    }) as Frozen<ObjectsByKind[K]>;
  }

  // ---- linearizable reads ----

  /** Waits until local reads reflect every write committed before this call. */
  async readLinearizable(): Promise<void> {
    const log = this.requireLog();
    try {
      await log.readIndex();
    } catch (error) {
      throw errorFromLog(error);
    }
  }

  /**
   * readLinearizable(), then `read` against the local state. Keep `read` synchronous to see one
   * consistent state; across an await, later writes may show through.
   */
  async view<T>(read: (reader: StoreReader) => T): Promise<T> {
    await this.readLinearizable();
    return read(this);
  }

  // ---- writes ----

  /**
   * Runs `change` against a transaction, proposes its writes as one raft entry and resolves
   * once that entry is applied here. Rejects with the typed errors of errors.ts; nothing is
   * written unless every action succeeds. Does not retry: on VersionConflictError, re-read and
   * call update() again.
   */
  async update(change: (tx: Transaction) => void | Promise<void>): Promise<UpdateResult> {
    const log = this.requireLog();
    if (this.stopped) throw new StoreStoppedError();
    const tx = new BatchBuilder(this.tables, this.now().toISOString(), this.newId);
    try {
      await change(tx);
    } catch (error) {
      tx.finish();
      throw error;
    }
    const batch = tx.finish();
    if (batch.actions.length === 0) return { index: this.applied, events: [] };
    const data = encodeBatch(batch);
    // Check the batch exactly as apply will, against the state as of now, so a doomed batch
    // fails here instead of costing a raft round trip (apply still decides authoritatively).
    planBatch(this.tables, this.applied + 1, decodeBatch(data));
    let committed: { index: number; result: unknown };
    try {
      committed = await log.propose(data);
    } catch (error) {
      throw errorFromLog(error, data.byteLength);
    }
    const outcome = committed.result;
    if (!isBatchOutcome(outcome)) {
      throw new Error(`the replicated log returned ${JSON.stringify(outcome)} for a store batch; is this store the log's state machine?`);
    }
    if (!outcome.ok) throw errorFromRejection(outcome.rejection);
    return { index: committed.index, events: outcome.events };
  }

  // ---- watches ----

  /** An ordered stream of changes; see WatchOptions. Throws WatchHistoryCompactedError. */
  watch(options: WatchOptions = {}): Watch {
    if (this.stopped) throw new StoreStoppedError();
    return this.hub.open(options.fromIndex ?? this.applied, options);
  }

  /** watch() with a callback, called one event at a time (awaited when it returns a promise). */
  subscribe(options: WatchOptions, listener: (event: StoreEvent) => void | Promise<void>): Subscription {
    return this.hub.subscribe(this.watch(options), listener);
  }

  /** Ends all watches and refuses further updates and watches; apply keeps working. */
  close(): void {
    this.stopped = true;
    this.hub.closeAll();
  }

  // ---- StateMachine: called by the raft driver only ----

  /**
   * Applies one committed entry. Returns a BatchOutcome for the proposer: the events, or a
   * rejection (as plain data, identical on every manager). Empty entries (a new leader's no-op)
   * only advance the applied index.
   */
  apply(index: number, data: Uint8Array): unknown {
    if (!Number.isSafeInteger(index) || index <= this.applied) {
      // Applying twice or out of order would silently diverge from the other managers.
      throw new Error(`store asked to apply index ${index} after index ${this.applied}; entries must be applied once, in order`);
    }
    if (data.byteLength === 0) {
      this.applied = index;
      return undefined;
    }
    let outcome: BatchOutcome;
    try {
      outcome = applyBatch(this.tables, index, decodeBatch(data));
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      outcome = { ok: false, rejection: toRejection(error) };
    }
    this.applied = index;
    if (outcome.ok) this.hub.publish(outcome.events);
    return outcome;
  }

  snapshot(): Uint8Array {
    const tables = {} as Record<ObjectKind, Frozen<StoredObject>[]>;
    for (const kind of OBJECT_KINDS) tables[kind] = [...tableOf(this.tables, kind).values()];
    return encodeSnapshot({ appliedIndex: this.applied, tables });
  }

  /**
   * Replaces all state. Every open watch ends with WatchResetError (the change cannot be told
   * as events), and watches can resume only from `index` on.
   */
  restore(data: Uint8Array, index: number): void {
    const contents: SnapshotContents = decodeSnapshot(data);
    if (contents.appliedIndex > index) {
      throw new Error(`store snapshot was taken at index ${contents.appliedIndex} but is being restored as index ${index}`);
    }
    for (const kind of OBJECT_KINDS) {
      const table = tableOf(this.tables, kind);
      table.clear();
      for (const row of contents.tables[kind]) table.put(deepFreeze(row));
    }
    // Raft's index, not the snapshot's own: entries the store never sees (membership changes)
    // may follow the store's last applied entry.
    this.applied = index;
    this.hub.reset(index);
  }

  private requireLog(): ReplicatedLog {
    if (!this.log) throw new Error('store is not attached to a replicated log; call attach() first');
    return this.log;
  }
}
