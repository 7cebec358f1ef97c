// The global orchestrator: one task desired running per eligible node for every global service.
// A node is eligible while it is ready, active and meets the service's placement constraints.
//   - an eligible node without a task of the service gets one, created with NodeID set and
//     Status 'assigned' (the orchestrator is the scheduler of global tasks);
//   - a node that is down, drained, removed, or no longer meets the constraints (a label
//     changed) has its task shut down; a paused node keeps its task but gets no new one;
//   - when the node becomes eligible again (any change to the node), it gets a new task.
// A task that failed on an eligible node is restarted in place by the restart supervisor. As for
// replicated slots, a node whose tasks all ended (the restart policy declined) gets a new task
// only when the service's spec or the node changes, or when this manager starts leading.
import type { Frozen, Node, Service, StoreEvent, Task, Transaction } from '../store/index.js';
import { constraintsOf, meetsConstraints } from './constraints.js';
import type { OrchestratorOptions, PassOutcome, TaskWriter } from './reconciler.js';
import { PendingRequests, StoreReconciler } from './reconciler.js';
import { groupBy, isDesiredLive, isNodeReady, modeOf, newTask, taskToKeep } from './tasks.js';
import { isStartFirstSwitch } from './update-policy.js';

/** May tasks of `service` keep running on `node`? (Ready, not drained, constraints met.) */
export function nodeKeepsGlobalTask(node: Frozen<Node> | undefined, service: Frozen<Service>): boolean {
  if (!node || !isNodeReady(node) || node.Spec.Availability === 'drain') return false;
  return meetsConstraints(node, constraintsOf(service.Spec.TaskTemplate as Frozen<Record<string, unknown>> | undefined));
}

/** May `node` be given a new task of `service`? (As above, and active rather than paused.) */
export function nodeTakesGlobalTask(node: Frozen<Node> | undefined, service: Frozen<Service>): boolean {
  return nodeKeepsGlobalTask(node, service) && node!.Spec.Availability === 'active';
}

export class GlobalOrchestrator extends StoreReconciler {
  /** Service IDs and node IDs (prefixed) whose dead tasks may be replaced. */
  private readonly refill = new PendingRequests();

  constructor(options: OrchestratorOptions) {
    super('global-orchestrator', options, ['service', 'node', 'task']);
  }

  protected override onResync(): void {
    this.refill.addAll();
  }

  protected override onLeadershipLost(): void {
    this.refill.clear();
  }

  protected override onEvent(event: StoreEvent): void {
    if (event.kind === 'service') {
      if (event.action === 'create' || (event.action === 'update' && JSON.stringify(event.oldObject?.Spec) !== JSON.stringify(event.object.Spec))) {
        this.refill.add(`service:${event.object.ID}`);
      }
    } else if (event.kind === 'node' && event.action !== 'delete') {
      this.refill.add(`node:${event.object.ID}`);
    }
  }

  protected reconcile(tx: Transaction, writer: TaskWriter): PassOutcome {
    const refill = this.refill.take();
    const now = this.clock.now();
    const nodes = tx.find('node');
    const nodeIds = new Set(nodes.map((n) => n.ID));
    for (const service of tx.find('service')) {
      if (modeOf(service).kind !== 'global') continue;
      const byNode = groupBy(tx.find('task', { serviceId: service.ID }), (t) => t.NodeID || undefined);
      let created = 0;
      let removed = 0;
      for (const node of nodes) {
        if (writer.full) return { more: true };
        const tasks: readonly Frozen<Task>[] = byNode.get(node.ID) ?? [];
        const live = tasks.filter(isDesiredLive);
        if (!nodeKeepsGlobalTask(node, service)) {
          for (const task of live) { writer.setDesiredState(task, 'shutdown'); removed++; }
        } else if (live.length > 1 && !isStartFirstSwitch(live, service)) {
          // (A start-first update's old task and its replacement are the updater's to settle.)
          const keep = taskToKeep(live);
          this.logger.error({ service: service.ID, node: node.ID, tasks: live.map((t) => t.ID) }, 'node had several live tasks of a global service; keeping one');
          for (const task of live) if (task !== keep) writer.setDesiredState(task, 'shutdown');
        } else if (live.length === 0 && nodeTakesGlobalTask(node, service)
          && (tasks.length === 0 || refill.has(`service:${service.ID}`) || refill.has(`node:${node.ID}`))) {
          writer.create(newTask(service, { nodeId: node.ID }, now));
          created++;
        }
      }
      for (const [nodeId, tasks] of byNode) {
        if (nodeIds.has(nodeId)) continue;
        if (writer.full) return { more: true };
        for (const task of tasks) if (isDesiredLive(task)) { writer.setDesiredState(task, 'shutdown'); removed++; }
      }
      if (created > 0 || removed > 0) {
        this.logger.info({ service: service.ID, name: service.Spec.Name, created, removed }, 'reconciled global tasks');
      }
    }
    return { afterCommit: refill.consume };
  }
}
