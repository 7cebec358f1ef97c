// The updater: rolls a replicated or global service's tasks onto its current TaskTemplate when
// some of its live tasks run an older one (a spec change, a ForceUpdate bump, a rollback).
//
// As SwarmKit's, a roll-out ("run") is a sliding window, not a series of batches: Parallelism
// *lanes* (0: one per slot, all at once) take the out-of-date slots (global: nodes) in order, and
// each lane, independently of the others,
//   1. replaces its slot: stop-first = the old task becomes desired 'shutdown' and its replacement
//      (same slot or node, current spec) is created, in one transaction; start-first = only the
//      replacement is created; the old task is shut down, level-triggered, by the first pass that
//      sees the replacement 'running' (so a slot holds at most one extra task, during the switch);
//   2. waits until that replacement runs or ended (start-first: and the old task is shut down),
//   3. rests Delay, and takes the next slot.
// Monitor is no wait between slots: a replacement that fails (failed/rejected) before it runs or
// within Monitor after it started running is a failure (later, it is the restart policy's
// business). As soon as failures/slots updated so far > MaxFailureRatio, the FailureAction
// applies: 'pause' (UpdateStatus paused: no more slots), 'continue' (failures are not counted) or
// 'rollback' (Spec ↔ PreviousSpec, UpdateStatus rollback_started; the next run rolls tasks back
// with RollbackConfig).
// With no slot left and every lane idle, the run watches Monitor more, then UpdateStatus becomes
// completed (rollback_completed after a rollback).
// UpdateStatus is the store's record of the run ('updating' with StartedAt when a run starts);
// the run's position (lanes, timers, failures) is in memory, like SwarmKit's: a new leader
// resumes an 'updating' service with fresh counts, and never resumes a paused one (the API
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
import { isTaskUpToDate } from '../store/index.js';
import { updatePolicyOf, updateStateOf } from './update-policy.js';

/** A lane replacing a slot ("3", or a global node ID) with the task `replacement`, or resting Delay after one. */
type Lane = { slot: string; replacement: string } | { restUntil: number };

interface Run {
  /** The TaskTemplate being rolled out, as JSON: a different one starts a new run. */
  template: string;
  rollback: boolean;
  /** Lanes at work or resting; fewer than Parallelism means a lane is free. */
  lanes: Lane[];
  /** Replacements whose end may still count as a failure → when first seen running (null: not yet). */
  watched: Map<string, number | null>;
  /** Replacements counted as failures, in order. */
  failed: string[];
  /** Slots replaced so far in this run. */
  updated: number;
  /** End of the final Monitor window, once no slot is left and every lane is idle. */
  doneAt?: number;
}

const FAILED: ReadonlySet<string> = new Set(['failed', 'rejected']);
const PAUSED: ReadonlySet<string> = new Set(['paused', 'rollback_paused']);

function cloneRun(run: Run): Run {
  return { ...run, lanes: [...run.lanes], watched: new Map(run.watched), failed: [...run.failed] };
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
      const fresh = live.filter((t) => isTaskUpToDate(t, service.Spec));
      const stale = live.filter((t) => !isTaskUpToDate(t, service.Spec));
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
      run = { template, rollback, lanes: [], watched: new Map(), failed: [], updated: 0 };
      if (!rollback && state !== 'updating') {
        this.setStatus(tx, service, { State: 'updating', StartedAt: new Date(now).toISOString(), Message: 'update in progress' });
      }
      this.logger.info({ service: service.ID, name: service.Spec.Name, outOfDate: dirty.length, rollback }, 'starting a rolling update');
    }
    const policy = updatePolicyOf((run.rollback ? service.Spec.RollbackConfig : service.Spec.UpdateConfig) as Frozen<Record<string, unknown>> | undefined);

    if (this.countFailures(tx, run, policy, now)) {
      this.fail(tx, service, run, policy, now);
      return { wakeAt: Infinity };
    }

    // Lanes whose replacement runs (or ended) rest Delay; rested lanes are free.
    run.lanes = run.lanes.flatMap((lane): Lane[] => {
      if ('restUntil' in lane) return lane.restUntil > now ? [lane] : [];
      const task = tx.get('task', lane.replacement);
      const settled = !task || !isDesiredLive(task) || task.Status?.State === 'running' || hasEnded(task);
      if (!settled) return [lane];
      return policy.delayMs > 0 ? [{ restUntil: now + policy.delayMs }] : [];
    });

    // Free lanes take the next out-of-date slots.
    const width = policy.parallelism === 0 ? Number.POSITIVE_INFINITY : policy.parallelism;
    let taken = 0;
    let more = false;
    while (run.lanes.length < width && taken < dirty.length) {
      if (writer.full) { more = true; break; }
      const { key, stale } = dirty[taken++];
      if (policy.order === 'stop-first') for (const task of stale) writer.setDesiredState(task, 'shutdown');
      const place = mode.kind === 'replicated' ? { slot: Number(key) } : { nodeId: key };
      const replacement = writer.create(newTask(service, place, now));
      run.lanes.push({ slot: key, replacement: replacement.ID });
      run.watched.set(replacement.ID, null);
      run.updated++;
      this.logger.debug({ service: service.ID, slot: key, replacement: replacement.ID, order: policy.order, rollback: run.rollback }, 'updating a slot');
    }

    // Nothing left to replace and every lane idle: Monitor more, then done.
    if (taken < dirty.length || run.lanes.length > 0) run.doneAt = undefined;
    else {
      run.doneAt ??= now + policy.monitorMs;
      if (now >= run.doneAt) {
        this.finish(tx, service, run.rollback, now);
        return { wakeAt: Infinity };
      }
    }
    let wakeAt = run.doneAt ?? Number.POSITIVE_INFINITY;
    for (const lane of run.lanes) if ('restUntil' in lane) wakeAt = Math.min(wakeAt, lane.restUntil);
    return { run, wakeAt, more };
  }

  /**
   * Counts the replacements that failed within Monitor of running (or before running), drops
   * those past their Monitor, and says whether the failures now call for the FailureAction.
   */
  private countFailures(tx: Transaction, run: Run, policy: UpdatePolicy, now: number): boolean {
    for (const [id, seenRunning] of run.watched) {
      const task = tx.get('task', id);
      const state: string = task?.Status?.State ?? '';
      const since = seenRunning ?? (task && (state === 'running' || hasEnded(task)) ? now : null);
      if (!task || (hasEnded(task) && !FAILED.has(state))) run.watched.delete(id);
      else if (FAILED.has(state)) {
        run.watched.delete(id);
        if (since !== null && now - since <= policy.monitorMs && policy.failureAction !== 'continue') run.failed.push(id);
      } else if (since !== null && now - since > policy.monitorMs) run.watched.delete(id);
      else run.watched.set(id, since);
    }
    return run.failed.length > 0 && run.failed.length / run.updated > policy.maxFailureRatio;
  }

  /** Writes the service's UpdateStatus (on the version this transaction holds now). */
  private setStatus(tx: Transaction, service: Frozen<Service>, status: Record<string, unknown>): void {
    const next = thaw(tx.get('service', service.ID) ?? service);
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
    const culprit = run.failed[run.failed.length - 1];
    const startedAt = (service.UpdateStatus as { StartedAt?: unknown } | undefined)?.StartedAt;
    if (policy.failureAction === 'rollback' && !run.rollback && service.PreviousSpec) {
      const next = thaw(tx.get('service', service.ID) ?? service);
      next.Spec = thaw(service.PreviousSpec) as ServiceSpec;
      next.PreviousSpec = thaw(service.Spec) as ServiceSpec;
      next.UpdateStatus = {
        State: 'rollback_started',
        StartedAt: new Date(now).toISOString(),
        Message: `update rolled back due to failure or early termination of task ${culprit}`,
      };
      tx.update('service', next);
      this.logger.warn({ service: service.ID, failed: run.failed.length, updated: run.updated }, 'update failed; rolling back');
      return;
    }
    this.setStatus(tx, service, {
      State: run.rollback ? 'rollback_paused' : 'paused',
      ...(startedAt !== undefined ? { StartedAt: startedAt } : {}),
      Message: `${run.rollback ? 'rollback' : 'update'} paused due to failure or early termination of task ${culprit}`,
    });
    this.logger.warn({ service: service.ID, failed: run.failed.length, updated: run.updated }, 'update failed; paused');
  }
}
