// One log request on the leader, against a real store and fake node sessions: who is asked for
// what, when the request is complete, what a node may send, following, and backpressure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Store, TaskState } from '../../../manager/store/index.js';
import { HIGH_WATER_BYTES, MAX_QUEUED_BYTES, RecordQueue } from '../../../manager/logbroker/record-queue.js';
import { PUBLISH_START_TIMEOUT_MS, Subscription } from '../../../manager/logbroker/subscription.js';
import type { NodeSessions, PublisherCall } from '../../../manager/logbroker/subscription.js';
import type { LogBatch, LogReadOptions, LogRecord, LogSubscriptionMessage } from '../../../shared/log-protocol.js';
import { logger } from '../dispatcher/harness.js';
import { startStoreCluster } from '../store/store-cluster.js';

class FakeSessions implements NodeSessions {
  readonly up = new Set<string>();
  readonly sent: { nodeId: string; message: LogSubscriptionMessage }[] = [];

  send(nodeId: string, message: LogSubscriptionMessage): boolean {
    if (!this.up.has(nodeId)) return false;
    this.sent.push({ nodeId, message });
    return true;
  }

  connected(nodeId: string): boolean {
    return this.up.has(nodeId);
  }

  /** What each node was sent, as [taskIds, tail, close]. */
  take(): Record<string, [string[], number | undefined, boolean][]> {
    const out: Record<string, [string[], number | undefined, boolean][]> = {};
    for (const { nodeId, message } of this.sent.splice(0)) (out[nodeId] ??= []).push([message.taskIds, message.options.tail, message.close]);
    return out;
  }
}

class FakeCall implements PublisherCall {
  paused = false;
  finished = false;
  pause(): void { this.paused = true; }
  resume(): void { this.paused = false; }
  finish(): void { this.finished = true; }
}

interface World {
  store: Store;
  serviceId: string;
  /** Task IDs by name. */
  tasks: Record<string, string>;
}

/** A service with tasks a (n1, running), b (n2, running), c (n3, running), d (n1, still assigned). */
async function world(): Promise<World> {
  const cluster = await startStoreCluster({ followers: 0 });
  const store = cluster.leader;
  const tasks: Record<string, string> = {};
  let serviceId = '';
  await store.update((tx) => {
    serviceId = tx.create('service', { Spec: { Name: 'web' } }).ID;
    const add = (name: string, nodeId: string, state: TaskState): void => {
      tasks[name] = tx.create('task', { ServiceID: serviceId, Slot: Object.keys(tasks).length + 1, NodeID: nodeId, DesiredState: 'running', Status: { State: state }, Spec: {} }).ID;
    };
    add('a', 'n1', 'running');
    add('b', 'n2', 'running');
    add('c', 'n3', 'running');
    add('d', 'n1', 'assigned');
  });
  return { store, serviceId, tasks };
}

function subscribe(w: World, sessions: FakeSessions, options: Partial<LogReadOptions> = {}): { sub: Subscription; finished: () => boolean } {
  let finished = false;
  const sub = new Subscription({
    selector: { serviceIds: [w.serviceId], taskIds: [] },
    options: { follow: false, stdout: true, stderr: true, ...options },
    sessions,
    logger,
    onFinished: () => { finished = true; },
  });
  return { sub, finished: () => finished };
}

const line = (taskId: string, text: string): LogRecord => ({ context: { serviceId: 'forged', nodeId: 'forged', taskId }, time: '2026-01-01T00:00:00.000Z', stream: 'stdout', line: text });
const batch = (sub: Subscription, messages: LogRecord[], more: Partial<LogBatch> = {}): LogBatch => ({ subscriptionId: sub.id, messages, endedTasks: [], close: false, ...more });

async function drain(queue: RecordQueue): Promise<LogRecord[]> {
  const all: LogRecord[] = [];
  for await (const records of queue) all.push(...records);
  return all;
}

test('not following: each connected node is asked for its tasks; a node without a session is skipped; the end comes when every node has closed', async () => {
  const w = await world();
  const sessions = new FakeSessions();
  sessions.up.add('n1').add('n2');
  const { sub, finished } = subscribe(w, sessions, { tail: 5 });
  sub.start(w.store);
  // d is only assigned: n1 may not have heard of it yet, and it has no logs.
  assert.deepEqual(sessions.take(), { n1: [[[w.tasks.a], 5, false]], n2: [[[w.tasks.b], 5, false]] });

  const c1 = new FakeCall();
  const c2 = new FakeCall();
  assert.equal(sub.callOpened('n1', c1), true);
  assert.equal(sub.callOpened('n2', c2), true);
  assert.equal(sub.callOpened('n3', new FakeCall()), false, 'n3 was not asked');
  sub.batch('n1', batch(sub, [line(w.tasks.a, 'a1'), line(w.tasks.b, 'b from n1?'), line(w.tasks.a, 'a2')]));
  sub.batch('n1', batch(sub, [], { endedTasks: [w.tasks.a], close: true }));
  assert.equal(c1.finished, true);
  assert.equal(finished(), false, 'n2 has not closed yet');
  sub.batch('n2', batch(sub, [line(w.tasks.b, 'b1')], { endedTasks: [w.tasks.b], close: true }));
  assert.equal(finished(), true);

  const records = await drain(sub.queue);
  // The context comes from the store and the publisher's identity, never from the message.
  assert.deepEqual(records.map((r) => [r.context.nodeId, r.context.serviceId, r.context.taskId, r.line]), [
    ['n1', w.serviceId, w.tasks.a, 'a1'],
    ['n1', w.serviceId, w.tasks.a, 'a2'],
    ['n2', w.serviceId, w.tasks.b, 'b1'],
  ]);
  assert.deepEqual(sessions.take(), {}, 'nodes that closed are not told again');
});

test('not following: a node that goes away mid-stream ends its part; one that never starts is given up on', async (t) => {
  const w = await world();
  const sessions = new FakeSessions();
  sessions.up.add('n1').add('n2');
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { sub, finished } = subscribe(w, sessions);
  sub.start(w.store);
  const c1 = new FakeCall();
  sub.callOpened('n1', c1);
  sub.batch('n1', batch(sub, [line(w.tasks.a, 'a1')]));
  sessions.up.delete('n1');
  sub.nodeDisconnected('n1');
  assert.equal(c1.finished, true);
  assert.equal(finished(), false, 'n2 is still to answer');
  // n2 holds its session but never opens its call (an agent from before logs existed).
  t.mock.timers.tick(PUBLISH_START_TIMEOUT_MS - 1);
  assert.equal(finished(), false);
  t.mock.timers.tick(1);
  assert.equal(finished(), true);
  t.mock.timers.reset();
  assert.deepEqual((await drain(sub.queue)).map((r) => r.line), ['a1']);
});

test('not following: a node that ends its call without closing has nothing more to send; nothing selected ends at once', async () => {
  const w = await world();
  const sessions = new FakeSessions();
  sessions.up.add('n1');
  const { sub, finished } = subscribe(w, sessions);
  sub.start(w.store);
  const call = new FakeCall();
  sub.callOpened('n1', call);
  sub.callEnded('n1', call);
  assert.equal(finished(), true);

  const nothing = new Subscription({
    selector: { serviceIds: ['nosuchservice'], taskIds: [] }, options: { follow: false, stdout: true, stderr: true },
    sessions, logger, onFinished: () => {},
  });
  nothing.start(w.store);
  assert.equal(nothing.isFinished, true);
  assert.equal(await nothing.queue.take(), null);
});

test('following: tasks that reach a node later are added with all their lines; a reconnecting node is asked for new lines only; cancel tells the nodes', async () => {
  const w = await world();
  const sessions = new FakeSessions();
  sessions.up.add('n1').add('n2');
  const { sub, finished } = subscribe(w, sessions, { follow: true, tail: 10 });
  sub.start(w.store);
  assert.deepEqual(sessions.take(), { n1: [[[w.tasks.a], 10, false]], n2: [[[w.tasks.b], 10, false]] });

  // n1 accepts d: it is added to n1's subscription, with every line it has.
  await w.store.update((tx) => {
    const d = tx.get('task', w.tasks.d)!;
    tx.update('task', { ...d, Status: { ...d.Status, State: 'accepted' } });
  });
  sub.taskChanged(w.store.get('task', w.tasks.d)!);
  sub.taskChanged(w.store.get('task', w.tasks.d)!);
  assert.deepEqual(sessions.take(), { n1: [[[w.tasks.d], undefined, false]] }, 'asked once');

  // n2 sends a line, drops, and comes back: only new lines from then on.
  sub.callOpened('n2', new FakeCall());
  sub.batch('n2', batch(sub, [line(w.tasks.b, 'b1')]));
  sessions.up.delete('n2');
  sub.nodeDisconnected('n2');
  assert.equal(finished(), false, 'following outlives a node');
  sessions.up.add('n2');
  sub.nodeConnected('n2');
  assert.deepEqual(sessions.take(), { n2: [[[w.tasks.b], 0, false]] });
  // n3 was down at the start: once back, it is asked as at the start (it never sent anything).
  sessions.up.add('n3');
  sub.nodeConnected('n3');
  assert.deepEqual(sessions.take(), { n3: [[[w.tasks.c], 10, false]] });

  sub.cancel();
  assert.equal(finished(), true);
  assert.deepEqual(sessions.take(), { n1: [[[], 10, true]], n2: [[[], 10, true]], n3: [[[], 10, true]] });
  assert.deepEqual((await drain(sub.queue)).map((r) => r.line), ['b1']);
});

test('backpressure: past the high-water mark the nodes\' calls pause until the reader takes the lines', async () => {
  const w = await world();
  const sessions = new FakeSessions();
  sessions.up.add('n1');
  const { sub } = subscribe(w, sessions, { follow: true });
  sub.start(w.store);
  const call = new FakeCall();
  sub.callOpened('n1', call);
  const big = 'x'.repeat(64 * 1024);
  let sent = 0;
  while (!call.paused) {
    sub.batch('n1', batch(sub, [line(w.tasks.a, big)]));
    sent += big.length;
  }
  assert.ok(sent >= HIGH_WATER_BYTES && sent <= HIGH_WATER_BYTES + big.length, `paused after ${sent} bytes`);
  const late = new FakeCall();
  sub.callOpened('n1', late);
  assert.equal(late.paused, true, 'a call opened while paused starts paused');
  const taken = await sub.queue.take();
  assert.ok(taken && taken.length > 0);
  assert.equal(call.paused, false);
  assert.equal(late.paused, false);
  sub.cancel();
});

test('the queue drops what would pass its hard bound, keeping the order of what it keeps', async () => {
  let pressure: boolean[] = [];
  const queue = new RecordQueue((paused) => pressure.push(paused));
  const chunk = 'y'.repeat(256 * 1024);
  let pushed = 0;
  while (pushed * chunk.length < MAX_QUEUED_BYTES + 4 * chunk.length) {
    queue.push([{ ...line('t', chunk), time: String(pushed).padStart(24, '0') }]);
    pushed += 1;
  }
  assert.ok(queue.dropped >= 4);
  assert.ok(queue.queuedBytes <= MAX_QUEUED_BYTES);
  assert.deepEqual(pressure, [true]);
  queue.end();
  const kept = (await queue.take())!;
  assert.deepEqual(kept.map((r) => Number(r.time)), Array.from({ length: kept.length }, (_, i) => i));
  assert.equal(await queue.take(), null);
  pressure = [];
});
