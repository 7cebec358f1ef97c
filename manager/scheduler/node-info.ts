// The scheduler's view of one node: what it is (for constraints and spreading) and what it holds
// (resources reserved, tasks per service, host ports, recent failures). Built from the store
// before each pass (buildNodeInfos) and updated in memory as the pipeline places tasks, so later
// tasks of the same batch see the earlier ones.
import type { Frozen, Node, Task } from '../store/index.js';
import type { ConstraintTarget } from './constraints.js';
import type { ResourceDemand, SchedulableTask } from './requirements.js';
import { normalizeArch, resourceDemandOf } from './requirements.js';
import { ServiceTaskIndex } from './service-index.js';

/**
 * How long a failed task counts against its node for that service. Five minutes, as in
 * SwarmKit: long enough to steer a crash-looping service away from a node with a local problem
 * (a missing volume, a full disk) across several restarts, short enough that a fixed node gets
 * work again without an operator.
 */
export const FAILURE_WINDOW_MS = 5 * 60_000;

/** Observed states in which a task holds its node's resources: it was assigned and has not stopped. */
const HOLDING_STATES: ReadonlySet<string> = new Set(['new', 'pending', 'assigned', 'accepted', 'preparing', 'starting', 'running']);
/** Observed states that count as a failure of the service on the node. */
const FAILED_STATES: ReadonlySet<string> = new Set(['failed', 'rejected']);

export interface Resources {
  nanoCPUs: number;
  memoryBytes: number;
}

type LooseNode = Frozen<Node> | Node;

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

function labelsOf(value: unknown): Readonly<Record<string, string>> {
  return typeof value === 'object' && value !== null ? value as Record<string, string> : {};
}

export class NodeInfo implements ConstraintTarget {
  readonly id: string;
  readonly hostname: string;
  readonly role: string;
  readonly availability: string;
  /** Status.State: ready, down, unknown, disconnected. */
  readonly state: string;
  /** Lowercase. */
  readonly os: string;
  /** As reported (constraints match it); `platformArch` is the normalized form. */
  readonly arch: string;
  readonly platformArch: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly engineLabels: Readonly<Record<string, string>>;
  readonly total: Readonly<Resources>;
  /** Total minus the reservations of the tasks it holds; may go negative if over-committed by hand. */
  readonly available: Resources;
  /** Tasks holding resources here, all services. */
  activeTasks = 0;
  private readonly tasks = new Map<string, ResourceDemand>();
  private readonly perService = new Map<string, number>();
  private readonly hostPorts = new Map<string, number>();
  /** Failure times (ms) per service, oldest first. */
  private readonly failures = new Map<string, number[]>();
  /** Failures recorded, all services: lets the common case (none) skip the map. */
  private failureCount = 0;
  /** The index this node's per-service counts are mirrored in (see serviceIndexFor), and its slot there. */
  private serviceIndex: ServiceTaskIndex | undefined;
  private serviceSlot = -1;

  constructor(fields: {
    id: string; hostname?: string; role?: string; availability?: string; state?: string; os?: string; arch?: string;
    labels?: Readonly<Record<string, string>>; engineLabels?: Readonly<Record<string, string>>; nanoCPUs?: number; memoryBytes?: number;
  }) {
    this.id = fields.id;
    this.hostname = fields.hostname ?? '';
    this.role = fields.role ?? 'worker';
    this.availability = fields.availability ?? 'active';
    this.state = fields.state ?? 'ready';
    this.os = (fields.os ?? '').toLowerCase();
    this.arch = fields.arch ?? '';
    this.platformArch = normalizeArch(this.arch);
    this.labels = fields.labels ?? {};
    this.engineLabels = fields.engineLabels ?? {};
    this.total = { nanoCPUs: fields.nanoCPUs ?? 0, memoryBytes: fields.memoryBytes ?? 0 };
    this.available = { ...this.total };
  }

  /** A stored Node's view, holding no tasks yet. */
  static fromNode(node: LooseNode): NodeInfo {
    const description = node.Description as Record<string, unknown> | undefined;
    const platform = description?.Platform as Record<string, unknown> | undefined;
    const resources = description?.Resources as Record<string, unknown> | undefined;
    const engine = description?.Engine as Record<string, unknown> | undefined;
    return new NodeInfo({
      id: node.ID,
      hostname: str(description?.Hostname),
      role: str(node.Spec?.Role) || 'worker',
      availability: str(node.Spec?.Availability) || 'active',
      state: str(node.Status?.State) || 'unknown',
      os: str(platform?.OS),
      arch: str(platform?.Architecture),
      labels: labelsOf(node.Spec?.Labels),
      engineLabels: labelsOf(engine?.Labels),
      nanoCPUs: num(resources?.NanoCPUs),
      memoryBytes: num(resources?.MemoryBytes),
    });
  }

  /**
   * The index of tasks per service per node for exactly these nodes, slot i being nodes[i]. The
   * index built by the previous call is reused while the list is the same nodes in the same order
   * (a check of two fields per node); otherwise the nodes are moved to a new one, which costs one
   * pass over their per-service counts. Undefined when a node is listed twice: a slot could not
   * stand for it, and callers ask the nodes instead.
   */
  static serviceIndexFor(nodes: readonly NodeInfo[]): ServiceTaskIndex | undefined {
    const current = nodes.length > 0 ? nodes[0].serviceIndex : undefined;
    if (current && current.members === nodes.length && nodes.every((node, i) => node.serviceIndex === current && node.serviceSlot === i)) {
      return current;
    }
    const index = new ServiceTaskIndex();
    for (let i = 0; i < nodes.length; i++) {
      if (nodes[i].serviceIndex === index) return undefined;
      nodes[i].attachTo(index, i);
    }
    return index;
  }

  /** Mirrors this node's counts in `index` under `slot` from now on, and takes them out of its previous index. */
  private attachTo(index: ServiceTaskIndex, slot: number): void {
    const previous = this.serviceIndex;
    if (previous) {
      for (const [serviceId, count] of this.perService) previous.add(serviceId, this.serviceSlot, -count);
      previous.members--;
    }
    this.serviceIndex = index;
    this.serviceSlot = slot;
    index.members++;
    for (const [serviceId, count] of this.perService) index.add(serviceId, slot, count);
  }

  tasksOfService(serviceId: string): number {
    return this.activeTasks === 0 ? 0 : this.perService.get(serviceId) ?? 0;
  }

  hostPortInUse(key: string): boolean {
    return this.hostPorts.has(key);
  }

  holdsTask(taskId: string): boolean {
    return this.tasks.has(taskId);
  }

  /** Records a task holding resources here; a task already recorded is left as is. */
  addTask(taskId: string, demand: ResourceDemand): boolean {
    if (this.tasks.has(taskId)) return false;
    this.tasks.set(taskId, demand);
    this.activeTasks++;
    this.perService.set(demand.serviceId, (this.perService.get(demand.serviceId) ?? 0) + 1);
    this.serviceIndex?.add(demand.serviceId, this.serviceSlot, 1);
    this.available.nanoCPUs -= demand.nanoCPUs;
    this.available.memoryBytes -= demand.memoryBytes;
    for (const port of demand.hostPorts) this.hostPorts.set(port, (this.hostPorts.get(port) ?? 0) + 1);
    return true;
  }

  removeTask(taskId: string): boolean {
    const demand = this.tasks.get(taskId);
    if (!demand) return false;
    this.tasks.delete(taskId);
    this.activeTasks--;
    const left = (this.perService.get(demand.serviceId) ?? 1) - 1;
    if (left > 0) this.perService.set(demand.serviceId, left); else this.perService.delete(demand.serviceId);
    this.serviceIndex?.add(demand.serviceId, this.serviceSlot, -1);
    this.available.nanoCPUs += demand.nanoCPUs;
    this.available.memoryBytes += demand.memoryBytes;
    for (const port of demand.hostPorts) {
      const users = (this.hostPorts.get(port) ?? 1) - 1;
      if (users > 0) this.hostPorts.set(port, users); else this.hostPorts.delete(port);
    }
    return true;
  }

  recordFailure(serviceId: string, atMs: number): void {
    this.failureCount++;
    const times = this.failures.get(serviceId);
    if (times) times.push(atMs); else this.failures.set(serviceId, [atMs]);
  }

  /** Failures of the service here within FAILURE_WINDOW_MS before `nowMs`. */
  recentFailures(serviceId: string, nowMs: number, windowMs = FAILURE_WINDOW_MS): number {
    if (this.failureCount === 0) return 0;
    const times = this.failures.get(serviceId);
    if (!times) return 0;
    let count = 0;
    for (const t of times) if (nowMs - t <= windowMs && t <= nowMs) count++;
    return count;
  }
}

type LooseTask = SchedulableTask & { readonly DesiredState?: string; readonly Status?: { readonly State?: string; readonly Timestamp?: string } };

/**
 * One NodeInfo per node, holding every task assigned to it that has not stopped, and knowing the
 * failures of the last FAILURE_WINDOW_MS. Tasks naming an unknown node are ignored.
 */
export function buildNodeInfos(
  nodes: Iterable<LooseNode>,
  tasks: Iterable<LooseTask | Frozen<Task>>,
  nowMs: number,
): NodeInfo[] {
  const infos: NodeInfo[] = [];
  const byId = new Map<string, NodeInfo>();
  for (const node of nodes) {
    const info = NodeInfo.fromNode(node);
    infos.push(info);
    byId.set(info.id, info);
  }
  for (const task of tasks as Iterable<LooseTask>) {
    if (!task.NodeID) continue;
    const info = byId.get(task.NodeID);
    if (!info) continue;
    const state = task.Status?.State ?? '';
    if (HOLDING_STATES.has(state)) {
      info.addTask(task.ID, resourceDemandOf(task));
    } else if (FAILED_STATES.has(state)) {
      const at = Date.parse(task.Status?.Timestamp ?? '');
      if (Number.isFinite(at) && nowMs - at <= FAILURE_WINDOW_MS) info.recordFailure(task.ServiceID, at);
    }
  }
  return infos;
}
