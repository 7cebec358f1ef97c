// Whether a task runs its service's current spec: the one rule behind the updater's choice of
// tasks to replace and the API's `_up-to-date` task filter (the docker CLI's convergence poll),
// kept beside the objects it reads so both store clients share it.
import type { Frozen } from './frozen.js';
import type { Service, Task } from './objects.js';

/** Deep equality of JSON values, ignoring key order and members that hold undefined. */
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
 * Endpoint, the current EndpointSpec (a changed host-mode port needs a new container).
 */
export function isTaskUpToDate(
  task: Pick<Frozen<Task>, 'Spec' | 'Endpoint'>,
  serviceSpec: Pick<Frozen<Service>['Spec'], 'TaskTemplate' | 'EndpointSpec'>,
): boolean {
  if (!jsonEqual(task.Spec ?? {}, serviceSpec.TaskTemplate ?? {})) return false;
  const endpointSpec = (task.Endpoint as { Spec?: unknown } | undefined)?.Spec;
  return endpointSpec === undefined || jsonEqual(endpointSpec, serviceSpec.EndpointSpec ?? {});
}
