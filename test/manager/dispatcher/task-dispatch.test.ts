// Assignments and status reports at the protocol level: a raw session (what an agent sends, and
// what it never would) against real dispatchers over mutual TLS on a real in-process raft store.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Frozen, NewObject, Task, TaskState } from '../../../manager/store/index.js';
import { thaw } from '../../../manager/store/index.js';
import type { AssignmentsMessage, DispatcherMessage, TaskStatusUpdate } from '../../../shared/session-protocol.js';
import { describeNode } from '../../../worker/node-description.js';
import { ASSIGNMENT_BATCH_MS } from '../../../manager/dispatcher/task-assignments.js';
import { STATUS_BATCH_MS } from '../../../manager/dispatcher/task-status.js';
import { sleep, startDispatcherHarness, waitFor } from './harness.js';

function task(nodeId: string, desired: TaskState, state: TaskState, slot: number): NewObject<'task'> {
  return {
    ServiceID: 'svc1', Slot: slot, NodeID: nodeId, DesiredState: desired,
    Status: { State: state, Timestamp: new Date().toISOString() },
    Spec: { ContainerSpec: { Image: 'none', Command: ['/bin/true'] } },
  };
}

function assignments(received: DispatcherMessage[]): AssignmentsMessage[] {
  return received.flatMap((m) => (m.kind === 'assignments' ? [m.assignments] : []));
}

function report(taskId: string, state: string, extra: Partial<TaskStatusUpdate> = {}): TaskStatusUpdate {
  return { taskId, state, message: state, err: '', exitCode: null, timestampMs: Date.now(), runtimeId: '', pid: 0, ...extra };
}

test('a session gets the full set of its node\'s tasks, then only what changes', async (t) => {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const nodeId = await h.createNode();
  const other = await h.createNode();
  const ids: Record<string, string> = {};
  await leader.store.update((tx) => {
    ids.run = tx.create('task', task(nodeId, 'running', 'assigned', 1)).ID;
    ids.stopping = tx.create('task', task(nodeId, 'shutdown', 'running', 2)).ID;
    ids.stopped = tx.create('task', task(nodeId, 'shutdown', 'shutdown', 3)).ID;
    ids.failed = tx.create('task', task(nodeId, 'running', 'failed', 4)).ID;
    ids.pending = tx.create('task', task(nodeId, 'running', 'pending', 5)).ID;
    ids.others = tx.create('task', task(other, 'running', 'assigned', 6)).ID;
  });

  const session = h.openRawSession(leader.addr, h.credentials(nodeId));
  session.send({ kind: 'register', register: { nodeId, description: describeNode({ hostname: 'raw' }), addr: '' } });
  await waitFor(() => assignments(session.received).length === 1, 'the full set arrives');
  assert.equal(session.received[0].kind, 'sessionAck');
  const [full] = assignments(session.received);
  assert.equal(full.full, true);
  assert.deepEqual(full.removed, []);
  // Every task placed on the node, ended ones included (their containers and logs stay until the
  // task is deleted); not one still pending, nor another node's.
  assert.deepEqual(full.tasks.map((t) => t.ID).sort(), [ids.run, ids.stopping, ids.stopped, ids.failed].sort());
  const sent = full.tasks.find((t) => t.ID === ids.run)!;
  assert.deepEqual(sent.Spec, { ContainerSpec: { Image: 'none', Command: ['/bin/true'] } });
  assert.equal(sent.NodeID, nodeId);

  // Its own status report changes nothing the agent must hear about.
  session.send({ kind: 'taskStatuses', taskStatuses: { updates: [report(ids.run, 'accepted')] } });
  await waitFor(() => leader.store.get('task', ids.run)?.Status.State === 'accepted', 'the report is written');
  await sleep(3 * ASSIGNMENT_BATCH_MS);
  assert.equal(assignments(session.received).length, 1);

  // A new task, a desired-state change and a task moved away arrive as one increment.
  const moved = await leader.store.update((tx) => {
    ids.added = tx.create('task', task(nodeId, 'running', 'assigned', 7)).ID;
    const stopping = thaw(tx.get('task', ids.run)!) as Task;
    stopping.DesiredState = 'shutdown';
    tx.update('task', stopping as Frozen<Task>);
    const away = thaw(tx.get('task', ids.failed)!) as Task;
    away.NodeID = other;
    tx.update('task', away as Frozen<Task>);
  });
  assert.ok(moved.index > 0);
  await waitFor(() => assignments(session.received).length === 2, 'an increment arrives');
  const increment = assignments(session.received)[1];
  assert.equal(increment.full, false);
  assert.deepEqual(increment.tasks.map((t) => [t.ID, t.DesiredState]).sort(), [[ids.added, 'running'], [ids.run, 'shutdown']].sort());
  assert.deepEqual(increment.removed, [ids.failed]);

  // Reported shut down, the task stays the node's (nothing to send) until it is deleted.
  session.send({ kind: 'taskStatuses', taskStatuses: { updates: [report(ids.run, 'shutdown')] } });
  await waitFor(() => leader.store.get('task', ids.run)?.Status.State === 'shutdown', 'the report is written');
  await sleep(3 * ASSIGNMENT_BATCH_MS);
  assert.equal(assignments(session.received).length, 2);
  await leader.store.update((tx) => tx.delete('task', ids.run));
  await waitFor(() => assignments(session.received).length === 3, 'the deleted task is removed');
  assert.deepEqual(assignments(session.received)[2], { full: false, tasks: [], removed: [ids.run] });
  session.call.end();
});

test('status reports move only the node\'s own tasks, only forward, and are written together', async (t) => {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const nodeId = await h.createNode();
  const other = await h.createNode();
  const ids: string[] = [];
  let theirs = '';
  await leader.store.update((tx) => {
    for (let slot = 1; slot <= 3; slot++) ids.push(tx.create('task', task(nodeId, 'running', 'assigned', slot)).ID);
    theirs = tx.create('task', task(other, 'running', 'assigned', 4)).ID;
  });
  const session = h.openRawSession(leader.addr, h.credentials(nodeId));
  session.send({ kind: 'register', register: { nodeId, description: describeNode({ hostname: 'raw' }), addr: '' } });
  await waitFor(() => assignments(session.received).length === 1, 'the full set arrives');

  const before = leader.store.appliedIndex;
  session.send({
    kind: 'taskStatuses',
    taskStatuses: {
      updates: [
        report(ids[0], 'running', { runtimeId: '4242', pid: 4242, message: 'started' }),
        report(ids[1], 'failed', { err: 'task: non-zero exit (3)', exitCode: 3, pid: 77, runtimeId: '77' }),
        report(theirs, 'running'),
        report('no-such-task', 'running'),
        report(ids[2], 'assigned'),
      ],
    },
  });
  // A second message right after: almost always in the same batch (a batch timer may fire between the two).
  session.send({ kind: 'taskStatuses', taskStatuses: { updates: [report(ids[2], 'preparing')] } });
  await waitFor(() => leader.store.get('task', ids[2])?.Status.State === 'preparing', 'the reports are written');
  const writes = leader.store.appliedIndex - before;
  assert.ok(writes >= 1 && writes <= 2, `${writes} writes`);

  const running = leader.store.get('task', ids[0])!;
  assert.equal(running.Status.State, 'running');
  assert.equal(running.Status.Message, 'started');
  assert.deepEqual(running.Status.ContainerStatus, { ContainerID: '4242', PID: 4242 });
  const failed = leader.store.get('task', ids[1])!;
  assert.equal(failed.Status.Err, 'task: non-zero exit (3)');
  assert.deepEqual(failed.Status.ContainerStatus, { ContainerID: '77', PID: 77, ExitCode: 3 });
  assert.equal(leader.store.get('task', theirs)!.Status.State, 'assigned');

  // Backwards, past an end, or repeated: nothing is written.
  const settled = leader.store.appliedIndex;
  session.send({
    kind: 'taskStatuses',
    taskStatuses: {
      updates: [
        report(ids[0], 'starting'),
        report(ids[1], 'shutdown'),
        report(ids[2], 'preparing', { message: 'preparing' }),
      ],
    },
  });
  await sleep(4 * STATUS_BATCH_MS);
  assert.equal(leader.store.appliedIndex, settled);
  assert.equal(leader.store.get('task', ids[0])!.Status.State, 'running');
  assert.equal(leader.store.get('task', ids[1])!.Status.State, 'failed');
  session.call.end();
});
