// The replicated orchestrator: for every replicated service, slots 1..Replicas each hold exactly
// one task desired running. It owns the number of slots, nothing else:
//   - a slot in 1..Replicas that never had a task gets a new one ('pending', for the scheduler);
//   - scaling down shuts down the tasks of the slots above Replicas (highest slots go, so the
//     slots stay 1..N; which node they ran on is not considered);
//   - a deleted service's tasks (of any mode: a deleted service has none) become desired 'remove',
//     for the task reaper to delete once they stopped;
//   - a slot found with two live tasks (a bug elsewhere) keeps one.
// Replacing a task that failed or lost its node is the restart supervisor's job (restart.ts).
// A *dead* slot (all its tasks shut down, e.g. the restart policy declined a restart, or the slot
// was scaled away) is refilled only when the service's spec changes or when this manager starts
// leading, as in SwarmKit: otherwise RestartPolicy 'none' would be overridden here at once.
import type { Frozen, Service, StoreEvent, Task, Transaction } from '../store/index.js';
import type { OrchestratorOptions, PassOutcome, TaskWriter } from './reconciler.js';
import { PendingRequests, StoreReconciler } from './reconciler.js';
import { groupBy, isDesiredLive, modeOf, newTask, taskToKeep } from './tasks.js';
import { isStartFirstSwitch } from './update-policy.js';

export class ReplicatedOrchestrator extends StoreReconciler {
  /** Services whose dead slots may be refilled (their spec changed). */
  private readonly refill = new PendingRequests();

  constructor(options: OrchestratorOptions) {
    super('replicated-orchestrator', options, ['service', 'task']);
  }

  protected override onResync(): void {
    this.refill.addAll();
  }

  protected override onLeadershipLost(): void {
    this.refill.clear();
  }

  protected override onEvent(event: StoreEvent): void {
    if (event.kind !== 'service') return;
    if (event.action === 'create' || (event.action === 'update' && JSON.stringify(event.oldObject?.Spec) !== JSON.stringify(event.object.Spec))) {
      this.refill.add(event.object.ID);
    }
  }

  protected reconcile(tx: Transaction, writer: TaskWriter): PassOutcome {
    const refill = this.refill.take();
    const now = this.clock.now();
    const services = tx.find('service');
    const serviceIds = new Set(services.map((s) => s.ID));

    for (const task of tx.find('task', { where: (t) => !serviceIds.has(t.ServiceID) && t.DesiredState !== 'remove' })) {
      if (writer.full) return { more: true };
      writer.setDesiredState(task, 'remove');
    }

    for (const service of services) {
      const mode = modeOf(service);
      if (mode.kind !== 'replicated') continue;
      if (this.reconcileService(tx, writer, service, mode.replicas, refill.has(service.ID), now)) return { more: true };
    }
    return { afterCommit: refill.consume };
  }

  private reconcileService(tx: Transaction, writer: TaskWriter, service: Frozen<Service>, replicas: number, refillDead: boolean, now: number): boolean {
    const slots = groupBy(tx.find('task', { serviceId: service.ID }), (t) => (t.Slot && t.Slot > 0 ? String(t.Slot) : undefined));
    let created = 0;
    let removed = 0;
    for (const [slotKey, tasks] of slots) {
      if (writer.full) return true;
      const live = tasks.filter(isDesiredLive);
      if (Number(slotKey) > replicas) {
        for (const task of live) { writer.setDesiredState(task, 'shutdown'); removed++; }
      } else if (live.length > 1 && !isStartFirstSwitch(live, service)) {
        // (A start-first update's old task and its replacement are the updater's to settle.)
        const keep = taskToKeep(live);
        this.logger.error({ service: service.ID, slot: Number(slotKey), tasks: live.map((t) => t.ID) }, 'slot had several live tasks; keeping one');
        for (const task of live) if (task !== keep) writer.setDesiredState(task, 'shutdown');
      }
    }
    for (let slot = 1; slot <= replicas; slot++) {
      const tasks: readonly Frozen<Task>[] = slots.get(String(slot)) ?? [];
      if (tasks.some(isDesiredLive)) continue;
      if (tasks.length > 0 && !refillDead) continue;
      if (writer.full) return true;
      writer.create(newTask(service, { slot }, now));
      created++;
    }
    if (created > 0 || removed > 0) {
      this.logger.info({ service: service.ID, name: service.Spec.Name, replicas, created, removed }, 'reconciled replicas');
    }
    return false;
  }
}
