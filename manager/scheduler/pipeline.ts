// Pure placement: a batch of tasks against node infos, no store and no clock of its own. The
// caller (scheduler.ts, the benchmark, tests) builds the NodeInfos; placeTasks records each
// assignment on them, so a later batch against the same infos sees this one's tasks.
//
// Cost. Tasks with identical requirements (normally: all pending tasks of one service) form a
// group, placed together: the filters run once per node per group, not per task, and the spread
// pool (spread.ts) then hands out nodes in O(log nodes) per task, re-checking only the node it
// just chose. A batch costs O(groups × nodes × filters + tasks × log nodes), never
// O(tasks × nodes). The per-node work of a group is kept to the filters themselves: the tasks of
// the group's service per node come from one small map (service-index.ts), not a lookup per node.
import { ConstraintParseError } from './constraints.js';
import type { Filter } from './filters/index.js';
import { filtersFor } from './filters/index.js';
import { NodeInfo } from './node-info.js';
import type { SchedulableTask, TaskRequirements } from './requirements.js';
import { hostPortsKeyOf, joinGroupKey, requirementsOf, specKeyOf } from './requirements.js';
import type { Candidate } from './spread.js';
import { buildSpreadPool } from './spread.js';

export interface PlacementOptions {
  /** The time failures are judged against (ms since the epoch). */
  nowMs: number;
}

export interface Assignment {
  readonly taskId: string;
  readonly nodeId: string;
}

export interface Unplaced {
  readonly taskId: string;
  /** For Status.Err: "no suitable node (2 nodes: insufficient memory; 1 node: …)". */
  readonly explanation: string;
}

export interface PlacementResult {
  readonly assignments: Assignment[];
  readonly unplaced: Unplaced[];
}

/** One node's verdict for one task, as GET /berth/tasks/{id}/placement lists it. */
export interface NodeVerdict {
  readonly node: { readonly ID: string; readonly Hostname: string };
  readonly ok: boolean;
  /** Every filter the node fails, in pipeline order; empty when ok. */
  readonly reasons: string[];
}

interface TaskGroup {
  readonly tasks: SchedulableTask[];
}

/**
 * Tasks grouped by groupKeyOf, groups in the order their first task appears. Pending tasks come
 * service by service, so most tasks have the previous task's key: comparing the key's parts with
 * the previous task's (the service, and a spec key that is usually the very same string) is
 * enough to join its group, without building and hashing the full key.
 */
function groupTasks(tasks: readonly SchedulableTask[]): TaskGroup[] {
  const groups = new Map<string, TaskGroup>();
  let last: { serviceId: string; specKey: string; portsKey: string; group: TaskGroup } | undefined;
  for (const task of tasks) {
    const specKey = specKeyOf(task);
    const portsKey = hostPortsKeyOf(task);
    if (last && last.serviceId === task.ServiceID && last.specKey === specKey && last.portsKey === portsKey) {
      last.group.tasks.push(task);
      continue;
    }
    const key = joinGroupKey(task.ServiceID, specKey, portsKey);
    let group = groups.get(key);
    if (group) group.tasks.push(task); else groups.set(key, group = { tasks: [task] });
    last = { serviceId: task.ServiceID, specKey, portsKey, group };
  }
  return [...groups.values()];
}

function passesAll(filters: readonly Filter[], task: TaskRequirements, node: NodeInfo): boolean {
  for (let i = 0; i < filters.length; i++) if (!filters[i].check(task, node)) return false;
  return true;
}

/**
 * Why no node takes the task, with every node charged to the first filter it fails:
 * `no suitable node (2 nodes: insufficient memory; 1 node: constraint node.labels.zone==a not met)`.
 */
export function explainUnplaceable(task: TaskRequirements, nodes: readonly NodeInfo[], filters: readonly Filter[] = filtersFor(task)): string {
  if (nodes.length === 0) return 'no suitable node (the cluster has no nodes)';
  const failures = new Array<number>(filters.length).fill(0);
  for (const node of nodes) {
    for (let i = 0; i < filters.length; i++) {
      if (!filters[i].check(task, node)) {
        failures[i]++;
        break;
      }
    }
  }
  const parts = filters.flatMap((f, i) => (failures[i] > 0 ? [f.explain(failures[i])] : []));
  return parts.length === 0 ? 'no suitable node' : `no suitable node (${parts.join('; ')})`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Places `tasks` (pending, no NodeID) on `nodes`, recording each assignment on its NodeInfo.
 * Groups are placed in the order their first task appears, tasks within a group in the given
 * order, so the caller decides priority by ordering (the scheduler passes creation order).
 */
export function placeTasks(tasks: readonly SchedulableTask[], nodes: readonly NodeInfo[], options: PlacementOptions): PlacementResult {
  const groups = groupTasks(tasks);
  const assignments: Assignment[] = [];
  const unplaced: Unplaced[] = [];
  // One Candidate per node, reused by every group of the batch (a group's pool is gone before the
  // next group starts): at thousands of nodes, allocating them per group is most of the garbage.
  const slots: Candidate[] = nodes.map((node, ordinal) => ({ node, ordinal, failedRecently: false, serviceTasks: 0 }));
  // Tasks per service per node, slot = ordinal: a group reads its service's few holders from it
  // instead of asking every node (see service-index.ts). Kept current by the nodes as we place.
  const serviceIndex = NodeInfo.serviceIndexFor(nodes);
  // Likewise one candidate list for the batch, refilled per group (the pool takes it over, and is
  // done with it when the group is): growing a fresh array of thousands of nodes per group is garbage.
  const candidates: Candidate[] = [];
  for (const { tasks: members } of groups) {
    let requirements: TaskRequirements;
    try {
      requirements = requirementsOf(members[0]);
    } catch (error) {
      if (!(error instanceof ConstraintParseError)) throw error;
      for (const task of members) unplaced.push({ taskId: task.ID, explanation: errorText(error) });
      continue;
    }
    const filters = filtersFor(requirements);
    candidates.length = 0;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      if (!passesAll(filters, requirements, node)) continue;
      const candidate = slots[i];
      candidate.failedRecently = node.recentFailures(requirements.serviceId, options.nowMs) > 0;
      candidate.serviceTasks = serviceIndex ? 0 : node.tasksOfService(requirements.serviceId);
      candidates.push(candidate);
    }
    // Slots that failed the filters get counts too; no one reads them before they are reset.
    const holders = serviceIndex?.nodesHolding(requirements.serviceId);
    if (holders) for (const [slot, count] of holders) slots[slot].serviceTasks = count;
    const pool = buildSpreadPool(candidates, requirements.spreadOver);
    const stillFits = (node: NodeInfo): boolean => passesAll(filters, requirements, node);
    let placed = 0;
    for (; placed < members.length; placed++) {
      const task = members[placed];
      const node = pool.place(task.ID, requirements, stillFits);
      if (!node) break;
      assignments.push({ taskId: task.ID, nodeId: node.id });
    }
    if (placed < members.length) {
      // Judged after this group's placements: the nodes it filled now fail for the reason they filled up.
      const explanation = explainUnplaceable(requirements, nodes, filters);
      for (let i = placed; i < members.length; i++) unplaced.push({ taskId: members[i].ID, explanation });
    }
  }
  return { assignments, unplaced };
}

/** Every node's verdict for the task, in node order. */
export function placementVerdicts(task: SchedulableTask, nodes: readonly NodeInfo[]): NodeVerdict[] {
  let requirements: TaskRequirements;
  try {
    requirements = requirementsOf(task);
  } catch (error) {
    if (!(error instanceof ConstraintParseError)) throw error;
    return nodes.map((node) => ({ node: { ID: node.id, Hostname: node.hostname }, ok: false, reasons: [error.message] }));
  }
  const filters = filtersFor(requirements);
  return nodes.map((node) => {
    const reasons = filters.filter((f) => !f.check(requirements, node)).map((f) => f.reason);
    return { node: { ID: node.id, Hostname: node.hostname }, ok: reasons.length === 0, reasons };
  });
}
