import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Frozen, Task } from '../../../manager/store/index.js';
import { replicatedSpec, startHarness, waitFor } from './harness.js';
import type { Harness } from './harness.js';

/** Plays scheduler and worker: puts the slot's live task on `nodeId` and reports it running. */
async function runLiveTask(h: Harness, serviceId: string, slot: number, nodeId: string): Promise<Frozen<Task>> {
  await waitFor(() => h.liveInSlot(serviceId, slot).length === 1, `slot ${slot} has a live task`);
  const [task] = h.liveInSlot(serviceId, slot);
  await h.report(task.ID, 'running', nodeId);
  return h.store.get('task', task.ID)!;
}

async function replacementOf(h: Harness, old: Frozen<Task>): Promise<Frozen<Task>> {
  await waitFor(() => h.liveInSlot(old.ServiceID, old.Slot!).some((t) => t.ID !== old.ID), `slot ${old.Slot} has a new task`);
  h.checkInvariant();
  assert.equal(h.store.get('task', old.ID)!.DesiredState, 'shutdown');
  const [replacement] = h.liveInSlot(old.ServiceID, old.Slot!);
  assert.equal(replacement.Status.State, 'pending');
  assert.equal(replacement.NodeID, undefined);
  return replacement;
}

describe('RestartSupervisor', () => {
  it('on-failure: replaces a failed task in its slot after Delay, until MaxAttempts', async () => {
    const h = await startHarness(['replicated', 'restart']);
    const node = await h.createNode('w1');
    const web = await h.createService(replicatedSpec('web', 2, { condition: 'on-failure', delayMs: 300, maxAttempts: 2 }));
    let task = await runLiveTask(h, web.ID, 1, node.ID);
    await runLiveTask(h, web.ID, 2, node.ID);

    const failedAt = Date.now();
    await h.report(task.ID, 'failed');
    const first = await replacementOf(h, task);
    assert.ok(Date.now() - failedAt >= 250, 'the replacement waited for the restart delay');
    assert.equal(h.store.get('task', task.ID)!.Status.State, 'failed');

    task = await runLiveTask(h, web.ID, 1, node.ID);
    assert.equal(task.ID, first.ID);
    await h.report(task.ID, 'rejected');
    task = await replacementOf(h, task);

    // Third failure: two restarts used up.
    task = await runLiveTask(h, web.ID, 1, node.ID);
    await h.report(task.ID, 'failed');
    await waitFor(() => h.store.get('task', task.ID)!.DesiredState === 'shutdown', 'the failed task is shut down');
    await h.settleFor(500);
    assert.deepEqual(h.liveInSlot(web.ID, 1), [], 'slot 1 is left empty after MaxAttempts');
    assert.equal(h.tasks(web.ID, (t) => t.Slot === 1).length, 3);
    assert.equal(h.liveInSlot(web.ID, 2).length, 1, 'the other slot is untouched');
    h.checkInvariant();
  });

  it('on-failure: a task that completes successfully is not replaced', async () => {
    const h = await startHarness(['replicated', 'restart']);
    const node = await h.createNode('w1');
    const web = await h.createService(replicatedSpec('web', 1, { condition: 'on-failure' }));
    const task = await runLiveTask(h, web.ID, 1, node.ID);
    await h.report(task.ID, 'complete');
    await waitFor(() => h.store.get('task', task.ID)!.DesiredState === 'shutdown', 'the task is shut down');
    await h.settleFor(300);
    assert.equal(h.tasks(web.ID).length, 1);
    h.checkInvariant();
  });

  it('none: a failed task is never replaced', async () => {
    const h = await startHarness();
    const node = await h.createNode('w1');
    const web = await h.createService(replicatedSpec('web', 1, { condition: 'none' }));
    const task = await runLiveTask(h, web.ID, 1, node.ID);
    await h.report(task.ID, 'failed');
    await waitFor(() => h.store.get('task', task.ID)!.DesiredState === 'shutdown', 'the task is shut down');
    await h.settleFor(500);
    assert.deepEqual(h.tasks(web.ID).map((t) => t.ID), [task.ID], 'no replacement, and the reaper keeps the slot\'s last task');
    h.checkInvariant();
  });

  it('any: MaxAttempts counts only restarts within Window', async () => {
    const h = await startHarness(['replicated', 'restart']);
    const node = await h.createNode('w1');
    const web = await h.createService(replicatedSpec('web', 1, { condition: 'any', maxAttempts: 1, windowMs: 400 }));
    let task = await runLiveTask(h, web.ID, 1, node.ID);
    await h.report(task.ID, 'complete');
    task = await replacementOf(h, task);
    await h.settleFor(500); // the first restart leaves the window
    task = await runLiveTask(h, web.ID, 1, node.ID);
    await h.report(task.ID, 'failed');
    task = await replacementOf(h, task);
    task = await runLiveTask(h, web.ID, 1, node.ID);
    await h.report(task.ID, 'failed'); // a second restart within the window: refused
    await waitFor(() => h.store.get('task', task.ID)!.DesiredState === 'shutdown', 'the task is shut down');
    await h.settleFor(300);
    assert.deepEqual(h.liveInSlot(web.ID, 1), []);
    h.checkInvariant();
  });

  it('replaces the tasks of a node marked down, in the same slots', async () => {
    const h = await startHarness();
    const [w1, w2] = [await h.createNode('w1'), await h.createNode('w2')];
    const web = await h.createService(replicatedSpec('web', 3, { condition: 'on-failure', delayMs: 50 }));
    const onW1 = [await runLiveTask(h, web.ID, 1, w1.ID), await runLiveTask(h, web.ID, 2, w1.ID)];
    const onW2 = await runLiveTask(h, web.ID, 3, w2.ID);
    await h.updateNode(w1.ID, (n) => { n.Status.State = 'down'; });
    for (const old of onW1) await replacementOf(h, old);
    assert.equal(h.liveInSlot(web.ID, 3)[0].ID, onW2.ID, 'the task on the healthy node stays');
    h.checkInvariant();
  });

  it('replaces the tasks of a drained node at once, ignoring Delay', async () => {
    const h = await startHarness();
    const [w1, w2] = [await h.createNode('w1'), await h.createNode('w2')];
    const web = await h.createService(replicatedSpec('web', 2, { condition: 'any', delayMs: 60_000 }));
    const onW1 = await runLiveTask(h, web.ID, 1, w1.ID);
    const onW2 = await runLiveTask(h, web.ID, 2, w2.ID);
    await h.updateNode(w1.ID, (n) => { n.Spec.Availability = 'drain'; });
    await replacementOf(h, onW1);
    assert.equal(h.liveInSlot(web.ID, 2)[0].ID, onW2.ID);
    h.checkInvariant();
  });

  it('replaces a task whose node no longer meets its constraints', async () => {
    const h = await startHarness(['replicated', 'restart']);
    const w1 = await h.createNode('w1', { labels: { disk: 'ssd' } });
    const spec = replicatedSpec('db', 1);
    (spec.TaskTemplate as Record<string, unknown>).Placement = { Constraints: ['node.labels.disk==ssd'] };
    const db = await h.createService(spec);
    const task = await runLiveTask(h, db.ID, 1, w1.ID);
    await h.settleFor(200);
    assert.equal(h.liveInSlot(db.ID, 1)[0].ID, task.ID, 'a fitting node keeps its task');
    await h.updateNode(w1.ID, (n) => { n.Spec.Labels = { disk: 'hdd' }; });
    await replacementOf(h, task);
  });
});
