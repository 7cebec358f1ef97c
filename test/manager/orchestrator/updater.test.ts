// The updater's rolling updates, driven through the store as the API and the workers drive them.
// Time: the updaters run on a JumpClock, which flows with real time (so passes, commits and the
// simulated workers run as usual) and which a test moves forward at once with advance(). Monitor
// and Delay are set long (tens of seconds) where a test must see what happens before they end, and
// the test jumps over them explicitly: nothing depends on how fast this machine is.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import pino from 'pino';
import type { Frozen, Service, ServiceSpec, Task } from '../../../manager/store/index.js';
import { thaw } from '../../../manager/store/index.js';
import { Updater, isDesiredLive } from '../../../manager/orchestrator/index.js';
import type { OrchestratorClock } from '../../../manager/orchestrator/index.js';
import { replicatedSpec, startHarness, waitFor } from './harness.js';
import type { Harness } from './harness.js';

const stoppables: { stop(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const s of stoppables.splice(0)) await s.stop();
});

const SECOND = 1000;
/** Long enough never to pass in real time during a test: only advance() gets past it. */
const LONG = 60 * SECOND;

interface JumpTimer { due: number; fn: () => void; handle: NodeJS.Timeout }

/** Real time plus an offset that advance() increases, firing at once the timers it made due. */
class JumpClock implements OrchestratorClock {
  private offset = 0;
  private readonly timers = new Set<JumpTimer>();

  now(): number {
    return Date.now() + this.offset;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer: JumpTimer = { due: this.now() + ms, fn, handle: setTimeout(() => { this.timers.delete(timer); fn(); }, ms) };
    this.timers.add(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    const timer = handle as JumpTimer | undefined;
    if (!timer || !this.timers.delete(timer)) return;
    clearTimeout(timer.handle);
  }

  advance(ms: number): void {
    this.offset += ms;
    const due = [...this.timers].filter((t) => t.due <= this.now()).sort((a, b) => a.due - b.due);
    for (const timer of due) {
      if (!this.timers.delete(timer)) continue;
      clearTimeout(timer.handle);
      timer.fn();
    }
  }
}

const imageOf = (t: Frozen<Task>) => (t.Spec as { ContainerSpec?: { Image?: string } }).ContainerSpec?.Image;

interface Rig {
  h: Harness;
  nodeIds: string[];
  clock: JumpClock;
  /** Max number of slots (or nodes) seen at once with a live task of `image` not yet running. */
  maxInFlight(image: string): number;
  /** Max number of slots seen at once holding two live tasks (start-first switches). */
  maxSwitching(): number;
  /** UpdateStatus states seen, in order, without repeats. */
  states(): string[];
  /** Slots that at some moment had no live running task (after `watchRunning()`). */
  gaps: string[];
  watchRunning(): void;
  /** Max live tasks seen in one slot. */
  maxLivePerSlot(): number;
  /** New tasks matching `match` stay pending (the worker is slow) until release(). */
  hold(match: (t: Frozen<Task>) => boolean): void;
  /** The held tasks start running. */
  release(): Promise<void>;
  /** Stops every member's Updater and starts new ones, with empty memory, as a new leader would. */
  restartUpdaters(): Promise<void>;
}

/** A cluster with the orchestrators, an Updater per member, and a simulated worker running every new task on `nodes` (round robin). */
async function rig(opts: { failImage?: string; nodes?: number } = {}): Promise<Rig> {
  const h = await startHarness(['replicated', 'global', 'restart']);
  const logger = pino({ level: 'silent' });
  const clock = new JumpClock();
  let updaters: Updater[] = [];
  const startUpdaters = () => {
    updaters = h.cluster.members.map((member) => new Updater({ store: member, isLeader: () => member.isLeader, logger, clock }));
    for (const updater of updaters) {
      updater.start();
      stoppables.push(updater);
    }
  };
  startUpdaters();
  const nodeIds: string[] = [];
  for (let i = 0; i < (opts.nodes ?? 1); i++) nodeIds.push((await h.createNode(`w${i}`)).ID);
  const handled = new Set<string>();
  const held: { id: string; node: string }[] = [];
  let holding: ((t: Frozen<Task>) => boolean) | undefined;
  const inFlightSamples = new Map<string, number>();
  const seenStates: string[] = [];
  const gaps: string[] = [];
  let watching = false;
  let maxLive = 0;
  let maxSwitching = 0;
  let next = 0;
  const check = () => {
    const tasks = h.store.find('task').filter(isDesiredLive);
    const bySlot = new Map<string, Frozen<Task>[]>();
    for (const t of tasks) {
      const key = `${t.ServiceID}/${t.Slot || t.NodeID}`;
      bySlot.set(key, [...(bySlot.get(key) ?? []), t]);
    }
    const counts = new Map<string, number>();
    let switching = 0;
    for (const [key, live] of bySlot) {
      maxLive = Math.max(maxLive, live.length);
      if (live.length > 1) switching++;
      for (const image of new Set(live.map(imageOf))) {
        if (live.some((t) => imageOf(t) === image && t.Status.State !== 'running')) counts.set(image!, (counts.get(image!) ?? 0) + 1);
      }
      if (watching && !live.some((t) => t.Status.State === 'running')) gaps.push(key);
    }
    maxSwitching = Math.max(maxSwitching, switching);
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
    if (holding?.(task)) {
      held.push({ id: task.ID, node });
      void h.report(task.ID, 'assigned', node).catch(() => {});
      return;
    }
    setTimeout(() => {
      void h.report(task.ID, imageOf(task) === opts.failImage ? 'failed' : 'running', node).catch(() => {});
    }, 30);
  });
  stoppables.push({ stop: () => sub.close() });
  return {
    h, nodeIds, clock, gaps,
    maxInFlight: (image) => inFlightSamples.get(image) ?? 0,
    maxSwitching: () => maxSwitching,
    states: () => seenStates,
    watchRunning: () => { watching = true; },
    maxLivePerSlot: () => maxLive,
    hold: (match) => { holding = match; },
    release: async () => {
      holding = undefined;
      for (const { id, node } of held.splice(0)) await h.report(id, 'running', node);
    },
    restartUpdaters: async () => {
      for (const updater of updaters) await updater.stop();
      startUpdaters();
    },
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

/** UpdateConfig with Delay and Monitor in ms (the API's ns). */
function withUpdateConfig(spec: Record<string, unknown>, config: Record<string, unknown> & { delayMs?: number; monitorMs?: number }): Record<string, unknown> {
  const { delayMs = 0, monitorMs = 100, ...rest } = config;
  return {
    ...spec,
    UpdateConfig: { Parallelism: 1, Delay: delayMs * 1e6, Monitor: monitorMs * 1e6, FailureAction: 'pause', MaxFailureRatio: 0, Order: 'stop-first', ...rest },
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
/** Tasks of `image` ever created for the service (the updater's replacements, and restarts). */
const created = (h: Harness, id: string, image: string) => h.tasks(id, (t) => imageOf(t) === image);
const liveOf = (h: Harness, id: string, image: string) => h.tasks(id, (t) => isDesiredLive(t) && imageOf(t) === image);
const runningOf = (h: Harness, id: string, image: string) => liveOf(h, id, image).filter((t) => t.Status.State === 'running');
const slotsOf = (tasks: Frozen<Task>[]) => tasks.map((t) => t.Slot).sort();
/** The service's tasks of nginx:1.27 in `slot` (for Rig.hold). */
const newInSlot = (serviceId: string, slot: number) => (t: Frozen<Task>) => t.ServiceID === serviceId && t.Slot === slot && imageOf(t) === 'nginx:1.27';

/** Long enough for the passes an event or a jump triggers to have run and committed. */
const SETTLE_MS = 300;

describe('Updater', () => {
  it('stop-first: a window of Parallelism slots slides over 6 replicas without waiting Monitor; completed Monitor after the last', async () => {
    const { h, clock, maxInFlight, states, maxLivePerSlot } = await rig();
    const web = await h.createService(withUpdateConfig(replicatedSpec('web', 6), { Parallelism: 2, monitorMs: LONG }));
    await allRunning(h, web.ID, 6, 'nginx:alpine');
    const before = new Set(h.tasks(web.ID).map((t) => t.ID));
    await apiUpdate(h, web.ID, setImage('nginx:1.27'));
    // Every slot is replaced while the first replacements are still within their Monitor.
    await allRunning(h, web.ID, 6, 'nginx:1.27');
    assert.equal(maxInFlight('nginx:1.27'), 2, 'never more than Parallelism replacements starting at once');
    await h.settleFor(SETTLE_MS);
    assert.equal(updateState(h, web.ID), 'updating', 'not completed before the last replacements were monitored');
    clock.advance(LONG - 5 * SECOND);
    await h.settleFor(SETTLE_MS);
    assert.equal(updateState(h, web.ID), 'updating');
    clock.advance(5 * SECOND);
    await waitFor(() => updateState(h, web.ID) === 'completed', 'update completed', 15000);
    assert.deepEqual(states(), ['updating', 'completed']);
    const status = h.store.get('service', web.ID)!.UpdateStatus!;
    assert.ok(Date.parse(String(status.CompletedAt)) - Date.parse(String(status.StartedAt)) >= LONG, 'Monitor after the last replacement ran');
    assert.match(String(status.Message), /update completed/);
    assert.equal(maxLivePerSlot(), 1);
    assert.ok(h.tasks(web.ID, isDesiredLive).every((t) => !before.has(t.ID)));
    assert.deepEqual(slotsOf(h.tasks(web.ID, isDesiredLive)), [1, 2, 3, 4, 5, 6]);
    h.checkInvariant();
  });

  it('a lane takes the next slot as soon as its replacement runs, whatever the other lanes do', async () => {
    const { h, clock, hold, release, maxInFlight } = await rig();
    const web = await h.createService(withUpdateConfig(replicatedSpec('web', 6), { Parallelism: 2, monitorMs: LONG }));
    await allRunning(h, web.ID, 6, 'nginx:alpine');
    // Slot 1's replacement is slow to start: one lane waits for it, the other goes through slots 2..6.
    hold(newInSlot(web.ID, 1));
    await apiUpdate(h, web.ID, setImage('nginx:1.27'));
    await waitFor(() => runningOf(h, web.ID, 'nginx:1.27').length === 5, 'slots 2..6 replaced', 15000);
    assert.deepEqual(slotsOf(runningOf(h, web.ID, 'nginx:1.27')), [2, 3, 4, 5, 6]);
    assert.equal(liveOf(h, web.ID, 'nginx:1.27').find((t) => t.Slot === 1)?.Status.State, 'assigned', 'slot 1 still starting');
    assert.equal(maxInFlight('nginx:1.27'), 2);
    await release();
    await allRunning(h, web.ID, 6, 'nginx:1.27');
    await h.settleFor(SETTLE_MS);
    assert.equal(updateState(h, web.ID), 'updating');
    clock.advance(LONG);
    await waitFor(() => updateState(h, web.ID) === 'completed', 'update completed', 15000);
    h.checkInvariant();
  });

  it('Delay: each lane rests Delay after its replacement runs before it takes the next slot', async () => {
    const { h, clock, hold, release } = await rig();
    const web = await h.createService(withUpdateConfig(replicatedSpec('web', 5), { Parallelism: 2, delayMs: LONG, monitorMs: 100 }));
    await allRunning(h, web.ID, 5, 'nginx:alpine');
    hold(newInSlot(web.ID, 1));
    await apiUpdate(h, web.ID, setImage('nginx:1.27'));
    await waitFor(() => runningOf(h, web.ID, 'nginx:1.27').length === 1, 'slot 2 replaced', 15000);
    await h.settleFor(SETTLE_MS);
    assert.deepEqual(slotsOf(created(h, web.ID, 'nginx:1.27')), [1, 2], 'the lane of slot 2 rests');
    // The rest ends: that lane takes slot 3 although slot 1 has not started yet.
    clock.advance(LONG);
    await waitFor(() => runningOf(h, web.ID, 'nginx:1.27').length === 2, 'slot 3 replaced', 15000);
    await h.settleFor(SETTLE_MS);
    assert.deepEqual(slotsOf(created(h, web.ID, 'nginx:1.27')), [1, 2, 3]);
    // Slot 1 runs: its lane rests too, so both lanes take their next slots only after Delay.
    await release();
    await h.settleFor(SETTLE_MS);
    assert.deepEqual(slotsOf(created(h, web.ID, 'nginx:1.27')), [1, 2, 3]);
    clock.advance(LONG);
    await allRunning(h, web.ID, 5, 'nginx:1.27');
    await h.settleFor(SETTLE_MS);
    assert.equal(updateState(h, web.ID), 'updating', 'the last lanes rest Delay before the final Monitor');
    clock.advance(LONG);
    await waitFor(() => updateState(h, web.ID) === 'completed', 'update completed', 15000);
    h.checkInvariant();
  });

  it('start-first: at most Parallelism extra tasks, and no slot is ever without a running task', async () => {
    const { h, gaps, watchRunning, maxLivePerSlot, maxSwitching } = await rig();
    const web = await h.createService(withUpdateConfig(replicatedSpec('web', 6), { Parallelism: 2, Order: 'start-first' }));
    await allRunning(h, web.ID, 6, 'nginx:alpine');
    watchRunning();
    await apiUpdate(h, web.ID, setImage('nginx:1.27'));
    await waitFor(() => updateState(h, web.ID) === 'completed', 'update completed', 15000);
    await allRunning(h, web.ID, 6, 'nginx:1.27');
    assert.deepEqual(gaps, [], 'every slot always had a running live task');
    assert.equal(maxLivePerSlot(), 2, 'one extra task per slot during the switch');
    assert.equal(maxSwitching(), 2, 'at most Parallelism slots switching at once');
  });

  it('FailureAction pause: a replacement failing within Monitor of running pauses the update; no slot is taken after', async () => {
    const { h, clock, states } = await rig();
    const web = await h.createService(withUpdateConfig(replicatedSpec('web', 6), { Parallelism: 2, delayMs: LONG, monitorMs: LONG }));
    await allRunning(h, web.ID, 6, 'nginx:alpine');
    await apiUpdate(h, web.ID, setImage('nginx:1.27'));
    await waitFor(() => runningOf(h, web.ID, 'nginx:1.27').length === 2, 'first window running', 15000);
    await h.settleFor(SETTLE_MS);
    clock.advance(LONG - 5 * SECOND);
    const victim = runningOf(h, web.ID, 'nginx:1.27')[0];
    await h.report(victim.ID, 'failed');
    await waitFor(() => updateState(h, web.ID) === 'paused', 'update paused', 15000);
    clock.advance(LONG);
    await h.settleFor(SETTLE_MS);
    assert.equal(liveOf(h, web.ID, 'nginx:alpine').length, 4, 'no slot updated after the pause');
    assert.equal(updateState(h, web.ID), 'paused');
    assert.equal(h.store.get('service', web.ID)!.UpdateStatus!.Message, `update paused due to failure or early termination of task ${victim.ID}`);
    assert.deepEqual(states(), ['updating', 'paused']);
    h.checkInvariant();
  });

  it('a replacement that fails before it ever runs counts as a failure', async () => {
    const { h } = await rig({ failImage: 'broken:1' });
    const web = await h.createService(withUpdateConfig(replicatedSpec('web', 4, { delayMs: 200 }), { Parallelism: 1, FailureAction: 'pause' }));
    await allRunning(h, web.ID, 4, 'nginx:alpine');
    await apiUpdate(h, web.ID, setImage('broken:1'));
    await waitFor(() => updateState(h, web.ID) === 'paused', 'update paused', 15000);
    await h.settleFor(500);
    assert.equal(liveOf(h, web.ID, 'nginx:alpine').length, 3, 'no further slot after the pause');
    assert.equal(updateState(h, web.ID), 'paused');
    h.checkInvariant();
  });

  it('a replacement failing more than Monitor after it started running does not count', async () => {
    const { h, clock, states } = await rig();
    const web = await h.createService(withUpdateConfig(replicatedSpec('web', 3), { Parallelism: 1, delayMs: LONG, monitorMs: 10 * SECOND }));
    await allRunning(h, web.ID, 3, 'nginx:alpine');
    await apiUpdate(h, web.ID, setImage('nginx:1.27'));
    await waitFor(() => runningOf(h, web.ID, 'nginx:1.27').length === 1, 'slot 1 replaced', 15000);
    await h.settleFor(SETTLE_MS);
    clock.advance(11 * SECOND);
    await h.report(runningOf(h, web.ID, 'nginx:1.27')[0].ID, 'failed');
    await h.settleFor(SETTLE_MS);
    assert.equal(updateState(h, web.ID), 'updating');
    for (let i = 0; i < 10 && updateState(h, web.ID) !== 'completed'; i++) {
      clock.advance(LONG);
      await h.settleFor(SETTLE_MS);
    }
    await waitFor(() => updateState(h, web.ID) === 'completed', 'update completed', 15000);
    await allRunning(h, web.ID, 3, 'nginx:1.27');
    assert.deepEqual(states(), ['updating', 'completed']);
    h.checkInvariant();
  });

  it('MaxFailureRatio: failures up to the ratio of slots updated so far are tolerated', async () => {
    const { h, clock } = await rig();
    const web = await h.createService(withUpdateConfig(replicatedSpec('web', 4), { Parallelism: 2, delayMs: LONG, monitorMs: LONG, MaxFailureRatio: 0.5 }));
    await allRunning(h, web.ID, 4, 'nginx:alpine');
    await apiUpdate(h, web.ID, setImage('nginx:1.27'));
    await waitFor(() => runningOf(h, web.ID, 'nginx:1.27').length === 2, 'first window running', 15000);
    const [first, second] = runningOf(h, web.ID, 'nginx:1.27');
    await h.report(first.ID, 'failed');
    await h.settleFor(SETTLE_MS);
    assert.equal(updateState(h, web.ID), 'updating', '1 failure of 2 updated: not above 0.5');
    await h.report(second.ID, 'failed');
    await waitFor(() => updateState(h, web.ID) === 'paused', 'update paused', 15000);
    clock.advance(LONG);
    await h.settleFor(SETTLE_MS);
    assert.equal(liveOf(h, web.ID, 'nginx:alpine').length, 2);
  });

  it('FailureAction rollback: Spec back to PreviousSpec, tasks back to the old spec with RollbackConfig, rollback_completed', async () => {
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
    assert.match(String(service.UpdateStatus!.Message), /rollback completed/);
    h.checkInvariant();
  });

  it('a ForceUpdate bump with Parallelism 0 replaces every task at once', async () => {
    const { h, maxInFlight } = await rig();
    const web = await h.createService(withUpdateConfig(replicatedSpec('web', 3), { Parallelism: 0 }));
    await allRunning(h, web.ID, 3, 'nginx:alpine');
    const before = new Set(h.tasks(web.ID, isDesiredLive).map((t) => t.ID));
    await apiUpdate(h, web.ID, (spec) => { (spec.TaskTemplate as Record<string, unknown>).ForceUpdate = 1; });
    await waitFor(() => updateState(h, web.ID) === 'completed', 'update completed', 15000);
    await allRunning(h, web.ID, 3, 'nginx:alpine');
    const live = h.tasks(web.ID, isDesiredLive);
    assert.ok(live.every((t) => !before.has(t.ID) && (t.Spec as { ForceUpdate?: number }).ForceUpdate === 1));
    assert.equal(maxInFlight('nginx:alpine'), 3);
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

  it('a new leader resumes an updating service and leaves a paused one paused', async () => {
    const { h, clock, restartUpdaters } = await rig();
    const web = await h.createService(withUpdateConfig(replicatedSpec('web', 3), { Parallelism: 1, delayMs: LONG }));
    const api = await h.createService(withUpdateConfig(replicatedSpec('api', 3), { Parallelism: 1, delayMs: LONG, monitorMs: LONG }));
    await allRunning(h, web.ID, 3, 'nginx:alpine');
    await allRunning(h, api.ID, 3, 'nginx:alpine');
    await apiUpdate(h, web.ID, setImage('nginx:1.27'));
    await apiUpdate(h, api.ID, setImage('nginx:1.27'));
    await waitFor(() => runningOf(h, web.ID, 'nginx:1.27').length === 1 && runningOf(h, api.ID, 'nginx:1.27').length === 1, 'slot 1 of each replaced', 15000);
    await h.report(runningOf(h, api.ID, 'nginx:1.27')[0].ID, 'failed');
    await waitFor(() => updateState(h, api.ID) === 'paused', 'api paused', 15000);
    // The new leader knows nothing of the lanes' rest: it goes on at once with the next slot.
    await restartUpdaters();
    await waitFor(() => runningOf(h, web.ID, 'nginx:1.27').length === 2, 'web resumed', 15000);
    for (let i = 0; i < 5 && updateState(h, web.ID) !== 'completed'; i++) {
      clock.advance(LONG);
      await h.settleFor(SETTLE_MS);
    }
    await waitFor(() => updateState(h, web.ID) === 'completed', 'web completed', 15000);
    await allRunning(h, web.ID, 3, 'nginx:1.27');
    assert.equal(updateState(h, api.ID), 'paused');
    assert.equal(liveOf(h, api.ID, 'nginx:alpine').length, 2, 'the paused update was not resumed');
    h.checkInvariant();
  });
});

