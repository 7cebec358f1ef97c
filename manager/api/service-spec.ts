// The service spec (`docker service create|update`): its request schema, the checks swarmkit's
// controlapi makes before accepting one, the normalisation dockerd applies when it converts the
// spec to swarmkit's form, and the defaults `insertDefaults=true` shows.
//
// Stored vs rendered. What is stored is what the client sent, normalised exactly as dockerd
// stores it (so `insertDefaults=false` returns the same spec dockerd would, and the CLI's
// read-modify-write of update/scale/rollback round-trips it unchanged):
//   - Mode: absent → Replicated{Replicas:1}; Replicated{} → Replicas 1; ReplicatedJob's
//     MaxConcurrent → 1 and TotalCompletions → MaxConcurrent when absent;
//   - TaskTemplate.Runtime → "container", ContainerSpec.Isolation → "default", ForceUpdate → 0;
//   - RestartPolicy (when sent): Condition "" → "any", MaxAttempts → 0;
//   - UpdateConfig/RollbackConfig (when sent): FailureAction "" → "pause", Order "" →
//     "stop-first", Parallelism and MaxFailureRatio → 0;
//   - EndpointSpec (when sent): Mode "" → "vip"; each port's Protocol "" → "tcp" and
//     PublishMode "" → "ingress";
//   - Labels → {}; TaskTemplate.Networks[].Target names → network IDs (routes/services.ts).
// Everything the orchestrators read is therefore explicit in the store (Mode always; a missing
// RestartPolicy means Docker's default, which manager/orchestrator's restartPolicyOf applies).
// swarmkit's InterpolateService defaults (StopGracePeriod, RestartPolicy, UpdateConfig,
// RollbackConfig, Resources, Placement, DNSConfig) are added only on output, by
// withServiceDefaults, when the client asks with `insertDefaults=true`.
import { apiError } from '../../shared/errors.js';
import type {
  EnginePortConfig, EngineServiceMode, EngineServiceSpec, EngineUpdateConfig, PortProtocol,
} from '../../shared/engine-types.js';
import { ConstraintParseError, parseConstraints } from '../scheduler/index.js';

const SECOND_NS = 1_000_000_000;

/** swarmkit's api/defaults: what `insertDefaults=true` shows for what a spec leaves out. */
export const SERVICE_SPEC_DEFAULTS = {
  stopGracePeriodNs: 10 * SECOND_NS,
  restartDelayNs: 5 * SECOND_NS,
  updateMonitorNs: 5 * SECOND_NS,
} as const;

/** The dynamic range swarmkit's port allocator hands out ingress ports from. */
export const DYNAMIC_PORT_RANGE = { first: 30000, last: 32767 } as const;

// ---- schema ----

const DURATION = { type: 'integer', minimum: 0, nullable: true, description: 'a non-negative duration in nanoseconds (an integer)' } as const;
const COUNT = { type: 'integer', minimum: 0, nullable: true, description: 'a non-negative integer' } as const;
const STRING_MAP = { type: 'object', nullable: true, additionalProperties: { type: 'string' } } as const;
const STRINGS = { type: 'array', nullable: true, items: { type: 'string' } } as const;
const OBJECT = { type: 'object', nullable: true } as const;

const UPDATE_CONFIG_SCHEMA = {
  type: 'object',
  nullable: true,
  properties: {
    Parallelism: COUNT,
    Delay: DURATION,
    FailureAction: { type: 'string', enum: ['pause', 'continue', 'rollback', ''], description: 'one of pause, continue, rollback' },
    Monitor: DURATION,
    MaxFailureRatio: { type: 'number', minimum: 0, maximum: 1, description: 'a number between 0 and 1' },
    Order: { type: 'string', enum: ['stop-first', 'start-first', ''], description: 'one of stop-first, start-first' },
  },
} as const;

const RESOURCES_SCHEMA = {
  type: 'object',
  nullable: true,
  properties: {
    NanoCPUs: COUNT,
    MemoryBytes: COUNT,
    Pids: COUNT,
    GenericResources: { type: 'array', nullable: true },
  },
} as const;

const REFERENCES_SCHEMA = (idField: string) => ({
  type: 'array',
  nullable: true,
  items: {
    type: 'object',
    required: [idField],
    properties: { [idField]: { type: 'string', minLength: 1 }, File: OBJECT, Runtime: OBJECT },
  },
}) as const;

const SERVICE_NAME_DESCRIPTION = 'a DNS name component: 1 to 63 letters, digits, "-" and "_", starting and ending with a letter or digit';

/** The body of `POST /services/create` and `POST /services/{id}/update`. */
export const SERVICE_SPEC_SCHEMA = {
  type: 'object',
  required: ['Name', 'TaskTemplate'],
  properties: {
    Name: {
      type: 'string',
      minLength: 1,
      maxLength: 63,
      // swarmkit's `^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$`, written without nested quantifiers
      // (JavaScript's backtracking would make the original exponential on a bad name).
      pattern: '^[a-zA-Z0-9]+(?:[-_]+[a-zA-Z0-9]+)*$',
      description: SERVICE_NAME_DESCRIPTION,
    },
    Labels: STRING_MAP,
    TaskTemplate: {
      type: 'object',
      required: ['ContainerSpec'],
      properties: {
        ContainerSpec: {
          type: 'object',
          required: ['Image'],
          properties: {
            Image: {
              type: 'string',
              minLength: 1,
              pattern: '^[^\\s]+$',
              description: 'an image reference such as busybox:latest (the Docker executor pulls it if the node lacks it; the process executor ignores it)',
            },
            Labels: STRING_MAP,
            Command: STRINGS,
            Args: STRINGS,
            Env: STRINGS,
            Hostname: { type: 'string' },
            Dir: { type: 'string' },
            User: { type: 'string' },
            Groups: STRINGS,
            TTY: { type: 'boolean' },
            OpenStdin: { type: 'boolean' },
            ReadOnly: { type: 'boolean' },
            Init: { type: 'boolean', nullable: true },
            StopSignal: { type: 'string' },
            StopGracePeriod: DURATION,
            Isolation: { type: 'string', enum: ['default', 'process', 'hyperv', ''], description: 'one of default, process, hyperv' },
            Mounts: {
              type: 'array',
              nullable: true,
              items: {
                type: 'object',
                required: ['Target'],
                properties: {
                  Type: { type: 'string', enum: ['bind', 'volume', 'tmpfs', 'npipe', 'cluster'], description: 'one of bind, volume, tmpfs, npipe, cluster' },
                  Source: { type: 'string' },
                  Target: { type: 'string', minLength: 1 },
                  ReadOnly: { type: 'boolean' },
                },
              },
            },
            Secrets: REFERENCES_SCHEMA('SecretID'),
            Configs: REFERENCES_SCHEMA('ConfigID'),
            Healthcheck: {
              type: 'object',
              nullable: true,
              properties: { Test: STRINGS, Interval: DURATION, Timeout: DURATION, Retries: COUNT, StartPeriod: DURATION, StartInterval: DURATION },
            },
            Hosts: STRINGS,
            DNSConfig: OBJECT,
            Sysctls: STRING_MAP,
            CapabilityAdd: STRINGS,
            CapabilityDrop: STRINGS,
            Ulimits: { type: 'array', nullable: true },
          },
        },
        Resources: {
          type: 'object',
          nullable: true,
          properties: { Limits: RESOURCES_SCHEMA, Reservations: RESOURCES_SCHEMA },
        },
        RestartPolicy: {
          type: 'object',
          nullable: true,
          properties: {
            Condition: { type: 'string', enum: ['none', 'on-failure', 'any', ''], description: 'one of none, on-failure, any' },
            Delay: DURATION,
            MaxAttempts: COUNT,
            Window: DURATION,
          },
        },
        Placement: {
          type: 'object',
          nullable: true,
          properties: {
            Constraints: STRINGS,
            Preferences: {
              type: 'array',
              nullable: true,
              items: {
                type: 'object',
                required: ['Spread'],
                properties: {
                  Spread: {
                    type: 'object',
                    required: ['SpreadDescriptor'],
                    properties: { SpreadDescriptor: { type: 'string' } },
                  },
                },
              },
            },
            MaxReplicas: COUNT,
            Platforms: {
              type: 'array',
              nullable: true,
              items: { type: 'object', properties: { Architecture: { type: 'string' }, OS: { type: 'string' } } },
            },
          },
        },
        Networks: {
          type: 'array',
          nullable: true,
          items: {
            type: 'object',
            required: ['Target'],
            properties: { Target: { type: 'string', minLength: 1 }, Aliases: STRINGS, DriverOpts: STRING_MAP },
          },
        },
        LogDriver: { type: 'object', nullable: true, properties: { Name: { type: 'string' }, Options: STRING_MAP } },
        ForceUpdate: COUNT,
        Runtime: { type: 'string', enum: ['container', ''], description: '"container" (plugin and attachment runtimes are not supported)' },
      },
    },
    Mode: {
      type: 'object',
      nullable: true,
      properties: {
        Replicated: {
          type: 'object',
          nullable: true,
          properties: { Replicas: { type: 'integer', minimum: 0, nullable: true, description: 'a non-negative number of replicas' } },
        },
        Global: OBJECT,
        ReplicatedJob: { type: 'object', nullable: true, properties: { MaxConcurrent: COUNT, TotalCompletions: COUNT } },
        GlobalJob: OBJECT,
      },
    },
    UpdateConfig: UPDATE_CONFIG_SCHEMA,
    RollbackConfig: UPDATE_CONFIG_SCHEMA,
    Networks: { type: 'array', nullable: true },
    EndpointSpec: {
      type: 'object',
      nullable: true,
      properties: {
        Mode: { type: 'string', enum: ['vip', 'dnsrr', ''], description: 'one of vip, dnsrr' },
        Ports: {
          type: 'array',
          nullable: true,
          items: {
            type: 'object',
            required: ['TargetPort'],
            properties: {
              Name: { type: 'string' },
              Protocol: { type: 'string', enum: ['tcp', 'udp', 'sctp', ''], description: 'one of tcp, udp, sctp' },
              TargetPort: { type: 'integer', minimum: 1, maximum: 65535, description: 'a port number (1-65535)' },
              PublishedPort: { type: 'integer', minimum: 0, maximum: 65535, description: 'a port number (1-65535), or 0 for one the manager picks' },
              PublishMode: { type: 'string', enum: ['ingress', 'host', ''], description: 'one of ingress, host' },
            },
          },
        },
      },
    },
  },
} as const;

type Loose = Record<string, unknown>;

/** What SERVICE_SPEC_SCHEMA admits: loosely typed below the fields the API interprets. */
export interface ServiceSpecInput {
  Name: string;
  Labels?: Record<string, string> | null;
  TaskTemplate: Loose & { ContainerSpec: Loose & { Image: string } };
  Mode?: Loose | null;
  UpdateConfig?: Loose | null;
  RollbackConfig?: Loose | null;
  EndpointSpec?: Loose | null;
  [field: string]: unknown;
}

// ---- helpers ----

function isRecord(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}


export type ServiceModeKind = 'replicated' | 'global' | 'replicated-job' | 'global-job';

const MODE_KEYS: readonly [string, ServiceModeKind][] = [
  ['Replicated', 'replicated'], ['Global', 'global'], ['ReplicatedJob', 'replicated-job'], ['GlobalJob', 'global-job'],
];

/** The kind of a stored Mode (dockerd's `mode` filter values); a missing Mode is replicated. */
export function modeKindOf(mode: unknown): ServiceModeKind {
  if (isRecord(mode)) {
    for (const [key, kind] of MODE_KEYS) if (mode[key] !== undefined && mode[key] !== null) return kind;
  }
  return 'replicated';
}

// ---- normalisation and checks ----

function normalizeMode(mode: Loose | null | undefined): EngineServiceMode {
  const present = MODE_KEYS.filter(([key]) => isRecord(mode) && mode[key] !== undefined && mode[key] !== null);
  if (present.length > 1) throw apiError('SERVICE_MODE_AMBIGUOUS');
  const kind = present[0]?.[1] ?? 'replicated';
  const body = (present.length === 1 && isRecord(mode) ? mode[present[0][0]] : {}) as Loose;
  switch (kind) {
    case 'global': return { Global: {} };
    case 'global-job': return { GlobalJob: {} };
    case 'replicated-job': {
      const maxConcurrent = typeof body.MaxConcurrent === 'number' ? body.MaxConcurrent : 1;
      const total = typeof body.TotalCompletions === 'number' ? body.TotalCompletions : maxConcurrent;
      return { ReplicatedJob: { MaxConcurrent: maxConcurrent, TotalCompletions: total } };
    }
    default:
      return { Replicated: { Replicas: typeof body.Replicas === 'number' ? body.Replicas : 1 } };
  }
}

function normalizeUpdateConfig(config: Loose): EngineUpdateConfig {
  const out: Loose = { ...config };
  out.Parallelism = typeof config.Parallelism === 'number' ? config.Parallelism : 0;
  out.FailureAction = typeof config.FailureAction === 'string' && config.FailureAction !== '' ? config.FailureAction : 'pause';
  out.MaxFailureRatio = typeof config.MaxFailureRatio === 'number' ? config.MaxFailureRatio : 0;
  out.Order = typeof config.Order === 'string' && config.Order !== '' ? config.Order : 'stop-first';
  for (const key of ['Delay', 'Monitor']) if (out[key] === null) delete out[key];
  return out as EngineUpdateConfig;
}

function normalizePort(port: Loose): EnginePortConfig {
  return {
    ...port,
    Protocol: (typeof port.Protocol === 'string' && port.Protocol !== '' ? port.Protocol : 'tcp') as PortProtocol,
    TargetPort: port.TargetPort as number,
    ...(typeof port.PublishedPort === 'number' ? { PublishedPort: port.PublishedPort } : {}),
    PublishMode: port.PublishMode === 'host' ? 'host' : 'ingress',
  };
}

/** swarmkit's validateResources: below these a container cannot run at all. */
function checkResources(resources: unknown, field: string): void {
  if (!isRecord(resources)) return;
  const cpus = resources.NanoCPUs;
  if (typeof cpus === 'number' && cpus !== 0 && cpus < 1_000_000) {
    throw apiError('INVALID_FIELD', { field: `${field}.NanoCPUs`, reason: `invalid cpu value ${cpus / 1e9}: must be at least 0.001 (1000000 NanoCPUs)` });
  }
  const memory = resources.MemoryBytes;
  if (typeof memory === 'number' && memory !== 0 && memory < 4 * 1024 * 1024) {
    throw apiError('INVALID_FIELD', { field: `${field}.MemoryBytes`, reason: `invalid memory value ${memory}: must be at least 4MiB (4194304 bytes)` });
  }
}

function checkPlacement(placement: unknown): void {
  if (!isRecord(placement)) return;
  const constraints = Array.isArray(placement.Constraints) ? placement.Constraints as string[] : [];
  constraints.forEach((expression, i) => {
    try {
      parseConstraints([expression]);
    } catch (error) {
      if (!(error instanceof ConstraintParseError)) throw error;
      throw apiError('INVALID_FIELD', { field: `TaskTemplate.Placement.Constraints[${i}]`, reason: error.message });
    }
  });
  const preferences = Array.isArray(placement.Preferences) ? placement.Preferences as Loose[] : [];
  preferences.forEach((preference, i) => {
    const descriptor = String((preference.Spread as Loose).SpreadDescriptor ?? '');
    const lower = descriptor.toLowerCase();
    const label = lower.startsWith('node.labels.') ? descriptor.slice('node.labels.'.length)
      : lower.startsWith('engine.labels.') ? descriptor.slice('engine.labels.'.length) : undefined;
    if (label === undefined || label === '') {
      throw apiError('INVALID_FIELD', {
        field: `TaskTemplate.Placement.Preferences[${i}].Spread.SpreadDescriptor`,
        reason: `must be node.labels.<name> or engine.labels.<name>; got ${JSON.stringify(descriptor)}`,
      });
    }
  });
}

function checkEndpoint(endpoint: NonNullable<EngineServiceSpec['EndpointSpec']>): void {
  const seen = new Set<string>();
  for (const port of endpoint.Ports ?? []) {
    if (endpoint.Mode === 'dnsrr' && port.PublishMode === 'ingress') throw apiError('INGRESS_PORT_WITH_DNSRR');
    if (!port.PublishedPort) continue;
    const key = `${port.PublishedPort}/${port.Protocol}`;
    if (seen.has(key)) throw apiError('DUPLICATE_PUBLISHED_PORT', { port: port.PublishedPort, protocol: port.Protocol });
    seen.add(key);
  }
}

/**
 * A client's spec (schema-validated), checked past what the schema can say and normalised as
 * dockerd stores it (see the top of this file). References to other objects (networks,
 * secrets, configs, published ports) are checked by the route, against the store.
 */
export function normalizeServiceSpec(input: Readonly<ServiceSpecInput>): EngineServiceSpec {
  const spec = clone(input) as Loose;
  spec.Labels = isRecord(input.Labels) ? spec.Labels : {};
  spec.Mode = normalizeMode(input.Mode);

  const task = spec.TaskTemplate as Loose;
  const container = task.ContainerSpec as Loose;
  if (container.Isolation === undefined || container.Isolation === '') container.Isolation = 'default';
  if (task.Runtime === undefined || task.Runtime === '') task.Runtime = 'container';
  if (typeof task.ForceUpdate !== 'number') task.ForceUpdate = 0;
  if (isRecord(task.RestartPolicy)) {
    const policy = task.RestartPolicy;
    if (policy.Condition === undefined || policy.Condition === '') policy.Condition = 'any';
    if (typeof policy.MaxAttempts !== 'number') policy.MaxAttempts = 0;
    for (const key of ['Delay', 'Window']) if (policy[key] === null) delete policy[key];
  } else {
    delete task.RestartPolicy;
  }
  const resources = task.Resources;
  if (isRecord(resources)) {
    checkResources(resources.Limits, 'TaskTemplate.Resources.Limits');
    checkResources(resources.Reservations, 'TaskTemplate.Resources.Reservations');
  }
  checkPlacement(task.Placement);

  for (const key of ['UpdateConfig', 'RollbackConfig']) {
    if (isRecord(spec[key])) spec[key] = normalizeUpdateConfig(spec[key] as Loose);
    else delete spec[key];
  }
  if (isRecord(spec.EndpointSpec)) {
    const endpoint = spec.EndpointSpec;
    endpoint.Mode = endpoint.Mode === 'dnsrr' ? 'dnsrr' : 'vip';
    if (Array.isArray(endpoint.Ports)) endpoint.Ports = (endpoint.Ports as Loose[]).map(normalizePort);
    else delete endpoint.Ports;
    checkEndpoint(endpoint as NonNullable<EngineServiceSpec['EndpointSpec']>);
  } else {
    delete spec.EndpointSpec;
  }
  return spec as EngineServiceSpec;
}

/**
 * A stored spec as `GET /services/{id}` shows it. Read defensively (a spec written by another
 * component may lack parts); with `insertDefaults`, swarmkit's InterpolateService defaults
 * are filled in, plus EndpointSpec {Mode: vip}.
 */
export function renderServiceSpec(stored: unknown, insertDefaults: boolean): EngineServiceSpec {
  const spec = (isRecord(stored) ? clone(stored) : {}) as Loose;
  if (!isRecord(spec.Labels)) spec.Labels = {};
  if (!isRecord(spec.Mode)) spec.Mode = { Replicated: { Replicas: 1 } };
  if (!isRecord(spec.TaskTemplate)) spec.TaskTemplate = {};
  if (insertDefaults) withServiceDefaults(spec);
  return spec as EngineServiceSpec;
}

/** Fills swarmkit's defaults (api/defaults.InterpolateService) into `spec`, in place. */
function withServiceDefaults(spec: Loose): void {
  const task = spec.TaskTemplate as Loose;
  if (isRecord(task.ContainerSpec)) {
    const container = task.ContainerSpec;
    if (container.StopGracePeriod === undefined || container.StopGracePeriod === null) container.StopGracePeriod = SERVICE_SPEC_DEFAULTS.stopGracePeriodNs;
    if (!isRecord(container.DNSConfig)) container.DNSConfig = {};
  }
  if (!isRecord(task.Resources)) task.Resources = {};
  if (!isRecord(task.RestartPolicy)) {
    task.RestartPolicy = { Condition: 'any', Delay: SERVICE_SPEC_DEFAULTS.restartDelayNs, MaxAttempts: 0 };
  } else if (task.RestartPolicy.Delay === undefined || task.RestartPolicy.Delay === null) {
    task.RestartPolicy.Delay = SERVICE_SPEC_DEFAULTS.restartDelayNs;
  }
  if (!isRecord(task.Placement)) task.Placement = {};
  for (const key of ['UpdateConfig', 'RollbackConfig']) {
    const config = spec[key];
    if (!isRecord(config)) {
      spec[key] = { Parallelism: 1, FailureAction: 'pause', Monitor: SERVICE_SPEC_DEFAULTS.updateMonitorNs, MaxFailureRatio: 0, Order: 'stop-first' };
    } else if (config.Monitor === undefined || config.Monitor === null) {
      config.Monitor = SERVICE_SPEC_DEFAULTS.updateMonitorNs;
    }
  }
  if (!isRecord(spec.EndpointSpec)) spec.EndpointSpec = { Mode: 'vip' };
}


// ---- endpoint (published ports) ----

export interface PortOwner {
  readonly id: string;
  readonly name: string;
  readonly ports: readonly EnginePortConfig[];
}

/**
 * The service's Endpoint: its EndpointSpec and the ports as published, with an ingress port
 * sent without a number given one from the dynamic range (the one it had before, if it is
 * still free). Refuses a published port another service already holds where either side is
 * ingress (ingress binds the port on every node; two host-mode ports only need different nodes).
 */
export function allocateEndpoint(
  spec: EngineServiceSpec,
  previous: readonly EnginePortConfig[],
  others: readonly PortOwner[],
): { Spec: Loose; Ports?: EnginePortConfig[] } {
  const endpointSpec = spec.EndpointSpec ? clone(spec.EndpointSpec) : {};
  const ports = spec.EndpointSpec?.Ports ?? [];
  const taken = new Map<string, { owner: PortOwner; ingress: boolean }>();
  for (const owner of others) {
    for (const port of owner.ports) {
      if (!port.PublishedPort) continue;
      const key = `${port.PublishedPort}/${port.Protocol ?? 'tcp'}`;
      const ingress = port.PublishMode !== 'host';
      if (!taken.get(key)?.ingress) taken.set(key, { owner, ingress });
    }
  }
  for (const port of ports) {
    if (!port.PublishedPort) continue;
    const holder = taken.get(`${port.PublishedPort}/${port.Protocol}`);
    if (holder && (holder.ingress || port.PublishMode === 'ingress')) {
      throw apiError('PORT_IN_USE', { port: port.PublishedPort, service: holder.owner.name, id: holder.owner.id });
    }
  }
  const chosen = new Set(ports.filter((p) => p.PublishedPort).map((p) => `${p.PublishedPort}/${p.Protocol}`));
  const free = (port: number, protocol: string): boolean => !taken.has(`${port}/${protocol}`) && !chosen.has(`${port}/${protocol}`);
  const published = ports.map((port): EnginePortConfig => {
    if (port.PublishedPort || port.PublishMode === 'host') return { ...port, PublishedPort: port.PublishedPort ?? 0 };
    const before = previous.find((p) => p.PublishMode === 'ingress' && p.TargetPort === port.TargetPort && p.Protocol === port.Protocol && p.PublishedPort);
    let number = before?.PublishedPort !== undefined && free(before.PublishedPort, port.Protocol) ? before.PublishedPort : 0;
    for (let candidate = DYNAMIC_PORT_RANGE.first; number === 0 && candidate <= DYNAMIC_PORT_RANGE.last; candidate++) {
      if (free(candidate, port.Protocol)) number = candidate;
    }
    if (number === 0) throw apiError('NO_FREE_INGRESS_PORT', { protocol: port.Protocol });
    chosen.add(`${number}/${port.Protocol}`);
    return { ...port, PublishedPort: number };
  });
  return published.length > 0 ? { Spec: endpointSpec, Ports: published } : { Spec: endpointSpec };
}

/** The published ports a stored service holds: its Endpoint's, else its spec's. */
export function publishedPortsOf(service: { Spec?: unknown; Endpoint?: unknown }): EnginePortConfig[] {
  const endpoint = isRecord(service.Endpoint) ? service.Endpoint : undefined;
  if (endpoint && Array.isArray(endpoint.Ports)) return endpoint.Ports as EnginePortConfig[];
  const spec = isRecord(service.Spec) && isRecord(service.Spec.EndpointSpec) ? service.Spec.EndpointSpec : undefined;
  return spec && Array.isArray(spec.Ports) ? spec.Ports as EnginePortConfig[] : [];
}
