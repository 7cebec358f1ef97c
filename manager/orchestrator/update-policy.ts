// What the updater and the other orchestrators agree on about rolling updates: when a task is
// out of date, how a service's UpdateConfig/RollbackConfig read, and which pair of live tasks in
// one slot is a start-first switch in progress (tolerated, not a duplicate to clean up).
import type { Frozen, Service, Task, Transaction } from '../store/index.js';
import { NS_PER_MS, isDesiredLive, nonNegative } from './tasks.js';

/** Deep equality of JSON values, ignoring key order and undefined members (as the API's `jsonEqual`). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra).filter((k) => ra[k] !== undefined);
  const kb = Object.keys(rb).filter((k) => rb[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(rb, k) && jsonEqual(ra[k], rb[k]));
}

/**
 * The task runs the service's current TaskTemplate (ForceUpdate included) and, if it carries an
 * Endpoint, the current EndpointSpec (a changed host-mode port needs a new container). The same
 * rule as the API's `_up-to-date` filter (`isTaskUpToDate` in manager/api/service-spec.ts).
 */
export function isTaskUpToDate(task: Frozen<Task>, service: Frozen<Service>): boolean {
  if (!jsonEqual(task.Spec ?? {}, service.Spec.TaskTemplate ?? {})) return false;
  const endpointSpec = (task.Endpoint as { Spec?: unknown } | undefined)?.Spec;
  return endpointSpec === undefined || jsonEqual(endpointSpec, service.Spec.EndpointSpec ?? {});
}

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
  const fresh = live.filter((t) => isTaskUpToDate(t, service)).length;
  return fresh === 1;
}

/**
 * `task` (out of date) shares its slot (or global node) with another live task: a start-first
 * replacement already stands in for it, so if it must leave it needs no replacement of its own.
 */
export function hasStartFirstReplacement(tx: Transaction, service: Frozen<Service>, task: Frozen<Task>): boolean {
  if (isTaskUpToDate(task, service)) return false;
  const others = task.Slot
    ? tx.find('task', { slot: { serviceId: service.ID, slot: task.Slot } })
    : tx.find('task', { serviceId: service.ID, where: (t) => t.NodeID === task.NodeID });
  return others.some((t) => t.ID !== task.ID && isDesiredLive(t) && isTaskUpToDate(t, service));
}
