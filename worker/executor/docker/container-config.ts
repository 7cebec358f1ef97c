// Turns a task into the body of dockerd's POST /containers/create: the container's name, labels,
// process, resources, mounts, healthcheck and host-mode ports, the way Swarm's executor
// (daemon/cluster/executor/container) does. Everything a spec can get wrong that we can see is
// caught here, before the engine is asked, as INVALID_SPEC or UNSUPPORTED (the task is rejected);
// what only the engine can judge (does the bind source exist, is the signal valid) it rejects at create.

import type { ContainerSpec, ExecutorTask } from '../executor.js';
import { DEFAULT_STOP_GRACE_PERIOD_MS, executorError, taskName } from '../executor.js';
import type { TaskIdentity } from './labels.js';
import { SYSTEM_LABELS, systemLabels } from './labels.js';
import type { TemplateContext } from './templates.js';
import { expandTemplate } from './templates.js';

const RUNTIME = 'docker';

/** A port as the service's endpoint lists it (Engine API PortConfig). */
export interface EndpointPortConfig {
  Name?: string;
  Protocol?: string;
  TargetPort?: number;
  PublishedPort?: number;
  PublishMode?: string;
}

/** The parts of a Task beyond ExecutorTask that the Docker executor reads: the service endpoint's ports. */
export type DockerTask = ExecutorTask & {
  Endpoint?: { Spec?: { Ports?: EndpointPortConfig[] }; Ports?: EndpointPortConfig[] };
};

/** Engine API mount (HostConfig.Mounts[]), the same shape ContainerSpec.Mounts uses. */
export interface EngineMount {
  Type: 'bind' | 'volume' | 'tmpfs';
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: Record<string, unknown>;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface EngineHealthcheck {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
}

/** The create body (Engine API ContainerConfig + HostConfig), as far as the executor fills it. */
export interface ContainerCreateBody {
  Image: string;
  Hostname?: string;
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  Healthcheck?: EngineHealthcheck;
  ExposedPorts?: Record<string, Record<string, never>>;
  HostConfig: {
    Mounts?: EngineMount[];
    ReadonlyRootfs?: boolean;
    Init?: boolean;
    GroupAdd?: string[];
    Sysctls?: Record<string, string>;
    CapAdd?: string[];
    CapDrop?: string[];
    NanoCpus?: number;
    Memory?: number;
    MemoryReservation?: number;
    PidsLimit?: number;
    PortBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
    LogConfig?: { Type: string; Config: Record<string, string> };
    ExtraHosts?: string[];
    Dns?: string[];
    DnsSearch?: string[];
    DnsOptions?: string[];
    Ulimits?: { Name: string; Soft: number; Hard: number }[];
  };
}

export interface ContainerPlan {
  /** `<service>.<slot>.<task ID>`, or `<service>.<node ID>.<task ID>` for a global task. */
  name: string;
  identity: TaskIdentity;
  create: ContainerCreateBody;
  /** X-Registry-Auth for the pull (base64url JSON); never logged, never in a message. */
  registryAuth?: string;
  /** The spec's StopGracePeriod in ms, or Docker's default. */
  stopGracePeriodMs: number;
}

export interface NodeContext {
  nodeId: string;
  hostname: string;
}

function invalid(field: string, reason: string): Error {
  return executorError('INVALID_SPEC', { field, reason });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringArray(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalid(field, 'expected an array of strings');
  return value as string[];
}

function stringMap(value: unknown, field: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string')) throw invalid(field, 'expected an object of strings');
  return value as Record<string, string>;
}

function count(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw invalid(field, 'expected a non-negative integer');
  return value;
}

function bool(value: unknown, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalid(field, 'expected true or false');
  return value;
}

function nonEmpty(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : value !== undefined && value !== null;
}

/** Swarm's service name for a task: the annotation, else what its name starts with, else the service ID. */
export function serviceName(task: ExecutorTask): string {
  if (task.ServiceAnnotations?.Name) return task.ServiceAnnotations.Name;
  const dot = task.Name ? task.Name.indexOf('.') : -1;
  if (task.Name && dot > 0) return task.Name.slice(0, dot);
  return task.ServiceID || 'task';
}

/** Swarm's container name: `<service>.<slot>.<task ID>`, the node ID standing in for the slot of a global task. */
export function containerName(task: ExecutorTask, nodeId: string): string {
  const slot = task.Slot ? String(task.Slot) : task.NodeID || nodeId;
  return `${serviceName(task)}.${slot}.${task.ID}`;
}

export function validTaskId(id: unknown): id is string {
  return typeof id === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id);
}

export function templateContext(task: ExecutorTask, node: NodeContext): TemplateContext {
  const nodeId = task.NodeID || node.nodeId;
  return {
    service: { id: task.ServiceID ?? '', name: serviceName(task) },
    task: { id: task.ID, name: taskName({ ...task, NodeID: nodeId, ServiceAnnotations: { Name: serviceName(task) } }), slot: task.Slot ? String(task.Slot) : nodeId },
    node: { id: nodeId, hostname: node.hostname },
  };
}

function mounts(value: unknown, context: TemplateContext): EngineMount[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalid('ContainerSpec.Mounts', 'expected an array');
  return value.map((raw, i) => {
    const field = `ContainerSpec.Mounts[${i}]`;
    if (!isObject(raw)) throw invalid(field, 'expected an object');
    const type = raw.Type ?? 'volume';
    if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') {
      throw invalid(`${field}.Type`, `${JSON.stringify(type)} is not one of bind, volume, tmpfs`);
    }
    if (typeof raw.Target !== 'string' || raw.Target === '') throw invalid(`${field}.Target`, 'required');
    const target = expandTemplate(raw.Target, context, `${field}.Target`);
    if (!target.startsWith('/')) throw invalid(`${field}.Target`, `${JSON.stringify(target)} is not an absolute path`);
    if (raw.Source !== undefined && typeof raw.Source !== 'string') throw invalid(`${field}.Source`, 'expected a string');
    const source = raw.Source ? expandTemplate(raw.Source, context, `${field}.Source`) : undefined;
    if (type === 'bind' && (!source || !source.startsWith('/'))) throw invalid(`${field}.Source`, 'a bind mount needs an absolute host path');
    if (type === 'tmpfs' && source) throw invalid(`${field}.Source`, 'a tmpfs mount has no source');
    const mount: EngineMount = { Type: type, Target: target };
    if (source) mount.Source = source;
    const readOnly = bool(raw.ReadOnly, `${field}.ReadOnly`);
    if (readOnly !== undefined) mount.ReadOnly = readOnly;
    if (typeof raw.Consistency === 'string') mount.Consistency = raw.Consistency;
    if (raw.BindOptions !== undefined) {
      if (type !== 'bind' || !isObject(raw.BindOptions)) throw invalid(`${field}.BindOptions`, 'only for a bind mount, as an object');
      mount.BindOptions = raw.BindOptions;
    }
    if (raw.VolumeOptions !== undefined) {
      const options = raw.VolumeOptions;
      if (type !== 'volume' || !isObject(options)) throw invalid(`${field}.VolumeOptions`, 'only for a volume mount, as an object');
      const expandMap = (map: unknown, what: string): Record<string, string> | undefined => {
        const strings = stringMap(map, `${field}.VolumeOptions.${what}`);
        return strings && Object.fromEntries(Object.entries(strings).map(([k, v]) => [k, expandTemplate(v, context, `${field}.VolumeOptions.${what}`)]));
      };
      const driver = options.DriverConfig;
      if (driver !== undefined && driver !== null && !isObject(driver)) throw invalid(`${field}.VolumeOptions.DriverConfig`, 'expected an object');
      mount.VolumeOptions = {
        NoCopy: bool(options.NoCopy, `${field}.VolumeOptions.NoCopy`),
        Labels: expandMap(options.Labels, 'Labels'),
        DriverConfig: driver ? { Name: typeof driver.Name === 'string' ? driver.Name : undefined, Options: expandMap(driver.Options, 'DriverConfig.Options') } : undefined,
      };
    }
    if (raw.TmpfsOptions !== undefined) {
      const options = raw.TmpfsOptions;
      if (type !== 'tmpfs' || !isObject(options)) throw invalid(`${field}.TmpfsOptions`, 'only for a tmpfs mount, as an object');
      mount.TmpfsOptions = { SizeBytes: count(options.SizeBytes, `${field}.TmpfsOptions.SizeBytes`), Mode: count(options.Mode, `${field}.TmpfsOptions.Mode`) };
    }
    return mount;
  });
}

function healthcheck(value: unknown): EngineHealthcheck | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalid('ContainerSpec.Healthcheck', 'expected an object');
  const test = stringArray(value.Test, 'ContainerSpec.Healthcheck.Test');
  if (test && test.length > 0 && !['NONE', 'CMD', 'CMD-SHELL'].includes(test[0])) {
    throw invalid('ContainerSpec.Healthcheck.Test', `must start with NONE, CMD or CMD-SHELL, not ${JSON.stringify(test[0])}`);
  }
  const check: EngineHealthcheck = { Test: test };
  for (const key of ['Interval', 'Timeout', 'StartPeriod'] as const) {
    const ns = count(value[key], `ContainerSpec.Healthcheck.${key}`);
    // The engine's own floor (ns): 0 inherits the image's value, anything else must be at least 1 ms.
    if (ns !== undefined && ns !== 0 && ns < 1e6) throw invalid(`ContainerSpec.Healthcheck.${key}`, 'must be 0 or at least 1 ms (1000000 ns)');
    if (ns !== undefined) check[key] = ns;
  }
  const retries = count(value.Retries, 'ContainerSpec.Healthcheck.Retries');
  if (retries !== undefined) check.Retries = retries;
  return check;
}

/** True when a container config's healthcheck runs (an image's HEALTHCHECK counts; Test NONE or empty does not). */
export function healthcheckEnabled(check: { Test?: string[] | null } | null | undefined): boolean {
  const test = check?.Test;
  return Array.isArray(test) && test.length > 0 && test[0] !== 'NONE';
}

const PROTOCOLS = ['tcp', 'udp', 'sctp'];

/** Host-mode published ports → ExposedPorts and PortBindings; ingress ports are the routing mesh's, not the container's. */
function hostPorts(task: DockerTask): Pick<ContainerCreateBody, 'ExposedPorts'> & Pick<ContainerCreateBody['HostConfig'], 'PortBindings'> {
  const ports = task.Endpoint?.Spec?.Ports ?? task.Endpoint?.Ports;
  if (!Array.isArray(ports)) return {};
  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  ports.forEach((port, i) => {
    if (!isObject(port) || port.PublishMode !== 'host') return;
    const field = `Endpoint.Ports[${i}]`;
    const protocol = port.Protocol ?? 'tcp';
    if (typeof protocol !== 'string' || !PROTOCOLS.includes(protocol)) throw invalid(`${field}.Protocol`, `${JSON.stringify(protocol)} is not one of ${PROTOCOLS.join(', ')}`);
    const target = port.TargetPort;
    if (typeof target !== 'number' || !Number.isInteger(target) || target < 1 || target > 65535) throw invalid(`${field}.TargetPort`, 'expected a port number 1-65535');
    const published = port.PublishedPort ?? 0;
    if (typeof published !== 'number' || !Number.isInteger(published) || published < 0 || published > 65535) throw invalid(`${field}.PublishedPort`, 'expected a port number 0-65535');
    const key = `${target}/${protocol}`;
    exposed[key] = {};
    // An empty HostPort asks the engine for a free ephemeral port, as Swarm does for PublishedPort 0.
    (bindings[key] ??= []).push({ HostIp: '', HostPort: published ? String(published) : '' });
  });
  return Object.keys(exposed).length ? { ExposedPorts: exposed, PortBindings: bindings } : {};
}

function resources(task: ExecutorTask): Partial<ContainerCreateBody['HostConfig']> {
  const raw = task.Spec.Resources;
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw invalid('Spec.Resources', 'expected an object');
  const limits = isObject(raw.Limits) ? raw.Limits : {};
  const reservations = isObject(raw.Reservations) ? raw.Reservations : {};
  const out: Partial<ContainerCreateBody['HostConfig']> = {};
  const nanoCpus = count(limits.NanoCPUs, 'Resources.Limits.NanoCPUs');
  const memory = count(limits.MemoryBytes, 'Resources.Limits.MemoryBytes');
  const pids = count(limits.Pids, 'Resources.Limits.Pids');
  const memoryReservation = count(reservations.MemoryBytes, 'Resources.Reservations.MemoryBytes');
  if (nanoCpus) out.NanoCpus = nanoCpus;
  if (memory) out.Memory = memory;
  if (pids) out.PidsLimit = pids;
  if (memoryReservation) out.MemoryReservation = memoryReservation;
  return out;
}

/** Swarm's Hosts entries are `IP host [alias…]` (hosts-file order); the engine's ExtraHosts are `host:IP`. */
function extraHosts(value: unknown): string[] | undefined {
  const hosts = stringArray(value, 'ContainerSpec.Hosts');
  if (!hosts) return undefined;
  return hosts.flatMap((entry) => {
    const [ip, ...names] = entry.trim().split(/\s+/);
    if (!ip || names.length === 0) throw invalid('ContainerSpec.Hosts', `${JSON.stringify(entry)} is not "IP hostname [alias...]"`);
    return names.map((name) => `${name}:${ip}`);
  });
}

/**
 * The container for `task`. Command becomes the Entrypoint and Args the Cmd (so an image's
 * ENTRYPOINT applies unless Command overrides it, as with `docker service create`). Env values,
 * Hostname and mount sources/targets have their templates expanded.
 */
export function containerPlan(task: DockerTask, node: NodeContext): ContainerPlan {
  if (!validTaskId(task.ID)) throw invalid('task ID', `${JSON.stringify(task.ID)} is not a task ID`);
  const spec = task.Spec?.ContainerSpec as ContainerSpec | undefined;
  if (!isObject(spec)) throw invalid('Spec.ContainerSpec', 'missing');
  if (typeof spec.Image !== 'string' || spec.Image.trim() === '') throw invalid('ContainerSpec.Image', 'required');
  for (const [field, feature] of [['Secrets', 'secrets'], ['Configs', 'configs']] as const) {
    if (nonEmpty(spec[field])) throw executorError('UNSUPPORTED', { runtime: RUNTIME, feature, reason: 'the agent does not receive their data from the managers yet' });
  }
  const service = serviceName(task);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(service)) throw invalid('service name', `${JSON.stringify(service)} cannot start a container name`);

  const context = templateContext(task, node);
  const identity: TaskIdentity = {
    taskId: task.ID,
    taskName: context.task.name,
    serviceId: task.ServiceID ?? '',
    serviceName: service,
    nodeId: context.node.id,
  };

  const env = stringArray(spec.Env, 'ContainerSpec.Env')?.map((entry) => {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (key === '') throw invalid('ContainerSpec.Env', `${JSON.stringify(entry)} has no variable name`);
    return eq < 0 ? entry : `${key}=${expandTemplate(entry.slice(eq + 1), context, `ContainerSpec.Env (${key})`)}`;
  });

  const userLabels = stringMap(spec.Labels, 'ContainerSpec.Labels') ?? {};
  for (const key of Object.keys(userLabels)) {
    if (SYSTEM_LABELS.includes(key)) throw invalid('ContainerSpec.Labels', `${key} is set by the executor`);
  }

  const dir = spec.Dir;
  if (dir !== undefined && dir !== '' && (typeof dir !== 'string' || !dir.startsWith('/'))) {
    throw invalid('ContainerSpec.Dir', `${JSON.stringify(dir)} is not an absolute path`);
  }
  if (spec.User !== undefined && typeof spec.User !== 'string') throw invalid('ContainerSpec.User', 'expected a string');
  if (spec.StopSignal !== undefined && typeof spec.StopSignal !== 'string') throw invalid('ContainerSpec.StopSignal', 'expected a string');
  if (spec.Hostname !== undefined && typeof spec.Hostname !== 'string') throw invalid('ContainerSpec.Hostname', 'expected a string');
  const grace = spec.StopGracePeriod;
  if (grace !== undefined && grace !== null && (typeof grace !== 'number' || !Number.isFinite(grace) || grace < 0)) {
    throw invalid('ContainerSpec.StopGracePeriod', 'expected a non-negative number of nanoseconds');
  }
  const stopGracePeriodMs = typeof grace === 'number' ? Math.round(grace / 1e6) : DEFAULT_STOP_GRACE_PERIOD_MS;

  const command = stringArray(spec.Command, 'ContainerSpec.Command');
  const args = stringArray(spec.Args, 'ContainerSpec.Args');
  const hostname = spec.Hostname ? expandTemplate(spec.Hostname, context, 'ContainerSpec.Hostname') : undefined;
  const init = spec.Init;
  if (init !== undefined && init !== null && typeof init !== 'boolean') throw invalid('ContainerSpec.Init', 'expected true or false');

  const dns = spec.DNSConfig;
  if (dns !== undefined && dns !== null && !isObject(dns)) throw invalid('ContainerSpec.DNSConfig', 'expected an object');
  const ulimits = spec.Ulimits;
  if (ulimits !== undefined && ulimits !== null && (!Array.isArray(ulimits) || ulimits.some((u) => !isObject(u) || typeof u.Name !== 'string'))) {
    throw invalid('ContainerSpec.Ulimits', 'expected an array of {Name, Soft, Hard}');
  }
  const logDriver = task.Spec.LogDriver;
  if (logDriver !== undefined && logDriver !== null && (!isObject(logDriver) || typeof logDriver.Name !== 'string')) {
    throw invalid('TaskSpec.LogDriver', 'expected {Name, Options}');
  }

  const ports = hostPorts(task);
  const create: ContainerCreateBody = {
    Image: spec.Image,
    Hostname: hostname,
    User: spec.User || undefined,
    Env: env,
    Entrypoint: command?.length ? command : undefined,
    Cmd: args?.length ? args : undefined,
    WorkingDir: dir || undefined,
    Tty: bool(spec.TTY, 'ContainerSpec.TTY'),
    OpenStdin: bool(spec.OpenStdin, 'ContainerSpec.OpenStdin'),
    Labels: { ...userLabels, ...systemLabels(identity) },
    StopSignal: spec.StopSignal || undefined,
    // Whole seconds, rounded up: the engine's unit. Kept on the container so a stop from `docker stop` honours it too.
    StopTimeout: Math.ceil(stopGracePeriodMs / 1000),
    Healthcheck: healthcheck(spec.Healthcheck),
    ExposedPorts: ports.ExposedPorts,
    HostConfig: {
      Mounts: mounts(spec.Mounts, context),
      ReadonlyRootfs: bool(spec.ReadOnly, 'ContainerSpec.ReadOnly'),
      Init: init ?? undefined,
      GroupAdd: stringArray(spec.Groups, 'ContainerSpec.Groups'),
      Sysctls: stringMap(spec.Sysctls, 'ContainerSpec.Sysctls'),
      CapAdd: stringArray(spec.CapabilityAdd, 'ContainerSpec.CapabilityAdd'),
      CapDrop: stringArray(spec.CapabilityDrop, 'ContainerSpec.CapabilityDrop'),
      ...resources(task),
      PortBindings: ports.PortBindings,
      LogConfig: isObject(logDriver) ? { Type: logDriver.Name as string, Config: stringMap(logDriver.Options, 'TaskSpec.LogDriver.Options') ?? {} } : undefined,
      ExtraHosts: extraHosts(spec.Hosts),
      Dns: isObject(dns) ? stringArray(dns.Nameservers, 'ContainerSpec.DNSConfig.Nameservers') : undefined,
      DnsSearch: isObject(dns) ? stringArray(dns.Search, 'ContainerSpec.DNSConfig.Search') : undefined,
      DnsOptions: isObject(dns) ? stringArray(dns.Options, 'ContainerSpec.DNSConfig.Options') : undefined,
      Ulimits: Array.isArray(ulimits)
        ? (ulimits as Record<string, unknown>[]).map((u, i) => ({
          Name: u.Name as string,
          Soft: count(u.Soft, `ContainerSpec.Ulimits[${i}].Soft`) ?? 0,
          Hard: count(u.Hard, `ContainerSpec.Ulimits[${i}].Hard`) ?? 0,
        }))
        : undefined,
    },
  };

  const pull = spec.PullOptions;
  const registryAuth = isObject(pull) && typeof pull.RegistryAuth === 'string' && pull.RegistryAuth !== '' ? pull.RegistryAuth : undefined;
  return { name: containerName(task, node.nodeId), identity, create: dropUndefined(create), registryAuth, stopGracePeriodMs };
}

/** Leaves out unset fields, so the body (and what `docker inspect` shows) holds what the spec set and nothing else. */
function dropUndefined<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field === undefined) continue;
    out[key] = isObject(field) && key === 'HostConfig' ? dropUndefined(field) : field;
  }
  return out as T;
}
