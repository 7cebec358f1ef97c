import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import pino from 'pino';
import type { Frozen, Service, ServiceSpec, Task } from '../../../manager/store/index.js';
import { thaw } from '../../../manager/store/index.js';
import { Updater, isDesiredLive } from '../../../manager/orchestrator/index.js';
import { replicatedSpec, startHarness, waitFor } from './harness.js';
import type { Harness } from './harness.js';

const stoppables: { stop(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const s of stoppables.splice(0)) await s.stop();
});

const imageOf = (t: Frozen<Task>) => (t.Spec as { ContainerSpec?: { Image?: string } }).ContainerSpec?.Image;

interface Rig {
  h: Harness;
  /** Max number of slots (or nodes) seen at once with a live task of `image` not yet running. */
  maxInFlight(image: string): number;
  /** UpdateStatus states seen, in order, without repeats. */
  states(): string[];
  /** Slots that at some moment had no live running task (after `watchRunning()`). */
  gaps: string[];
  watchRunning(): void;
  /** Max live tasks seen in one slot. */
  maxLivePerSlot(): number;
}

/** A cluster with the orchestrators, an Updater per member, and a simulated worker running every new task on `nodes` (round robin). */
async function rig(opts: { global?: boolean; failImage?: string; nodes?: number } = {}): Promise<Rig & { nodeIds: string[] }> {
  const h = await startHarness(['replicated', 'global', 'restart']);
  const logger = pino({ level: 'silent' });
  for (const member of h.cluster.members) {
    const updater = new Updater({ store: member, isLeader: () => member.isLeader, logger });
    updater.start();
    stoppables.push(updater);
  }
  const nodeIds: string[] = [];
  for (let i = 0; i < (opts.nodes ?? 1); i++) nodeIds.push((await h.createNode(`w${i}`)).ID);
  const handled = new Set<string>();
  const inFlightSamples = new Map<string, number>();
  const seenStates: string[] = [];
  const gaps: string[] = [];
  let watching = false;
  let maxLive = 0;
  let next = 0;
  const check = () => {
    const tasks = h.store.find('task').filter(isDesiredLive);
    const bySlot = new Map<string, Frozen<Task>[]>();
    for (const t of tasks) {
      const key = `${t.ServiceID}/${t.Slot || t.NodeID}`;
      bySlot.set(key, [...(bySlot.get(key) ?? []), t]);
    }
    const counts = new Map<string, number>();
    for (const [key, live] of bySlot) {
      maxLive = Math.max(maxLive, live.length);
      for (const image of new Set(live.map(imageOf))) {
        if (live.some((t) => imageOf(t) === image && t.Status.State !== 'running')) counts.set(image!, (counts.get(image!) ?? 0) + 1);
      }
      if (watching && !live.some((t) => t.Status.State === 'running')) gaps.push(key);
    }
    for (const [image, n] of counts) inFlightSamples.set(image, Math.max(n, inFlightSamples.get(image) ?? 0));
  };
  const sub = h.store.subscribe({ kinds: ['task', 'service'] }, (event) => {
    if (event.kind === 'service') {
      const state = (event.object as Frozen<Service>).UpdateStatus?.State as string | undefined;
      if (state && seenStates[seenStates.length - 1] !== state) seenStates.push(state);
      return;
    }
    check();
    const task = event.object as Frozen<Task>;
    if (event.action === 'delete' || handled.has(task.ID) || task.DesiredState !== 'running') return;
    if (task.Status.State !== 'pending' && task.Status.State !== 'assigned') return;
    handled.add(task.ID);
    const node = task.NodeID ?? nodeIds[next++ % nodeIds.length];
    setTimeout(() => {
      void h.report(task.ID, imageOf(task) === opts.failImage ? 'failed' : 'running', node).catch(() => {});
    }, 30);
  });
  stoppables.push({ stop: () => sub.close() });
  return {
    h, nodeIds, gaps,
    maxInFlight: (image) => inFlightSamples.get(image) ?? 0,
    states: () => seenStates,
    watchRunning: () => { watching = true; },
    maxLivePerSlot: () => maxLive,
  };
}

/** What the API's service update does: PreviousSpec ← Spec, the edited Spec, UpdateStatus cleared. */
async function apiUpdate(h: Harness, id: string, edit: (spec: Record<string, unknown>) => void): Promise<void> {
  await h.store.update((tx) => {
    const service = thaw(tx.get('service', id)!);
    service.PreviousSpec = thaw(tx.get('service', id)!).Spec;
    edit(service.Spec as Record<string, unknown>);
    delete service.UpdateStatus;
    tx.update('service', service);
  });
}

function withUpdateConfig(spec: Record<string, unknown>, config: Record<string, unknown>): Record<string, unknown> {
  return {
    ...spec,
    UpdateConfig: { Parallelism: 1, Delay: 20e6, Monitor: 100e6, FailureAction: 'pause', MaxFailureRatio: 0, Order: 'stop-first', ...config },
    RollbackConfig: { Parallelism: 0, Delay: 0, Monitor: 100e6, FailureAction: 'pause', MaxFailureRatio: 0, Order: 'stop-first' },
  };
}

const setImage = (image: string) => (spec: Record<string, unknown>) => {
  ((spec.TaskTemplate as Record<string, unknown>).ContainerSpec as Record<string, unknown>).Image = image;
};

async function allRunning(h: Harness, serviceId: string, count: number, image: string): Promise<void> {
  await waitFor(() => {
    const live = h.tasks(serviceId, isDesiredLive);
    return live.length === count && live.every((t) => t.Status.State === 'running' && imageOf(t) === image);
  }, `${count} tasks of ${image} running`, 15000);
}

const updateState = (h: Harness, id: string) => h.store.get('service', id)!.UpdateStatus?.State;

describe('Updater', () => {
  it('stop-first: rolls 6 replicas in batches of 2, updating → completed', async () => {
    const { h, maxInFlight, states, maxLivePerSlot } = await rig();
    const web = await h.createService(withUpdateConfig(replicatedSpec('web', 6), { Parallelism: 2 }));
    await allRunning(h, web.ID, 6, 'nginx:alpine');
    const before = new Set(h.tasks(web.ID).map((t) => t.ID));
    await apiUpdate(h, web.ID, setImage('nginx:1.27'));
    await waitFor(() => updateState(h, web.ID) === 'completed', 'update completed', 15000);
    await allRunning(h, web.ID, 6, 'nginx:1.27');
    assert.deepEqual(states(), ['updating', 'completed']);
    const status = h.store.get('service', web.ID)!.UpdateStatus!;
    assert.ok(status.StartedAt && status.CompletedAt);
    assert.equal(maxInFlight('nginx:1.27'), 2, 'batches of exactly 2 slots');
    assert.equal(maxLivePerSlot(), 1);
    assert.ok(h.tasks(web.ID, isDesiredLive).every((t) => !before.has(t.ID)));
    assert.deepEqual(h.tasks(web.ID, isDesiredLive).map((t) => t.Slot).sort(), [1, 2, 3, 4, 5, 6]);
    h.checkInvariant();
  });

  it('start-first: the old task keeps running until its replacement runs', async () => {
    const { h, gaps, watchRunning, maxLivePerSlot } = await rig();
    const web = await h.createService(withUpdateConfig(replicatedSpec('web', 3), { Parallelism: 1, Order: 'start-first' }));
    await allRunning(h, web.ID, 3, 'nginx:alpine');
    watchRunning();
    await apiUpdate(h, web.ID, setImage('nginx:1.27'));
    await waitFor(() => updateState(h, web.ID) === 'completed', 'update completed', 15000);
    await allRunning(h, web.ID, 3, 'nginx:1.27');
    assert.deepEqual(gaps, [], 'every slot always had a running live task');
    assert.equal(maxLivePerSlot(), 2, 'one extra task per slot during the switch');
  });

  it('FailureAction pause: a failing new task pauses the update', async () => {
    const { h } = await rig({ failImage: 'broken:1' });
    const web = await h.createService(withUpdateConfig(replicatedSpec('web', 4, { delayMs: 200 }), { Parallelism: 1, FailureAction: 'pause' }));
    await allRunning(h, web.ID, 4, 'nginx:alpine');
    await apiUpdate(h, web.ID, setImage('broken:1'));
    await waitFor(() => updateState(h, web.ID) === 'paused', 'update paused', 15000);
    await h.settleFor(500);
    const live = h.tasks(web.ID, isDesiredLive);
    assert.equal(live.filter((t) => imageOf(t) === 'nginx:alpine').length, 3, 'no further batch after the pause');
    assert.equal(updateState(h, web.ID), 'paused');
    assert.match(String(h.store.get('service', web.ID)!.UpdateStatus!.Message), /paused/);
    h.checkInvariant();
  });

  it('FailureAction rollback: Spec back to PreviousSpec, tasks back to the old spec, rollback_completed', async () => {
    const { h, states } = await rig({ failImage: 'broken:1' });
    const web = await h.createService(withUpdateConfig(replicatedSpec('web', 4, { delayMs: 200 }), { Parallelism: 2, FailureAction: 'rollback' }));
    await allRunning(h, web.ID, 4, 'nginx:alpine');
    const original = h.store.get('service', web.ID)!.Spec;
    await apiUpdate(h, web.ID, setImage('broken:1'));
    await waitFor(() => updateState(h, web.ID) === 'rollback_completed', 'rollback completed', 15000);
    await allRunning(h, web.ID, 4, 'nginx:alpine');
    const service = h.store.get('service', web.ID)!;
    assert.deepEqual(service.Spec, original as ServiceSpec);
    assert.equal(imageOf({ Spec: service.PreviousSpec!.TaskTemplate } as unknown as Frozen<Task>), 'broken:1');
    assert.deepEqual(states(), ['updating', 'rollback_started', 'rollback_completed']);
    h.checkInvariant();
  });

  it('a ForceUpdate bump replaces every task', async () => {
    const { h } = await rig();
    const web = await h.createService(withUpdateConfig(replicatedSpec('web', 3), { Parallelism: 0 }));
    await allRunning(h, web.ID, 3, 'nginx:alpine');
    const before = new Set(h.tasks(web.ID, isDesiredLive).map((t) => t.ID));
    await apiUpdate(h, web.ID, (spec) => { (spec.TaskTemplate as Record<string, unknown>).ForceUpdate = 1; });
    await waitFor(() => updateState(h, web.ID) === 'completed', 'update completed', 15000);
    await allRunning(h, web.ID, 3, 'nginx:alpine');
    const live = h.tasks(web.ID, isDesiredLive);
    assert.ok(live.every((t) => !before.has(t.ID) && (t.Spec as { ForceUpdate?: number }).ForceUpdate === 1));
    h.checkInvariant();
  });

  it('a global service is updated node by node', async () => {
    const { h, nodeIds, maxInFlight } = await rig({ nodes: 3 });
    const spec = withUpdateConfig({ ...replicatedSpec('agent', 1), Mode: { Global: {} } }, { Parallelism: 1 });
    const agent = await h.createService(spec);
    await allRunning(h, agent.ID, 3, 'nginx:alpine');
    await apiUpdate(h, agent.ID, setImage('nginx:1.27'));
    await waitFor(() => updateState(h, agent.ID) === 'completed', 'update completed', 15000);
    await allRunning(h, agent.ID, 3, 'nginx:1.27');
    assert.deepEqual(h.tasks(agent.ID, isDesiredLive).map((t) => t.NodeID).sort(), [...nodeIds].sort());
    assert.equal(maxInFlight('nginx:1.27'), 1);
    h.checkInvariant();
  });
});
