import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDesiredLive } from '../../../manager/orchestrator/index.js';
import { replicatedSpec, startHarness, waitFor } from './harness.js';
import type { Harness } from './harness.js';

/** Fails slot 1's live task `times` times (restart policy any, no delay), waiting for each replacement. */
async function crashLoop(h: Harness, serviceId: string, nodeId: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await waitFor(() => h.liveInSlot(serviceId, 1).length === 1, 'slot 1 has a live task');
    const [task] = h.liveInSlot(serviceId, 1);
    await h.report(task.ID, 'running', nodeId);
    await h.report(task.ID, 'failed');
    await waitFor(() => h.liveInSlot(serviceId, 1).some((t) => t.ID !== task.ID), 'slot 1 has a replacement');
    h.checkInvariant();
  }
}

function finishedInSlot(h: Harness, serviceId: string, slot: number): number {
  return h.tasks(serviceId, (t) => t.Slot === slot && !isDesiredLive(t)).length;
}

describe('TaskReaper', () => {
  it('keeps at most 5 finished tasks per slot by default, deleting the oldest', async () => {
    const h = await startHarness();
    const node = await h.createNode('w1');
    const web = await h.createService(replicatedSpec('web', 2));
    await waitFor(() => h.tasks(web.ID).length === 2, 'two tasks');
    const first = h.liveInSlot(web.ID, 1)[0];
    await crashLoop(h, web.ID, node.ID, 8);
    await waitFor(() => finishedInSlot(h, web.ID, 1) === 5, 'five finished tasks in slot 1');
    await h.settleFor(200);
    assert.equal(finishedInSlot(h, web.ID, 1), 5);
    assert.equal(h.liveInSlot(web.ID, 1).length, 1);
    assert.equal(h.store.get('task', first.ID), undefined, 'the oldest went first');
    assert.equal(h.tasks(web.ID, (t) => t.Slot === 2).length, 1, 'the other slot is untouched');
  });

  it('follows the cluster\'s TaskHistoryRetentionLimit', async () => {
    const h = await startHarness();
    await h.store.update((tx) => { tx.create('cluster', { Spec: { Name: 'default', Orchestration: { TaskHistoryRetentionLimit: 2 } } }); });
    const node = await h.createNode('w1');
    const web = await h.createService(replicatedSpec('web', 1));
    await crashLoop(h, web.ID, node.ID, 4);
    await waitFor(() => finishedInSlot(h, web.ID, 1) === 2, 'two finished tasks in slot 1');
  });

  it('keeps each slot\'s newest task, even with a limit of 0', async () => {
    const h = await startHarness(['replicated', 'reaper']);
    await h.store.update((tx) => { tx.create('cluster', { Spec: { Name: 'default', Orchestration: { TaskHistoryRetentionLimit: 0 } } }); });
    const node = await h.createNode('w1');
    const web = await h.createService(replicatedSpec('web', 3));
    await waitFor(() => h.tasks(web.ID).length === 3, 'three tasks');
    const [slot1] = h.liveInSlot(web.ID, 1);
    await h.report(slot1.ID, 'running', node.ID);
    await h.updateService(web.ID, (spec) => { spec.Mode = { Replicated: { Replicas: 0 } }; });
    await waitFor(() => h.tasks(web.ID).every((t) => t.DesiredState === 'shutdown'), 'all tasks desired shutdown');
    await h.settleFor(200);
    assert.equal(h.tasks(web.ID).length, 3, 'each slot keeps its newest task');
  });

  it('deletes the tasks of a deleted service once they stopped', async () => {
    const h = await startHarness();
    const node = await h.createNode('w1');
    const web = await h.createService(replicatedSpec('web', 2));
    await waitFor(() => h.tasks(web.ID).length === 2, 'two tasks');
    const [running] = h.liveInSlot(web.ID, 1);
    await h.report(running.ID, 'running', node.ID);
    await h.store.update((tx) => { tx.delete('service', web.ID); });
    await waitFor(() => h.tasks(web.ID).length === 1, 'the never-started task is deleted');
    assert.equal(h.tasks(web.ID)[0].ID, running.ID, 'the running one waits for its worker');
    assert.equal(h.tasks(web.ID)[0].DesiredState, 'remove');
    await h.report(running.ID, 'shutdown');
    await waitFor(() => h.tasks(web.ID).length === 0, 'every task is deleted');
  });
});
