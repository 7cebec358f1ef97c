// Task status reports from agents, queued and written to the store in one transaction per batch.
// A busy cluster reports thousands of transitions a second (every task passes accepted, preparing,
// starting, running); one raft entry each would make the log the bottleneck. Only the furthest
// state per task waits in the queue, so a task that passed four states since the last write costs
// one update.
//
// What an agent may write, and only to its own tasks: states it observes (accepted … rejected),
// forward only in the lifecycle, never past a terminal state (the first end a task reached is its
// end: a failed task that is then shut down stays failed, with its error).

import type { Frozen, Store, Task, TaskStatus, Transaction } from '../store/index.js';
import { thaw } from '../store/index.js';
import type { TaskStatusUpdate } from '../../shared/session-protocol.js';
import { stateRank } from './task-assignments.js';

/**
 * The least time between two status writes (leading-edge: a report after a quiet spell is
 * written at once; one write is in flight at a time). Agents batch for 50 ms themselves; under
 * load 100 ms here merges the reports of many agents into one raft entry (one disk sync on a
 * majority of managers) while keeping `docker service ps` a fraction of a second behind the truth.
 */
export const STATUS_BATCH_MS = 100;

/** The states an agent observes and may report. */
const AGENT_STATES: ReadonlySet<string> = new Set(['accepted', 'preparing', 'starting', 'running', 'complete', 'failed', 'shutdown', 'rejected']);
const COMPLETE = stateRank('complete');

export interface QueuedStatus {
  /** The node whose session reported it: only that node's tasks are written. */
  nodeId: string;
  update: TaskStatusUpdate;
}

/** Reports waiting for the next write, the furthest per task. */
export class StatusQueue {
  private readonly queue = new Map<string, QueuedStatus>();

  get size(): number {
    return this.queue.size;
  }

  /** Queues a report; false (and ignored) when its state is not one an agent may report. */
  add(nodeId: string, update: TaskStatusUpdate): boolean {
    if (!AGENT_STATES.has(update.state)) return false;
    const queued = this.queue.get(update.taskId);
    if (queued && queued.nodeId === nodeId && stateRank(queued.update.state) > stateRank(update.state)) return true;
    // 'running' carries the task's ports; an end that overtakes it in the queue must not lose them.
    if (queued && queued.nodeId === nodeId && queued.update.ports && !update.ports) update = { ...update, ports: queued.update.ports };
    this.queue.set(update.taskId, { nodeId, update });
    return true;
  }

  /** Everything queued; the queue is empty afterwards. */
  take(): QueuedStatus[] {
    const all = [...this.queue.values()];
    this.queue.clear();
    return all;
  }

  /** Puts back reports whose write failed, unless a report at least as far arrived meanwhile. */
  restore(entries: readonly QueuedStatus[]): void {
    for (const entry of entries) {
      const newer = this.queue.get(entry.update.taskId);
      if (newer && stateRank(newer.update.state) >= stateRank(entry.update.state)) continue;
      this.queue.set(entry.update.taskId, entry);
    }
  }

  clear(): void {
    this.queue.clear();
  }
}

/** The task's Status after `update`, or null when the update must not (or need not) be written. */
export function nextStatus(task: Frozen<Task>, nodeId: string, update: TaskStatusUpdate): TaskStatus | null {
  if (task.NodeID !== nodeId) return null;
  const current = stateRank(task.Status?.State);
  const next = stateRank(update.state);
  if (!AGENT_STATES.has(update.state) || current >= COMPLETE || next < current) return null;
  const containerStatus: Record<string, unknown> = { ...(thaw(task.Status.ContainerStatus) ?? {}) };
  if (update.runtimeId) containerStatus.ContainerID = update.runtimeId;
  if (update.pid > 0) containerStatus.PID = update.pid;
  if (update.exitCode !== null) containerStatus.ExitCode = update.exitCode;
  const status: TaskStatus = {
    ...thaw(task.Status),
    State: update.state as TaskStatus['State'],
    Timestamp: new Date(update.timestampMs > 0 ? update.timestampMs : Date.now()).toISOString(),
    Message: update.message,
    ContainerStatus: containerStatus,
  };
  if (update.err) status.Err = update.err;
  else delete status.Err;
  // Docker's shape: the ports the runtime bound, kept through the states that follow.
  if (update.ports && update.ports.length > 0) status.PortStatus = { Ports: update.ports.map((p) => ({ ...p })) };
  // The same state again (a resent report, an agent that re-adopted its task) writes only news.
  if (next === current) {
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
    if (same(status.Err, task.Status.Err) && same(status.Message, task.Status.Message)
      && same(status.ContainerStatus, task.Status.ContainerStatus) && same(status.PortStatus, task.Status.PortStatus)) return null;
  }
  return status;
}

/** Writes `entries` in one store update; returns how many tasks changed. Throws the store's errors. */
export async function writeStatuses(store: Store, entries: readonly QueuedStatus[]): Promise<number> {
  let written = 0;
  await store.update((tx: Transaction) => {
    written = 0;
    for (const { nodeId, update } of entries) {
      const task = tx.get('task', update.taskId);
      if (!task) continue;
      const status = nextStatus(task, nodeId, update);
      if (!status) continue;
      const next = thaw(task);
      next.Status = status;
      tx.update('task', next as Frozen<Task>);
      written += 1;
    }
  });
  return written;
}
