// /tasks: list (dockerd's filters) and inspect. Tasks are written by the orchestrators, the
// scheduler and the dispatcher; here they are only read, which is what `docker node ps`,
// `docker service ps` and the CLI's convergence poll (`_up-to-date`) need.
import type { FastifyInstance } from 'fastify';
import type { Frozen, Service, Task } from '../../store/index.js';
import { isTaskUpToDate } from '../../store/index.js';
import type { ClusterBackend } from '../backend.js';
import { matchesLabelFilters, parseFilters } from '../filters.js';
import type { Filters } from '../filters.js';
import { requireManagerForReads } from '../manager-access.js';
import { FILTERS_QUERY_SCHEMA } from '../query-params.js';
import { buildNodeInfos, placementVerdicts } from '../../scheduler/index.js';
import { hideRegistryAuth } from '../registry-auth.js';

/** A task as the API shows it: registry credentials in its spec are never shown. */
function renderTask(task: Frozen<Task>): unknown {
  const container = (task.Spec as { ContainerSpec?: { PullOptions?: unknown } } | undefined)?.ContainerSpec;
  if (container?.PullOptions === undefined) return task;
  const copy = JSON.parse(JSON.stringify(task)) as { Spec?: unknown };
  hideRegistryAuth(copy.Spec);
  return copy;
}

/** The filters dockerd's `GET /tasks` accepts. */
const TASK_FILTERS = ['id', 'name', 'service', 'node', 'label', 'desired-state', '_up-to-date'] as const;

function any(values: readonly string[] | undefined, test: (v: string) => boolean): boolean {
  return values === undefined || values.some(test);
}

/** The name Docker shows: `<service>.<slot>`, or `<service>.<node ID>` for global and slot-0 job tasks. */
function displayName(task: Frozen<Task>, serviceOf: (id: string) => Frozen<Service> | undefined): string {
  if (task.Name) return task.Name;
  const service = task.ServiceAnnotations?.Name ?? serviceOf(task.ServiceID)?.Spec.Name ?? task.ServiceID;
  return `${service}.${task.Slot ? task.Slot : task.NodeID ?? ''}`;
}

function taskMatcher(
  filters: Filters,
  serviceIds: (ref: string) => string[],
  nodeIds: (ref: string) => string[],
  serviceOf: (id: string) => Frozen<Service> | undefined,
): (task: Frozen<Task>) => boolean {
  const labels = filters.get('label') ?? [];
  // Internal to the CLI's convergence poll; any value asks for up-to-date tasks only (swarmkit
  // reads only whether the key is there).
  const upToDate = filters.has('_up-to-date');
  // Resolved once per request, not once per task.
  const wantedServices = filters.get('service')?.flatMap(serviceIds);
  const wantedNodes = filters.get('node')?.flatMap(nodeIds);
  return (task) =>
    any(filters.get('id'), (v) => task.ID.startsWith(v))
    && any(filters.get('name'), (v) => displayName(task, serviceOf).startsWith(v))
    && (wantedServices === undefined || wantedServices.includes(task.ServiceID))
    && (wantedNodes === undefined || wantedNodes.includes(task.NodeID ?? ''))
    && any(filters.get('desired-state'), (v) => task.DesiredState === v.toLowerCase())
    // dockerd matches a task's label filter against its service's labels (stack ps relies on
    // com.docker.stack.namespace), and the task's own.
    && (labels.length === 0 || matchesLabelFilters({ ...(serviceOf(task.ServiceID)?.Spec.Labels ?? {}), ...(task.Labels ?? {}) }, labels))
    && (!upToDate || isUpToDate(task, serviceOf(task.ServiceID)));
}

function isUpToDate(task: Frozen<Task>, service: Frozen<Service> | undefined): boolean {
  return service !== undefined && isTaskUpToDate(task, service.Spec);
}

export function registerTaskRoutes(app: FastifyInstance, backend: ClusterBackend): void {
  app.get<{ Querystring: { filters?: string } }>('/tasks', {
    schema: { querystring: { type: 'object', properties: { filters: FILTERS_QUERY_SCHEMA } } },
  }, async (request) => {
    const { store } = await requireManagerForReads(backend);
    const filters = parseFilters(request.query.filters, TASK_FILTERS);
    // Services and nodes are named by ID, name or prefix, like everywhere else; an unknown one matches nothing.
    const resolve = (kind: 'service' | 'node') => (ref: string): string[] => {
      try {
        return [store.lookup(kind, ref).ID];
      } catch {
        return [];
      }
    };
    const serviceOf = (id: string) => store.get('service', id);
    const matches = taskMatcher(filters, resolve('service'), resolve('node'), serviceOf);
    // The poll names one service: read only its tasks, through the index.
    const services = filters.get('service');
    const candidates = services !== undefined && services.length === 1
      ? resolve('service')(services[0]).flatMap((serviceId) => store.find('task', { serviceId }))
      : store.find('task');
    return candidates.filter(matches).map(renderTask);
  });

  // Berth's own: why each node can or cannot take this task (Swarm users ask; Swarm does not tell).
  app.get<{ Params: { id: string } }>('/berth/tasks/:id/placement', async (request) => {
    const { store } = await requireManagerForReads(backend);
    const task = store.lookup('task', request.params.id);
    // Judge the task as if it were not placed yet: its own reservation must not count against it.
    const others = store.find('task').filter((t) => t.ID !== task.ID);
    return placementVerdicts(task, buildNodeInfos(store.find('node'), others, Date.now()));
  });

  app.get<{ Params: { id: string } }>('/tasks/:id', async (request) => {
    const { store } = await requireManagerForReads(backend);
    return renderTask(store.lookup('task', request.params.id));
  });
}
