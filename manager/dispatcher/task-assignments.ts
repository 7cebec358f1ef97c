// Which tasks a node must act on, and what changed in that set since the node was last told. The
// dispatcher sends each session the full set once, right after SessionAck, then increments: a
// NodeAssignments per session remembers what it sent (a fingerprint per task), so a change to a
// task the node does not care about (its own status reports, above all) sends nothing.

import type { Frozen, Store, Task, TaskState } from '../store/index.js';
import { TASK_STATES } from '../store/index.js';
import type { AssignedTask, AssignmentsMessage } from '../../shared/session-protocol.js';

/**
 * The least time between two increments to the nodes (leading-edge: the first change after a
 * quiet spell goes out at once). A service update or a scale-up writes its tasks in several store
 * batches a few ms apart; 50 ms sends the rest of them to a node as one message instead of one
 * each, and the first batch waits for nothing.
 */
export const ASSIGNMENT_BATCH_MS = 50;

/** Position in the task lifecycle (TASK_STATES); -1 for a name that is not a task state. */
export function stateRank(state: string | undefined): number {
  return TASK_STATES.indexOf(state as TaskState);
}

const ASSIGNED = stateRank('assigned');

/**
 * Whether `nodeId` must know `task`: it is placed there and the scheduler has moved it to
 * 'assigned' at least (a task still being placed is never started). As in SwarmKit, the node keeps
 * knowing it until the task is deleted from the store, whatever its desired and observed states:
 * the agent acts on the desired state (run, or stop), keeps an ended task's container and logs
 * (`docker service logs`, `docker ps -a` show why a slot failed), and removes them when the task
 * reaper deletes the task, which keeps a bounded history per slot.
 */
export function isAssignedTo(task: Frozen<Task>, nodeId: string): boolean {
  return task.NodeID === nodeId && stateRank(task.Status?.State) >= ASSIGNED;
}

/** The node's tasks, from the by-node index. */
export function assignedTasks(store: Store, nodeId: string): Frozen<Task>[] {
  return store.find('task', { nodeId }).filter((task) => isAssignedTo(task, nodeId));
}

/** The fields whose change the agent must hear about; Status and Version are the agent's own news. */
function fingerprint(task: Frozen<Task>): string {
  return JSON.stringify([task.DesiredState, task.NodeID, task.ServiceID, task.Slot, task.Spec, task.NetworksAttachments]);
}

function toAssigned(task: Frozen<Task>): AssignedTask {
  return task as unknown as AssignedTask;
}

/** What one session has been told. */
export class NodeAssignments {
  private readonly sent = new Map<string, string>();

  /** The full set; what follows is measured against it. */
  full(tasks: readonly Frozen<Task>[]): AssignmentsMessage {
    this.sent.clear();
    for (const task of tasks) this.sent.set(task.ID, fingerprint(task));
    return { full: true, tasks: tasks.map(toAssigned), removed: [] };
  }

  /** What changed since the last message, or null when nothing did. */
  increment(tasks: readonly Frozen<Task>[]): AssignmentsMessage | null {
    const changed: AssignedTask[] = [];
    const current = new Set<string>();
    for (const task of tasks) {
      current.add(task.ID);
      const print = fingerprint(task);
      if (this.sent.get(task.ID) === print) continue;
      this.sent.set(task.ID, print);
      changed.push(toAssigned(task));
    }
    const removed = [...this.sent.keys()].filter((id) => !current.has(id));
    for (const id of removed) this.sent.delete(id);
    return changed.length === 0 && removed.length === 0 ? null : { full: false, tasks: changed, removed };
  }
}
