// /tasks: list (dockerd's filters) and inspect. Tasks are written by the orchestrators, the
// scheduler and the dispatcher (the services issue); here they are only read, which is what
// `docker node ps` and `docker service ps` need.
import type { FastifyInstance } from 'fastify';
import type { Frozen, Task } from '../../store/index.js';
import type { ClusterBackend } from '../backend.js';
import { matchesLabelFilters, parseFilters } from '../filters.js';
import type { Filters } from '../filters.js';
import { requireManagerForReads } from '../manager-access.js';
import { FILTERS_QUERY_SCHEMA } from '../query-params.js';

/** The filters dockerd's `GET /tasks` accepts. */
const TASK_FILTERS = ['id', 'name', 'service', 'node', 'label', 'desired-state', '_up-to-date'] as const;

function any(values: readonly string[] | undefined, test: (v: string) => boolean): boolean {
  return values === undefined || values.some(test);
}

function taskMatcher(filters: Filters, serviceIds: (ref: string) => string[], nodeIds: (ref: string) => string[]): (task: Frozen<Task>) => boolean {
  return (task) =>
    any(filters.get('id'), (v) => task.ID.startsWith(v))
    && any(filters.get('name'), (v) => (task.Name ?? '').startsWith(v))
    && any(filters.get('service'), (v) => serviceIds(v).includes(task.ServiceID))
    && any(filters.get('node'), (v) => nodeIds(v).includes(task.NodeID ?? ''))
    && any(filters.get('desired-state'), (v) => task.DesiredState === v.toLowerCase())
    && matchesLabelFilters(task.Labels ?? {}, filters.get('label') ?? []);
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
    return store.find('task').filter(taskMatcher(filters, resolve('service'), resolve('node')));
  });

  app.get<{ Params: { id: string } }>('/tasks/:id', async (request) => {
    const { store } = await requireManagerForReads(backend);
    return store.lookup('task', request.params.id);
  });
}
