// The scheduler: on the raft leader, gives every pending task a node. It reads the store, places
// with the pure pipeline (pipeline.ts) and writes its decisions back through the store; it talks
// to no other component.
//
// When it runs. A watch on tasks and nodes wakes it for what can change a decision: a new pending
// task, and, while some task is unplaceable, a node change or a task freeing its node. The first
// wake-up after a quiet spell runs a pass at once; later ones within BATCH_DELAY_MS of it become
// one pass. The watch is only a trigger: each pass re-reads pending
// tasks and rebuilds node state from the store, so a missed or overflowed watch costs latency,
// never correctness. A RESCAN_INTERVAL_MS poll is the safety net. Leadership: with
// `onLeadershipChange` (raft's 'leadership' event, as the daemon wires it) a new leader places
// whatever the old one left pending at once; without it, at its first poll.
//
// Writes. Assignments go out in store updates of at most MAX_TASKS_PER_WRITE tasks, each only if
// the task is still the version the pass read; a task that moved on is left to the next pass. A
// VersionConflictError at apply (someone wrote between our proposal's check and its commit) reruns
// the whole pass against fresh state. An unplaceable task gets Status.Err saying why, written
// only when the text changes, so a stuck task costs no raft traffic per pass.
import pino from 'pino';
import type { Frozen, Store, StoreEvent, Subscription, Task } from '../store/index.js';
import { NotFoundError, VersionConflictError } from '../store/index.js';
import { buildNodeInfos } from './node-info.js';
import type { Assignment, NodeVerdict, Unplaced } from './pipeline.js';
import { placeTasks, placementVerdicts } from './pipeline.js';

/**
 * The least time between the starts of two passes (leading-edge: a wake-up after a quiet spell
 * runs a pass on the next turn of the event loop, which already has every task of the raft entry
 * that woke it). A service create or scale writes its tasks in one or a few raft entries landing
 * within milliseconds; 30 ms gathers the rest into one more pass (one node-state rebuild, one
 * group per service, one write) instead of one each.
 */
export const BATCH_DELAY_MS = 30;

/**
 * Tasks per store update. A task encodes to about 1 KB; 500 keeps an update well under raft's
 * 1.5 MiB proposal limit while a 10,000-replica scale still needs only 20 writes.
 */
export const MAX_TASKS_PER_WRITE = 500;

/**
 * The safety-net poll: how soon a newly elected leader starts scheduling, and how often stuck
 * tasks are re-examined even without a store change (failures age out of their window). One
 * index lookup of running tasks per second is negligible.
 */
export const RESCAN_INTERVAL_MS = 1000;

/** A pass that keeps meeting version conflicts is retried this often, then left to the next wake-up. */
const MAX_CONFLICT_RETRIES = 5;

export const ASSIGNED_MESSAGE = 'scheduler assigned task to node';
export const PENDING_MESSAGE = 'pending task scheduling';

export interface SchedulerOptions {
  store: Store;
  /** Whether this manager is the raft leader now; read before every pass. */
  isLeader: () => boolean;
  /** Calls `listener` whenever isLeader() may have changed; returns the way to stop. Optional: the poll notices too. */
  onLeadershipChange?: (listener: () => void) => () => void;
  logger?: pino.Logger;
  /** See BATCH_DELAY_MS. */
  batchDelayMs?: number;
  /** See RESCAN_INTERVAL_MS. */
  rescanIntervalMs?: number;
  /** Wall clock in ms (tests pin it); judges failure windows and stamps Status.Timestamp. */
  now?: () => number;
}

type StoredTask = Frozen<Task>;

function isPendingUnassigned(task: StoredTask): boolean {
  return task.Status?.State === 'pending' && !task.NodeID;
}

/** Observed states in which a task still holds its node (mirrors node-info.ts). */
const HOLDING = new Set(['new', 'pending', 'assigned', 'accepted', 'preparing', 'starting', 'running']);
/** Desired states of tasks that need a node: services' (running) and jobs' (run to complete). */
const WANTS_A_NODE = new Set(['running', 'complete']);

export class Scheduler {
  private readonly store: Store;
  private readonly isLeader: () => boolean;
  private readonly onLeadershipChange: SchedulerOptions['onLeadershipChange'];
  private unsubscribeLeadership: (() => void) | undefined;
  private readonly logger: pino.Logger;
  private readonly batchDelayMs: number;
  private readonly rescanIntervalMs: number;
  private readonly now: () => number;
  private subscription: Subscription | undefined;
  private batchTimer: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  /** When the last pass started (Date.now()); the next waits until batchDelayMs after it. */
  private lastPassAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | undefined;
  /** A wake-up arrived during a pass: run another after it. */
  private wakeAgain = false;
  /** The last pass left tasks unplaced: node changes and freed resources are worth a pass. */
  private hasUnplaced = false;
  private started = false;

  constructor(options: SchedulerOptions) {
    this.store = options.store;
    this.isLeader = options.isLeader;
    this.onLeadershipChange = options.onLeadershipChange;
    this.logger = (options.logger ?? pino({ level: 'warn' })).child({ component: 'scheduler' });
    this.batchDelayMs = options.batchDelayMs ?? BATCH_DELAY_MS;
    this.rescanIntervalMs = options.rescanIntervalMs ?? RESCAN_INTERVAL_MS;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.watch();
    this.rescanTimer = setInterval(() => this.wake(), this.rescanIntervalMs);
    this.unsubscribeLeadership = this.onLeadershipChange?.(() => queueMicrotask(() => {
      if (this.isLeader()) this.wake();
    }));
    this.wake();
  }

  /** Stops watching and polling; resolves once a pass in flight has finished. */
  async stop(): Promise<void> {
    this.started = false;
    this.unsubscribeLeadership?.();
    this.unsubscribeLeadership = undefined;
    this.subscription?.close();
    this.subscription = undefined;
    clearInterval(this.rescanTimer);
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    await this.inFlight;
  }

  /**
   * Every node's verdict for the task against the current state, for
   * GET /berth/tasks/{id}/placement. Throws the store's NotFoundError for an unknown task.
   */
  placementVerdicts(taskId: string): NodeVerdict[] {
    const task = this.store.get('task', taskId);
    if (!task) throw new NotFoundError('task', taskId);
    // Judge the task as if it were not placed yet: its own reservation must not count against it.
    const others = this.store.find('task').filter((t) => t.ID !== taskId);
    const nodes = buildNodeInfos(this.store.find('node'), others, this.now());
    return placementVerdicts(task, nodes);
  }

  private watch(): void {
    let subscription: Subscription;
    try {
      subscription = this.store.subscribe({ kinds: ['task', 'node'] }, (event) => {
        if (this.worthAPass(event)) this.wake();
      });
    } catch (error) {
      // The store is closed: the manager is shutting down.
      this.logger.debug({ err: error }, 'scheduler cannot watch the store');
      return;
    }
    this.subscription = subscription;
    void subscription.ended.then((error) => {
      if (!this.started || this.subscription !== subscription) return;
      // Overflow or a snapshot restore: we missed events. Watch again and re-read everything.
      this.logger.info({ err: error }, 'scheduler watch ended; watching again');
      this.watch();
      this.wake();
    });
  }

  private worthAPass(event: StoreEvent): boolean {
    if (event.kind === 'node') return this.hasUnplaced;
    if (event.kind !== 'task') return false;
    const task = event.object;
    if (event.action !== 'delete' && WANTS_A_NODE.has(task.DesiredState) && isPendingUnassigned(task)) return true;
    if (!this.hasUnplaced) return false;
    // Room may have been freed: a task left its node (stopped, deleted, moved).
    const before = event.action === 'create' ? undefined : (event.oldObject ?? event.object);
    if (!before?.NodeID || !HOLDING.has(before.Status?.State)) return false;
    return event.action === 'delete' || !HOLDING.has(task.Status?.State) || task.NodeID !== before.NodeID;
  }

  private wake(): void {
    if (!this.started) return;
    if (this.inFlight) {
      this.wakeAgain = true;
      return;
    }
    if (this.batchTimer) return;
    const delay = Math.max(0, this.lastPassAt + this.batchDelayMs - Date.now());
    this.batchTimer = setTimeout(() => {
      this.batchTimer = undefined;
      this.lastPassAt = Date.now();
      this.inFlight = this.runPass().finally(() => {
        this.inFlight = undefined;
        if (this.wakeAgain) {
          this.wakeAgain = false;
          this.wake();
        }
      });
    }, delay);
  }

  private async runPass(): Promise<void> {
    for (let attempt = 0; this.started && this.isLeader(); attempt++) {
      try {
        await this.pass();
        return;
      } catch (error) {
        if (error instanceof VersionConflictError && attempt < MAX_CONFLICT_RETRIES) {
          this.logger.debug({ err: error }, 'scheduler write conflicted; retrying against fresh state');
          continue;
        }
        // Not leader any more, no quorum, store closed: the next wake-up (or leader) tries again.
        this.logger.warn({ err: error }, 'scheduler pass failed');
        this.hasUnplaced = true;
        return;
      }
    }
  }

  /** One pass: place every pending task against the current state and write the outcome. */
  private async pass(): Promise<void> {
    const nowMs = this.now();
    const pending = [
      ...this.store.find('task', { desiredState: 'running', where: isPendingUnassigned }),
      ...this.store.find('task', { desiredState: 'complete', where: isPendingUnassigned }),
    ];
    if (pending.length === 0) {
      this.hasUnplaced = false;
      return;
    }
    const nodes = buildNodeInfos(this.store.find('node'), this.store.find('task'), nowMs);
    const { assignments, unplaced } = placeTasks(pending, nodes, { nowMs });
    this.hasUnplaced = unplaced.length > 0;
    const read = new Map(pending.map((t) => [t.ID, t]));
    const timestamp = new Date(nowMs).toISOString();
    const errChanges = unplaced.filter((u) => read.get(u.taskId)!.Status.Err !== u.explanation);
    const writes: Array<Assignment | Unplaced> = [...assignments, ...errChanges];
    let skipped = 0;
    for (let start = 0; start < writes.length; start += MAX_TASKS_PER_WRITE) {
      const chunk = writes.slice(start, start + MAX_TASKS_PER_WRITE);
      await this.store.update((tx) => {
        for (const write of chunk) {
          const current = tx.get('task', write.taskId);
          // Changed since the pass read it (shut down, assigned elsewhere): the next pass decides.
          if (!current || current.Version.Index !== read.get(write.taskId)!.Version.Index) {
            skipped++;
            continue;
          }
          if ('nodeId' in write) {
            tx.update('task', {
              ...current,
              NodeID: write.nodeId,
              Status: { Timestamp: timestamp, State: 'assigned', Message: ASSIGNED_MESSAGE },
            });
          } else {
            tx.update('task', { ...current, Status: { ...current.Status, Timestamp: timestamp, Message: PENDING_MESSAGE, Err: write.explanation } });
          }
        }
      });
    }
    if (skipped > 0) this.wakeAgain = true;
    if (assignments.length > 0 || unplaced.length > 0) {
      this.logger.debug({ assigned: assignments.length, unplaced: unplaced.length, skipped }, 'scheduler pass');
    }
  }
}
