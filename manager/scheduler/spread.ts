// The spread strategy: which of the nodes that passed the filters gets the next task of a group.
//
// Without placement preferences the nodes sit in one heap ordered by (recent failures of this
// service, tasks of this service, tasks in all, node order): nodes where the service failed in
// the last few minutes go last, then the fewest tasks of the service, then the least loaded node.
// Placing a task changes only the chosen node's key, so each pick costs O(log nodes).
//
// Placement preferences (`Spread: node.labels.zone`, nested for several) split the nodes into a
// tree by label value, nodes without the label forming their own "" branch as in SwarmKit. Each
// branch counts the service's tasks beneath it and a branch heap always descends into the branch
// with the fewest, so tasks even out across label values (counting the tasks already there) and a
// branch that runs out of room drops out and the rest absorb its share.
import { MinHeap } from './heap.js';
import type { NodeInfo } from './node-info.js';
import type { ResourceDemand } from './requirements.js';

/** A node that passed every filter for the group being placed. */
export interface Candidate {
  readonly node: NodeInfo;
  /** Tie-break: the node's position in the pass's node list, for deterministic placement. */
  readonly ordinal: number;
  /** Whether the service failed on this node recently (see FAILURE_WINDOW_MS). */
  failedRecently: boolean;
  /** Tasks of this service on the node, kept here so comparisons need no map lookups. */
  serviceTasks: number;
}

/** Whether the node still fits another task of the group, after the last one was placed on it. */
export type StillFits = (node: NodeInfo) => boolean;

export interface SpreadPool {
  /** Tasks of the service on the nodes under this pool. */
  readonly serviceTasks: number;
  readonly empty: boolean;
  /** Picks a node, records the task on it, and returns it; undefined once no node fits. */
  place(taskId: string, demand: ResourceDemand, stillFits: StillFits): NodeInfo | undefined;
}

function candidateLess(a: Candidate, b: Candidate): boolean {
  if (a.failedRecently !== b.failedRecently) return !a.failedRecently;
  if (a.serviceTasks !== b.serviceTasks) return a.serviceTasks < b.serviceTasks;
  if (a.node.activeTasks !== b.node.activeTasks) return a.node.activeTasks < b.node.activeTasks;
  return a.ordinal < b.ordinal;
}

class NodePool implements SpreadPool {
  private readonly heap: MinHeap<Candidate>;
  serviceTasks = 0;

  constructor(candidates: Candidate[]) {
    for (const c of candidates) this.serviceTasks += c.serviceTasks;
    this.heap = new MinHeap(candidateLess, candidates);
  }

  get empty(): boolean {
    return this.heap.size === 0;
  }

  place(taskId: string, demand: ResourceDemand, stillFits: StillFits): NodeInfo | undefined {
    const top = this.heap.peek();
    if (!top) return undefined;
    top.node.addTask(taskId, demand);
    top.serviceTasks++;
    this.serviceTasks++;
    if (stillFits(top.node)) this.heap.fixTop(); else this.heap.pop();
    return top.node;
  }
}

interface Branch {
  readonly value: string;
  readonly pool: SpreadPool;
}

function branchLess(a: Branch, b: Branch): boolean {
  if (a.pool.serviceTasks !== b.pool.serviceTasks) return a.pool.serviceTasks < b.pool.serviceTasks;
  return a.value < b.value;
}

class BranchPool implements SpreadPool {
  private readonly heap: MinHeap<Branch>;
  serviceTasks = 0;

  constructor(branches: Branch[]) {
    for (const b of branches) this.serviceTasks += b.pool.serviceTasks;
    this.heap = new MinHeap(branchLess, branches.filter((b) => !b.pool.empty));
  }

  get empty(): boolean {
    return this.heap.size === 0;
  }

  place(taskId: string, demand: ResourceDemand, stillFits: StillFits): NodeInfo | undefined {
    for (;;) {
      const top = this.heap.peek();
      if (!top) return undefined;
      const node = top.pool.place(taskId, demand, stillFits);
      if (!node) {
        this.heap.pop();
        continue;
      }
      this.serviceTasks++;
      if (top.pool.empty) this.heap.pop(); else this.heap.fixTop();
      return node;
    }
  }
}

/**
 * Reads a spread descriptor's value from nodes: `node.labels.<name>` or `engine.labels.<name>`
 * (prefix case-insensitive); '' when the node lacks the label. The descriptor is parsed here once
 * per group, not once per node.
 */
function spreadReader(descriptor: string): (node: NodeInfo) => string {
  const lower = descriptor.toLowerCase();
  if (lower.startsWith('node.labels.')) {
    const name = descriptor.slice('node.labels.'.length);
    return (node) => node.labels[name] ?? '';
  }
  if (lower.startsWith('engine.labels.')) {
    const name = descriptor.slice('engine.labels.'.length);
    return (node) => node.engineLabels[name] ?? '';
  }
  return () => '';
}

/** The value a spread descriptor reads from a node (see spreadReader). */
export function spreadValue(descriptor: string, node: NodeInfo): string {
  return spreadReader(descriptor)(node);
}

/** The pool to place a group's tasks from: one heap, or a tree of them per preference level. */
export function buildSpreadPool(candidates: Candidate[], descriptors: readonly string[]): SpreadPool {
  if (descriptors.length === 0) return new NodePool(candidates);
  const [descriptor, ...rest] = descriptors;
  const valueOf = spreadReader(descriptor);
  const byValue = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const value = valueOf(c.node);
    const group = byValue.get(value);
    if (group) group.push(c); else byValue.set(value, [c]);
  }
  return new BranchPool([...byValue].map(([value, group]) => ({ value, pool: buildSpreadPool(group, rest) })));
}
