import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDesiredLive } from '../../../manager/orchestrator/index.js';
import { startHarness, waitFor } from './harness.js';
import type { Harness } from './harness.js';

function liveNodes(h: Harness, serviceId: string): string[] {
  return h.tasks(serviceId, isDesiredLive).map((t) => t.NodeID!).sort();
}

function globalSpec(name: string, constraints: string[] = []): Record<string, unknown> {
  return {
    Name: name,
    Mode: { Global: {} },
    TaskTemplate: { ContainerSpec: { Image: 'agent' }, Placement: { Constraints: constraints }, RestartPolicy: { Condition: 'any', Delay: 0 } },
  };
}

describe('GlobalOrchestrator', () => {
  it('runs one assigned task per eligible node, following joins, drains, downs and label changes', async () => {
    const h = await startHarness();
    const w1 = await h.createNode('w1', { labels: { zone: 'a' } });
    const w2 = await h.createNode('w2', { labels: { zone: 'a' } });
    const w3 = await h.createNode('w3', { labels: { zone: 'b' } });
    const agent = await h.createService(globalSpec('agent', ['node.labels.zone==a']));
    await waitFor(() => liveNodes(h, agent.ID).length === 2, 'two global tasks');
    assert.deepEqual(liveNodes(h, agent.ID), [w1.ID, w2.ID].sort());
    for (const task of h.tasks(agent.ID)) {
      assert.equal(task.Status.State, 'assigned');
      assert.equal(task.Name, `agent.${task.NodeID}`);
      assert.equal(task.Slot, undefined);
    }
    h.checkInvariant();

    const w4 = await h.createNode('w4', { labels: { zone: 'a' } });
    await waitFor(() => liveNodes(h, agent.ID).includes(w4.ID), 'the new node gets a task');
    h.checkInvariant();

    await h.updateNode(w1.ID, (n) => { n.Spec.Availability = 'drain'; });
    await waitFor(() => !liveNodes(h, agent.ID).includes(w1.ID), 'the drained node loses its task');
    h.checkInvariant();

    await h.updateNode(w3.ID, (n) => { n.Spec.Labels = { zone: 'a' }; });
    await waitFor(() => liveNodes(h, agent.ID).includes(w3.ID), 'a node whose labels now fit gets a task');
    await h.updateNode(w2.ID, (n) => { n.Spec.Labels = { zone: 'c' }; });
    await waitFor(() => !liveNodes(h, agent.ID).includes(w2.ID), 'a node whose labels no longer fit loses its task');
    h.checkInvariant();

    await h.updateNode(w4.ID, (n) => { n.Status.State = 'down'; });
    await waitFor(() => !liveNodes(h, agent.ID).includes(w4.ID), 'a down node loses its task');
    await h.updateNode(w1.ID, (n) => { n.Spec.Availability = 'active'; });
    await h.updateNode(w4.ID, (n) => { n.Status.State = 'ready'; });
    await waitFor(() => liveNodes(h, agent.ID).length === 3, 'returning nodes get tasks again');
    assert.deepEqual(liveNodes(h, agent.ID), [w1.ID, w3.ID, w4.ID].sort());
    h.checkInvariant();
  });

  it('keeps tasks on a paused node but places none there; role constraints work', async () => {
    const h = await startHarness(['global']);
    const m1 = await h.createNode('m1', { role: 'manager' });
    const m2 = await h.createNode('m2', { role: 'manager' });
    await h.createNode('w1');
    await h.updateNode(m2.ID, (n) => { n.Spec.Availability = 'pause'; });
    const agent = await h.createService(globalSpec('agent', ['node.role==manager']));
    await waitFor(() => liveNodes(h, agent.ID).length === 1, 'one global task');
    await h.settleFor(200);
    assert.deepEqual(liveNodes(h, agent.ID), [m1.ID]);
    await h.updateNode(m1.ID, (n) => { n.Spec.Availability = 'pause'; });
    await h.settleFor(200);
    assert.deepEqual(liveNodes(h, agent.ID), [m1.ID], 'pausing keeps the running task');
  });

  it('restarts a failed global task on the same node', async () => {
    const h = await startHarness();
    const w1 = await h.createNode('w1');
    const agent = await h.createService(globalSpec('agent'));
    await waitFor(() => liveNodes(h, agent.ID).length === 1, 'one global task');
    const [task] = h.tasks(agent.ID);
    await h.report(task.ID, 'failed');
    await waitFor(() => h.tasks(agent.ID, isDesiredLive).some((t) => t.ID !== task.ID), 'a replacement');
    const [replacement] = h.tasks(agent.ID, isDesiredLive);
    assert.equal(replacement.NodeID, w1.ID);
    assert.equal(replacement.Status.State, 'assigned');
    assert.equal(h.store.get('task', task.ID)!.DesiredState, 'shutdown');
    h.checkInvariant();
  });
});
