// Host-mode published ports from the runtime to the task: the agent reports the controller's ports
// with 'running', and the dispatcher stores them as Docker shows them, Status.PortStatus.Ports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextStatus } from '../../../manager/dispatcher/task-status.js';
import { StatusQueue } from '../../../manager/dispatcher/task-status.js';
import type { Frozen, Task } from '../../../manager/store/index.js';
import type { TaskStatusUpdate } from '../../../shared/session-protocol.js';
import { startDispatcherHarness, waitFor, waitForSession } from '../../manager/dispatcher/harness.js';
import { ScriptedExecutor } from './scripted-executor.js';

const PORTS = [
  { Protocol: 'tcp', TargetPort: 80, PublishedPort: 30080, PublishMode: 'host' as const },
  { Protocol: 'udp', TargetPort: 53, PublishedPort: 30053, PublishMode: 'host' as const },
];

test('a running task\'s host ports reach its Status.PortStatus', async (t) => {
  const h = await startDispatcherHarness(t);
  const leader = await h.leader();
  const nodeId = await h.createNode();
  const executor = new ScriptedExecutor();
  executor.ports = PORTS;
  await waitForSession(h.startAgent(nodeId, [leader.addr], { executor }));
  let id = '';
  await leader.store.update((tx) => {
    id = tx.create('task', {
      ServiceID: 'svc1', Slot: 1, NodeID: nodeId, DesiredState: 'running', Status: { State: 'assigned' },
      Spec: { ContainerSpec: { Image: 'none' } },
    }).ID;
  });
  await waitFor(() => leader.store.get('task', id)?.Status.State === 'running', 'the task runs');
  assert.deepEqual(leader.store.get('task', id)!.Status.PortStatus, { Ports: PORTS });
});

test('the ports stay through later states, and survive an end overtaking "running" in the queue', () => {
  const update = (state: string, extra: Partial<TaskStatusUpdate> = {}): TaskStatusUpdate => ({
    taskId: 't1', state, message: state, err: '', exitCode: null, timestampMs: 1, runtimeId: 'c', pid: 0, ...extra,
  });
  const task = { ID: 't1', NodeID: 'n1', ServiceID: 's', DesiredState: 'running', Spec: {}, Status: { State: 'starting' } } as unknown as Frozen<Task>;
  const running = nextStatus(task, 'n1', update('running', { ports: PORTS }))!;
  assert.deepEqual(running.PortStatus, { Ports: PORTS });
  const failed = nextStatus({ ...task, Status: running } as Frozen<Task>, 'n1', update('failed', { err: 'task: non-zero exit (1)', exitCode: 1 }))!;
  assert.deepEqual(failed.PortStatus, { Ports: PORTS });

  const queue = new StatusQueue();
  queue.add('n1', update('running', { ports: PORTS }));
  queue.add('n1', update('complete', { exitCode: 0 }));
  const [queued] = queue.take();
  assert.equal(queued.update.state, 'complete');
  assert.deepEqual(queued.update.ports, PORTS);
});
