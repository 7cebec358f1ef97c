// What the orchestrators agree on about tasks and services: which tasks still occupy their slot,
// which have stopped, how a service's mode and a task's restart policy read, how a task is made.
import type { Frozen, NewObject, Node, Service, Task, TaskState } from '../store/index.js';
import { TASK_STATES, thaw } from '../store/index.js';

const RUNNING_ORDER = TASK_STATES.indexOf('running');

/**
 * Desired states up to 'running' mean "this task holds its slot". (SwarmKit's 'ready', desired
 * for a delayed restart, is accepted too, although Berth's orchestrators never write it.)
 */
export function isDesiredLive(task: Frozen<Task>): boolean {
  const order = TASK_STATES.indexOf(task.DesiredState);
  return (order >= 0 && order <= RUNNING_ORDER) || (task.DesiredState as string) === 'ready';
}

const ENDED: ReadonlySet<string> = new Set<TaskState>(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);
const NOT_YET_ON_A_NODE: ReadonlySet<string> = new Set<TaskState>(['new', 'pending']);

/** The worker reported the task finished: it runs nowhere and never will again. */
export function hasEnded(task: Frozen<Task>): boolean {
  return ENDED.has(task.Status?.State);
}

/**
 * Nothing runs for this task anywhere: it ended, never reached a node, or its node is gone from
 * the cluster. Only such tasks may be deleted (a worker still running one would lose track).
 */
export function hasStopped(task: Frozen<Task>, nodeExists: (id: string) => boolean): boolean {
  if (hasEnded(task) || NOT_YET_ON_A_NODE.has(task.Status?.State)) return true;
  return !task.NodeID || !nodeExists(task.NodeID);
}

export type ServiceMode =
  | { kind: 'replicated'; replicas: number }
  | { kind: 'global' }
  | { kind: 'job' };

/** A service without a Mode is replicated with one replica, as in the Engine API. */
export function modeOf(service: Frozen<Service>): ServiceMode {
  const mode = service.Spec.Mode as Record<string, unknown> | undefined;
  if (!mode || mode.Replicated !== undefined) {
    const replicas = (mode?.Replicated as { Replicas?: unknown } | undefined)?.Replicas;
    return { kind: 'replicated', replicas: typeof replicas === 'number' && replicas >= 0 ? Math.floor(replicas) : 1 };
  }
  if (mode.Global !== undefined) return { kind: 'global' };
  return { kind: 'job' };
}

export type RestartCondition = 'none' | 'on-failure' | 'any';

export interface RestartPolicy {
  condition: RestartCondition;
  delayMs: number;
  /** 0: unlimited. */
  maxAttempts: number;
  /** 0: MaxAttempts counts every restart ever. */
  windowMs: number;
}

/** Docker's default restart delay when a RestartPolicy gives none: long enough not to hammer a broken image. */
export const DEFAULT_RESTART_DELAY_MS = 5000;

/** Engine API durations are nanoseconds. */
export const NS_PER_MS = 1_000_000;

/** A finite, non-negative number from a loosely typed spec field, else the fallback. */
export function nonNegative(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

/** The RestartPolicy of a task spec (a copy of the TaskTemplate), with Docker's defaults. */
export function restartPolicyOf(spec: Frozen<Record<string, unknown>> | undefined): RestartPolicy {
  const policy = (spec?.RestartPolicy ?? {}) as { Condition?: unknown; Delay?: unknown; MaxAttempts?: unknown; Window?: unknown };
  const condition = policy.Condition === 'none' || policy.Condition === 'on-failure' ? policy.Condition : 'any';
  return {
    condition,
    delayMs: policy.Delay === undefined ? DEFAULT_RESTART_DELAY_MS : nonNegative(policy.Delay, 0) / NS_PER_MS,
    maxAttempts: Math.floor(nonNegative(policy.MaxAttempts, 0)),
    windowMs: nonNegative(policy.Window, 0) / NS_PER_MS,
  };
}

/**
 * Where a new task goes: a slot (left for the scheduler) or a global task's node. Replicated
 * services number their slots 1..Replicas; replicated jobs 0..TotalCompletions-1, as SwarmKit
 * does (the docker CLI's job progress counts slots from 0).
 */
export type TaskPlace = { slot: number } | { nodeId: string };

/**
 * A new task of `service`, desired running. Replicated tasks start 'pending': there is no
 * allocator yet to take them through 'new', and 'pending' is what the scheduler picks up. Global
 * tasks are born 'assigned' to their node, which the orchestrator chose.
 *
 * Named `<service>.<slot>`, or `<service>.<node>` for a global task. Slot 0 (a replicated job's
 * first) is no number to Docker: SwarmKit, the docker CLI and Berth's workers name such a task
 * after its node, like a global one (`<service>.<node>`, container `<service>.<node>.<task>`).
 * Its node is the scheduler's choice, not known here, so the task gets no Name and each reader
 * derives it from Slot and NodeID.
 */
export function newTask(service: Frozen<Service>, place: TaskPlace, nowMs: number): NewObject<'task'> {
  const timestamp = new Date(nowMs).toISOString();
  const spec = thaw((service.Spec.TaskTemplate ?? {}) as Frozen<Record<string, unknown>>) as Record<string, unknown>;
  // Copied as SwarmKit copies them: the worker names containers after the service and binds its
  // host-mode ports, without looking the service up.
  const annotations = {
    ServiceAnnotations: thaw({ Name: service.Spec.Name, ...(service.Spec.Labels ? { Labels: service.Spec.Labels } : {}) }),
    ...(service.Endpoint ? { Endpoint: thaw(service.Endpoint as Frozen<Record<string, unknown>>) as Record<string, unknown> } : {}),
  };
  if ('slot' in place) {
    return {
      ...(place.slot !== 0 ? { Name: `${service.Spec.Name}.${place.slot}` } : {}),
      ServiceID: service.ID,
      ...annotations,
      Slot: place.slot,
      Spec: spec,
      DesiredState: 'running',
      Status: { State: 'pending', Timestamp: timestamp, Message: 'pending task scheduling' },
    };
  }
  return {
    Name: `${service.Spec.Name}.${place.nodeId}`,
    ServiceID: service.ID,
    ...annotations,
    NodeID: place.nodeId,
    Spec: spec,
    DesiredState: 'running',
    Status: { State: 'assigned', Timestamp: timestamp, Message: 'assigned by the global orchestrator' },
  };
}

/** Of several tasks holding one slot (which should never happen), the one to keep: furthest along, then newest. */
export function taskToKeep(tasks: readonly Frozen<Task>[]): Frozen<Task> {
  let best = tasks[0];
  for (const task of tasks) {
    const a = TASK_STATES.indexOf(task.Status?.State);
    const b = TASK_STATES.indexOf(best.Status?.State);
    if (a > b || (a === b && task.Version.Index >= best.Version.Index)) best = task;
  }
  return best;
}

export function isNodeReady(node: Frozen<Node>): boolean {
  return node.Status?.State === 'ready';
}

export function groupBy<T>(items: Iterable<T>, keyOf: (item: T) => string | undefined): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    if (key === undefined) continue;
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
