// The node's log publisher through its public door: LogSubscription messages in, LogBatches out
// on a stand-in PublishLogs call. Lines in order per task and in bounded batches; the end said
// once every task is done (not following); following lasts until closed; backpressure holds the
// readers until the call drains.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { BATCH_MAX_LINES, LogPublisher } from '../../../worker/agent/log-publisher.js';
import type { LogLine, LogOptions, TaskController } from '../../../worker/executor/executor.js';
import { decodeLogBatch } from '../../../shared/log-protocol.js';
import type { LogBatch, LogReadOptions, LogSubscriptionMessage } from '../../../shared/log-protocol.js';

const logger = pino({ level: 'silent' });

class FakeCall extends EventEmitter {
  readonly batches: LogBatch[] = [];
  ended = false;
  /** write() answers false while full, as a stream whose buffer is full does. */
  full = false;
  done: ((error: grpc.ServiceError | null) => void) | null = null;

  write(bytes: Buffer): boolean {
    this.batches.push(decodeLogBatch(bytes));
    return !this.full;
  }

  end(): void {
    this.ended = true;
  }

  lines(taskId?: string): string[] {
    return this.batches.flatMap((b) => b.messages).filter((m) => !taskId || m.context.taskId === taskId).map((m) => m.line);
  }
}

/** A controller whose logs() yields `count` lines, then (following) waits for more until aborted. */
function controller(taskId: string, count: number, more?: EventEmitter): TaskController & { signals: AbortSignal[]; options: LogOptions[] } {
  const signals: AbortSignal[] = [];
  const options: LogOptions[] = [];
  return {
    taskId, signals, options,
    async *logs(o: LogOptions = {}): AsyncGenerator<LogLine> {
      signals.push(o.signal!);
      options.push(o);
      for (let i = 1; i <= count; i++) yield { stream: i % 10 === 0 ? 'stderr' : 'stdout', time: new Date(1_700_000_000_000 + i).toISOString(), line: `${taskId} ${i}` };
      if (!o.follow) return;
      let next = count;
      while (!o.signal!.aborted) {
        const step = await new Promise<string | null>((resolve) => {
          const onAbort = (): void => resolve(null);
          o.signal!.addEventListener('abort', onAbort, { once: true });
          more?.once('line', (stop: boolean) => { o.signal!.removeEventListener('abort', onAbort); resolve(stop ? null : 'line'); });
        });
        if (step === null) return;
        next += 1;
        yield { stream: 'stdout', time: new Date().toISOString(), line: `${taskId} ${next}` };
      }
    },
  } as unknown as TaskController & { signals: AbortSignal[]; options: LogOptions[] };
}

function subscription(id: string, taskIds: string[], options: Partial<LogReadOptions> = {}, close = false): LogSubscriptionMessage {
  return { id, taskIds, options: { follow: false, stdout: true, stderr: true, ...options }, close };
}

function opener(calls: FakeCall[]): (done: (error: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<Buffer> {
  return (done) => {
    const call = new FakeCall();
    call.done = done;
    calls.push(call);
    return call as unknown as grpc.ClientWritableStream<Buffer>;
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('not following: every task\'s lines in order, in bounded batches, then the end once every task is done', async () => {
  const controllers = new Map([['a', controller('a', 1234)], ['b', controller('b', 7)]]);
  const publisher = new LogPublisher({ controllerOf: (id) => controllers.get(id), logger });
  const calls: FakeCall[] = [];
  publisher.handle(subscription('s1', ['a', 'b', 'unknown'], { tail: 5000, sinceMs: 42, stderr: false }), opener(calls));
  assert.equal(calls.length, 1, 'one call per subscription');
  const call = calls[0];
  await until(() => call.ended, 'the call is half-closed');

  assert.deepEqual(call.batches[0], { subscriptionId: 's1', messages: [], endedTasks: [], close: false }, 'an empty batch says it started');
  assert.deepEqual(call.lines('a'), Array.from({ length: 1234 }, (_, i) => `a ${i + 1}`));
  assert.deepEqual(call.lines('b'), Array.from({ length: 7 }, (_, i) => `b ${i + 1}`));
  assert.ok(call.batches.every((b) => b.subscriptionId === 's1' && b.messages.length <= BATCH_MAX_LINES));
  assert.deepEqual(call.batches.flatMap((b) => b.endedTasks).sort(), ['a', 'b', 'unknown'], 'a task this node does not hold ends at once');
  assert.deepEqual(call.batches.map((b) => b.close), [...call.batches.slice(1).map(() => false), true], 'close comes last, once');
  // A task's lines all come before its end.
  const endOfA = call.batches.findIndex((b) => b.endedTasks.includes('a'));
  assert.ok(call.batches.slice(endOfA + 1).every((b) => b.messages.every((m) => m.context.taskId !== 'a')));
  assert.deepEqual(controllers.get('a')!.options[0].tail, 5000);
  assert.deepEqual(controllers.get('a')!.options[0].since, 42);
  assert.equal(controllers.get('a')!.options[0].stderr, false);
  assert.equal(publisher.size, 0);
});

test('following: lines as they come, tasks added later, and a close stops every reader', async () => {
  const more = new EventEmitter();
  const controllers = new Map([['a', controller('a', 2, more)], ['b', controller('b', 1, more)]]);
  const publisher = new LogPublisher({ controllerOf: (id) => controllers.get(id), logger });
  const calls: FakeCall[] = [];
  publisher.handle(subscription('s2', ['a'], { follow: true }), opener(calls));
  const call = calls[0];
  await until(() => call.lines('a').length === 2, 'the first lines');
  more.emit('line', false);
  await until(() => call.lines('a').length === 3, 'a new line');
  // The same task again is ignored; a new one is read with the options it came with.
  publisher.handle(subscription('s2', ['a', 'b'], { follow: true, tail: 0 }), opener(calls));
  assert.equal(calls.length, 1, 'still one call');
  await until(() => call.lines('b').length === 1, 'the added task\'s lines');
  assert.equal(controllers.get('a')!.signals.length, 1);
  assert.equal(controllers.get('b')!.options[0].tail, 0);
  assert.equal(call.ended, false);

  publisher.handle(subscription('s2', [], { follow: true }, true), opener(calls));
  assert.equal(call.ended, true);
  assert.ok([...controllers.values()].every((c) => c.signals.every((s) => s.aborted)), 'every reader aborted');
  assert.ok(call.batches.every((b) => !b.close), 'a cancelled subscription is not "complete"');
  assert.equal(publisher.size, 0);
});

test('the broker answering the call, or the session ending, stops the subscription', async () => {
  const controllers = new Map([['a', controller('a', 1)]]);
  const publisher = new LogPublisher({ controllerOf: (id) => controllers.get(id), logger });
  const calls: FakeCall[] = [];
  publisher.handle(subscription('s3', ['a'], { follow: true }), opener(calls));
  publisher.handle(subscription('s4', ['a'], { follow: true }), opener(calls));
  assert.equal(publisher.size, 2);
  calls[0].done!(null);
  assert.equal(publisher.size, 1);
  assert.equal(calls[0].ended, true);
  publisher.stopAll();
  assert.equal(publisher.size, 0);
  assert.ok(controllers.get('a')!.signals.every((s) => s.aborted));
});

test('backpressure: while the call is full, readers wait for it to drain', async () => {
  const controllers = new Map([['a', controller('a', 5 * BATCH_MAX_LINES)]]);
  const publisher = new LogPublisher({ controllerOf: (id) => controllers.get(id), logger });
  const calls: FakeCall[] = [];
  publisher.handle(subscription('s5', ['a']), opener(calls));
  const call = calls[0];
  call.full = true;
  await until(() => call.lines().length >= BATCH_MAX_LINES, 'a full batch');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const held = call.lines().length;
  assert.ok(held <= 2 * BATCH_MAX_LINES, `at most a batch past the full mark (${held} lines)`);
  call.full = false;
  call.emit('drain');
  await until(() => call.ended, 'everything sent');
  assert.equal(call.lines().length, 5 * BATCH_MAX_LINES);
});
