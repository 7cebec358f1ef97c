// Which tasks a log request covers, and when a node can be asked for a task's logs.
//
// A task is asked of its node once the node has reported it at least 'accepted': the node has
// then received its assignment and holds (or held) a controller for it, so a subscription never
// races the assignment it depends on, and a task that never reached a node has no logs to read.

import type { Frozen, Store, Task, TaskState } from '../store/index.js';
import { TASK_STATES } from '../store/index.js';
import type { LogSelector } from '../../shared/log-protocol.js';

const ACCEPTED = TASK_STATES.indexOf('accepted');

export function selects(selector: LogSelector, task: Frozen<Task>): boolean {
  return selector.serviceIds.includes(task.ServiceID) || selector.taskIds.includes(task.ID);
}

/** The node has heard of the task: it can be asked for its logs. */
export function isReadable(task: Frozen<Task>): boolean {
  return Boolean(task.NodeID) && TASK_STATES.indexOf(task.Status?.State as TaskState) >= ACCEPTED;
}

/** The selected tasks whose nodes can be asked now, grouped by node. */
export function readableTasksByNode(store: Store, selector: LogSelector): Map<string, Frozen<Task>[]> {
  const tasks = new Map<string, Frozen<Task>>();
  for (const serviceId of selector.serviceIds) for (const task of store.find('task', { serviceId })) tasks.set(task.ID, task);
  for (const id of selector.taskIds) {
    const task = store.get('task', id);
    if (task) tasks.set(task.ID, task);
  }
  const byNode = new Map<string, Frozen<Task>[]>();
  for (const task of tasks.values()) {
    if (!isReadable(task)) continue;
    const list = byNode.get(task.NodeID!) ?? [];
    list.push(task);
    byNode.set(task.NodeID!, list);
  }
  return byNode;
}
