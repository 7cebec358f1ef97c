// The updater: rolls a replicated or global service's tasks onto its current TaskTemplate when
// some of its live tasks run an older one (a spec change, a ForceUpdate bump, a rollback).
//
// A roll-out ("run") goes batch by batch, Parallelism slots (global: nodes) at a time (0: all):
//   1. replace: stop-first = the old task becomes desired 'shutdown' and its replacement (same
//      slot or node, current spec) is created, in one transaction; start-first = only the
//      replacement is created; the old task is shut down, level-triggered, by the first pass that
//      sees the replacement 'running' (so a slot holds at most one extra task, during the switch);
//   2. wait until every replacement of the batch runs or ended;
//   3. monitor the batch for Monitor: a replacement reported failed/rejected counts as a failure;
//      whenever failures/updated > MaxFailureRatio the FailureAction applies: 'pause' (UpdateStatus
//      paused; the run stops until the next update), 'continue', or 'rollback' (Spec ← PreviousSpec,
//      UpdateStatus rollback_started; the next run rolls tasks back with RollbackConfig);
//   4. wait Delay, then the next batch; with nothing left out of date, UpdateStatus becomes
//      completed (rollback_completed after a rollback).
// UpdateStatus is the store's record of the run ('updating' with StartedAt when a run starts);
// the run's position (batch, timers, failure count) is in memory, like SwarmKit's: a new leader
// resumes an 'updating' service from the next batch, and never resumes a paused one (the API
// clears UpdateStatus on every service update, which starts a new run).
// A failure during a rollback pauses it (rollback_paused) unless its FailureAction is 'continue'.
// The rolled-back service keeps its Endpoint (the API recomputes it on the next update).
import type { Frozen, Node, Service, ServiceSpec, Task, Transaction } from '../store/index.js';
import { thaw } from '../store/index.js';
import { nodeKeepsGlobalTask } from './global.js';
import type { OrchestratorOptions, PassOutcome, TaskWriter } from './reconciler.js';
import { StoreReconciler } from './reconciler.js';
import type { ServiceMode } from './tasks.js';
import { groupBy, hasEnded, isDesiredLive, modeOf, newTask } from './tasks.js';
import type { UpdatePolicy } from './update-policy.js';
import { isTaskUpToDate, updatePolicyOf, updateStateOf } from './update-policy.js';

type Phase = 'idle' | 'batch' | 'monitor' | 'delay';

interface Run {
  /** The TaskTemplate being rolled out, as JSON: a different one starts a new run. */
  template: string;
  rollback: boolean;
  phase: Phase;
  /** The batch in flight: slot ("3") or node ID → the replacement created for it. */
  batch: Map<string, string>;
  /** End of the monitor period or of the delay, per phase (ms). */
  until: number;
  /** Slots replaced so far in this run. */
  updated: number;
  /** Replacements seen failing while monitored. */
  failed: Set<string>;
}

const FAILED: ReadonlySet<string> = new Set(['failed', 'rejected']);
const PAUSED: ReadonlySet<string> = new Set(['paused', 'rollback_paused']);

function cloneRun(run: Run): Run {
  return { ...run, batch: new Map(run.batch), failed: new Set(run.failed) };
}

export class Updater extends StoreReconciler {
  private runs = new Map<string, Run>();

  constructor(options: OrchestratorOptions) {
    super('updater', options, ['service', 'node', 'task']);
  }

  protected override onLeadershipLost(): void {
    this.runs.clear();
  }

  /** Services being rolled out now (for tests and diagnostics). */
  activeRuns(): string[] {
    return [...this.runs.keys()];
  }

  protected reconcile(tx: Transaction, writer: TaskWriter): PassOutcome {
    const now = this.clock.now();
    const nodes = new Map(tx.find('node').map((n) => [n.ID, n] as const));
    const next = new Map<string, Run>();
    let wakeAt = Number.POSITIVE_INFINITY;
    let more = false;
    for (const service of tx.find('service')) {
      const mode = modeOf(service);
      if (mode.kind === 'job') continue;
      const prior = this.runs.get(service.ID);
      if (writer.full) {
        more = true;
        if (prior) next.set(service.ID, prior);
        continue;
      }
      const result = this.reconcileService(tx, writer, service, mode, nodes, prior, now);
      if (result.run) next.set(service.ID, result.run);
      if (result.more) more = true;
      wakeAt = Math.min(wakeAt, result.wakeAt);
    }
    if (wakeAt !== Number.POSITIVE_INFINITY) this.requestPass(Math.max(0, wakeAt - now));
    return { more, afterCommit: () => { this.runs = next; } };
  }

  private reconcileService(
    tx: Transaction, writer: TaskWriter, service: Frozen<Service>, mode: ServiceMode,
    nodes: ReadonlyMap<string, Frozen<Node>>, prior: Run | undefined, now: number,
  ): { run?: Run; wakeAt: number; more?: boolean } {
    const tasks = tx.find('task', { serviceId: service.ID });
    const groups = mode.kind === 'replicated'
      ? groupBy(tasks, (t) => (t.Slot && t.Slot > 0 && t.Slot <= mode.replicas ? String(t.Slot) : undefined))
      : groupBy(tasks, (t) => (t.NodeID && nodeKeepsGlobalTask(nodes.get(t.NodeID), service) ? t.NodeID : undefined));

    // Level-triggered, whatever the run: a start-first replacement that runs takes over its slot.
    const dirty: { key: string; stale: Frozen<Task>[] }[] = [];
    for (const [key, group] of groups) {
      const live = group.filter(isDesiredLive);
      const fresh = live.filter((t) => isTaskUpToDate(t, service));
      const stale = live.filter((t) => !isTaskUpToDate(t, service));
      if (stale.length === 0) continue;
      if (fresh.length === 0) dirty.push({ key, stale });
      else if (fresh.some((t) => t.Status?.State === 'running')) {
        for (const task of stale) writer.setDesiredState(task, 'shutdown');
        this.logger.info({ service: service.ID, slot: key, replaced: stale.map((t) => t.ID) }, 'start-first replacement runs; old task shut down');
      }
    }
    dirty.sort((a, b) => (mode.kind === 'replicated' ? Number(a.key) - Number(b.key) : a.key.localeCompare(b.key)));

    const state = updateStateOf(service);
    if (state !== undefined && PAUSED.has(state)) return { wakeAt: Infinity };
    const template = JSON.stringify(service.Spec.TaskTemplate ?? {});
    let run = prior && prior.template === template ? cloneRun(prior) : undefined;
    if (!run) {
      if (dirty.length === 0) {
        if (state === 'updating' || state === 'rollback_started') this.finish(tx, service, state === 'rollback_started', now);
        return { wakeAt: Infinity };
      }
      const rollback = state === 'rollback_started';
      run = { template, rollback, phase: 'idle', batch: new Map(), until: 0, updated: 0, failed: new Set() };
      if (!rollback && state !== 'updating') {
        this.setStatus(tx, service, { State: 'updating', StartedAt: new Date(now).toISOString(), Message: 'update in progress' });
      }
      this.logger.info({ service: service.ID, name: service.Spec.Name, outOfDate: dirty.length, rollback }, 'starting a rolling update');
    }
    const policy = updatePolicyOf((run.rollback ? service.Spec.RollbackConfig : service.Spec.UpdateConfig) as Frozen<Record<string, unknown>> | undefined);

    // Failures of the monitored batch.
    if (run.phase === 'batch' || run.phase === 'monitor') {
      for (const id of run.batch.values()) {
        const task = tx.get('task', id);
        if (task && FAILED.has(task.Status?.State)) run.failed.add(id);
      }
      if (run.failed.size > 0 && run.updated > 0 && run.failed.size / run.updated > policy.maxFailureRatio && policy.failureAction !== 'continue') {
        this.fail(tx, service, run, policy, now);
        return { wakeAt: Infinity };
      }
    }

    if (run.phase === 'batch') {
      const settled = [...run.batch.values()].every((id) => {
        const task = tx.get('task', id);
        return !task || !isDesiredLive(task) || task.Status?.State === 'running' || hasEnded(task);
      });
      if (!settled) return { run, wakeAt: Infinity };
      run.phase = 'monitor';
      run.until = now + policy.monitorMs;
    }
    if (run.phase === 'monitor') {
      if (now < run.until) return { run, wakeAt: run.until };
      run.phase = 'delay';
      run.until = now + policy.delayMs;
      run.batch.clear();
    }
    if (run.phase === 'delay') {
      if (dirty.length === 0) {
        this.finish(tx, service, run.rollback, now);
        return { wakeAt: Infinity };
      }
      if (now < run.until) return { run, wakeAt: run.until };
      run.phase = 'idle';
    }
    // idle: the next batch.
    if (dirty.length === 0) {
      this.finish(tx, service, run.rollback, now);
      return { wakeAt: Infinity };
    }
    const size = policy.parallelism === 0 ? dirty.length : Math.min(policy.parallelism, dirty.length);
    let more = false;
    for (const { key, stale } of dirty.slice(0, size)) {
      if (writer.full) { more = true; break; }
      if (policy.order === 'stop-first') for (const task of stale) writer.setDesiredState(task, 'shutdown');
      const place = mode.kind === 'replicated' ? { slot: Number(key) } : { nodeId: key };
      const replacement = writer.create(newTask(service, place, now));
      run.batch.set(key, replacement.ID);
      run.updated++;
    }
    if (run.batch.size > 0) run.phase = 'batch';
    this.logger.info({ service: service.ID, slots: [...run.batch.keys()], order: policy.order, rollback: run.rollback }, 'updating a batch');
    return { run, wakeAt: Infinity, more };
  }

  private setStatus(tx: Transaction, service: Frozen<Service>, status: Record<string, unknown>): void {
    const next = thaw(service);
    next.UpdateStatus = status;
    tx.update('service', next);
  }

  private finish(tx: Transaction, service: Frozen<Service>, rollback: boolean, now: number): void {
    const startedAt = (service.UpdateStatus as { StartedAt?: unknown } | undefined)?.StartedAt;
    this.setStatus(tx, service, {
      State: rollback ? 'rollback_completed' : 'completed',
      ...(startedAt !== undefined ? { StartedAt: startedAt } : {}),
      CompletedAt: new Date(now).toISOString(),
      Message: rollback ? 'rollback completed' : 'update completed',
    });
    this.logger.info({ service: service.ID, name: service.Spec.Name, rollback }, rollback ? 'rollback completed' : 'update completed');
  }

  private fail(tx: Transaction, service: Frozen<Service>, run: Run, policy: UpdatePolicy, now: number): void {
    const culprit = [...run.failed][0];
    const startedAt = (service.UpdateStatus as { StartedAt?: unknown } | undefined)?.StartedAt;
    if (policy.failureAction === 'rollback' && !run.rollback && service.PreviousSpec) {
      const next = thaw(service);
      next.Spec = thaw(service.PreviousSpec) as ServiceSpec;
      next.PreviousSpec = thaw(service.Spec) as ServiceSpec;
      next.UpdateStatus = {
        State: 'rollback_started',
        StartedAt: new Date(now).toISOString(),
        Message: `update rolled back due to failure or early termination of task ${culprit}`,
      };
      tx.update('service', next);
      this.logger.warn({ service: service.ID, failed: run.failed.size, updated: run.updated }, 'update failed; rolling back');
      return;
    }
    this.setStatus(tx, service, {
      State: run.rollback ? 'rollback_paused' : 'paused',
      ...(startedAt !== undefined ? { StartedAt: startedAt } : {}),
      Message: `${run.rollback ? 'rollback' : 'update'} paused due to failure or early termination of task ${culprit}`,
    });
    this.logger.warn({ service: service.ID, failed: run.failed.size, updated: run.updated }, 'update failed; paused');
  }
}
