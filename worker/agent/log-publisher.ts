// This node's end of log subscriptions (proto LogSubscription, manager/logbroker): for each one,
// read the asked tasks' logs through their controllers and send them to the manager on one
// PublishLogs call, in batches.
//
// Order: each task's lines are read in order and go into the one call in that order. Memory:
// a batch holds at most BATCH_MAX_LINES lines or BATCH_MAX_BYTES, and when the call's buffer is
// full (the manager paused it, or the network is slow) every reader waits for it to drain before
// reading on, so a slow reader at the far end slows the reading here instead of filling memory.
//
// Not following, the call ends (close = true) once every task's lines are sent. Following, it
// lasts until the broker closes the subscription, answers the call, or the session ends; a
// task's part ends when its task exits (its logs() stream ends).

import { once } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import type pino from 'pino';
import type { TaskController } from '../executor/executor.js';
import type { LogBatch, LogReadOptions, LogRecord, LogSubscriptionMessage } from '../../shared/log-protocol.js';
import { encodeLogBatch } from '../../shared/log-protocol.js';

/**
 * A batch is sent when it holds this many lines or bytes, else on the next turn of the event
 * loop: a burst of lines (a tail of thousands) goes out in a few messages, a single new line at
 * once. 64 KiB keeps every message far below gRPC's 4 MiB limit even with Docker-sized 16 KiB
 * lines, and a few in flight per subscription bound what is buffered.
 */
export const BATCH_MAX_LINES = 500;
export const BATCH_MAX_BYTES = 64 * 1024;

/** Opens the PublishLogs call; `done` is called with its outcome (OK when the broker wants nothing more). */
export type PublishCallOpener = (done: (error: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<Buffer>;

export interface LogPublisherOptions {
  /** The controller whose logs() serve a task, or undefined when this node does not hold it. */
  controllerOf: (taskId: string) => TaskController | undefined;
  logger: pino.Logger;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class LogPublisher {
  private readonly subscriptions = new Map<string, PublishedSubscription>();

  constructor(private readonly options: LogPublisherOptions) {}

  /** Acts on a LogSubscription from the session: start, add tasks, or close. */
  handle(message: LogSubscriptionMessage, open: PublishCallOpener): void {
    let subscription = this.subscriptions.get(message.id);
    if (message.close) {
      subscription?.stop();
      return;
    }
    if (!subscription) {
      subscription = new PublishedSubscription(message.id, message.options.follow, open, this.options, () => {
        if (this.subscriptions.get(message.id) === subscription) this.subscriptions.delete(message.id);
      });
      this.subscriptions.set(message.id, subscription);
    }
    subscription.add(message.taskIds, message.options);
  }

  /** The subscriptions being served now. */
  get size(): number {
    return this.subscriptions.size;
  }

  /** Stops every subscription (the session ended: the broker forgets them too). */
  stopAll(): void {
    for (const subscription of [...this.subscriptions.values()]) subscription.stop();
  }
}

class PublishedSubscription {
  private readonly call: grpc.ClientWritableStream<Buffer>;
  private readonly readers = new Map<string, AbortController>();
  private readonly logger: pino.Logger;
  private active = 0;
  private messages: LogRecord[] = [];
  private bytes = 0;
  private ended: string[] = [];
  private flushScheduled = false;
  private drained: Promise<void> | null = null;
  private stopped = false;
  private readonly stoppedSignal = new AbortController();

  constructor(
    private readonly id: string,
    private readonly follow: boolean,
    open: PublishCallOpener,
    private readonly options: LogPublisherOptions,
    private readonly onDone: () => void,
  ) {
    this.logger = options.logger.child({ subscription: id });
    this.call = open((error) => {
      if (error && !this.stopped) this.logger.info({ err: error.details || error.message }, 'publishing logs ended with an error');
      this.stop();
    });
    this.call.on('error', () => { /* reported through the callback */ });
    // An empty first batch: the broker knows the node has started on the subscription.
    this.write({ subscriptionId: id, messages: [], endedTasks: [], close: false });
  }

  add(taskIds: readonly string[], options: LogReadOptions): void {
    if (this.stopped) return;
    for (const taskId of taskIds) {
      if (this.readers.has(taskId)) continue;
      const abort = new AbortController();
      this.readers.set(taskId, abort);
      this.active += 1;
      void this.read(taskId, options, abort.signal);
    }
    if (!this.follow && this.active === 0) this.close();
  }

  /** Ends the call from this side (cancelled, or the session ended); what is unsent is dropped. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stoppedSignal.abort();
    for (const reader of this.readers.values()) reader.abort();
    this.call.end();
    this.onDone();
  }

  private async read(taskId: string, options: LogReadOptions, signal: AbortSignal): Promise<void> {
    try {
      const controller = this.options.controllerOf(taskId);
      if (controller) {
        const lines = controller.logs({
          follow: options.follow, tail: options.tail, since: options.sinceMs, stdout: options.stdout, stderr: options.stderr, signal,
        });
        for await (const line of lines) {
          if (signal.aborted || this.stopped) break;
          await this.push({ context: { serviceId: '', nodeId: '', taskId }, time: line.time, stream: line.stream, line: line.line });
        }
      }
    } catch (error) {
      if (!this.stopped) this.logger.warn({ task: taskId, err: describeError(error) }, 'reading a task\'s logs failed; its part ends here');
    } finally {
      this.active -= 1;
      if (!this.stopped) {
        this.ended.push(taskId);
        if (!this.follow && this.active === 0) this.close();
        else this.scheduleFlush();
      }
    }
  }

  private async push(record: LogRecord): Promise<void> {
    this.messages.push(record);
    this.bytes += record.line.length + record.time.length;
    if (this.messages.length >= BATCH_MAX_LINES || this.bytes >= BATCH_MAX_BYTES) this.flush();
    else this.scheduleFlush();
    if (this.drained) await this.drained;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(close = false): void {
    if (this.stopped || (this.messages.length === 0 && this.ended.length === 0 && !close)) return;
    const batch: LogBatch = { subscriptionId: this.id, messages: this.messages, endedTasks: this.ended, close };
    this.messages = [];
    this.bytes = 0;
    this.ended = [];
    this.write(batch);
  }

  private write(batch: LogBatch): void {
    if (this.call.write(encodeLogBatch(batch)) || this.drained) return;
    this.drained = Promise.race([
      once(this.call, 'drain', { signal: this.stoppedSignal.signal }).then(() => undefined),
      once(this.stoppedSignal.signal, 'abort').then(() => undefined),
    ]).catch(() => undefined).finally(() => {
      this.drained = null;
    });
  }

  /** Everything is sent: the last batch says so, and the call is half-closed. */
  private close(): void {
    if (this.stopped) return;
    this.flush(true);
    this.stopped = true;
    this.stoppedSignal.abort();
    this.call.end();
    this.onDone();
  }
}
