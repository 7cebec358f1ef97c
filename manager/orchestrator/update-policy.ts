// What the updater and the other orchestrators agree on about rolling updates: how a service's
// UpdateConfig/RollbackConfig read, and which pair of live tasks in one slot is a start-first
// switch in progress (tolerated, not a duplicate to clean up). Whether a task is out of date is
// the store's rule (isTaskUpToDate), shared with the API's `_up-to-date` filter.
import type { Frozen, Service, Task, Transaction } from '../store/index.js';
import { isTaskUpToDate } from '../store/index.js';
import { NS_PER_MS, isDesiredLive, nonNegative } from './tasks.js';

export type FailureAction = 'pause' | 'continue' | 'rollback';
export type UpdateOrder = 'stop-first' | 'start-first';

export interface UpdatePolicy {
  /** Slots being replaced at once (the width of the sliding window); 0: all at once. */
  parallelism: number;
  /** Rest after each slot's replacement runs, before that lane takes the next slot. */
  delayMs: number;
  failureAction: FailureAction;
  /** How long after a replacement starts running its failure still counts; also the final wait. */
  monitorMs: number;
  /** Failures / slots updated so far above which FailureAction applies. */
  maxFailureRatio: number;
  order: UpdateOrder;
}

/** Docker's default Monitor: 5 s. */
export const DEFAULT_UPDATE_MONITOR_MS = 5000;

/** An UpdateConfig or RollbackConfig (Engine API shape, durations in ns) with Docker's defaults. */
export function updatePolicyOf(config: Frozen<Record<string, unknown>> | undefined): UpdatePolicy {
  const c = (config ?? {}) as Record<string, unknown>;
  return {
    parallelism: Math.floor(nonNegative(c.Parallelism, 1)),
    delayMs: nonNegative(c.Delay, 0) / NS_PER_MS,
    failureAction: c.FailureAction === 'continue' || c.FailureAction === 'rollback' ? c.FailureAction : 'pause',
    monitorMs: c.Monitor === undefined || c.Monitor === null ? DEFAULT_UPDATE_MONITOR_MS : nonNegative(c.Monitor, 0) / NS_PER_MS,
    maxFailureRatio: Math.min(1, nonNegative(c.MaxFailureRatio, 0)),
    order: c.Order === 'start-first' ? 'start-first' : 'stop-first',
  };
}

/** The state a service's UpdateStatus records, if any. */
export function updateStateOf(service: Frozen<Service>): string | undefined {
  const state = (service.UpdateStatus as { State?: unknown } | undefined)?.State;
  return typeof state === 'string' ? state : undefined;
}

/** The policy the current roll-out follows: RollbackConfig while rolling back, UpdateConfig otherwise. */
export function activeUpdatePolicy(service: Frozen<Service>): UpdatePolicy {
  const rollingBack = updateStateOf(service)?.startsWith('rollback_') ?? false;
  return updatePolicyOf((rollingBack ? service.Spec.RollbackConfig : service.Spec.UpdateConfig) as Frozen<Record<string, unknown>> | undefined);
}

/**
 * A start-first switch in progress: exactly two live tasks in one slot (or global node), one up
 * to date (the replacement) and one not (the task it replaces). The updater shuts the old one
 * down once the new one runs; the replicated and global orchestrators leave such a pair alone.
 */
export function isStartFirstSwitch(live: readonly Frozen<Task>[], service: Frozen<Service>): boolean {
  if (live.length !== 2) return false;
  const fresh = live.filter((t) => isTaskUpToDate(t, service.Spec)).length;
  return fresh === 1;
}

/**
 * `task` (out of date) shares its slot (or global node) with another live task: a start-first
 * replacement already stands in for it, so if it must leave it needs no replacement of its own.
 */
export function hasStartFirstReplacement(tx: Transaction, service: Frozen<Service>, task: Frozen<Task>): boolean {
  if (isTaskUpToDate(task, service.Spec)) return false;
  const others = task.Slot
    ? tx.find('task', { slot: { serviceId: service.ID, slot: task.Slot } })
    : tx.find('task', { serviceId: service.ID, where: (t) => t.NodeID === task.NodeID });
  return others.some((t) => t.ID !== task.ID && isDesiredLive(t) && isTaskUpToDate(t, service.Spec));
}
