// `berth service …`: the docker CLI's service commands, sending the requests it sends, in its
// order and with its bodies (catalog §5; docker/cli v28.2.2 cli/command/service). Specs are built
// with Go's field order and omitempty rules, so a body reads byte for byte like docker's; updates
// read the stored spec and post it back whole at the version read. Without -d, create, update,
// scale and rollback wait for convergence (../progress.ts).

import { Command, Option } from 'commander';
import { ApiError, type EngineClient, type Query } from '../client.js';
import { AlreadyReported, describeError, isNotFound } from '../errors.js';
import { bytesSize, humanDuration, json, naturalCompare, shortId, table } from '../format.js';
import { clientOf, collect, encodeFilters, filterOption, formatOption, type OutputFormat } from '../options.js';
import { waitOnService } from '../progress.js';
import {
  effectiveCapabilities,
  formatGoDuration,
  imageWithoutDigest,
  kvMap,
  parseCpus,
  parseEnv,
  parseFloat32,
  parseGoDuration,
  parseInt64,
  parseLabel,
  parseMemory,
  parseMount,
  parsePlacementPref,
  parsePositiveDuration,
  parsePublish,
  parseUint,
  parseUlimit,
  readEnvFile,
  registryAuthFor,
  sortedKeys,
  splitShellWords,
  tagImage,
  ulimitList,
  updateCapabilities,
  type Mount,
  type PlacementPreference,
  type PortConfig,
  type Ulimit,
} from '../service-flags.js';
import { printTasks } from '../tasks.js';
import type { Task } from '../engine-types.js';
import { selfNodeId } from './node.js';
import { logsCommand } from './service-logs.js';

// ---------------------------------------------------------------------------------------------
// Engine API shapes (only what berth reads or writes; everything else passes through untouched).

type Json = Record<string, unknown>;

interface ServiceMode {
  Replicated?: { Replicas?: number };
  Global?: Json;
  ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
  GlobalJob?: Json;
}

interface UpdateConfig {
  Parallelism?: number;
  Delay?: number;
  FailureAction?: string;
  Monitor?: number;
  MaxFailureRatio?: number;
  Order?: string;
}

/** container.HealthConfig: Test ["CMD-SHELL", cmd] or ["NONE"], durations in nanoseconds. */
interface HealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

interface ContainerSpec {
  Image?: string;
  Labels?: Record<string, string> | null;
  Command?: string[] | null;
  Args?: string[] | null;
  Hostname?: string;
  Env?: string[] | null;
  Dir?: string;
  User?: string;
  Groups?: string[] | null;
  Init?: boolean | null;
  StopSignal?: string;
  TTY?: boolean;
  ReadOnly?: boolean;
  Mounts?: Mount[] | null;
  StopGracePeriod?: number;
  Healthcheck?: HealthConfig | null;
  Sysctls?: Record<string, string> | null;
  CapabilityAdd?: string[] | null;
  CapabilityDrop?: string[] | null;
  Ulimits?: Ulimit[] | null;
  [key: string]: unknown;
}

/**
 * swarm.ContainerSpec's fields in Go's order, and whether Go writes each when empty (pointers
 * are written whenever set, even to false, 0 or {}; everything else is omitempty).
 */
const CONTAINER_SPEC_FIELDS: [string, 'pointer' | 'omitempty'][] = [
  ['Image', 'omitempty'],
  ['Labels', 'omitempty'],
  ['Command', 'omitempty'],
  ['Args', 'omitempty'],
  ['Hostname', 'omitempty'],
  ['Env', 'omitempty'],
  ['Dir', 'omitempty'],
  ['User', 'omitempty'],
  ['Groups', 'omitempty'],
  ['Privileges', 'pointer'],
  ['Init', 'pointer'],
  ['StopSignal', 'omitempty'],
  ['TTY', 'omitempty'],
  ['OpenStdin', 'omitempty'],
  ['ReadOnly', 'omitempty'],
  ['Mounts', 'omitempty'],
  ['StopGracePeriod', 'pointer'],
  ['Healthcheck', 'pointer'],
  ['Hosts', 'omitempty'],
  ['DNSConfig', 'pointer'],
  ['Secrets', 'omitempty'],
  ['Configs', 'omitempty'],
  ['Isolation', 'omitempty'],
  ['Sysctls', 'omitempty'],
  ['CapabilityAdd', 'omitempty'],
  ['CapabilityDrop', 'omitempty'],
  ['Ulimits', 'omitempty'],
  ['OomScoreAdj', 'omitempty'],
];

interface ServiceSpec {
  Name?: string;
  Labels?: Record<string, string> | null;
  TaskTemplate: {
    ContainerSpec?: ContainerSpec;
    Resources?: { Limits?: { NanoCPUs?: number; MemoryBytes?: number; Pids?: number }; Reservations?: { NanoCPUs?: number; MemoryBytes?: number } } | null;
    RestartPolicy?: { Condition?: string; Delay?: number; MaxAttempts?: number; Window?: number } | null;
    Placement?: { Constraints?: string[] | null; Preferences?: PlacementPreference[] | null; MaxReplicas?: number; Platforms?: unknown[] } | null;
    ForceUpdate?: number;
    [key: string]: unknown;
  };
  Mode?: ServiceMode;
  UpdateConfig?: UpdateConfig | null;
  RollbackConfig?: UpdateConfig | null;
  EndpointSpec?: { Mode?: string; Ports?: PortConfig[] | null } | null;
  [key: string]: unknown;
}

interface Service {
  ID: string;
  Version: { Index: number };
  Spec: ServiceSpec;
  Endpoint?: { Ports?: PortConfig[] | null; Spec?: Json } | null;
  UpdateStatus?: { State?: string; StartedAt?: string; CompletedAt?: string; Message?: string } | null;
  ServiceStatus?: { RunningTasks?: number; DesiredTasks?: number; CompletedTasks?: number } | null;
}

// ---------------------------------------------------------------------------------------------
// Flags shared by create and update (docker's addServiceFlags).

/** Flag values as commander leaves them: undefined when not given, like pflag's !Changed. */
interface ServiceFlags {
  detach?: boolean;
  quiet?: boolean;
  timeout: number;
  workdir?: string;
  user?: string;
  hostname?: string;
  entrypoint?: string[];
  tty?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  healthCmd?: string;
  healthInterval?: number;
  healthTimeout?: number;
  healthRetries?: number;
  healthStartPeriod?: number;
  /** false with --no-healthcheck (commander's negated flag), true otherwise. */
  healthcheck: boolean;
  withRegistryAuth?: boolean;
  limitCpu?: number;
  limitMemory?: number;
  reserveCpu?: number;
  reserveMemory?: number;
  stopGracePeriod?: number;
  stopSignal?: string;
  replicas?: number;
  maxConcurrent?: number;
  replicasMaxPerNode?: number;
  maxReplicas?: number;
  restartCondition?: string;
  restartDelay?: number;
  restartMaxAttempts?: number;
  restartWindow?: number;
  updateParallelism?: number;
  updateDelay?: number;
  updateMonitor?: number;
  updateFailureAction?: string;
  updateMaxFailureRatio?: number;
  updateOrder?: string;
  rollbackParallelism?: number;
  rollbackDelay?: number;
  rollbackMonitor?: number;
  rollbackFailureAction?: string;
  rollbackMaxFailureRatio?: number;
  rollbackOrder?: string;
  endpointMode?: string;
  init?: boolean;
  readOnly?: boolean;
  resolveImage: boolean;
}

interface CreateFlags extends ServiceFlags {
  name?: string;
  mode: string;
  env?: string[];
  label?: string[];
  containerLabel?: string[];
  constraint?: string[];
  placementPref?: PlacementPreference[];
  publish?: PortConfig[];
  /** The variables of every --env-file, read as each flag was parsed. */
  envFile?: string[];
  mount?: Mount[];
  group?: string[];
  sysctl?: string[];
  ulimit?: Ulimit[];
}

interface UpdateFlags extends ServiceFlags {
  image?: string;
  args?: string[];
  force?: boolean;
  rollback?: boolean;
  envAdd?: string[];
  envRm?: string[];
  labelAdd?: string[];
  labelRm?: string[];
  containerLabelAdd?: string[];
  containerLabelRm?: string[];
  constraintAdd?: string[];
  constraintRm?: string[];
  placementPrefAdd?: PlacementPreference[];
  placementPrefRm?: PlacementPreference[];
  publishAdd?: PortConfig[];
  publishRm?: PortConfig[];
  mountAdd?: Mount[];
  mountRm?: string[];
  groupAdd?: string[];
  groupRm?: string[];
  sysctlAdd?: string[];
  sysctlRm?: string[];
  ulimitAdd?: Ulimit[];
  ulimitRm?: string[];
}

/** A flag whose value goes through `parse`; a failure is a usage error naming the flag. */
function valueOption(flags: string, description: string, parse: (text: string) => unknown): Option {
  return new Option(flags, description).argParser((text: string) => parse(text));
}

/** A repeatable flag whose values go through `parse`, each kept; parsers returning lists are flattened. */
function listOption<T>(flags: string, description: string, parse: (text: string) => T | T[]): Option {
  return new Option(flags, description).argParser((text: string, previous: T[] | undefined) => {
    const parsed = parse(text);
    return [...(previous ?? []), ...(Array.isArray(parsed) ? parsed : [parsed])];
  });
}

function timeoutOption(): Option {
  return valueOption('--timeout <duration>', 'without -d: give up waiting for convergence after this long, 0 for never (berth only)', parseGoDuration).default(
    10 * 60e9,
    '10m',
  );
}

const DURATION = '(ns|us|ms|s|m|h)';

function addServiceFlags(command: Command): Command {
  return command
    .option('-d, --detach', 'exit immediately instead of waiting for the service to converge')
    .option('-q, --quiet', 'suppress progress output')
    .addOption(timeoutOption())
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user>', 'username or UID (format: <name|uid>[:<group|gid>])')
    .option('--hostname <name>', 'container hostname (Go templates such as {{.Task.Slot}} are expanded by the agent)')
    .addOption(valueOption('--entrypoint <command>', 'overwrite the default ENTRYPOINT of the image (a shell-quoted string)', splitShellWords))
    .option('--cap-add <capability>', 'add Linux capabilities (repeatable)', collect)
    .option('--cap-drop <capability>', 'drop Linux capabilities (repeatable)', collect)
    .option('--health-cmd <command>', 'command to run to check health (run by the shell: CMD-SHELL)')
    .addOption(valueOption('--health-interval <duration>', `time between running the check ${DURATION}`, parsePositiveDuration))
    .addOption(valueOption('--health-timeout <duration>', `maximum time to allow one check to run ${DURATION}`, parsePositiveDuration))
    .addOption(valueOption('--health-retries <int>', 'consecutive failures needed to report unhealthy', parseInt64))
    .addOption(
      valueOption('--health-start-period <duration>', `start period for the container to initialize before counting retries towards unstable ${DURATION}`, parsePositiveDuration),
    )
    .option('--no-healthcheck', 'disable any container-specified HEALTHCHECK')
    .option('-t, --tty', 'allocate a pseudo-TTY')
    .option('--no-tty', 'do not allocate a pseudo-TTY (update)')
    .option('--with-registry-auth', 'send registry authentication details (from the docker CLI\'s config.json) to swarm agents')
    .addOption(valueOption('--limit-cpu <decimal>', 'limit CPUs', parseCpus))
    .addOption(valueOption('--limit-memory <bytes>', 'limit memory (e.g. 512M, 1g)', parseMemory))
    .addOption(valueOption('--reserve-cpu <decimal>', 'reserve CPUs', parseCpus))
    .addOption(valueOption('--reserve-memory <bytes>', 'reserve memory (e.g. 512M, 1g)', parseMemory))
    .addOption(valueOption('--stop-grace-period <duration>', `time to wait before force killing a container ${DURATION}`, parseGoDuration))
    .option('--stop-signal <signal>', 'signal to stop the container')
    .addOption(valueOption('--replicas <uint>', 'number of tasks', parseUint))
    .addOption(valueOption('--max-concurrent <uint>', 'number of job tasks to run concurrently (default equal to --replicas)', parseUint))
    .addOption(valueOption('--replicas-max-per-node <uint>', 'maximum number of tasks per node (default 0 = unlimited)', parseUint))
    .addOption(valueOption('--max-replicas <uint>', 'same as --replicas-max-per-node', parseUint))
    .addOption(new Option('--restart-condition <condition>', 'restart when condition is met (default "any")').choices(['none', 'on-failure', 'any']))
    .addOption(valueOption('--restart-delay <duration>', `delay between restart attempts ${DURATION} (default 5s)`, parseGoDuration))
    .addOption(valueOption('--restart-max-attempts <uint>', 'maximum number of restarts before giving up (default 0)', parseUint))
    .addOption(valueOption('--restart-window <duration>', `window used to evaluate the restart policy ${DURATION}`, parseGoDuration))
    .addOption(valueOption('--update-parallelism <uint>', 'maximum number of tasks updated simultaneously, 0 for all at once (default 1)', parseUint))
    .addOption(valueOption('--update-delay <duration>', `delay between updates ${DURATION} (default 0s)`, parseGoDuration))
    .addOption(valueOption('--update-monitor <duration>', `duration after each task update to monitor for failure ${DURATION} (default 5s)`, parseGoDuration))
    .addOption(new Option('--update-failure-action <action>', 'action on update failure (default "pause")').choices(['pause', 'continue', 'rollback']))
    .addOption(valueOption('--update-max-failure-ratio <float>', 'failure rate to tolerate during an update (default 0)', parseFloat32))
    .addOption(new Option('--update-order <order>', 'update order (default "stop-first")').choices(['start-first', 'stop-first']))
    .addOption(valueOption('--rollback-parallelism <uint>', 'maximum number of tasks rolled back simultaneously (default 1)', parseUint))
    .addOption(valueOption('--rollback-delay <duration>', `delay between task rollbacks ${DURATION} (default 0s)`, parseGoDuration))
    .addOption(valueOption('--rollback-monitor <duration>', `duration after each task rollback to monitor for failure ${DURATION} (default 5s)`, parseGoDuration))
    .addOption(new Option('--rollback-failure-action <action>', 'action on rollback failure (default "pause")').choices(['pause', 'continue']))
    .addOption(valueOption('--rollback-max-failure-ratio <float>', 'failure rate to tolerate during a rollback (default 0)', parseFloat32))
    .addOption(new Option('--rollback-order <order>', 'rollback order (default "stop-first")').choices(['start-first', 'stop-first']))
    .addOption(new Option('--endpoint-mode <mode>', 'endpoint mode (default "vip")').choices(['vip', 'dnsrr']))
    .option('--init', 'use an init inside each service container to forward signals and reap processes')
    .option('--no-init', 'do not use an init (update)')
    .option('--read-only', "mount the container's root filesystem as read only")
    .option('--no-read-only', 'mount the root filesystem read-write (update)')
    .option('--no-resolve-image', 'do not query the registry to resolve the image digest and supported platforms');
}

// ---------------------------------------------------------------------------------------------
// Spec building, as docker's ToService (create) and updateService (update).

/** swarmkit's defaults, which docker fills in when any flag of a group is given. */
const DEFAULT_UPDATE_CONFIG: Required<Omit<UpdateConfig, 'Delay'>> & { Delay: number } = {
  Parallelism: 1,
  Delay: 0,
  FailureAction: 'pause',
  Monitor: 5e9,
  MaxFailureRatio: 0,
  Order: 'stop-first',
};
const DEFAULT_RESTART: { Condition?: string; Delay?: number; MaxAttempts?: number; Window?: number } = { Condition: 'any', Delay: 5e9, MaxAttempts: 0 };

/** Go's json omitempty for the kinds we write: drops undefined, "", 0, false, empty slices and maps. */
function omitEmpty<T extends Json>(object: T, keep: string[] = []): T {
  const out: Json = {};
  for (const [key, value] of Object.entries(object)) {
    if (keep.includes(key)) {
      if (value !== undefined) out[key] = value;
      continue;
    }
    if (value === undefined || value === null || value === '' || value === 0 || value === false) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0 && !KEEP_EMPTY_OBJECTS.has(key)) continue;
    out[key] = value;
  }
  return out as T;
}
/** Pointer-typed structs Go writes as {} when set but empty. */
const KEEP_EMPTY_OBJECTS = new Set(['DNSConfig', 'Healthcheck', 'Limits', 'Reservations', 'Global', 'GlobalJob', 'Replicated', 'ReplicatedJob']);

/** swarm.UpdateConfig: Parallelism, MaxFailureRatio and Order are always written. */
function updateConfigJson(config: UpdateConfig): UpdateConfig {
  return omitEmpty(
    {
      Parallelism: config.Parallelism ?? 0,
      Delay: config.Delay,
      FailureAction: config.FailureAction,
      Monitor: config.Monitor,
      MaxFailureRatio: config.MaxFailureRatio ?? 0,
      Order: config.Order ?? '',
    },
    ['Parallelism', 'MaxFailureRatio', 'Order'],
  );
}

function updateConfigFrom(flags: ServiceFlags, kind: 'update' | 'rollback', base?: UpdateConfig | null): UpdateConfig | undefined {
  const given = {
    Parallelism: kind === 'update' ? flags.updateParallelism : flags.rollbackParallelism,
    Delay: kind === 'update' ? flags.updateDelay : flags.rollbackDelay,
    Monitor: kind === 'update' ? flags.updateMonitor : flags.rollbackMonitor,
    FailureAction: kind === 'update' ? flags.updateFailureAction : flags.rollbackFailureAction,
    MaxFailureRatio: kind === 'update' ? flags.updateMaxFailureRatio : flags.rollbackMaxFailureRatio,
    Order: kind === 'update' ? flags.updateOrder : flags.rollbackOrder,
  };
  if (Object.values(given).every((v) => v === undefined)) return undefined;
  const config: UpdateConfig = { ...(base ?? DEFAULT_UPDATE_CONFIG) };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) (config as Json)[key] = value;
  return updateConfigJson(config);
}

function restartPolicyFrom(flags: ServiceFlags, base?: ServiceSpec['TaskTemplate']['RestartPolicy']): ServiceSpec['TaskTemplate']['RestartPolicy'] | undefined {
  if ([flags.restartCondition, flags.restartDelay, flags.restartMaxAttempts, flags.restartWindow].every((v) => v === undefined)) return undefined;
  const policy = { ...(base ?? DEFAULT_RESTART) };
  if (flags.restartCondition !== undefined) policy.Condition = flags.restartCondition;
  if (flags.restartDelay !== undefined) policy.Delay = flags.restartDelay;
  if (flags.restartMaxAttempts !== undefined) policy.MaxAttempts = flags.restartMaxAttempts;
  if (flags.restartWindow !== undefined) policy.Window = flags.restartWindow;
  // Delay, MaxAttempts and Window are pointers in Go: written when set, even to 0.
  return omitEmpty(
    { Condition: policy.Condition, Delay: policy.Delay, MaxAttempts: policy.MaxAttempts, Window: policy.Window },
    ['Delay', 'MaxAttempts', 'Window'],
  );
}

/** docker's makeEnv: in order, a later KEY=… replacing an earlier one of the same key. */
function makeEnv(env: string[] | undefined): string[] {
  const current: string[] = [];
  for (const entry of env ?? []) {
    const key = entry.split('=')[0];
    const at = current.findIndex((c) => c !== entry && c.startsWith(`${key}=`));
    if (at >= 0) current.splice(at, 1);
    current.push(entry);
  }
  return current;
}

/** A HealthConfig in Go's field order, zero fields left out. */
function healthConfigJson(health: HealthConfig): HealthConfig {
  return omitEmpty({
    Test: health.Test,
    Interval: health.Interval,
    Timeout: health.Timeout,
    StartPeriod: health.StartPeriod,
    StartInterval: health.StartInterval,
    Retries: health.Retries,
  });
}

const NO_HEALTHCHECK_CONFLICT = '--no-healthcheck conflicts with --health-* options';

/** docker's toHealthConfig (create): ["NONE"] with --no-healthcheck, else only when a --health-* flag says something. */
function healthConfigFrom(flags: ServiceFlags, fail: (message: string) => never): HealthConfig | undefined {
  const said =
    Boolean(flags.healthCmd) ||
    flags.healthInterval !== undefined ||
    flags.healthTimeout !== undefined ||
    flags.healthStartPeriod !== undefined ||
    (flags.healthRetries ?? 0) !== 0;
  if (!flags.healthcheck) {
    if (said) fail(NO_HEALTHCHECK_CONFLICT);
    return { Test: ['NONE'] };
  }
  if (!said) return undefined;
  return healthConfigJson({
    Test: flags.healthCmd ? ['CMD-SHELL', flags.healthCmd] : undefined,
    Interval: flags.healthInterval,
    Timeout: flags.healthTimeout,
    StartPeriod: flags.healthStartPeriod,
    Retries: flags.healthRetries,
  });
}

function serviceMode(flags: CreateFlags, fail: (message: string) => never): ServiceMode {
  const maxPerNode = flags.replicasMaxPerNode ?? flags.maxReplicas ?? 0;
  switch (flags.mode) {
    case 'global':
    case 'global-job':
      if (flags.replicas !== undefined) fail('replicas can only be used with replicated or replicated-job mode');
      if (maxPerNode > 0) fail('replicas-max-per-node can only be used with replicated or replicated-job mode');
      if (flags.maxConcurrent !== undefined) fail('max-concurrent can only be used with replicated-job mode');
      return flags.mode === 'global' ? { Global: {} } : { GlobalJob: {} };
    case 'replicated-job':
      return { ReplicatedJob: omitEmpty({ MaxConcurrent: flags.maxConcurrent ?? flags.replicas, TotalCompletions: flags.replicas }, ['MaxConcurrent', 'TotalCompletions']) };
    default:
      if (flags.maxConcurrent !== undefined) fail('max-concurrent can only be used with replicated-job mode');
      return { Replicated: omitEmpty({ Replicas: flags.replicas }, ['Replicas']) };
  }
}

/** docker's ToService, field for field, in Go's order. */
function buildCreateSpec(image: string, args: string[], flags: CreateFlags, fail: (message: string) => never): ServiceSpec {
  const mode = serviceMode(flags, fail);
  const updateConfig = updateConfigFrom(flags, 'update');
  const rollbackConfig = updateConfigFrom(flags, 'rollback');
  if ((mode.ReplicatedJob || mode.GlobalJob) && (updateConfig || rollbackConfig)) fail('update and rollback configuration is not supported for jobs');
  const healthcheck = healthConfigFrom(flags, fail);
  const capabilities = effectiveCapabilities(flags.capAdd ?? [], flags.capDrop ?? []);
  const containerSpec = omitEmpty(
    {
      Image: image,
      Labels: kvMap(flags.containerLabel),
      Command: flags.entrypoint,
      Args: args.length > 0 ? args : undefined,
      Hostname: flags.hostname,
      // As docker's ReadKVEnvStrings: the env files' variables first, then each --env.
      Env: makeEnv([...(flags.envFile ?? []), ...(flags.env ?? [])]),
      Dir: flags.workdir,
      User: flags.user,
      Groups: flags.group,
      Init: flags.init ?? false,
      StopSignal: flags.stopSignal,
      TTY: flags.tty,
      ReadOnly: flags.readOnly,
      Mounts: flags.mount,
      StopGracePeriod: flags.stopGracePeriod,
      Healthcheck: healthcheck,
      DNSConfig: {},
      Sysctls: kvMap(flags.sysctl),
      CapabilityAdd: capabilities.add,
      CapabilityDrop: capabilities.drop,
      Ulimits: ulimitList(flags.ulimit ?? []),
    },
    ['Init', 'StopGracePeriod'],
  );
  const taskTemplate = omitEmpty(
    {
      ContainerSpec: containerSpec,
      Resources: {
        Limits: omitEmpty({ NanoCPUs: flags.limitCpu, MemoryBytes: flags.limitMemory }),
        Reservations: omitEmpty({ NanoCPUs: flags.reserveCpu, MemoryBytes: flags.reserveMemory }),
      },
      RestartPolicy: restartPolicyFrom(flags),
      Placement: omitEmpty({ Constraints: flags.constraint, Preferences: flags.placementPref, MaxReplicas: flags.replicasMaxPerNode ?? flags.maxReplicas }),
      ForceUpdate: 0,
    },
    ['Resources', 'Placement', 'ForceUpdate'],
  );
  return omitEmpty(
    {
      Name: flags.name ?? '',
      Labels: kvMap(flags.label),
      TaskTemplate: taskTemplate,
      Mode: mode,
      UpdateConfig: updateConfig,
      RollbackConfig: rollbackConfig,
      EndpointSpec: omitEmpty({ Mode: flags.endpointMode ?? 'vip', Ports: flags.publish }),
    },
    ['Labels', 'TaskTemplate', 'Mode'],
  ) as ServiceSpec;
}

/** docker's updateService, for the flags berth has, applied to the stored spec in place. */
function applyUpdate(spec: ServiceSpec, flags: UpdateFlags): void {
  const task = spec.TaskTemplate;
  const cspec = (task.ContainerSpec ??= {});

  if (spec.Labels && flags.labelRm) for (const key of flags.labelRm) delete spec.Labels[key];
  if (flags.labelAdd) spec.Labels = { ...(spec.Labels ?? {}), ...kvMap(flags.labelAdd) };
  if (cspec.Labels && flags.containerLabelRm) for (const key of flags.containerLabelRm) delete cspec.Labels[key];
  if (flags.containerLabelAdd) cspec.Labels = { ...(cspec.Labels ?? {}), ...kvMap(flags.containerLabelAdd) };
  if (flags.image !== undefined) cspec.Image = flags.image;
  if (flags.args !== undefined) cspec.Args = flags.args;
  updateEnvironment(cspec, flags);
  if (flags.workdir !== undefined) cspec.Dir = flags.workdir;
  if (flags.user !== undefined) cspec.User = flags.user;
  if (flags.hostname !== undefined) cspec.Hostname = flags.hostname;
  if (flags.init !== undefined) cspec.Init = flags.init;
  if (flags.entrypoint !== undefined) cspec.Command = flags.entrypoint;
  updateMounts(cspec, flags);
  updateSysctls(cspec, flags);
  updateUlimits(cspec, flags);

  if (flags.limitCpu !== undefined || flags.limitMemory !== undefined) {
    const resources = (task.Resources ??= {});
    const limits = (resources.Limits ??= {});
    resources.Reservations ??= {};
    if (flags.limitCpu !== undefined) limits.NanoCPUs = flags.limitCpu;
    if (flags.limitMemory !== undefined) limits.MemoryBytes = flags.limitMemory;
  }
  if (flags.reserveCpu !== undefined || flags.reserveMemory !== undefined) {
    const resources = (task.Resources ??= {});
    resources.Limits ??= {};
    const reservations = (resources.Reservations ??= {});
    if (flags.reserveCpu !== undefined) reservations.NanoCPUs = flags.reserveCpu;
    if (flags.reserveMemory !== undefined) reservations.MemoryBytes = flags.reserveMemory;
  }
  if (flags.stopGracePeriod !== undefined) cspec.StopGracePeriod = flags.stopGracePeriod;

  const restart = restartPolicyFrom(flags, task.RestartPolicy);
  if (restart) task.RestartPolicy = restart;

  if (flags.constraintAdd || flags.constraintRm) {
    const placement = (task.Placement ??= {});
    const remove = new Set(flags.constraintRm ?? []);
    placement.Constraints = [...(placement.Constraints ?? []), ...(flags.constraintAdd ?? [])].filter((c) => !remove.has(c));
  }
  if (flags.placementPrefAdd || flags.placementPrefRm) {
    const placement = (task.Placement ??= {});
    const remove = new Set((flags.placementPrefRm ?? []).map((p) => p.Spread.SpreadDescriptor));
    placement.Preferences = [
      ...(placement.Preferences ?? []).filter((p) => !remove.has(p.Spread?.SpreadDescriptor)),
      ...(flags.placementPrefAdd ?? []),
    ];
  }
  if (flags.replicas !== undefined) {
    if (!spec.Mode?.Replicated) throw new Error('replicas can only be used with replicated mode');
    spec.Mode.Replicated.Replicas = flags.replicas;
  }
  const maxPerNode = flags.replicasMaxPerNode ?? flags.maxReplicas;
  if (maxPerNode !== undefined) (task.Placement ??= {}).MaxReplicas = maxPerNode;

  const update = updateConfigFrom(flags, 'update', spec.UpdateConfig);
  if (update) spec.UpdateConfig = update;
  const rollback = updateConfigFrom(flags, 'rollback', spec.RollbackConfig);
  if (rollback) spec.RollbackConfig = rollback;

  if (flags.endpointMode !== undefined) (spec.EndpointSpec ??= {}).Mode = flags.endpointMode;
  if (flags.publishAdd || flags.publishRm) updatePorts((spec.EndpointSpec ??= {}), flags);

  if (flags.groupAdd || flags.groupRm) {
    const remove = new Set(flags.groupRm ?? []);
    cspec.Groups = [...(cspec.Groups ?? []), ...(flags.groupAdd ?? [])].filter((g) => !remove.has(g)).sort();
  }

  if (flags.force) task.ForceUpdate = (task.ForceUpdate ?? 0) + 1;
  updateHealthcheck(cspec, flags);
  if (flags.tty !== undefined) cspec.TTY = flags.tty;
  if (flags.readOnly !== undefined) cspec.ReadOnly = flags.readOnly;
  if (flags.stopSignal !== undefined) cspec.StopSignal = flags.stopSignal;
  if (flags.capAdd || flags.capDrop) {
    const capabilities = updateCapabilities({ add: cspec.CapabilityAdd, drop: cspec.CapabilityDrop }, { add: flags.capAdd, drop: flags.capDrop });
    cspec.CapabilityAdd = capabilities.add;
    cspec.CapabilityDrop = capabilities.drop;
  }
  if (spec.Labels) spec.Labels = sortedKeys(spec.Labels);
  // Docker posts its Go struct back: fields in Go's order, empty ones left out.
  task.ContainerSpec = containerSpecJson(cspec);
}

/** A ContainerSpec as Go marshals swarm.ContainerSpec; fields berth does not know keep their place after. */
function containerSpecJson(cspec: ContainerSpec): ContainerSpec {
  const out: ContainerSpec = {};
  const empty = (value: unknown): boolean =>
    value === '' ||
    value === 0 ||
    value === false ||
    (Array.isArray(value) && value.length === 0) ||
    (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0);
  for (const [key, kind] of CONTAINER_SPEC_FIELDS) {
    let value = cspec[key];
    if (value === undefined || value === null || (kind === 'omitempty' && empty(value))) continue;
    if ((key === 'Labels' || key === 'Sysctls') && typeof value === 'object') value = sortedKeys(value as Record<string, string>);
    out[key] = value;
  }
  const known = new Set(CONTAINER_SPEC_FIELDS.map(([key]) => key));
  for (const [key, value] of Object.entries(cspec)) if (!known.has(key)) out[key] = value;
  return out;
}

/** docker's updateMounts: --mount-add replaces a mount of the same target, --mount-rm removes by target; sorted by source, then target. */
function updateMounts(cspec: ContainerSpec, flags: UpdateFlags): void {
  const byTarget = new Map<string, Mount>();
  for (const mount of [...(flags.mountAdd ?? []), ...(cspec.Mounts ?? [])]) {
    if (!byTarget.has(mount.Target ?? '')) byTarget.set(mount.Target ?? '', mount);
  }
  const remove = new Set(flags.mountRm ?? []);
  const order = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  cspec.Mounts = [...byTarget.values()]
    .filter((m) => !remove.has(m.Target ?? ''))
    .sort((a, b) => order(a.Source ?? '', b.Source ?? '') || order(a.Target ?? '', b.Target ?? ''));
}

/** --sysctl-rm by key, then --sysctl-add. */
function updateSysctls(cspec: ContainerSpec, flags: UpdateFlags): void {
  if (cspec.Sysctls && flags.sysctlRm) for (const key of Object.keys(kvMap(flags.sysctlRm))) delete cspec.Sysctls[key];
  if (flags.sysctlAdd) cspec.Sysctls = { ...(cspec.Sysctls ?? {}), ...kvMap(flags.sysctlAdd) };
}

/** --ulimit-rm by name, then --ulimit-add; one per name, sorted by name (docker re-sorts on every update). */
function updateUlimits(cspec: ContainerSpec, flags: UpdateFlags): void {
  const byName = new Map<string, Ulimit>();
  for (const ulimit of cspec.Ulimits ?? []) byName.set(ulimit.Name, ulimit);
  for (const name of Object.keys(kvMap(flags.ulimitRm))) byName.delete(name);
  for (const ulimit of flags.ulimitAdd ?? []) byName.set(ulimit.Name, ulimit);
  cspec.Ulimits = ulimitList([...byName.values()]);
}

function healthFlagsGiven(flags: ServiceFlags): boolean {
  return [flags.healthCmd, flags.healthInterval, flags.healthTimeout, flags.healthRetries, flags.healthStartPeriod].some((v) => v !== undefined);
}

/**
 * docker's updateHealthcheck: --no-healthcheck sets ["NONE"]; otherwise the given --health-*
 * flags change the stored check (an empty --health-cmd drops its test, inheriting the image's).
 */
function updateHealthcheck(cspec: ContainerSpec, flags: UpdateFlags): void {
  if (!flags.healthcheck) {
    cspec.Healthcheck = { Test: ['NONE'] };
    return;
  }
  if (!healthFlagsGiven(flags)) return;
  const health: HealthConfig = { ...(cspec.Healthcheck ?? {}) };
  if (health.Test?.[0] === 'NONE') health.Test = undefined;
  if (flags.healthInterval !== undefined) health.Interval = flags.healthInterval;
  if (flags.healthTimeout !== undefined) health.Timeout = flags.healthTimeout;
  if (flags.healthStartPeriod !== undefined) health.StartPeriod = flags.healthStartPeriod;
  if (flags.healthRetries !== undefined) health.Retries = flags.healthRetries;
  if (flags.healthCmd !== undefined) health.Test = flags.healthCmd ? ['CMD-SHELL', flags.healthCmd] : undefined;
  cspec.Healthcheck = healthConfigJson(health);
}

/**
 * --env-rm then --env-add by key. Docker rebuilds the list through a Go map, so its order varies
 * from run to run; berth keeps the existing order and appends new keys, one of docker's orders.
 */
function updateEnvironment(cspec: ContainerSpec, flags: UpdateFlags): void {
  if (!flags.envRm && !flags.envAdd) return;
  const key = (entry: string): string => entry.split('=')[0];
  const remove = new Set(flags.envRm ?? []);
  let env = (cspec.Env ?? []).filter((e) => !remove.has(key(e)));
  for (const entry of flags.envAdd ?? []) {
    const at = env.findIndex((e) => key(e) === key(entry));
    if (at >= 0) env[at] = entry;
    else env = [...env, entry];
  }
  cspec.Env = env;
}

function portKey(p: PortConfig): string {
  return `${p.PublishedPort ?? 0}:${p.TargetPort ?? 0}/${p.Protocol ?? ''}/${p.PublishMode ?? ''}`;
}

/** docker's updatePorts: dedupe, remove by target/protocol/mode, add, sort by "published:target/proto/mode". */
function updatePorts(endpoint: NonNullable<ServiceSpec['EndpointSpec']>, flags: UpdateFlags): void {
  const existing = new Map<string, PortConfig>();
  for (const port of endpoint.Ports ?? []) if (!existing.has(portKey(port))) existing.set(portKey(port), port);
  const sameProtocol = (a?: string, b?: string): boolean => a === b || (!a && b === 'tcp') || (a === 'tcp' && !b);
  const sameMode = (a?: string, b?: string): boolean => a === b || (!a && b === 'ingress') || (a === 'ingress' && !b);
  const ports = [...existing.values()].filter(
    (p) => !(flags.publishRm ?? []).some((r) => sameProtocol(p.Protocol, r.Protocol) && p.TargetPort === r.TargetPort && sameMode(p.PublishMode, r.PublishMode)),
  );
  for (const port of flags.publishAdd ?? []) if (!existing.has(portKey(port))) ports.push(port);
  ports.sort((a, b) => (portKey(a) < portKey(b) ? -1 : portKey(a) > portKey(b) ? 1 : 0));
  endpoint.Ports = ports;
}

// ---------------------------------------------------------------------------------------------
// Image resolution (the docker client's resolveContainerSpecImage).

interface DistributionInspect {
  Descriptor?: { digest?: string };
  Platforms?: { architecture?: string; os?: string }[];
}

/**
 * GET /distribution/<image>/json pins the image to its digest and records its platforms. Any
 * failure only costs the pinning: docker warns and goes on, and so does berth.
 */
async function resolveImage(api: ImageRequests, spec: ServiceSpec): Promise<string | undefined> {
  const cspec = spec.TaskTemplate.ContainerSpec;
  if (!cspec?.Image) return undefined;
  const image = cspec.Image;
  try {
    const found = await api.get<DistributionInspect>(`/distribution/${encodeURI(image)}/json`);
    const digest = found?.Descriptor?.digest;
    if (!digest) throw new Error('no digest');
    if (!image.includes('@')) cspec.Image = `${image}@${digest}`;
    if (found.Platforms?.length) {
      const placement = (spec.TaskTemplate.Placement ??= {});
      placement.Platforms = found.Platforms.map((p) => ({
        Architecture: p.architecture?.toLowerCase() === 'arm' ? '' : (p.architecture ?? ''),
        OS: p.os ?? '',
      }));
    }
    return undefined;
  } catch {
    return (
      `image ${image} could not be accessed on a registry to record\n` +
      `its digest. Each node will access ${image} independently,\n` +
      'possibly leading to different nodes running different\n' +
      'versions of the image.\n'
    );
  }
}

// ---------------------------------------------------------------------------------------------
// --with-registry-auth: the distribution query and the create/update carry X-Registry-Auth.

/** The requests of a create or update that docker sends with the registry credentials. */
interface ImageRequests {
  get<T>(path: string, query?: Query): Promise<T>;
  post<T>(path: string, body: unknown, query?: Query): Promise<T>;
}

/** The client's own requests, with the X-Registry-Auth header when there are credentials. */
function imageRequests(client: EngineClient, registryAuth: string | undefined): ImageRequests {
  const headers = registryAuth === undefined ? undefined : { 'X-Registry-Auth': registryAuth };
  return {
    get: <T>(path: string, query?: Query) => client.get<T>(path, query, headers),
    post: <T>(path: string, body: unknown, query?: Query) => client.post<T>(path, body, query, headers),
  };
}

function printWarnings(warnings: (string | undefined)[] | null | undefined): void {
  for (const warning of warnings ?? []) if (warning !== undefined) process.stderr.write(`${warning}\n`);
}

// ---------------------------------------------------------------------------------------------
// The commands.

export function serviceCommand(): Command {
  const service = new Command('service').description('Manage swarm services (run on a manager)').enablePositionalOptions();

  addServiceFlags(
    service
      .command('create')
      .description('Create a service; without -d, wait until its tasks are running')
      .usage('[options] IMAGE [COMMAND] [ARG...]')
      .argument('<image>', 'image to run (a bare name means :latest)')
      .argument('[command...]', 'command and arguments (everything after IMAGE, options included)')
      .passThroughOptions()
      .option('--name <name>', 'service name')
      .addOption(new Option('--mode <mode>', 'service mode').choices(['replicated', 'global', 'replicated-job', 'global-job']).default('replicated'))
      .addOption(listOption('-e, --env <KEY=VALUE>', 'set environment variables (repeatable)', parseEnv))
      .addOption(listOption('-l, --label <key=value>', 'service labels (repeatable)', parseLabel))
      .addOption(listOption('--container-label <key=value>', 'container labels (repeatable)', parseLabel))
      .option('--constraint <expr>', 'placement constraints, e.g. node.role==manager (repeatable)', collect)
      .addOption(listOption('--placement-pref <pref>', 'placement preference, spread=<descriptor> (repeatable)', parsePlacementPref))
      .addOption(
        listOption('-p, --publish <port>', 'publish a port: [published:]target[/proto] or published=…,target=…,protocol=…,mode=ingress|host (repeatable)', parsePublish),
      )
      .addOption(listOption('--env-file <file>', 'read in a file of environment variables (repeatable)', (path) => readEnvFile(path)))
      .addOption(
        listOption(
          '--mount <mount>',
          'attach a filesystem mount: type=bind|volume|tmpfs,source=…,target=…[,readonly][,bind-propagation=…][,volume-driver=…,volume-opt=k=v,volume-label=k=v,volume-nocopy][,tmpfs-size=…,tmpfs-mode=…] (repeatable)',
          parseMount,
        ),
      )
      .option('--group <group>', 'set one or more supplementary user groups for the container (repeatable)', collect)
      .option('--sysctl <key=value>', 'sysctl options (repeatable)', collect)
      .addOption(listOption('--ulimit <name=soft[:hard]>', 'ulimit options, e.g. nofile=1024:2048 (repeatable)', parseUlimit)),
  ).action(async (image: string, args: string[], flags: CreateFlags, cmd: Command) => {
    const fail = (message: string): never => cmd.error(`${message}`, { exitCode: 2 });
    const spec = buildCreateSpec(tagImage(image), args, flags, fail);
    const client = clientOf(cmd);
    // As docker: the credentials of the image as given, sent with the distribution query and the create.
    const api = imageRequests(client, flags.withRegistryAuth ? registryAuthFor(image) : undefined);
    const warning = flags.resolveImage ? await resolveImage(api, spec) : undefined;
    const created = await api.post<{ ID: string; Warnings?: string[] | null }>('/services/create', spec);
    printWarnings([...(created.Warnings ?? []), warning]);
    process.stdout.write(`${created.ID}\n`);
    if (!flags.detach) await wait(client, created.ID, flags);
  });

  service.addCommand(logsCommand());

  service
    .command('ls')
    .alias('list')
    .description('List services with their running/desired task counts')
    .option('-q, --quiet', 'only print service IDs')
    .addOption(filterOption('filter services: id, label, mode, name (repeatable)'))
    .addOption(formatOption())
    .action(async (opts: { quiet?: boolean; filter?: string[]; format: OutputFormat }, cmd: Command) => {
      const client = clientOf(cmd);
      const filters = encodeFilters(opts.filter);
      let services = await client.get<Service[]>('/services', { filters, status: opts.quiet ? undefined : 'true' });
      services.sort((a, b) => naturalCompare(a.Spec?.Name ?? '', b.Spec?.Name ?? ''));
      if (opts.quiet) {
        process.stdout.write(services.map((s) => `${shortId(s.ID)}\n`).join(''));
        return;
      }
      services = await appendServiceStatus(client, services);
      if (opts.format === 'json') {
        process.stdout.write(json(services));
        return;
      }
      process.stdout.write(
        table(
          ['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'],
          services.map((s) => [shortId(s.ID), s.Spec?.Name ?? '', modeName(s.Spec?.Mode), replicasColumn(s), imageWithoutDigest(s.Spec?.TaskTemplate?.ContainerSpec?.Image ?? ''), portsColumn(s)]),
        ),
      );
    });

  service
    .command('ps')
    .description("List the tasks of services, older tasks of a slot indented under the current one")
    .argument('<service...>', 'service ID, name, or ID prefix')
    .addOption(filterOption('filter tasks: desired-state, id, name, node (repeatable)'))
    .option('-q, --quiet', 'only print task IDs')
    .option('--no-trunc', 'do not truncate IDs, images and errors')
    .option('--no-resolve', 'show service and node IDs instead of names')
    .addOption(formatOption())
    .action(async (refs: string[], opts: { filter?: string[]; quiet?: boolean; trunc: boolean; resolve: boolean; format: OutputFormat }, cmd: Command) => {
      const client = clientOf(cmd);
      const { serviceIds, notFound } = await resolveServices(client, refs);
      const filters: string[] = [];
      for (const filter of opts.filter ?? []) {
        const [key, value] = [filter.slice(0, filter.indexOf('=')), filter.slice(filter.indexOf('=') + 1)];
        filters.push(key.trim().toLowerCase() === 'node' && value.trim() === 'self' ? `node=${await selfNodeId(client)}` : filter);
      }
      filters.push(...serviceIds.map((id) => `service=${id}`));
      const tasks = await client.get<Task[]>('/tasks', { filters: encodeFilters(filters) });
      await printTasks(client, tasks, { format: opts.format, quiet: Boolean(opts.quiet), trunc: opts.quiet ? false : opts.trunc, resolve: opts.resolve });
      if (notFound.length > 0) throw new Error(notFound.join('\n'));
    });

  service
    .command('inspect')
    .description('Show services in detail: JSON by default, --pretty for people')
    .argument('<service...>', 'service ID, name, or ID prefix')
    .option('--pretty', 'print in a human-friendly format')
    .addOption(new Option('--format <format>', 'output format (JSON is the default)').choices(['json']))
    .action(async (refs: string[], opts: { pretty?: boolean; format?: string }, cmd: Command) => {
      if (opts.pretty && opts.format) cmd.error('--format is incompatible with human friendly format', { exitCode: 2 });
      const client = clientOf(cmd);
      const found: Service[] = [];
      const missing: string[] = [];
      for (const ref of refs) {
        try {
          const svc = await client.get<Service>(`/services/${encodeURIComponent(ref)}`, { insertDefaults: 'true' });
          if (opts.pretty) process.stdout.write(await prettyService(client, svc));
          else found.push(svc);
        } catch (err) {
          // As docker: a missing service becomes "no such service"; the pretty view stops there.
          if (!isNotFound(err)) throw err;
          missing.push(`Error: no such service: ${ref}`);
          if (opts.pretty) break;
        }
      }
      if (!opts.pretty) process.stdout.write(json(found));
      if (missing.length > 0) {
        process.stderr.write(`${missing.join('\n')}\n`);
        throw new AlreadyReported();
      }
    });

  service
    .command('scale')
    .description('Scale replicated services: berth service scale web=5 [api=2 …]')
    .argument('<service=replicas...>', 'service ID, name or ID prefix, and its task count')
    .option('-d, --detach', 'exit immediately instead of waiting for the services to converge')
    .addOption(timeoutOption())
    .action(async (pairs: string[], opts: { detach?: boolean; timeout: number }, cmd: Command) => {
      for (const pair of pairs) {
        const at = pair.indexOf('=');
        if (at <= 0 || at === pair.length - 1) cmd.error(`invalid scale specifier '${pair}' (expected SERVICE=REPLICAS)`, { exitCode: 2 });
      }
      const client = clientOf(cmd);
      const errors: string[] = [];
      const scaled: string[] = [];
      for (const pair of pairs) {
        const ref = pair.slice(0, pair.indexOf('='));
        const count = pair.slice(pair.indexOf('=') + 1);
        let replicas: number;
        try {
          replicas = parseUint(count);
        } catch (err) {
          errors.push(`berth: ${ref}: invalid replicas value ${count}: ${(err as Error).message}`);
          continue;
        }
        try {
          const svc = await client.get<Service>(`/services/${encodeURIComponent(ref)}`, { insertDefaults: 'false' });
          const mode = svc.Spec.Mode ?? {};
          if (mode.Replicated) mode.Replicated.Replicas = replicas;
          else if (mode.ReplicatedJob) mode.ReplicatedJob.TotalCompletions = replicas;
          else throw new Error('scale can only be used with replicated or replicated-job mode');
          const res = await client.post<{ Warnings?: string[] | null }>(`/services/${encodeURIComponent(svc.ID)}/update`, svc.Spec, { version: String(svc.Version.Index) });
          printWarnings(res?.Warnings);
          process.stdout.write(`${ref} scaled to ${replicas}\n`);
          scaled.push(ref);
        } catch (err) {
          errors.push(prefixed(ref, err));
        }
      }
      if (!opts.detach) {
        for (const ref of scaled) {
          try {
            await wait(client, ref, { quiet: false, timeout: opts.timeout });
          } catch (err) {
            errors.push(prefixed(ref, err));
          }
        }
      }
      if (errors.length > 0) {
        process.stderr.write(`${errors.join('\n')}\n`);
        throw new AlreadyReported();
      }
    });

  addServiceFlags(
    service
      .command('update')
      .description('Change a service: the stored spec with the flags applied, posted back at the version read')
      .argument('<service>', 'service ID, name, or ID prefix')
      .option('--image <image>', 'service image tag')
      .addOption(valueOption('--args <command>', 'service command args (a shell-quoted string)', splitShellWords))
      .option('--force', 'force an update even if no changes require it')
      .option('--rollback', 'roll back to the previous specification')
      .addOption(listOption('--env-add <KEY=VALUE>', 'add or update an environment variable (repeatable)', parseEnv))
      .option('--env-rm <KEY>', 'remove an environment variable (repeatable)', collect)
      .addOption(listOption('--label-add <key=value>', 'add or update a service label (repeatable)', parseLabel))
      .option('--label-rm <key>', 'remove a label by its key (repeatable)', collect)
      .addOption(listOption('--container-label-add <key=value>', 'add or update a container label (repeatable)', parseLabel))
      .option('--container-label-rm <key>', 'remove a container label by its key (repeatable)', collect)
      .option('--constraint-add <expr>', 'add or update a placement constraint (repeatable)', collect)
      .option('--constraint-rm <expr>', 'remove a constraint (repeatable)', collect)
      .addOption(listOption('--placement-pref-add <pref>', 'add a placement preference (repeatable)', parsePlacementPref))
      .addOption(listOption('--placement-pref-rm <pref>', 'remove a placement preference (repeatable)', parsePlacementPref))
      .addOption(listOption('--publish-add <port>', 'add or update a published port (repeatable)', parsePublish))
      .addOption(listOption('--publish-rm <port>', 'remove a published port by its target port (repeatable)', parsePublish))
      .addOption(listOption('--mount-add <mount>', 'add or update a mount on a service, replacing one of the same target (repeatable; syntax of create --mount)', parseMount))
      .option('--mount-rm <target>', 'remove a mount by its target path (repeatable)', collect)
      .option('--group-add <group>', 'add an additional supplementary user group to the container (repeatable)', collect)
      .option('--group-rm <group>', 'remove a previously added supplementary user group (repeatable)', collect)
      .option('--sysctl-add <key=value>', 'add or update a sysctl option (repeatable)', collect)
      .option('--sysctl-rm <key>', 'remove a sysctl option (repeatable)', collect)
      .addOption(listOption('--ulimit-add <name=soft[:hard]>', 'add or update a ulimit option (repeatable)', parseUlimit))
      .option('--ulimit-rm <name>', 'remove a ulimit option (repeatable)', collect),
  ).action(async (ref: string, flags: UpdateFlags, cmd: Command) => {
    const fail = (message: string): never => cmd.error(message, { exitCode: 2 });
    if (flags.rollback) {
      const others = cmd.options
        .map((o) => o.attributeName())
        .filter((name) => !['rollback', 'detach', 'quiet', 'timeout'].includes(name) && cmd.getOptionValueSource(name) === 'cli');
      if (others.length > 0) fail('other flags may not be combined with --rollback');
    }
    if (!flags.healthcheck && healthFlagsGiven(flags)) fail(NO_HEALTHCHECK_CONFLICT);
    const targets = (flags.mountAdd ?? []).map((m) => m.Target);
    if (new Set(targets).size < targets.length) fail('duplicate mount target');
    const client = clientOf(cmd);
    const svc = await client.get<Service>(`/services/${encodeURIComponent(ref)}`, { insertDefaults: 'false' });
    const spec = svc.Spec;
    spec.TaskTemplate ??= {};
    applyUpdate(spec, flags);
    const cspec = spec.TaskTemplate.ContainerSpec;
    if (cspec?.Image) cspec.Image = tagImage(cspec.Image);
    // As docker: the credentials of the image the service will run; with them, no registryAuthFrom.
    const api = imageRequests(client, flags.withRegistryAuth && cspec?.Image ? registryAuthFor(cspec.Image) : undefined);
    const warning = flags.image !== undefined && flags.resolveImage ? await resolveImage(api, spec) : undefined;
    const res = await api.post<{ Warnings?: string[] | null }>(`/services/${encodeURIComponent(svc.ID)}/update`, spec, {
      registryAuthFrom: flags.withRegistryAuth ? undefined : 'spec',
      rollback: flags.rollback ? 'previous' : undefined,
      version: String(svc.Version.Index),
    });
    printWarnings([...(res?.Warnings ?? []), warning]);
    process.stdout.write(`${ref}\n`);
    if (!flags.detach) await wait(client, ref, flags);
  });

  service
    .command('rollback')
    .description("Revert a service to its previous spec (the daemon swaps in PreviousSpec)")
    .argument('<service>', 'service ID, name, or ID prefix')
    .option('-d, --detach', 'exit immediately instead of waiting for the service to converge')
    .option('-q, --quiet', 'suppress progress output')
    .addOption(timeoutOption())
    .action(async (ref: string, opts: { detach?: boolean; quiet?: boolean; timeout: number }, cmd: Command) => {
      const client = clientOf(cmd);
      const svc = await client.get<Service>(`/services/${encodeURIComponent(ref)}`, { insertDefaults: 'false' });
      const res = await client.post<{ Warnings?: string[] | null }>(`/services/${encodeURIComponent(svc.ID)}/update`, svc.Spec, {
        rollback: 'previous',
        version: String(svc.Version.Index),
      });
      printWarnings(res?.Warnings);
      process.stdout.write(`${ref}\n`);
      if (!opts.detach) await wait(client, ref, opts);
    });

  // Swarm has only `service update --force`; this says what is meant and keeps the spec as it is.
  service
    .command('restart')
    .description('Restart every task of a service, batch by batch as its UpdateConfig says (a forced rolling update)')
    .argument('<service>', 'service ID, name, or ID prefix')
    .option('-d, --detach', 'exit immediately instead of waiting for the restart to finish')
    .option('-q, --quiet', 'suppress progress output')
    .addOption(timeoutOption())
    .action(async (ref: string, opts: { detach?: boolean; quiet?: boolean; timeout: number }, cmd: Command) => {
      const client = clientOf(cmd);
      const svc = await client.get<Service>(`/services/${encodeURIComponent(ref)}`, { insertDefaults: 'false' });
      const spec = svc.Spec;
      spec.TaskTemplate ??= {};
      spec.TaskTemplate.ForceUpdate = (spec.TaskTemplate.ForceUpdate ?? 0) + 1;
      const res = await client.post<{ Warnings?: string[] | null }>(`/services/${encodeURIComponent(svc.ID)}/update`, spec, {
        registryAuthFrom: 'spec',
        version: String(svc.Version.Index),
      });
      printWarnings(res?.Warnings);
      process.stdout.write(`${ref}\n`);
      if (!opts.detach) await wait(client, ref, opts);
    });

  service
    .command('rm')
    .alias('remove')
    .description('Remove services (their tasks are shut down)')
    .argument('<service...>', 'service ID, name, or ID prefix')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      const client = clientOf(cmd);
      const errors: unknown[] = [];
      for (const ref of refs) {
        try {
          await client.delete(`/services/${encodeURIComponent(ref)}`);
          process.stdout.write(`${ref}\n`);
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length > 0) {
        for (const err of errors) process.stderr.write(`${describeError(err)}\n`);
        throw new AlreadyReported();
      }
    });

  return service;
}

function wait(client: EngineClient, ref: string, flags: { quiet?: boolean; timeout: number }): Promise<void> {
  return waitOnService(client, ref, { quiet: Boolean(flags.quiet), timeoutNs: flags.timeout, psHint: `berth service ps ${ref}` });
}

function prefixed(ref: string, err: unknown): string {
  if (err instanceof ApiError) return `${ref}: Error response from daemon: ${err.message}`;
  return `berth: ${ref}: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * docker's service ps lookup: GET /services?filters={"id":…} then {"name":…}, then match each
 * reference by full ID, exact name, unique ID prefix, client side.
 */
async function resolveServices(client: EngineClient, refs: string[]): Promise<{ serviceIds: string[]; notFound: string[] }> {
  const byId = await client.get<Service[]>('/services', { filters: encodeFilters(refs.map((r) => `id=${r}`)) });
  const byName = await client.get<Service[]>('/services', { filters: encodeFilters(refs.map((r) => `name=${r}`)) });
  const serviceIds: string[] = [];
  const notFound: string[] = [];
  for (const ref of refs) {
    const exact = byId.find((s) => s.ID === ref) ?? byName.find((s) => s.Spec?.Name === ref);
    if (exact) {
      serviceIds.push(exact.ID);
      continue;
    }
    const prefixed = byId.filter((s) => s.ID.startsWith(ref));
    if (prefixed.length > 1) throw new Error(`multiple services found with provided prefix: ${ref}`);
    if (prefixed.length === 1) serviceIds.push(prefixed[0].ID);
    else notFound.push(`no such service: ${ref}`);
  }
  if (serviceIds.length === 0) throw new Error(notFound.join('\n'));
  return { serviceIds, notFound };
}

// ---------------------------------------------------------------------------------------------
// service ls columns.

/**
 * Without ServiceStatus (a daemon below API 1.41), docker counts from the tasks: desired unless
 * shut down, running when running on a node that is not down.
 */
async function appendServiceStatus(client: EngineClient, services: Service[]): Promise<Service[]> {
  const counted = new Map<string, { RunningTasks: number; DesiredTasks: number }>();
  for (const s of services) {
    if (s.ServiceStatus) continue;
    if (s.Spec?.Mode?.Replicated) {
      s.ServiceStatus = { DesiredTasks: s.Spec.Mode.Replicated.Replicas ?? 0, RunningTasks: 0 };
      counted.set(s.ID, { RunningTasks: 0, DesiredTasks: 0 });
    } else if (s.Spec?.Mode?.Global) {
      s.ServiceStatus = {};
      counted.set(s.ID, { RunningTasks: 0, DesiredTasks: 0 });
    }
  }
  if (counted.size === 0) return services;
  const tasks = await client.get<Task[]>('/tasks', { filters: encodeFilters([...counted.keys()].map((id) => `service=${id}`)) });
  if (tasks.length === 0) return services;
  const nodes = await client.get<{ ID: string; Status?: { State?: string } }[]>('/nodes');
  const active = new Set(nodes.filter((n) => n.Status?.State !== 'down').map((n) => n.ID));
  for (const task of tasks) {
    const status = counted.get(task.ServiceID);
    if (!status) continue;
    if (task.DesiredState !== 'shutdown') status.DesiredTasks++;
    if (task.NodeID && active.has(task.NodeID) && task.Status?.State === 'running') status.RunningTasks++;
  }
  for (const s of services) {
    const status = counted.get(s.ID);
    if (status) s.ServiceStatus = status;
  }
  return services;
}

function modeName(mode: ServiceMode | undefined): string {
  if (mode?.Global) return 'global';
  if (mode?.Replicated) return 'replicated';
  if (mode?.ReplicatedJob) return 'replicated job';
  if (mode?.GlobalJob) return 'global job';
  return '';
}

function replicasColumn(s: Service): string {
  const running = s.ServiceStatus?.RunningTasks ?? 0;
  const desired = s.ServiceStatus?.DesiredTasks ?? 0;
  const completed = s.ServiceStatus?.CompletedTasks ?? 0;
  const mode = s.Spec?.Mode;
  if (mode?.ReplicatedJob) return `${running}/${desired} (${completed}/${mode.ReplicatedJob.TotalCompletions ?? 0} completed)`;
  if (mode?.GlobalJob) return `${running}/${desired} (${completed}/${desired + completed} completed)`;
  const max = mode?.Replicated ? (s.Spec.TaskTemplate?.Placement?.MaxReplicas ?? 0) : 0;
  return max > 0 ? `${running}/${desired} (max ${max} per node)` : `${running}/${desired}`;
}

/** Ingress ports from Endpoint.Ports, consecutive ones folded into ranges: "*:8080-8081->80-81/tcp". */
function portsColumn(s: Service): string {
  const ports = [...(s.Endpoint?.Ports ?? [])].sort((a, b) =>
    a.Protocol === b.Protocol ? (a.PublishedPort ?? 0) - (b.PublishedPort ?? 0) : (a.Protocol ?? '') < (b.Protocol ?? '') ? -1 : 1,
  );
  const out: string[] = [];
  let range: { pStart: number; pEnd: number; tStart: number; tEnd: number; protocol: string } | undefined;
  const show = (r: NonNullable<typeof range>): string =>
    `*:${r.pEnd > r.pStart ? `${r.pStart}-${r.pEnd}` : r.pStart}->${r.tEnd > r.tStart ? `${r.tStart}-${r.tEnd}` : r.tStart}/${r.protocol}`;
  for (const p of ports) {
    if (p.PublishMode !== 'ingress') continue;
    const published = p.PublishedPort ?? 0;
    const target = p.TargetPort ?? 0;
    // Go's uint32 arithmetic: a smaller port wraps around and starts a new range.
    const u32 = (n: number): number => n >>> 0;
    if (
      !range ||
      p.Protocol !== range.protocol ||
      u32(published - range.pEnd) > 1 ||
      u32(target - range.tEnd) > 1 ||
      (range.tEnd !== range.tStart && target <= range.tEnd)
    ) {
      if (range && range.pStart > 0) out.push(show(range));
      range = { pStart: published, pEnd: published, tStart: target, tEnd: target, protocol: p.Protocol ?? '' };
      continue;
    }
    range.pEnd = published;
    range.tEnd = target;
  }
  if (range && range.pStart > 0) out.push(show(range));
  return out.join(', ');
}

// ---------------------------------------------------------------------------------------------
// service inspect --pretty: docker's serviceInspectPrettyTemplate, tabs and all.

async function prettyService(client: EngineClient, s: Service): Promise<string> {
  const spec = s.Spec;
  const task = spec.TaskTemplate ?? {};
  const c = task.ContainerSpec ?? {};
  const lines = ['', `ID:\t\t${s.ID}`, `Name:\t\t${spec.Name ?? ''}`];
  const labels = Object.keys(spec.Labels ?? {}).sort();
  if (labels.length > 0) {
    lines.push('Labels:');
    for (const k of labels) lines.push(` ${k}${spec.Labels![k] ? `=${spec.Labels![k]}` : ''}`);
  }
  if (spec.Mode?.Global) lines.push('Service Mode:\tGlobal');
  else if (spec.Mode?.Replicated) {
    lines.push('Service Mode:\tReplicated');
    if (spec.Mode.Replicated.Replicas !== undefined) lines.push(` Replicas:\t${spec.Mode.Replicated.Replicas}`);
  } else lines.push('Service Mode:');
  const us = s.UpdateStatus;
  if (us?.State) {
    lines.push('UpdateStatus:', ` State:\t\t${us.State}`);
    if (us.StartedAt) lines.push(` Started:\t${ago(us.StartedAt)}`);
    if (us.State === 'completed' && us.CompletedAt) lines.push(` Completed:\t${ago(us.CompletedAt)}`);
    lines.push(` Message:\t${us.Message ?? ''}`);
  }
  lines.push('Placement:');
  if (task.Placement?.Constraints?.length) lines.push(` Constraints:\t[${task.Placement.Constraints.join(' ')}]`);
  if (task.Placement?.Preferences?.length) {
    lines.push(` Preferences:   [${task.Placement.Preferences.map((p) => `spread=${p.Spread?.SpreadDescriptor ?? ''}`).join(' ')}]`);
  }
  if (task.Placement?.MaxReplicas) lines.push(` Max Replicas Per Node:   ${task.Placement.MaxReplicas}`);
  for (const [title, config, order] of [
    ['UpdateConfig', spec.UpdateConfig, ' Update order:      '],
    ['RollbackConfig', spec.RollbackConfig, ' Rollback order:    '],
  ] as const) {
    if (!config) continue;
    lines.push(`${title}:`, ` Parallelism:\t${config.Parallelism ?? 0}`);
    if ((config.Delay ?? 0) > 0) lines.push(` Delay:\t\t${formatGoDuration(config.Delay!)}`);
    lines.push(` On failure:\t${config.FailureAction ?? ''}`);
    if ((config.Monitor ?? 0) > 0) lines.push(` Monitoring Period: ${formatGoDuration(config.Monitor!)}`);
    lines.push(` Max failure ratio: ${config.MaxFailureRatio ?? 0}`, `${order}${config.Order ?? ''}`);
  }
  lines.push('ContainerSpec:', ` Image:\t\t${c.Image ?? ''}`);
  if (c.Args?.length) lines.push(` Args:\t\t${c.Args.map((a) => `${a} `).join('')}`);
  if (c.Env?.length) lines.push(` Env:\t\t${c.Env.map((e) => `${e} `).join('')}`);
  if (c.Dir) lines.push(` Dir:\t\t${c.Dir}`);
  if (c.Init !== undefined && c.Init !== null) lines.push(` Init:\t\t${c.Init}`);
  if (c.User) lines.push(` User: ${c.User}`);
  const resources = task.Resources;
  if (resources) {
    const r = resources.Reservations ?? {};
    const l = resources.Limits ?? {};
    lines.push('Resources:');
    if ((r.NanoCPUs ?? 0) > 0 || (r.MemoryBytes ?? 0) > 0) {
      lines.push(' Reservations:');
      if ((r.NanoCPUs ?? 0) > 0) lines.push(`  CPU:\t\t${r.NanoCPUs! / 1e9}`);
      if (r.MemoryBytes) lines.push(`  Memory:\t${bytesSize(r.MemoryBytes)}`);
    }
    if ((l.NanoCPUs ?? 0) > 0 || (l.MemoryBytes ?? 0) > 0 || (l.Pids ?? 0) > 0) {
      lines.push(' Limits:');
      if ((l.NanoCPUs ?? 0) > 0) lines.push(`  CPU:\t\t${l.NanoCPUs! / 1e9}`);
      if (l.MemoryBytes) lines.push(`  Memory:\t${bytesSize(l.MemoryBytes)}`);
    }
    if ((l.Pids ?? 0) > 0) lines.push(`  PIDs:\t\t${l.Pids}`);
  }
  const networks = (task.Networks as { Target?: string }[] | undefined) ?? [];
  if (networks.length > 0) {
    const names: string[] = [];
    for (const n of networks) {
      const target = n.Target ?? '';
      try {
        const found = await client.get<{ Name?: string }>(`/networks/${encodeURIComponent(target)}`, { scope: 'swarm' });
        names.push(found.Name || target);
      } catch {
        names.push(target);
      }
    }
    lines.push(`Networks:${names.map((n) => ` ${n}`).join('')} `);
  }
  lines.push(`Endpoint Mode:\t${spec.EndpointSpec?.Mode ?? ''}`);
  const ports = s.Endpoint?.Ports ?? [];
  if (ports.length > 0) {
    lines.push('Ports:');
    for (const p of ports) {
      lines.push(` PublishedPort = ${p.PublishedPort ?? 0}`, `  Protocol = ${p.Protocol ?? ''}`, `  TargetPort = ${p.TargetPort ?? 0}`, `  PublishMode = ${p.PublishMode ?? ''}`);
    }
    lines[lines.length - 1] += ' ';
  }
  return `${lines.join('\n')}\n`;
}

function ago(timestamp: string): string {
  const then = Date.parse(timestamp);
  return Number.isNaN(then) ? '' : `${humanDuration(Math.max(0, Date.now() - then))} ago`;
}
