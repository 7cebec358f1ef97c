import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { ASSIGNED_MESSAGE, Scheduler } from '../../../manager/scheduler/scheduler.js';
import type { NewObject, Store } from '../../../manager/store/index.js';
import { NotFoundError } from '../../../manager/store/index.js';
import { startStoreCluster, waitFor } from '../store/store-cluster.js';
import { GiB, spec } from './fixtures.js';
import type { TaskSpecFields } from './fixtures.js';

function workerNode(hostname: string, labels: Record<string, string> = {}, memoryBytes = 8 * GiB): NewObject<'node'> {
  return {
    Spec: { Role: 'worker', Availability: 'active', Labels: labels },
    Description: { Hostname: hostname, Platform: { OS: 'linux', Architecture: 'x86_64' }, Resources: { NanoCPUs: 4e9, MemoryBytes: memoryBytes } },
    Status: { State: 'ready' },
  };
}

function pendingTask(serviceId: string, slot: number, fields: TaskSpecFields = {}): NewObject<'task'> {
  return { ServiceID: serviceId, Slot: slot, DesiredState: 'running', Status: { State: 'pending' }, Spec: spec(fields) };
}

async function createAll<K extends 'node' | 'task'>(store: Store, kind: K, objects: NewObject<K>[]): Promise<string[]> {
  const ids: string[] = [];
  await store.update((tx) => { for (const o of objects) ids.push(tx.create(kind, o as never).ID); });
  return ids;
}

const quiet = pino({ level: 'silent' });

describe('Scheduler on a replicated store', () => {
  it('assigns pending tasks written to the store, spread over nodes, in batched writes', async () => {
    const cluster = await startStoreCluster();
    const store = cluster.leader;
    const nodeIds = await createAll(store, 'node', ['w1', 'w2', 'w3'].map((h) => workerNode(h)));
    const scheduler = new Scheduler({ store, isLeader: () => store.isLeader, logger: quiet, batchDelayMs: 20 });
    scheduler.start();
    try {
      const taskIds = await createAll(store, 'task', Array.from({ length: 6 }, (_, i) => pendingTask('svc-web', i + 1)));
      await waitFor(() => taskIds.every((id) => store.get('task', id)?.Status.State === 'assigned'), 'every task is assigned');
      const perNode = new Map<string, number>();
      for (const id of taskIds) {
        const task = store.get('task', id)!;
        assert.equal(task.Status.Message, ASSIGNED_MESSAGE);
        assert.ok(task.Status.Timestamp);
        perNode.set(task.NodeID!, (perNode.get(task.NodeID!) ?? 0) + 1);
      }
      assert.deepEqual([...perNode.keys()].sort(), [...nodeIds].sort());
      assert.deepEqual([...perNode.values()], [2, 2, 2]);
      // Followers apply the same assignments.
      await cluster.settle();
      for (const follower of cluster.followers) assert.equal(follower.get('task', taskIds[0])!.NodeID, store.get('task', taskIds[0])!.NodeID);
    } finally {
      await scheduler.stop();
    }
  });

  it('leaves an impossible task pending with the reason, then places it when a node makes room', async () => {
    const cluster = await startStoreCluster({ followers: 0 });
    const store = cluster.leader;
    await createAll(store, 'node', [workerNode('small-a', { zone: 'a' }, GiB), workerNode('big-b', { zone: 'b' }, 64 * GiB)]);
    const scheduler = new Scheduler({ store, isLeader: () => store.isLeader, logger: quiet, batchDelayMs: 20 });
    scheduler.start();
    try {
      const [taskId] = await createAll(store, 'task', [pendingTask('svc-db', 1, { memory: 4 * GiB, constraints: ['node.labels.zone==a'] })]);
      const expected = 'no suitable node (1 node: insufficient memory; 1 node: constraint node.labels.zone==a not met)';
      await waitFor(() => store.get('task', taskId)?.Status.Err === expected, 'the task explains why it is pending');
      const task = store.get('task', taskId)!;
      assert.equal(task.Status.State, 'pending');
      assert.equal(task.NodeID, undefined);
      const version = task.Version.Index;

      const verdicts = scheduler.placementVerdicts(taskId);
      assert.deepEqual(verdicts.map((v) => ({ host: v.node.Hostname, ok: v.ok, reasons: v.reasons })), [
        { host: 'small-a', ok: false, reasons: ['insufficient memory'] },
        { host: 'big-b', ok: false, reasons: ['constraint node.labels.zone==a not met'] },
      ]);
      assert.throws(() => scheduler.placementVerdicts('no-such-task'), NotFoundError);

      // Passes repeat (the rescan poll, store changes) without rewriting an unchanged Err.
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(store.get('task', taskId)!.Version.Index, version);

      const [roomy] = await createAll(store, 'node', [workerNode('roomy-a', { zone: 'a' }, 16 * GiB)]);
      await waitFor(() => store.get('task', taskId)?.NodeID === roomy, 'the task goes to the new node');
      assert.equal(store.get('task', taskId)!.Status.State, 'assigned');
      assert.equal(store.get('task', taskId)!.Status.Err, undefined);
      assert.deepEqual(scheduler.placementVerdicts(taskId).find((v) => v.node.ID === roomy), { node: { ID: roomy, Hostname: 'roomy-a' }, ok: true, reasons: [] });
    } finally {
      await scheduler.stop();
    }
  });

  it('does nothing while not the leader, and schedules once it is', async () => {
    const cluster = await startStoreCluster({ followers: 0 });
    const store = cluster.leader;
    await createAll(store, 'node', [workerNode('w1')]);
    let leader = false;
    const scheduler = new Scheduler({ store, isLeader: () => leader, logger: quiet, batchDelayMs: 10, rescanIntervalMs: 50 });
    scheduler.start();
    try {
      const [taskId] = await createAll(store, 'task', [pendingTask('svc', 1)]);
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(store.get('task', taskId)!.Status.State, 'pending');
      leader = true;
      await waitFor(() => store.get('task', taskId)?.Status.State === 'assigned', 'the new leader assigns the task');
    } finally {
      await scheduler.stop();
    }
  });
});
