// /services: create, list (with ServiceStatus), inspect (with or without defaults), update
// (optimistic version, rollback to PreviousSpec) and remove; and /distribution, which the CLI
// asks before every create or image change. The API validates, normalises and stores
// (service-spec.ts says what is stored and what is only rendered); the orchestrators, the
// scheduler and the dispatcher act on the stored service, and a removed service's tasks are
// shut down by the orchestrator.
import type { FastifyInstance } from 'fastify';
import { apiError } from '../../../shared/errors.js';
import type {
  EngineService, EngineServiceSpec, EngineServiceStatus, ServiceCreateResponse, ServiceUpdateResponse,
} from '../../../shared/engine-types.js';
import { thaw } from '../../store/index.js';
import type { Frozen, Node, Service, ServiceSpec, StoreReader, Task, Transaction } from '../../store/index.js';
import type { ClusterBackend } from '../backend.js';
import { matchesLabelFilters, parseFilters } from '../filters.js';
import { requireManagerForWrites, requireManagerForReads } from '../manager-access.js';
import { BOOLEAN_QUERY_SCHEMA, FILTERS_QUERY_SCHEMA, OBJECT_VERSION_QUERY_SCHEMA, parseObjectVersion, queryBool } from '../query-params.js';
import {
  SERVICE_SPEC_SCHEMA, allocateEndpoint, modeKindOf, normalizeServiceSpec, publishedPortsOf, renderServiceSpec,
} from '../service-spec.js';
import type { ServiceSpecInput } from '../service-spec.js';
import { REGISTRY_AUTH_HEADER, headerValue, hideRegistryAuth, registryAuthOf, setRegistryAuth } from '../registry-auth.js';

/** The filters dockerd's `GET /services` accepts. */
const SERVICE_FILTERS = ['id', 'label', 'mode', 'name', 'runtime'] as const;

type Loose = Record<string, unknown>;

function isRecord(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---- conversion ----

/** A stored service in dockerd's shape. */
/** A rendered spec (already a copy) without its registry credentials. */
function withoutRegistryAuth<S extends { TaskTemplate?: unknown }>(spec: S): S {
  hideRegistryAuth(spec.TaskTemplate);
  return spec;
}

export function renderService(service: Frozen<Service>, insertDefaults: boolean, status?: EngineServiceStatus): EngineService {
  const rendered: EngineService = {
    ID: service.ID,
    Version: { Index: service.Version.Index },
    CreatedAt: service.CreatedAt,
    UpdatedAt: service.UpdatedAt,
    Spec: withoutRegistryAuth(renderServiceSpec(service.Spec, insertDefaults)),
    ...(service.PreviousSpec ? { PreviousSpec: withoutRegistryAuth(renderServiceSpec(service.PreviousSpec, false)) } : {}),
    Endpoint: (isRecord(service.Endpoint) ? JSON.parse(JSON.stringify(service.Endpoint)) : { Spec: {} }) as EngineService['Endpoint'],
  };
  if (isRecord(service.UpdateStatus)) rendered.UpdateStatus = JSON.parse(JSON.stringify(service.UpdateStatus)) as EngineService['UpdateStatus'];
  // Jobs: the iteration the job orchestrator runs (the CLI's job progress reads it).
  const jobStatus = (service as { JobStatus?: unknown }).JobStatus;
  if (isRecord(jobStatus)) (rendered as unknown as Record<string, unknown>).JobStatus = JSON.parse(JSON.stringify(jobStatus));
  if (status) rendered.ServiceStatus = status;
  return rendered;
}

/**
 * swarmkit's ListServiceStatuses as dockerd reports it: running = desired running and running
 * on a node that is not down; desired = Replicas (replicated), the tasks desired running on
 * nodes that are not down (global), what is left to run (replicated job); completed = finished
 * tasks of a job.
 */
export function serviceStatus(service: Frozen<Service>, tasks: readonly Frozen<Task>[], nodeUp: (id: string | undefined) => boolean): EngineServiceStatus {
  let running = 0;
  let desiredRunning = 0;
  let completed = 0;
  const mode = modeKindOf(service.Spec.Mode);
  for (const task of tasks) {
    if (task.DesiredState === 'running' && nodeUp(task.NodeID)) {
      desiredRunning++;
      if (task.Status?.State === 'running') running++;
    }
    if ((mode === 'replicated-job' || mode === 'global-job') && task.Status?.State === 'complete') completed++;
  }
  const modeBody = (service.Spec.Mode ?? {}) as Loose;
  let desired = desiredRunning;
  if (mode === 'replicated') {
    const replicas = (modeBody.Replicated as Loose | undefined)?.Replicas;
    desired = typeof replicas === 'number' ? replicas : 1;
  } else if (mode === 'replicated-job') {
    const job = (modeBody.ReplicatedJob ?? {}) as Loose;
    const maxConcurrent = typeof job.MaxConcurrent === 'number' ? job.MaxConcurrent : 1;
    const total = typeof job.TotalCompletions === 'number' ? job.TotalCompletions : maxConcurrent;
    desired = Math.max(0, Math.min(maxConcurrent, total - completed));
  }
  return { RunningTasks: running, DesiredTasks: desired, CompletedTasks: completed };
}

function nodeUpCheck(reader: StoreReader): (id: string | undefined) => boolean {
  const states = new Map<string, string | undefined>(reader.find('node').map((n: Frozen<Node>) => [n.ID, n.Status?.State]));
  return (id) => id !== undefined && id !== '' && states.has(id) && states.get(id) !== 'down';
}

// ---- references to other objects ----

/**
 * Resolves TaskTemplate.Networks targets (stack deploy sends names) to network IDs, as dockerd
 * does; an unknown network is dockerd's 404. Refuses secrets and configs that do not exist.
 */
function resolveReferences(tx: Transaction, spec: EngineServiceSpec): void {
  const task = spec.TaskTemplate;
  if (Array.isArray(task.Networks)) {
    for (const attachment of task.Networks) attachment.Target = tx.lookup('network', attachment.Target).ID;
  }
  const container = task.ContainerSpec;
  for (const [kind, list, idField, nameField] of [
    ['secret', container.Secrets, 'SecretID', 'SecretName'],
    ['config', container.Configs, 'ConfigID', 'ConfigName'],
  ] as const) {
    if (!Array.isArray(list)) continue;
    const missing = (list as Loose[])
      .filter((ref) => tx.get(kind, String(ref[idField])) === undefined)
      .map((ref) => String(ref[nameField] ?? ref[idField]));
    if (missing.length > 0) throw apiError('REFERENCED_NOT_FOUND', { kind, names: [...new Set(missing)] });
  }
}

/** The Endpoint for `spec`, checked against the ports every other service holds. */
function endpointFor(tx: Transaction, spec: EngineServiceSpec, self?: Frozen<Service>): Loose {
  const others = tx.find('service')
    .filter((s) => s.ID !== self?.ID)
    .map((s) => ({ id: s.ID, name: s.Spec.Name, ports: publishedPortsOf(s) }));
  return allocateEndpoint(spec, self ? publishedPortsOf(self) : [], others);
}

// ---- filters ----

function serviceMatcher(raw: string | undefined): (service: Frozen<Service>) => boolean {
  const filters = parseFilters(raw, SERVICE_FILTERS);
  const ids = filters.get('id') ?? [];
  const names = filters.get('name') ?? [];
  const modes = filters.get('mode') ?? [];
  const runtimes = filters.get('runtime') ?? [];
  const labels = filters.get('label') ?? [];
  return (service) => {
    const runtime = isRecord(service.Spec.TaskTemplate) && typeof service.Spec.TaskTemplate.Runtime === 'string'
      ? service.Spec.TaskTemplate.Runtime : 'container';
    return (ids.length === 0 || ids.some((id) => service.ID.startsWith(id)))
      && (names.length === 0 || names.some((n) => service.Spec.Name.startsWith(n)))
      && (modes.length === 0 || modes.includes(modeKindOf(service.Spec.Mode)))
      && (runtimes.length === 0 || runtimes.includes(runtime))
      && matchesLabelFilters(service.Spec.Labels ?? {}, labels);
  };
}

// ---- schemas ----

const SERVICE_PARAMS = { type: 'object', properties: { id: { type: 'string' } } } as const;

// ---- routes ----

export function registerServiceRoutes(app: FastifyInstance, backend: ClusterBackend): void {
  app.post<{ Body: ServiceSpecInput }>('/services/create', {
    schema: { body: SERVICE_SPEC_SCHEMA },
  }, async (request, reply) => {
    const { store } = requireManagerForWrites(backend);
    const spec = normalizeServiceSpec(request.body);
    setRegistryAuth(spec, headerValue(request.headers[REGISTRY_AUTH_HEADER]));
    let id = '';
    await store.update((tx) => {
      resolveReferences(tx, spec);
      const endpoint = endpointFor(tx, spec);
      const mode = (spec as { Mode?: Record<string, unknown> }).Mode ?? {};
      // A job's first iteration exists from creation, as in swarmkit: the docker CLI's job
      // progress reads JobStatus on its first poll.
      const jobStatus = 'ReplicatedJob' in mode || 'GlobalJob' in mode
        ? { JobStatus: { JobIteration: { Index: 0 }, LastExecution: new Date().toISOString() } }
        : {};
      id = tx.create('service', { Spec: spec as ServiceSpec, Endpoint: endpoint, ...jobStatus }).ID;
    });
    const body: ServiceCreateResponse = { ID: id };
    return reply.code(201).send(body);
  });

  app.get<{ Querystring: { filters?: string; status?: string } }>('/services', {
    schema: { querystring: { type: 'object', properties: { filters: FILTERS_QUERY_SCHEMA, status: BOOLEAN_QUERY_SCHEMA } } },
  }, async (request) => {
    const { store } = await requireManagerForReads(backend);
    const matches = serviceMatcher(request.query.filters);
    const withStatus = queryBool(request.query.status);
    const nodeUp = withStatus ? nodeUpCheck(store) : undefined;
    return store.find('service').filter(matches).map((service) => renderService(
      service,
      false,
      nodeUp ? serviceStatus(service, store.find('task', { serviceId: service.ID }), nodeUp) : undefined,
    ));
  });

  app.get<{ Params: { id: string }; Querystring: { insertDefaults?: string } }>('/services/:id', {
    schema: { params: SERVICE_PARAMS, querystring: { type: 'object', properties: { insertDefaults: BOOLEAN_QUERY_SCHEMA } } },
  }, async (request) => {
    const { store } = await requireManagerForReads(backend);
    return renderService(store.lookup('service', request.params.id), queryBool(request.query.insertDefaults));
  });

  app.delete<{ Params: { id: string } }>('/services/:id', {
    schema: { params: SERVICE_PARAMS },
  }, async (request, reply) => {
    const { store } = requireManagerForWrites(backend);
    await store.update((tx) => {
      const service = tx.lookup('service', request.params.id);
      tx.delete('service', service.ID, service.Version.Index);
    });
    // dockerd answers 200 with no body (networks, secrets and configs answer 204).
    return reply.code(200).send();
  });

  app.post<{
    Params: { id: string };
    Querystring: { version?: string; rollback?: string; registryAuthFrom?: string };
    Body: ServiceSpecInput;
  }>('/services/:id/update', {
    schema: {
      params: SERVICE_PARAMS,
      querystring: {
        type: 'object',
        properties: { version: OBJECT_VERSION_QUERY_SCHEMA, rollback: { type: 'string' }, registryAuthFrom: { type: 'string' } },
      },
      body: SERVICE_SPEC_SCHEMA,
    },
  }, async (request) => {
    const { store } = requireManagerForWrites(backend);
    const version = parseObjectVersion('service', request.query.version);
    const rollbackOption = request.query.rollback ?? '';
    if (!['', 'none', 'previous'].includes(rollbackOption)) throw apiError('INVALID_ROLLBACK_OPTION', { value: rollbackOption });
    const rollback = rollbackOption === 'previous';
    // swarmkit validates the request's spec even for a rollback, which then ignores it.
    const requested = normalizeServiceSpec(request.body);
    await store.update((tx) => {
      const service = tx.lookup('service', request.params.id);
      const next = thaw(service) as Service;
      // The version the client read; the store refuses the write if the service moved since.
      next.Version.Index = version;
      if (rollback) {
        if (!service.PreviousSpec) throw apiError('NO_PREVIOUS_SPEC', { id: service.ID });
        next.Spec = thaw(service.PreviousSpec) as ServiceSpec;
        next.PreviousSpec = thaw(service.Spec) as ServiceSpec;
        // swarmkit's manual rollback; the updater takes it on to rollback_completed.
        next.UpdateStatus = { State: 'rollback_started', Message: 'manually requested rollback', StartedAt: new Date().toISOString() };
      } else {
        if (requested.Name !== service.Spec.Name) throw apiError('SERVICE_RENAME');
        if (modeKindOf(requested.Mode) !== modeKindOf(service.Spec.Mode)) throw apiError('SERVICE_MODE_CHANGE');
        resolveReferences(tx, requested);
        // Credentials sent with the update, else those of the spec named by registryAuthFrom (dockerd's rule).
        const source = request.query.registryAuthFrom === 'previous-spec' ? service.PreviousSpec : service.Spec;
        setRegistryAuth(requested, headerValue(request.headers[REGISTRY_AUTH_HEADER]) ?? registryAuthOf(source));
        next.PreviousSpec = thaw(service.Spec) as ServiceSpec;
        next.Spec = requested as ServiceSpec;
        // A new update: the updater reports on it from scratch.
        delete next.UpdateStatus;
      }
      next.Endpoint = endpointFor(tx, next.Spec as EngineServiceSpec, service);
      tx.update('service', next as Frozen<Service>);
    });
    const body: ServiceUpdateResponse = { Warnings: null };
    return body;
  });

  // The CLI resolves an image's digest here before a create or an image change, and on any
  // error only warns and sends the tag as given (catalog §5.1). Any daemon answers it.
  app.get<{ Params: { '*': string } }>('/distribution/*', async (request) => {
    const path = request.params['*'];
    if (!path.endsWith('/json') || path === '/json') throw apiError('PAGE_NOT_FOUND');
    throw apiError('IMAGE_NOT_RESOLVED', { image: path.slice(0, -'/json'.length) });
  });
}
