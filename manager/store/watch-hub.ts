// Watches: ordered streams of store events for the orchestrators, scheduler, dispatcher and
// /events. Apply only appends to the shared EventHistory and wakes waiting watchers on a
// microtask, so no consumer code ever runs inside apply and a slow consumer cannot hold it up;
// a consumer that falls more than the history's capacity behind is closed with
// WatchOverflowError. Every way a watch can end abnormally (overflow, history compacted, state
// replaced by a snapshot) asks the consumer to do the same thing: re-list, then watch again.
import { WatchHistoryCompactedError, WatchOverflowError, WatchResetError } from './errors.js';
import type { StoreEvent } from './events.js';
import { EventHistory } from './event-history.js';
import type { ObjectKind } from './objects.js';

export interface WatchOptions {
  /**
   * Deliver events with index > fromIndex. Defaults to the store's applied index (only future
   * changes). To list and then watch without missing anything, read the store and
   * `store.appliedIndex` in the same synchronous turn and pass that index here.
   */
  fromIndex?: number;
  /** Only these kinds (default: all). */
  kinds?: readonly ObjectKind[];
  /** Only events this returns true for; runs as the consumer reads, never inside apply. */
  filter?: (event: StoreEvent) => boolean;
}

/** An ordered event stream: `for await (const event of watch) …`; ends when closed. */
export interface Watch extends AsyncIterableIterator<StoreEvent> {
  /** Ends the stream: pending and later next() calls resolve done. */
  close(): void;
  readonly closed: boolean;
  /** Why the stream ended abnormally: WatchOverflowError, WatchResetError, or the filter's error. */
  readonly error: Error | undefined;
  /** Resolves when the stream ends, with its error if any. */
  readonly ended: Promise<Error | undefined>;
}

/** A callback-style watch (see WatchHub.subscribe). */
export interface Subscription {
  close(): void;
  /** Resolves when the subscription ends: undefined after close(), else the watch's or listener's error. */
  readonly ended: Promise<Error | undefined>;
}

interface Waiter {
  resolve(result: IteratorResult<StoreEvent>): void;
  reject(error: Error): void;
}

class Watcher implements Watch {
  /** Sequence number (in the history) of the next event to look at. */
  private cursor: number;
  private readonly kinds: ReadonlySet<ObjectKind> | undefined;
  private readonly filter: ((event: StoreEvent) => boolean) | undefined;
  private readonly waiters: Waiter[] = [];
  private pumpScheduled = false;
  private state: 'open' | 'closed' | 'failed' = 'open';
  private failure: Error | undefined;
  private resolveEnded!: (error: Error | undefined) => void;
  readonly ended = new Promise<Error | undefined>((resolve) => { this.resolveEnded = resolve; });

  constructor(
    private readonly history: EventHistory,
    private readonly afterIndex: number,
    options: WatchOptions,
    private readonly onEnd: (watcher: Watcher) => void,
  ) {
    this.cursor = history.seqAfter(afterIndex);
    this.kinds = options.kinds ? new Set(options.kinds) : undefined;
    this.filter = options.filter;
  }

  get closed(): boolean {
    return this.state !== 'open';
  }

  get error(): Error | undefined {
    return this.failure;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<StoreEvent>> {
    if (this.state === 'open' && this.waiters.length === 0) {
      const event = this.take();
      if (event) return Promise.resolve({ value: event, done: false });
    }
    if (this.state === 'failed') return Promise.reject(this.failure);
    if (this.state === 'closed') return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Called by `for await` on break/return: the consumer is done. */
  return(): Promise<IteratorResult<StoreEvent>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    if (this.state !== 'open') return;
    this.state = 'closed';
    for (const waiter of this.waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
    this.end();
  }

  fail(error: Error): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.failure = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    this.end();
  }

  /** After new events: closes the watcher if the history overtook it, else wakes it. */
  notify(): void {
    if (this.state !== 'open') return;
    if (this.cursor < this.history.startSeq) {
      this.fail(new WatchOverflowError(this.history.capacity));
      return;
    }
    if (this.waiters.length === 0 || this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.state === 'open' && this.waiters.length > 0) {
      const event = this.take();
      if (!event) return;
      this.waiters.shift()!.resolve({ value: event, done: false });
    }
  }

  /** The next matching event, advancing the cursor; fails the watcher if it was overtaken. */
  private take(): StoreEvent | undefined {
    if (this.cursor < this.history.startSeq) {
      this.fail(new WatchOverflowError(this.history.capacity));
      return undefined;
    }
    while (this.cursor < this.history.endSeq) {
      const event = this.history.at(this.cursor++);
      if (event.index <= this.afterIndex) continue;
      if (this.kinds && !this.kinds.has(event.kind)) continue;
      if (this.filter) {
        let wanted: boolean;
        try {
          wanted = this.filter(event);
        } catch (error) {
          this.fail(error instanceof Error ? error : new Error(String(error)));
          return undefined;
        }
        if (!wanted) continue;
      }
      return event;
    }
    return undefined;
  }

  private end(): void {
    this.resolveEnded(this.failure);
    this.onEnd(this);
  }
}

export class WatchHub {
  private readonly history: EventHistory;
  private readonly watchers = new Set<Watcher>();

  constructor(capacity: number, startIndex: number) {
    this.history = new EventHistory(capacity, startIndex);
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Opens a watch delivering events after `fromIndex`; throws WatchHistoryCompactedError if they are gone. */
  open(fromIndex: number, options: WatchOptions): Watch {
    if (!Number.isSafeInteger(fromIndex) || fromIndex < 0) throw new RangeError(`watch fromIndex must be a non-negative integer, not ${fromIndex}`);
    if (fromIndex < this.history.oldestResumableIndex) {
      throw new WatchHistoryCompactedError(fromIndex, this.history.oldestResumableIndex);
    }
    const watcher = new Watcher(this.history, fromIndex, options, (w) => this.watchers.delete(w));
    this.watchers.add(watcher);
    return watcher;
  }

  /** Runs `listener` for each event, one at a time (awaiting it if it returns a promise). */
  subscribe(watch: Watch, listener: (event: StoreEvent) => void | Promise<void>): Subscription {
    const ended = (async (): Promise<Error | undefined> => {
      try {
        for await (const event of watch) await listener(event);
        return undefined;
      } catch (error) {
        watch.close();
        return error instanceof Error ? error : new Error(String(error));
      }
    })();
    return { close: () => watch.close(), ended };
  }

  /** Called by apply with one batch's events. */
  publish(events: readonly StoreEvent[]): void {
    for (const event of events) this.history.append(event);
    for (const watcher of [...this.watchers]) watcher.notify();
  }

  /** The state was replaced wholesale: end every watch and restart history after `index`. */
  reset(index: number): void {
    this.history.reset(index);
    for (const watcher of [...this.watchers]) watcher.fail(new WatchResetError(index));
  }

  closeAll(): void {
    for (const watcher of [...this.watchers]) watcher.close();
  }
}
