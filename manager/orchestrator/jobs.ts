// The job orchestrator: runs ReplicatedJob and GlobalJob services to completion.
//
// An *iteration* is one run of a job. Its number, JobIteration.Index, is the service's
// Version.Index when the iteration started; it is stored on the service as
// `JobStatus: { JobIteration: { Index }, LastExecution }` (the API does not store JobStatus, so
// this orchestrator writes it, in the same transaction as the iteration's first tasks) and copied
// into every task of the iteration. A new iteration starts when the job is first seen, and when
// the service's TaskTemplate differs from the spec the current iteration's tasks were made from:
// `docker service update --force` bumps TaskTemplate.ForceUpdate, so it re-runs the job. (A change
// to Mode alone, e.g. TotalCompletions, continues the current iteration.) Tasks of earlier
// iterations are left as they are, except that those still running are shut down.
//
// Job tasks are created with DesiredState 'complete' (as in SwarmKit), so no other component
// treats them as holding a slot: isDesiredLive is false for them, and the restart supervisor
// only looks at tasks desired running. This orchestrator restarts failed job tasks itself.
//
// ReplicatedJob {MaxConcurrent (default 1), TotalCompletions (default MaxConcurrent)}: slots
// 0..TotalCompletions-1, one per completion, each new task taking the lowest slot not yet started
// (SwarmKit's numbering, which the docker CLI's job progress relies on: it looks at slots 0..n-1
// of the n it sees, so 1-based slots would never add up to "job complete"). Replicated services
// keep 1..Replicas. Slot 0 is Go's zero value, so a job task without Slot is in slot 0; the
// store's slot index leaves slot 0 out, so this orchestrator groups a job's tasks itself. A slot
// is *in progress* while its newest task of the iteration has not ended, or failed and waits for
// its restart; at most MaxConcurrent slots are in progress; a new slot starts (task 'pending',
// for the scheduler) whenever fewer are. A slot is done once one of its tasks completed
// ('complete'), or given up when the restart policy declines another attempt (it then stays
// failed: the job finishes with fewer completions, as in SwarmKit where no new slot makes up for
// it).
// GlobalJob {}: one task per node that is ready, active and meets the constraints, created
// 'assigned' to it, run to completion once per iteration; a node joining later gets its task. A
// task whose node stops keeping it (down, drained, gone, constraints) is shut down and not rerun
// in this iteration.
//
// Restarts follow the task's RestartPolicy, whose Condition defaults to 'on-failure' for jobs
// ('any' behaves the same: a completed job task is never restarted; 'none' never restarts).
// MaxAttempts counts the slot's (node's) restarts in this iteration within Window: read from the
// store (the tasks of the instance after its first) and from memory, whichever knows more (the
// task reaper may have deleted old attempts). A replicated job task whose node is lost is
// replaced at once; one that ended waits out Delay first, as in restart.ts (in memory).
import type { Frozen, NewObject, Node, Service, Task, Transaction } from '../store/index.js';
import { thaw } from '../store/index.js';
import { nodeKeepsGlobalTask, nodeTakesGlobalTask } from './global.js';
import type { OrchestratorOptions, PassOutcome, TaskWriter } from './reconciler.js';
import { StoreReconciler } from './reconciler.js';
import type { ReplaceReason } from './restart.js';
import { replicatedReplaceReason, shouldRestart } from './restart.js';
import type { RestartPolicy } from './tasks.js';
import { groupBy, hasEnded, newTask, restartPolicyOf, taskToKeep } from './tasks.js';

export type JobMode =
  | { kind: 'replicated-job'; maxConcurrent: number; totalCompletions: number }
  | { kind: 'global-job' };

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
}

/** The job mode of a service, or undefined for replicated and global services. */
export function jobModeOf(service: Frozen<Service>): JobMode | undefined {
  const mode = service.Spec.Mode as Record<string, unknown> | undefined;
  if (!mode) return undefined;
  if (mode.ReplicatedJob !== undefined && mode.ReplicatedJob !== null) {
    const job = (mode.ReplicatedJob ?? {}) as { MaxConcurrent?: unknown; TotalCompletions?: unknown };
    // MaxConcurrent 0 could never make progress: it reads as the default, 1.
    const maxConcurrent = count(job.MaxConcurrent) || 1;
    return { kind: 'replicated-job', maxConcurrent, totalCompletions: count(job.TotalCompletions) ?? maxConcurrent };
  }
  if (mode.GlobalJob !== undefined && mode.GlobalJob !== null) return { kind: 'global-job' };
  return undefined;
}

/** What this orchestrator stores on a job service (SwarmKit's JobStatus). */
export interface JobStatus {
  JobIteration: { Index: number };
  /** RFC 3339: when the iteration started. */
  LastExecution?: string;
}

/** The service's current JobIteration.Index, if a job iteration was started. */
export function jobIterationOf(service: Frozen<Service>): number | undefined {
  const status = (service as unknown as { JobStatus?: { JobIteration?: { Index?: unknown } } }).JobStatus;
  const index = status?.JobIteration?.Index;
  return typeof index === 'number' ? index : undefined;
}

/** A job task's RestartPolicy: Docker's defaults, except that Condition defaults to 'on-failure'. */
export function jobRestartPolicyOf(spec: Frozen<Record<string, unknown>> | undefined): RestartPolicy {
  const policy = restartPolicyOf(spec);
  const condition = (spec?.RestartPolicy as { Condition?: unknown } | undefined)?.Condition;
  return condition === undefined ? { ...policy, condition: 'on-failure' } : policy;
}

/** A job task still at work: desired to complete, and its worker has not reported it ended. */
export function isJobTaskActive(task: Frozen<Task>): boolean {
  return task.DesiredState === 'complete' && !hasEnded(task);
}

/**
 * A replicated job task's slot (0..TotalCompletions-1). No Slot reads as 0, as the Engine API's
 * zero value; a slot that is no count at all is undefined (no slot).
 */
export function jobSlotOf(task: Frozen<Task>): number | undefined {
  if (task.Slot === undefined || task.Slot === null) return 0;
  return Number.isInteger(task.Slot) && task.Slot >= 0 ? task.Slot : undefined;
}

/** A new task of a job iteration, desired 'complete'. */
export function newJobTask(service: Frozen<Service>, place: { slot: number } | { nodeId: string }, iteration: number, nowMs: number): NewObject<'task'> {
  const task = newTask(service, place, nowMs);
  task.DesiredState = 'complete';
  task.JobIteration = { Index: iteration };
  return task;
}

interface Restart { key: string }

export class JobOrchestrator extends StoreReconciler {
  /** When each failed task waiting for its restart delay was first seen. */
  private readonly waitingSince = new Map<string, number>();
  /** Restart times per instance ("service:iteration#slot" or "service:iteration@node"). */
  private readonly history = new Map<string, number[]>();

  constructor(options: OrchestratorOptions) {
    super('job-orchestrator', options, ['service', 'node', 'task']);
  }

  protected override onLeadershipLost(): void {
    this.waitingSince.clear();
    this.history.clear();
  }

  protected reconcile(tx: Transaction, writer: TaskWriter): PassOutcome {
    const now = this.clock.now();
    const nodes = tx.find('node');
    const nodeById = new Map(nodes.map((n) => [n.ID, n] as const));
    const restarted: Restart[] = [];
    const pass: Pass = { tx, writer, now, nodes, nodeById, restarted, stillWaiting: new Set(), wakeAt: Number.POSITIVE_INFINITY };
    const services = tx.find('service');
    let more = false;

    for (const service of services) {
      const mode = jobModeOf(service);
      if (!mode) {
        // A job task of a service that is no longer a job (Docker refuses mode changes; be safe).
        for (const task of tx.find('task', { serviceId: service.ID, desiredState: 'complete' })) {
          if (!isJobTaskActive(task)) continue;
          if (writer.full) { more = true; break; }
          writer.setDesiredState(task, 'shutdown');
        }
      } else if (this.reconcileJob(pass, service, mode)) {
        more = true;
      }
      if (more) break;
    }

    const serviceIds = new Set(services.map((s) => s.ID));
    for (const key of this.history.keys()) if (!serviceIds.has(key.slice(0, key.indexOf(':')))) this.history.delete(key);
    if (!more) for (const id of this.waitingSince.keys()) if (!pass.stillWaiting.has(id)) this.waitingSince.delete(id);
    if (pass.wakeAt !== Number.POSITIVE_INFINITY) this.requestPass(Math.max(0, pass.wakeAt - now));
    return {
      more,
      afterCommit: () => {
        for (const { key } of restarted) this.history.set(key, [...(this.history.get(key) ?? []), now]);
      },
    };
  }

  /** Returns true when the pass ran out of writes. */
  private reconcileJob(pass: Pass, service: Frozen<Service>, mode: JobMode): boolean {
    const { tx, writer, now } = pass;
    const tasks = tx.find('task', { serviceId: service.ID });
    const template = JSON.stringify(service.Spec.TaskTemplate ?? {});
    let iteration = jobIterationOf(service);
    const ofIteration = (index: number | undefined): Frozen<Task>[] => tasks.filter((t) => t.JobIteration?.Index === index);
    let current = ofIteration(iteration);
    const newest = current[current.length - 1];
    if (iteration === undefined || (newest && JSON.stringify(newest.Spec ?? {}) !== template)) {
      if (writer.full) return true;
      iteration = service.Version.Index;
      const next = thaw(service) as Service & { JobStatus?: JobStatus };
      next.JobStatus = { JobIteration: { Index: iteration }, LastExecution: new Date(now).toISOString() };
      tx.update('service', next);
      current = ofIteration(iteration);
      this.logger.info({ service: service.ID, name: service.Spec.Name, iteration }, 'starting a job iteration');
    }

    // Earlier iterations: leave their history, stop what still runs.
    for (const task of tasks) {
      if (task.JobIteration?.Index === iteration || !isJobTaskActive(task)) continue;
      if (writer.full) return true;
      writer.setDesiredState(task, 'shutdown');
    }

    const jobName = { service: service.ID, name: service.Spec.Name, iteration };
    if (mode.kind === 'replicated-job') {
      const slots = groupBy(current, (t) => jobSlotOf(t)?.toString());
      let inProgress = 0;
      const unstarted: number[] = [];
      for (let slot = 0; slot < mode.totalCompletions; slot++) {
        const slotTasks = slots.get(String(slot));
        if (!slotTasks) { unstarted.push(slot); continue; }
        if (writer.full) return true;
        const state = this.reconcileInstance(pass, service, slotTasks, `${service.ID}:${iteration}#${slot}`, { slot }, iteration);
        if (state === 'in-progress') inProgress++;
      }
      // TotalCompletions lowered during the iteration: slots from it on stop.
      for (const [slotKey, slotTasks] of slots) {
        if (Number(slotKey) < mode.totalCompletions) continue;
        for (const task of slotTasks) {
          if (!isJobTaskActive(task)) continue;
          if (writer.full) return true;
          writer.setDesiredState(task, 'shutdown');
        }
      }
      let created = 0;
      for (const slot of unstarted) {
        if (inProgress >= mode.maxConcurrent) break;
        if (writer.full) return true;
        writer.create(newJobTask(service, { slot }, iteration, now));
        inProgress++;
        created++;
      }
      if (created > 0) this.logger.info({ ...jobName, created, inProgress }, 'started job tasks');
    } else {
      const byNode = groupBy(current, (t) => t.NodeID || undefined);
      let created = 0;
      for (const node of pass.nodes) {
        if (writer.full) return true;
        const nodeTasks = byNode.get(node.ID);
        if (nodeTasks) {
          this.reconcileInstance(pass, service, nodeTasks, `${service.ID}:${iteration}@${node.ID}`, { nodeId: node.ID }, iteration);
        } else if (nodeTakesGlobalTask(node, service)) {
          writer.create(newJobTask(service, { nodeId: node.ID }, iteration, now));
          created++;
        }
      }
      for (const [nodeId, nodeTasks] of byNode) {
        if (pass.nodeById.has(nodeId)) continue;
        for (const task of nodeTasks) {
          if (!isJobTaskActive(task)) continue;
          if (writer.full) return true;
          writer.setDesiredState(task, 'shutdown');
        }
      }
      if (created > 0) this.logger.info({ ...jobName, created }, 'started global job tasks');
    }
    return false;
  }

  /**
   * One slot (node) of the current iteration: keeps at most one task at work, restarts a failed
   * one per policy. Says whether the instance is still in progress.
   */
  private reconcileInstance(pass: Pass, service: Frozen<Service>, tasks: readonly Frozen<Task>[], key: string,
    place: { slot: number } | { nodeId: string }, iteration: number): 'done' | 'in-progress' {
    const { writer, now } = pass;
    if (tasks.some((t) => t.Status?.State === 'complete')) {
      for (const task of tasks) if (isJobTaskActive(task)) writer.setDesiredState(task, 'shutdown');
      return 'done';
    }
    let active = tasks.filter(isJobTaskActive);
    if (active.length > 1) {
      const keep = taskToKeep(active);
      this.logger.error({ service: service.ID, key, tasks: active.map((t) => t.ID) }, 'job instance had several active tasks; keeping one');
      for (const task of active) if (task !== keep) writer.setDesiredState(task, 'shutdown');
      active = [keep];
    }

    const latest = tasks[tasks.length - 1];
    let task: Frozen<Task>;
    let reason: ReplaceReason;
    if (active.length === 1) {
      task = active[0];
      const node = task.NodeID ? pass.nodeById.get(task.NodeID) : undefined;
      if ('nodeId' in place) {
        if (nodeKeepsGlobalTask(node, service)) return 'in-progress';
        writer.setDesiredState(task, 'shutdown');
        this.logger.info({ service: service.ID, task: task.ID, node: task.NodeID }, 'global job task shut down: its node may no longer run it');
        return 'done';
      }
      const lost = replicatedReplaceReason(task, node);
      if (!lost) return 'in-progress';
      reason = lost;
    } else if (latest.DesiredState === 'complete' && hasEnded(latest)) {
      task = latest;
      reason = 'ended';
    } else {
      return 'done'; // shut down: given up, or stopped by a node change
    }

    const policy = jobRestartPolicyOf(task.Spec);
    const fromStore = tasks.slice(1).map((t) => Date.parse(t.CreatedAt)).filter((at) => Number.isFinite(at));
    const fromMemory = this.history.get(key) ?? [];
    const restarts = fromMemory.length > fromStore.length ? fromMemory : fromStore;
    const restart = shouldRestart(policy, reason, task.Status?.State, restarts, now);

    if (restart && reason === 'ended' && policy.delayMs > 0) {
      const since = this.waitingSince.get(task.ID) ?? now;
      this.waitingSince.set(task.ID, since);
      pass.stillWaiting.add(task.ID);
      if (since + policy.delayMs > now) {
        pass.wakeAt = Math.min(pass.wakeAt, since + policy.delayMs);
        return 'in-progress';
      }
    }

    writer.setDesiredState(task, 'shutdown');
    if (!restart) {
      this.logger.info({ service: service.ID, task: task.ID, reason, observed: task.Status?.State, condition: policy.condition }, 'job task not restarted (restart policy)');
      return 'done';
    }
    const replacement = writer.create(newJobTask(service, place, iteration, now));
    pass.restarted.push({ key });
    this.logger.info({ service: service.ID, task: task.ID, replacement: replacement.ID, reason, observed: task.Status?.State }, 'restarting job task');
    return 'in-progress';
  }
}

interface Pass {
  tx: Transaction;
  writer: TaskWriter;
  now: number;
  nodes: readonly Frozen<Node>[];
  nodeById: ReadonlyMap<string, Frozen<Node>>;
  restarted: Restart[];
  stillWaiting: Set<string>;
  wakeAt: number;
}
