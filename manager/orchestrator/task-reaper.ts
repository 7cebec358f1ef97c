// The task reaper: keeps task history bounded. Per slot (replicated services' 1..Replicas,
// replicated jobs' 0..TotalCompletions-1; per node for global tasks and global jobs) it keeps at
// most TaskHistoryRetentionLimit finished tasks (default 5), deleting the oldest; "finished"
// means no longer desired running. A negative limit keeps everything. Tasks of deleted
// services are deleted outright. Either way only a task that has stopped is deleted (see
// hasStopped: a worker may still be running one that is merely desired shut down).
//
// Differences from SwarmKit, on purpose: the limit counts finished tasks only (SwarmKit counts
// the live one too), and the newest task of a slot is always kept while its service exists, so
// the replicated orchestrator can tell a slot that ended for good (RestartPolicy 'none') from one
// that never had a task.
import type { Frozen, Task, Transaction } from '../store/index.js';
import type { OrchestratorOptions, PassOutcome, TaskWriter } from './reconciler.js';
import { StoreReconciler } from './reconciler.js';
import { jobModeOf, jobSlotOf } from './jobs.js';
import { groupBy, hasEnded, hasStopped, isDesiredLive } from './tasks.js';

/** Docker's default `--task-history-limit`: enough to see why a slot keeps failing. */
export const DEFAULT_TASK_HISTORY_RETENTION_LIMIT = 5;

/** The cluster's retention limit: Spec.Orchestration.TaskHistoryRetentionLimit, or the default. */
export function retentionLimitOf(tx: Transaction): number {
  const cluster = tx.find('cluster')[0];
  const orchestration = cluster?.Spec.Orchestration as { TaskHistoryRetentionLimit?: unknown } | undefined;
  const limit = orchestration?.TaskHistoryRetentionLimit;
  return typeof limit === 'number' && Number.isInteger(limit) ? limit : DEFAULT_TASK_HISTORY_RETENTION_LIMIT;
}

export class TaskReaper extends StoreReconciler {
  constructor(options: OrchestratorOptions) {
    super('task-reaper', options, ['task', 'service', 'node', 'cluster']);
  }

  protected reconcile(tx: Transaction, writer: TaskWriter): PassOutcome {
    const limit = retentionLimitOf(tx);
    const services = tx.find('service');
    const serviceIds = new Set(services.map((s) => s.ID));
    const replicatedJobs = new Set(services.filter((s) => jobModeOf(s)?.kind === 'replicated-job').map((s) => s.ID));
    const nodeIds = new Set(tx.find('node').map((n) => n.ID));
    const nodeExists = (id: string): boolean => nodeIds.has(id);
    const tasks = tx.find('task');

    for (const task of tasks) {
      if (serviceIds.has(task.ServiceID) || isDesiredLive(task) || !hasStopped(task, nodeExists)) continue;
      if (writer.full) return { more: true };
      writer.delete(task);
    }
    if (limit < 0) return {};

    // find() lists in creation order, so each group runs oldest to newest.
    const instances = groupBy(tasks.filter((t) => serviceIds.has(t.ServiceID)), (t) => instanceKey(t, replicatedJobs.has(t.ServiceID)));
    for (const group of instances.values()) {
      // A job task desired 'complete' is still at work until it ended: not history yet.
      const finished = group.filter((t) => !isDesiredLive(t) && !(t.DesiredState === 'complete' && !hasEnded(t)));
      let excess = finished.length - limit;
      const newest = group[group.length - 1];
      for (const task of finished) {
        if (excess <= 0) break;
        if (task === newest || !hasStopped(task, nodeExists)) continue;
        if (writer.full) return { more: true };
        writer.delete(task);
        excess--;
      }
    }
    return {};
  }
}

/**
 * The slot or node whose history a task is part of. Slot 0 is a slot only in a replicated job
 * (elsewhere it is the zero value of a task that has none), where retries on other nodes are still
 * one slot's history.
 */
function instanceKey(task: Frozen<Task>, ofReplicatedJob: boolean): string | undefined {
  if (ofReplicatedJob) {
    const slot = jobSlotOf(task);
    return slot === undefined ? undefined : `${task.ServiceID}#${slot}`;
  }
  if (task.Slot && task.Slot > 0) return `${task.ServiceID}#${task.Slot}`;
  return task.NodeID ? `${task.ServiceID}@${task.NodeID}` : undefined;
}
