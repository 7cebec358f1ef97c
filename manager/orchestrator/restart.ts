// The restart supervisor: replaces a task that can no longer run where it is, following the
// task's RestartPolicy. A task needs replacing when it is still desired running but
//   - its worker reported it ended (complete, failed, rejected, shutdown, orphaned), or
//   - (replicated tasks) its node is down, drained, gone, or no longer meets its constraints.
// Global tasks are only restarted in place, on a node that may still run them; when the node
// may not, the global orchestrator shuts the task down instead.
//
// Replacing means, in one transaction: the old task becomes desired 'shutdown' and, if the policy
// allows a restart, a new task takes the same slot (or, global, the same node). So a slot never
// has two tasks desired running, at any committed state.
//
// Policy: Condition 'none' never restarts; 'on-failure' restarts unless the task completed
// successfully (failed, rejected, orphaned, or its node was lost: as SwarmKit); 'any' always.
// MaxAttempts (0: unlimited) counts this slot's restarts within Window (0: ever).
//
// Delay, a simpler model than SwarmKit's: SwarmKit creates the replacement at once with desired
// state READY and flips it to RUNNING after the delay. Berth's store has no READY state, so the
// old task keeps its slot (still desired running, observed ended) until the delay has passed,
// and then the swap above happens in one transaction. The replacement therefore reaches the
// scheduler only after the delay (SwarmKit could place it, and pull its image, meanwhile).
// Only a task that ended waits out the delay: one whose node was drained, went down, disappeared
// or stopped meeting its constraints did not crash-loop, and every second without it is lost
// capacity (SwarmKit waits on a down node too; Berth replaces such tasks at once).
//
// The delay clock and the restart history are in memory, as in SwarmKit: a new leader starts
// every pending delay afresh and counts MaxAttempts from zero. The history of a slot also starts
// afresh when the service's TaskTemplate changes (a new spec deserves new attempts).
import type { Frozen, Node, Service, Task, Transaction } from '../store/index.js';
import { nodeKeepsGlobalTask } from './global.js';
import { constraintsOf, meetsConstraints } from './constraints.js';
import type { OrchestratorOptions, PassOutcome, TaskWriter } from './reconciler.js';
import { StoreReconciler } from './reconciler.js';
import type { RestartPolicy } from './tasks.js';
import { hasEnded, isDesiredLive, modeOf, newTask, restartPolicyOf } from './tasks.js';
import { hasStartFirstReplacement } from './update-policy.js';

/** Why a live task must leave its slot. */
export type ReplaceReason = 'ended' | 'node-down' | 'node-drained' | 'node-gone' | 'constraints';

/**
 * Whether a task that must leave its slot for `reason` gets a replacement, given the times (ms)
 * of this slot's earlier restarts.
 */
export function shouldRestart(policy: RestartPolicy, reason: ReplaceReason, observed: string, restarts: readonly number[], nowMs: number): boolean {
  if (policy.condition === 'none') return false;
  if (policy.condition === 'on-failure' && reason === 'ended' && observed === 'complete') return false;
  if (policy.maxAttempts === 0) return true;
  const counted = policy.windowMs > 0 ? restarts.filter((at) => at > nowMs - policy.windowMs).length : restarts.length;
  return counted < policy.maxAttempts;
}

/** Why a replicated task must leave its slot, if it must. */
export function replicatedReplaceReason(task: Frozen<Task>, node: Frozen<Node> | undefined): ReplaceReason | undefined {
  if (hasEnded(task)) return 'ended';
  if (!task.NodeID) return undefined;
  if (!node) return 'node-gone';
  if (node.Status?.State === 'down') return 'node-down';
  if (node.Spec.Availability === 'drain') return 'node-drained';
  if (!meetsConstraints(node, constraintsOf(task.Spec))) return 'constraints';
  return undefined;
}

interface SlotHistory {
  /** The TaskTemplate these restarts were of, as JSON. */
  template: string;
  restarts: number[];
}

export class RestartSupervisor extends StoreReconciler {
  /** When each task waiting for its restart delay was first seen needing a replacement. */
  private readonly waitingSince = new Map<string, number>();
  /**
   * Restart times per slot ("service#slot", 1..Replicas) or global instance ("service@node").
   * Replicated jobs' slots (from 0) are never keyed here: the job orchestrator restarts those.
   */
  private readonly history = new Map<string, SlotHistory>();

  constructor(options: OrchestratorOptions) {
    super('restart-supervisor', options, ['service', 'node', 'task']);
  }

  protected override onLeadershipLost(): void {
    this.waitingSince.clear();
    this.history.clear();
  }

  protected reconcile(tx: Transaction, writer: TaskWriter): PassOutcome {
    const now = this.clock.now();
    const nodes = new Map(tx.find('node').map((n) => [n.ID, n] as const));
    const services = new Map<string, Frozen<Service>>();
    for (const service of tx.find('service')) services.set(service.ID, service);
    const restarted: { key: string; template: string }[] = [];
    const stillWaiting = new Set<string>();
    let wakeAt = Number.POSITIVE_INFINITY;
    let more = false;

    for (const task of tx.find('task', { desiredState: 'running' })) {
      if (!isDesiredLive(task)) continue;
      const service = services.get(task.ServiceID);
      if (!service) continue; // the replicated orchestrator removes tasks of deleted services
      const mode = modeOf(service);
      const node = task.NodeID ? nodes.get(task.NodeID) : undefined;
      let reason: ReplaceReason | undefined;
      let key: string;
      if (mode.kind === 'replicated') {
        if (!task.Slot) continue;
        reason = replicatedReplaceReason(task, node);
        key = `${service.ID}#${task.Slot}`;
      } else if (mode.kind === 'global') {
        if (!task.NodeID || !hasEnded(task) || !nodeKeepsGlobalTask(node, service)) continue;
        reason = 'ended';
        key = `${service.ID}@${task.NodeID}`;
      } else {
        continue; // jobs run to completion: not restarted here
      }
      if (!reason) continue;
      if (writer.full) { more = true; break; }

      const policy = restartPolicyOf(task.Spec);
      const template = JSON.stringify(service.Spec.TaskTemplate ?? {});
      const past = this.history.get(key);
      const restarts = past && past.template === template ? past.restarts : [];
      // A slot scaled away is the replicated orchestrator's to shut; it gets no replacement.
      const beyondScale = mode.kind === 'replicated' && task.Slot! > mode.replicas;
      // The old task of a start-first switch already has its replacement (the updater's).
      const replaced = hasStartFirstReplacement(tx, service, task);
      const restart = !beyondScale && !replaced && shouldRestart(policy, reason, task.Status?.State, restarts, now);

      if (restart && reason === 'ended' && policy.delayMs > 0) {
        const since = this.waitingSince.get(task.ID) ?? now;
        this.waitingSince.set(task.ID, since);
        stillWaiting.add(task.ID);
        if (since + policy.delayMs > now) {
          wakeAt = Math.min(wakeAt, since + policy.delayMs);
          continue;
        }
      }

      writer.setDesiredState(task, 'shutdown');
      if (restart) {
        const replacement = writer.create(newTask(service, mode.kind === 'replicated' ? { slot: task.Slot! } : { nodeId: task.NodeID! }, now));
        restarted.push({ key, template });
        this.logger.info({ service: service.ID, task: task.ID, replacement: replacement.ID, reason, observed: task.Status?.State }, 'restarting task');
      } else {
        this.logger.info({ service: service.ID, task: task.ID, reason, observed: task.Status?.State, condition: policy.condition }, 'task not restarted (restart policy)');
      }
    }

    for (const key of this.history.keys()) if (!services.has(key.slice(0, key.search(/[#@]/)))) this.history.delete(key);
    if (!more) for (const id of this.waitingSince.keys()) if (!stillWaiting.has(id)) this.waitingSince.delete(id);
    if (wakeAt !== Number.POSITIVE_INFINITY) this.requestPass(Math.max(0, wakeAt - now));
    return {
      more,
      afterCommit: () => {
        for (const { key, template } of restarted) {
          const past = this.history.get(key);
          if (past && past.template === template) past.restarts.push(now);
          else this.history.set(key, { template, restarts: [now] });
        }
      },
    };
  }
}
