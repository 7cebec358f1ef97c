// The loop every orchestrator component shares: act only while this manager leads, react to store
// watches by running a *pass* (read the whole relevant state, decide, write the decisions as one
// transaction), and serialize passes. Passes are level-triggered: each one recomputes what should
// be from what is, so a lost event, a version conflict or a leader change costs at most a repeat
// pass, never a wrong decision. Events only say "look again" (and, for the few edge-triggered
// decisions documented per component, what changed).
import pino from 'pino';
import type { NewObject, ObjectKind, Store, StoreEvent, Subscription, Task, TaskState, Transaction, Frozen } from '../store/index.js';
import { VersionConflictError, thaw } from '../store/index.js';

/**
 * How often leadership is polled when no change notification is given (`onLeadershipChange`). A
 * new leader starts acting within this (plus a linearizable read); 100 ms is the dispatcher's
 * check interval too. The daemon passes raft's 'leadership' event instead: six components polling
 * were ~60 wake-ups a second on every manager, followers included, for a change that comes
 * once per election.
 */
export const LEADERSHIP_CHECK_MS = 100;
/**
 * How long events are coalesced before a pass. A service create or a node failure produces a
 * burst of events within a few ms (one per task written); 10 ms turns such a burst into one pass
 * while adding nothing noticeable next to a raft round trip.
 */
export const BATCH_DELAY_MS = 10;
/** Wait after a failed write (no quorum, proposal dropped) before trying again: raft needs an election's time to recover. */
export const RETRY_DELAY_MS = 250;
/**
 * Most writes in one pass (one raft entry). A task is about 1 KB encoded, so 256 writes stay far
 * under raft's entry size limit; a pass that had more to do runs again at once.
 */
export const MAX_WRITES_PER_PASS = 256;

/** Time and timers, injectable. */
export interface OrchestratorClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: OrchestratorClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface OrchestratorOptions {
  store: Store;
  /** Whether this manager is the raft leader now; a plain getter will do. */
  isLeader: () => boolean;
  /**
   * Calls `listener` whenever isLeader() may have changed (raft's 'leadership' event) and returns
   * the way to stop. Given, isLeader() is read on start and on each call only; otherwise it is
   * polled every LEADERSHIP_CHECK_MS.
   */
  onLeadershipChange?: (listener: () => void) => () => void;
  logger?: pino.Logger;
  clock?: OrchestratorClock;
}

/** What a pass reports back besides its writes. */
export interface PassOutcome {
  /** The pass stopped at the write limit; run another at once. */
  more?: boolean;
  /** Runs only if the pass's writes committed (in-memory bookkeeping that must match the store). */
  afterCommit?: () => void;
}

/** The writes of one pass, counted against MAX_WRITES_PER_PASS. */
export class TaskWriter {
  private writes = 0;

  constructor(private readonly tx: Transaction, private readonly limit = MAX_WRITES_PER_PASS) {}

  /** True once the pass has written its share; check before starting a group of writes. */
  get full(): boolean {
    return this.writes >= this.limit;
  }

  get count(): number {
    return this.writes;
  }

  create(task: NewObject<'task'>): Frozen<Task> {
    this.writes++;
    return this.tx.create('task', task);
  }

  setDesiredState(task: Frozen<Task>, state: TaskState): void {
    if (task.DesiredState === state) return;
    const next = thaw(task);
    next.DesiredState = state;
    this.tx.update('task', next);
    this.writes++;
  }

  /** Deletes the task only if it is still the version this pass read. */
  delete(task: Frozen<Task>): void {
    this.tx.delete('task', task.ID, task.Version.Index);
    this.writes++;
  }
}

/**
 * Requests for edge-triggered work, keyed by ID, that survive failed passes: a pass takes a view
 * of them, and only a committed pass clears what it saw (a request renewed meanwhile stays).
 */
export class PendingRequests {
  private readonly requests = new Map<string, number>();
  private all = 0;
  private sequence = 0;

  add(key: string): void {
    this.requests.set(key, ++this.sequence);
  }

  addAll(): void {
    this.all = ++this.sequence;
  }

  clear(): void {
    this.requests.clear();
    this.all = 0;
  }

  /** What a pass sees now, and a function that clears exactly that once the pass committed. */
  take(): { has: (key: string) => boolean; consume: () => void } {
    const seen = new Map(this.requests);
    const all = this.all;
    return {
      has: (key) => all > 0 || seen.has(key),
      consume: () => {
        if (this.all === all) this.all = 0;
        for (const [key, seq] of seen) if (this.requests.get(key) === seq) this.requests.delete(key);
      },
    };
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export abstract class StoreReconciler {
  protected readonly store: Store;
  protected readonly logger: pino.Logger;
  protected readonly clock: OrchestratorClock;
  private readonly isLeader: () => boolean;
  private readonly onLeadershipChange: OrchestratorOptions['onLeadershipChange'];
  private unsubscribeLeadership: (() => void) | undefined;
  private stopped = true;
  private leading = false;
  /** Set once this leader's local state is known to include every earlier commit. */
  private caughtUp = false;
  /** Bumped on every leadership change, so work begun in an earlier term is dropped. */
  private term = 0;
  private subscription: Subscription | undefined;
  private leaderTimer: unknown;
  private passTimer: unknown;
  private passDue = Number.POSITIVE_INFINITY;
  private running: Promise<void> | undefined;
  private again = false;

  protected constructor(name: string, options: OrchestratorOptions, private readonly kinds: readonly ObjectKind[]) {
    this.store = options.store;
    this.isLeader = options.isLeader;
    this.onLeadershipChange = options.onLeadershipChange;
    this.logger = (options.logger ?? pino({ level: 'warn' })).child({ component: name });
    this.clock = options.clock ?? systemClock;
  }

  /** Decides from the state `tx` reads and records the decisions in `writer`. Synchronous: one consistent view. */
  protected abstract reconcile(tx: Transaction, writer: TaskWriter): PassOutcome | void;

  /** Called for every watched event while leading, before the pass it triggers. */
  protected onEvent(_event: StoreEvent): void {}

  /**
   * Called when a pass is about to look at everything afresh after events may have been missed:
   * on becoming leader and when a watch had to be reopened. Edge-triggered work is redone.
   */
  protected onResync(): void {}

  /** Called on losing leadership (or stop): in-memory state of this term is stale from now on. */
  protected onLeadershipLost(): void {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (this.onLeadershipChange) {
      // Raft emits while it handles a Ready: act on the change just after, not inside it.
      this.unsubscribeLeadership = this.onLeadershipChange(() => queueMicrotask(() => {
        if (!this.stopped) this.setLeading(this.isLeader());
      }));
      this.setLeading(this.isLeader());
    } else {
      this.checkLeadership();
    }
  }

  /** Stops acting and waits for a pass in flight to settle. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribeLeadership?.();
    this.unsubscribeLeadership = undefined;
    this.clock.clearTimeout(this.leaderTimer);
    this.setLeading(false);
    await this.running;
  }

  /** Asks for a pass in `delayMs` (sooner requests win); ignored unless leading. */
  protected requestPass(delayMs = BATCH_DELAY_MS): void {
    if (this.stopped || !this.leading || !this.caughtUp) return;
    const due = this.clock.now() + delayMs;
    if (due >= this.passDue) return;
    this.clock.clearTimeout(this.passTimer);
    this.passDue = due;
    this.passTimer = this.clock.setTimeout(() => {
      this.passDue = Number.POSITIVE_INFINITY;
      this.passTimer = undefined;
      if (this.running) this.again = true;
      else this.runPass();
    }, Math.max(0, delayMs));
  }

  private checkLeadership(): void {
    if (this.stopped) return;
    this.setLeading(this.isLeader());
    this.leaderTimer = this.clock.setTimeout(() => this.checkLeadership(), LEADERSHIP_CHECK_MS);
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.term++;
    this.caughtUp = false;
    this.clock.clearTimeout(this.passTimer);
    this.passTimer = undefined;
    this.passDue = Number.POSITIVE_INFINITY;
    this.subscription?.close();
    this.subscription = undefined;
    if (!leading) this.onLeadershipLost();
    if (leading) {
      this.onResync();
      this.logger.info('leading: reconciling');
      this.watch();
      this.catchUp(this.term);
    }
  }

  /** Acting on a stale view could create a task the previous leader already created. */
  private catchUp(term: number): void {
    this.store.readLinearizable().then(() => {
      if (term !== this.term) return;
      this.caughtUp = true;
      this.requestPass(0);
    }, (error: unknown) => {
      if (term !== this.term) return;
      this.logger.warn({ err: describeError(error) }, 'could not catch up with the log; retrying');
      this.clock.setTimeout(() => { if (term === this.term && !this.stopped) this.catchUp(term); }, RETRY_DELAY_MS);
    });
  }

  private watch(): void {
    const term = this.term;
    let subscription: Subscription;
    try {
      subscription = this.store.subscribe({ kinds: this.kinds }, (event) => {
        if (term !== this.term) return;
        this.onEvent(event);
        this.requestPass();
      });
    } catch (error) {
      this.logger.warn({ err: describeError(error) }, 'could not watch the store');
      return;
    }
    this.subscription = subscription;
    void subscription.ended.then((error) => {
      if (term !== this.term || this.stopped || this.subscription !== subscription) return;
      // Overflow or a snapshot restore: events were lost, so watch again and look at everything.
      this.logger.warn({ err: error && describeError(error) }, 'store watch ended; watching again');
      this.onResync();
      this.watch();
      this.requestPass(0);
    });
  }

  private runPass(): void {
    const term = this.term;
    let outcome: PassOutcome = {};
    this.running = (async () => {
      try {
        await this.store.update((tx) => {
          outcome = this.reconcile(tx, new TaskWriter(tx)) ?? {};
        });
        if (term !== this.term) return;
        outcome.afterCommit?.();
        if (outcome.more) this.again = true;
      } catch (error) {
        if (term !== this.term || this.stopped) return;
        if (error instanceof VersionConflictError) {
          // Someone wrote between our read and the commit: look again at the new state.
          this.again = true;
        } else {
          this.logger.warn({ err: describeError(error) }, 'a reconciliation pass failed; retrying');
          this.requestPass(RETRY_DELAY_MS);
        }
      }
    })();
    void this.running.finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.requestPass(0);
      }
    });
  }
}
