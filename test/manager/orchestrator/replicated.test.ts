import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDesiredLive } from '../../../manager/orchestrator/index.js';
import { replicatedSpec, startHarness, waitFor } from './harness.js';

function liveSlots(tasks: readonly { Slot?: number; DesiredState: string }[]): number[] {
  return tasks.filter((t) => isDesiredLive(t as never)).map((t) => t.Slot!).sort((a, b) => a - b);
}

describe('ReplicatedOrchestrator', () => {
  it('creates one pending task per slot 1..Replicas, with the template copied, on the leader only', async () => {
    const h = await startHarness(['replicated']);
    const web = await h.createService(replicatedSpec('web', 3));
    await waitFor(() => h.tasks(web.ID).length === 3, 'three tasks exist');
    await h.settleFor(300); // no follower's orchestrator (nor a second pass) adds more
    const tasks = h.tasks(web.ID);
    assert.equal(tasks.length, 3);
    assert.deepEqual(liveSlots(tasks), [1, 2, 3]);
    for (const task of tasks) {
      assert.equal(task.Status.State, 'pending');
      assert.equal(task.DesiredState, 'running');
      assert.equal(task.Name, `web.${task.Slot}`);
      assert.equal(task.NodeID, undefined);
      assert.deepEqual(task.Spec, web.Spec.TaskTemplate);
    }
    h.checkInvariant();
  });

  it('scales up to 5, down to 1 (highest slots shut down), and up again refilling the old slots', async () => {
    const h = await startHarness(['replicated']);
    const web = await h.createService(replicatedSpec('web', 3));
    await waitFor(() => h.tasks(web.ID).length === 3, 'three tasks exist');
    h.checkInvariant();

    await h.updateService(web.ID, (spec) => { spec.Mode = { Replicated: { Replicas: 5 } }; });
    await waitFor(() => liveSlots(h.tasks(web.ID)).length === 5, 'five live tasks');
    assert.deepEqual(liveSlots(h.tasks(web.ID)), [1, 2, 3, 4, 5]);
    h.checkInvariant();

    const slot1 = h.liveInSlot(web.ID, 1)[0];
    await h.updateService(web.ID, (spec) => { spec.Mode = { Replicated: { Replicas: 1 } }; });
    await waitFor(() => liveSlots(h.tasks(web.ID)).length === 1, 'one live task');
    assert.deepEqual(liveSlots(h.tasks(web.ID)), [1]);
    assert.equal(h.liveInSlot(web.ID, 1)[0].ID, slot1.ID, 'the remaining slot keeps its task');
    assert.equal(h.tasks(web.ID, (t) => t.DesiredState === 'shutdown').length, 4);
    h.checkInvariant();

    await h.updateService(web.ID, (spec) => { spec.Mode = { Replicated: { Replicas: 3 } }; });
    await waitFor(() => liveSlots(h.tasks(web.ID)).length === 3, 'three live tasks again');
    assert.deepEqual(liveSlots(h.tasks(web.ID)), [1, 2, 3]);
    assert.equal(h.tasks(web.ID).length, 7, 'slots 2 and 3 got new tasks; the old ones stay as history');
    h.checkInvariant();
  });

  it('marks every task of a deleted service desired remove', async () => {
    const h = await startHarness(['replicated']);
    const web = await h.createService(replicatedSpec('web', 2));
    await waitFor(() => h.tasks(web.ID).length === 2, 'two tasks exist');
    await h.store.update((tx) => { tx.delete('service', web.ID); });
    await waitFor(() => h.tasks(web.ID).every((t) => t.DesiredState === 'remove'), 'all tasks desired remove');
    h.checkInvariant();
  });

  it('repairs a slot that somehow has two live tasks', async () => {
    const h = await startHarness(['replicated']);
    const web = await h.createService(replicatedSpec('web', 1));
    await waitFor(() => h.tasks(web.ID).length === 1, 'one task exists');
    const [first] = h.tasks(web.ID);
    await h.store.update((tx) => {
      const { ID: _id, Version: _v, CreatedAt: _c, UpdatedAt: _u, ...copy } = first;
      tx.create('task', copy);
    });
    await waitFor(() => h.liveInSlot(web.ID, 1).length === 1, 'the slot has one live task again');
  });
});

describe('orchestrators across a leader change', () => {
  it('the new leader carries on: no duplicate tasks, scaling still works', async () => {
    const h = await startHarness();
    const web = await h.createService(replicatedSpec('web', 3));
    await waitFor(() => h.tasks(web.ID).length === 3, 'three tasks');
    const { cluster } = h;
    cluster.isolate(h.store);
    const next = await cluster.waitForLeader({ excluding: h.store });
    await waitFor(() => next.find('task', { serviceId: web.ID }).length === 3, 'the new leader sees the tasks');
    await next.update((tx) => {
      const service = structuredClone(tx.get('service', web.ID)!) as { Spec: Record<string, unknown> } & typeof web;
      (service.Spec as Record<string, unknown>).Mode = { Replicated: { Replicas: 4 } };
      tx.update('service', service);
    });
    await waitFor(() => next.find('task', { serviceId: web.ID, where: isDesiredLive }).length === 4, 'the new leader scaled to 4');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const live = next.find('task', { serviceId: web.ID, where: isDesiredLive }).map((t) => t.Slot).sort();
    assert.deepEqual(live, [1, 2, 3, 4]);
    cluster.heal();
  });
});
