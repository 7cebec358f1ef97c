// The lines of one subscription on their way to its reader (an API response, or a follower
// manager's SubscribeLogs call): producers push, the reader takes everything queued at once.
//
// Memory is bounded by backpressure first: once more than HIGH_WATER_BYTES wait, push() says so
// and the subscription pauses the nodes' PublishLogs calls (gRPC flow control then stops the
// nodes, which stop reading their logs); they resume when the reader takes what is queued (it
// takes everything at once and comes back only after writing it out, so at most about twice the
// mark is held between the queue and the reader). What is already in flight when the pause lands (a few batches per node) still
// arrives. Past MAX_QUEUED_BYTES — a producer that ignores the pause — lines are dropped, newest
// first (what is queued keeps its order), and counted: the drop policy is "never grow without
// bound, never reorder".

import type { LogRecord } from '../../shared/log-protocol.js';

/**
 * 1 MiB: a few thousand lines, enough to keep a fast reader busy while the nodes react to a
 * resume, small enough that a hundred slow readers cost a hundred MiB at worst.
 */
export const HIGH_WATER_BYTES = 1024 * 1024;
/** The hard bound: 8 × the high-water mark leaves room for every node's in-flight batches. */
export const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** What a line costs in the queue: its text and its context, roughly. */
function sizeOf(record: LogRecord): number {
  return record.line.length + record.time.length + 96;
}

export class RecordQueue implements AsyncIterable<LogRecord[]> {
  private queue: LogRecord[] = [];
  private bytes = 0;
  private ended = false;
  private waiter: (() => void) | null = null;
  private paused = false;
  /** Lines dropped past MAX_QUEUED_BYTES. */
  dropped = 0;

  constructor(
    /** Called when the queue passes the high-water mark (true), and when the reader takes it after that (false). */
    private readonly onPressure: (paused: boolean) => void = () => {},
  ) {}

  get queuedBytes(): number {
    return this.bytes;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Queues lines; false when the producers should pause. Lines pushed after end() are ignored. */
  push(records: readonly LogRecord[]): boolean {
    if (this.ended) return false;
    for (const record of records) {
      const size = sizeOf(record);
      if (this.bytes + size > MAX_QUEUED_BYTES) {
        this.dropped += 1;
        continue;
      }
      this.queue.push(record);
      this.bytes += size;
    }
    this.wake();
    if (!this.paused && this.bytes > HIGH_WATER_BYTES) {
      this.paused = true;
      this.onPressure(true);
    }
    return !this.paused;
  }

  /** No more lines: the reader gets what is queued, then the end. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.wake();
  }

  /** Resolves with every queued line (at least one), or null once ended and empty. */
  async take(): Promise<LogRecord[] | null> {
    while (this.queue.length === 0) {
      if (this.ended) return null;
      await new Promise<void>((resolve) => { this.waiter = resolve; });
    }
    const taken = this.queue;
    this.queue = [];
    this.bytes = 0;
    if (this.paused) {
      this.paused = false;
      this.onPressure(false);
    }
    return taken;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LogRecord[]> {
    for (;;) {
      const records = await this.take();
      if (records === null) return;
      yield records;
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }
}
