import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import pino from 'pino';
import type { Frozen, Task } from '../../../manager/store/index.js';
import { JobOrchestrator, isJobTaskActive, jobIterationOf, jobModeOf, jobRestartPolicyOf } from '../../../manager/orchestrator/index.js';
import { startHarness, waitFor } from './harness.js';
import type { Harness } from './harness.js';

const jobs: JobOrchestrator[] = [];
afterEach(async () => {
  await Promise.all(jobs.splice(0).map((j) => j.stop()));
});

/** The harness's components plus a JobOrchestrator on every member. */
async function start(): Promise<Harness> {
  const h = await startHarness();
  const logger = pino({ level: 'silent' });
  for (const member of h.cluster.members) {
    const job = new JobOrchestrator({ store: member, isLeader: () => member.isLeader, logger });
    job.start();
    jobs.push(job);
  }
  return h;
}

function replicatedJobSpec(name: string, maxConcurrent: number, total: number, restart: Record<string, unknown> = { Delay: 0 }): Record<string, unknown> {
  return {
    Name: name,
    Mode: { ReplicatedJob: { MaxConcurrent: maxConcurrent, TotalCompletions: total } },
    TaskTemplate: { ContainerSpec: { Image: 'busybox' }, RestartPolicy: restart, ForceUpdate: 0 },
  };
}

function globalJobSpec(name: string): Record<string, unknown> {
  return { Name: name, Mode: { GlobalJob: {} }, TaskTemplate: { ContainerSpec: { Image: 'busybox' }, RestartPolicy: { Delay: 0 }, ForceUpdate: 0 } };
}

const active = (h: Harness, id: string): Frozen<Task>[] => h.tasks(id, isJobTaskActive);
const completed = (h: Harness, id: string, iteration?: number): Frozen<Task>[] =>
  h.tasks(id, (t) => t.Status.State === 'complete' && (iteration === undefined || t.JobIteration?.Index === iteration));

describe('job modes', () => {
  it('reads ReplicatedJob and GlobalJob with their defaults; jobs restart on-failure by default', () => {
    const service = (mode: Record<string, unknown>) => ({ Spec: { Name: 's', Mode: mode } }) as never;
    assert.deepEqual(jobModeOf(service({ ReplicatedJob: {} })), { kind: 'replicated-job', maxConcurrent: 1, totalCompletions: 1 });
    assert.deepEqual(jobModeOf(service({ ReplicatedJob: { MaxConcurrent: 3 } })), { kind: 'replicated-job', maxConcurrent: 3, totalCompletions: 3 });
    assert.deepEqual(jobModeOf(service({ GlobalJob: {} })), { kind: 'global-job' });
    assert.equal(jobModeOf(service({ Replicated: { Replicas: 2 } })), undefined);
    assert.equal(jobRestartPolicyOf({}).condition, 'on-failure');
    assert.equal(jobRestartPolicyOf({ RestartPolicy: { Condition: 'none' } }).condition, 'none');
  });
});

describe('JobOrchestrator', () => {
  it('ReplicatedJob: runs 5 completions in slots 0..4, at most 2 at once, then nothing more', async () => {
    const h = await start();
    let maxActive = 0;
    let serviceId = '';
    const watch = h.store.subscribe({ kinds: ['task'] }, () => { if (serviceId) maxActive = Math.max(maxActive, active(h, serviceId).length); });
    const svc = await h.createService(replicatedJobSpec('batch', 2, 5));
    serviceId = svc.ID;
    try {
      await waitFor(() => active(h, svc.ID).length === 2, 'two tasks started');
      const service = h.store.get('service', svc.ID)!;
      const iteration = jobIterationOf(service);
      assert.equal(iteration, svc.Version.Index, 'the iteration is the service version when the job started');
      for (const task of h.tasks(svc.ID)) {
        assert.equal(task.DesiredState, 'complete');
        assert.equal(task.Status.State, 'pending');
        assert.deepEqual(task.JobIteration, { Index: iteration });
      }
      // SwarmKit's numbering, from 0 (the docker CLI's job progress counts on it); slot 0 is
      // named after its node, as Docker names it, so it has no Name of its own.
      assert.deepEqual(h.tasks(svc.ID).map((t) => t.Slot).sort(), [0, 1]);
      assert.deepEqual(h.tasks(svc.ID).map((t) => t.Name).sort(), ['batch.1', undefined]);

      // Play the workers: complete whatever is at work, one at a time.
      while (completed(h, svc.ID).length < 5) {
        const next = active(h, svc.ID)[0];
        if (!next) { await h.settleFor(20); continue; }
        await h.report(next.ID, 'running');
        await h.report(next.ID, 'complete');
        await waitFor(() => completed(h, svc.ID).length === 5 || active(h, svc.ID).some((t) => t.ID !== next.ID), 'the next task');
      }
      await h.settleFor(400);
      assert.equal(completed(h, svc.ID).length, 5);
      assert.equal(h.tasks(svc.ID).length, 5, 'no task beyond the five completions');
      assert.deepEqual(h.tasks(svc.ID).map((t) => t.Slot).sort(), [0, 1, 2, 3, 4]);
      assert.equal(active(h, svc.ID).length, 0);
      assert.equal(maxActive, 2, 'at most 2 tasks at work at once, and 2 were');
      // The restart supervisor left the completed job tasks alone.
      assert.ok(h.tasks(svc.ID).every((t) => t.DesiredState === 'complete'));
      h.checkInvariant();
    } finally {
      watch.close();
    }
  });

  it('ReplicatedJob: retries a failed task per RestartPolicy, counting MaxAttempts', async () => {
    const h = await start();
    const svc = await h.createService(replicatedJobSpec('flaky', 1, 1, { Delay: 0, MaxAttempts: 2 }));
    await waitFor(() => active(h, svc.ID).length === 1, 'a task');
    const first = active(h, svc.ID)[0];
    await h.report(first.ID, 'failed');
    await waitFor(() => active(h, svc.ID).length === 1 && active(h, svc.ID)[0].ID !== first.ID, 'a retry');
    const second = active(h, svc.ID)[0];
    assert.equal(first.Slot, 0);
    assert.equal(second.Slot, 0, 'the retry keeps slot 0');
    assert.deepEqual(second.JobIteration, first.JobIteration);
    assert.equal(h.store.get('task', first.ID)!.DesiredState, 'shutdown');
    await h.report(second.ID, 'failed');
    await waitFor(() => active(h, svc.ID).length === 1 && ![first.ID, second.ID].includes(active(h, svc.ID)[0].ID), 'a second retry');
    const third = active(h, svc.ID)[0];
    await h.report(third.ID, 'failed');
    await h.settleFor(400);
    assert.equal(h.tasks(svc.ID).length, 3, 'MaxAttempts 2: two restarts, then the slot is given up');
    assert.equal(active(h, svc.ID).length, 0);

    // A job that succeeds on retry finishes.
    const ok = await h.createService(replicatedJobSpec('retry-ok', 1, 1, { Delay: 0 }));
    await waitFor(() => active(h, ok.ID).length === 1, 'a task');
    await h.report(active(h, ok.ID)[0].ID, 'failed');
    await waitFor(() => active(h, ok.ID).length === 1 && h.tasks(ok.ID).length === 2, 'a retry');
    await h.report(active(h, ok.ID)[0].ID, 'complete');
    await h.settleFor(300);
    assert.equal(h.tasks(ok.ID).length, 2);
    assert.equal(completed(h, ok.ID).length, 1);
  });

  it('ReplicatedJob: Condition none does not retry', async () => {
    const h = await start();
    const svc = await h.createService(replicatedJobSpec('once', 1, 2, { Condition: 'none', Delay: 0 }));
    await waitFor(() => active(h, svc.ID).length === 1, 'a task');
    await h.report(active(h, svc.ID)[0].ID, 'failed');
    // The failed slot is given up; the next slot starts.
    await waitFor(() => h.tasks(svc.ID).some((t) => t.Slot === 1), 'slot 1 starts');
    await h.settleFor(200);
    assert.equal(h.tasks(svc.ID, (t) => t.Slot === 0).length, 1);
  });

  it('ReplicatedJob: TotalCompletions lowered mid-run stops the slots from the new total on', async () => {
    const h = await start();
    const svc = await h.createService(replicatedJobSpec('shrink', 3, 3));
    await waitFor(() => active(h, svc.ID).length === 3, 'three tasks');
    await h.updateService(svc.ID, (spec) => { spec.Mode = { ReplicatedJob: { MaxConcurrent: 3, TotalCompletions: 2 } }; });
    await waitFor(() => active(h, svc.ID).length === 2, 'slot 2 stopped');
    assert.deepEqual(active(h, svc.ID).map((t) => t.Slot).sort(), [0, 1]);
    assert.equal(h.tasks(svc.ID, (t) => t.Slot === 2)[0].DesiredState, 'shutdown');
    for (const task of active(h, svc.ID)) await h.report(task.ID, 'complete');
    await h.settleFor(300);
    assert.equal(completed(h, svc.ID).length, 2);
    assert.equal(h.tasks(svc.ID).length, 3, 'nothing more once slots 0 and 1 completed');
  });

  it('the task reaper keeps slot 0\'s history as one slot, whichever nodes its attempts ran on', async () => {
    const h = await start();
    await h.store.update((tx) => { tx.create('cluster', { Spec: { Name: 'default', Orchestration: { TaskHistoryRetentionLimit: 2 } } }); });
    const w1 = await h.createNode('w1');
    const w2 = await h.createNode('w2');
    const svc = await h.createService(replicatedJobSpec('retry', 1, 1));
    // Five failed attempts in slot 0: on w1, on w2, and some that failed before reaching a node.
    for (const nodeId of [w1.ID, undefined, w2.ID, w1.ID, undefined]) {
      await waitFor(() => active(h, svc.ID).length === 1, 'an attempt');
      const [task] = active(h, svc.ID);
      await h.report(task.ID, 'failed', nodeId);
      await waitFor(() => active(h, svc.ID).some((t) => t.ID !== task.ID), 'a retry');
    }
    await waitFor(() => h.tasks(svc.ID).length === 3, 'two finished attempts and the one at work');
    await h.settleFor(200);
    const left = h.tasks(svc.ID);
    assert.equal(left.length, 3);
    assert.ok(left.every((t) => t.Slot === 0));
    assert.equal(active(h, svc.ID).length, 1);
  });

  it('GlobalJob: one task per eligible node, a new node gets one, each runs once', async () => {
    const h = await start();
    const w1 = await h.createNode('w1');
    const w2 = await h.createNode('w2');
    const drained = await h.createNode('w3');
    await h.updateNode(drained.ID, (n) => { n.Spec.Availability = 'drain'; });
    const svc = await h.createService(globalJobSpec('migrate'));
    await waitFor(() => h.tasks(svc.ID).length === 2, 'two tasks');
    assert.deepEqual(h.tasks(svc.ID).map((t) => t.NodeID).sort(), [w1.ID, w2.ID].sort());
    for (const task of h.tasks(svc.ID)) {
      assert.equal(task.DesiredState, 'complete');
      assert.equal(task.Status.State, 'assigned');
    }
    for (const task of h.tasks(svc.ID)) await h.report(task.ID, 'complete');
    const w4 = await h.createNode('w4');
    await waitFor(() => h.tasks(svc.ID).some((t) => t.NodeID === w4.ID), 'the new node gets a task');
    await h.report(h.tasks(svc.ID, (t) => t.NodeID === w4.ID)[0].ID, 'complete');
    await h.settleFor(400);
    assert.equal(h.tasks(svc.ID).length, 3, 'one task per node, run once');
    assert.equal(completed(h, svc.ID).length, 3);
    h.checkInvariant();
  });

  it('a ForceUpdate bump starts a new iteration; the old one keeps its history, its running tasks stop', async () => {
    const h = await start();
    const svc = await h.createService(replicatedJobSpec('rerun', 1, 2));
    await waitFor(() => active(h, svc.ID).length === 1, 'a task');
    const firstIteration = jobIterationOf(h.store.get('service', svc.ID)!)!;
    await h.report(active(h, svc.ID)[0].ID, 'complete');
    await waitFor(() => active(h, svc.ID).length === 1, 'the second slot');
    const stillRunning = active(h, svc.ID)[0];
    await h.report(stillRunning.ID, 'running');

    await h.updateService(svc.ID, (spec) => { (spec.TaskTemplate as { ForceUpdate: number }).ForceUpdate = 1; });
    await waitFor(() => {
      const it = jobIterationOf(h.store.get('service', svc.ID)!);
      return it !== undefined && it !== firstIteration && h.tasks(svc.ID, (t) => t.JobIteration?.Index === it && isJobTaskActive(t)).length === 1;
    }, 'a new iteration');
    const second = jobIterationOf(h.store.get('service', svc.ID)!)!;
    assert.ok(second > firstIteration);
    assert.equal(h.store.get('task', stillRunning.ID)!.DesiredState, 'shutdown', 'the old iteration stops running');
    assert.equal(completed(h, svc.ID, firstIteration).length, 1, 'the old iteration keeps its history');
    const atWork = (): Frozen<Task>[] => h.tasks(svc.ID, (t) => t.JobIteration?.Index === second && isJobTaskActive(t));
    for (let i = 0; i < 2; i++) {
      await waitFor(() => atWork().length === 1, 'a task of the new iteration');
      await h.report(atWork()[0].ID, 'complete');
      await waitFor(() => completed(h, svc.ID, second).length === i + 1, 'completion');
    }
    await h.settleFor(300);
    assert.equal(completed(h, svc.ID, second).length, 2);
    assert.equal(h.tasks(svc.ID, (t) => t.JobIteration?.Index === second).length, 2);
    assert.equal(jobIterationOf(h.store.get('service', svc.ID)!), second, 'no further iteration');
  });
});
