// What a task asks of a node, read once per group of identical tasks from the loosely typed
// Task.Spec (a copy of the service's TaskTemplate, Docker Engine API shape). Everything the
// filters and the spread strategy need is here, already parsed, so per-node checks touch only
// numbers, strings and sets.
import type { Constraint } from './constraints.js';
import { parseConstraints } from './constraints.js';

/** A task as the scheduler reads it: the store's Task, frozen or not, narrowed to what we use. */
export interface SchedulableTask {
  readonly ID: string;
  readonly ServiceID: string;
  readonly Spec: unknown;
  readonly NodeID?: string;
  /**
   * The service endpoint copied onto the task (SwarmKit's Task.Endpoint); its host-mode published
   * ports must be free on the node. Not in the store's Task type, so read loosely.
   */
  readonly Endpoint?: unknown;
}

export interface PlatformRequirement {
  /** Lowercase; '' matches any. */
  readonly os: string;
  /** Normalized (see normalizeArch); '' matches any. */
  readonly arch: string;
}

/** What a task holds on the node it runs on; NodeInfo keeps these per task. */
export interface ResourceDemand {
  readonly serviceId: string;
  readonly nanoCPUs: number;
  readonly memoryBytes: number;
  /** `${port}/${protocol}` for each host-mode published port. */
  readonly hostPorts: readonly string[];
}

export interface TaskRequirements extends ResourceDemand {
  readonly constraints: readonly Constraint[];
  /** Spread descriptors, outermost first: `node.labels.zone`, … */
  readonly spreadOver: readonly string[];
  /** At most this many tasks of the service per node; 0 means no limit. */
  readonly maxReplicas: number;
  /** Any one must match the node; empty means any platform. */
  readonly platforms: readonly PlatformRequirement[];
}

type Loose = Record<string, unknown> | undefined;

function field(object: unknown, name: string): unknown {
  return typeof object === 'object' && object !== null ? (object as Record<string, unknown>)[name] : undefined;
}

function nonNegative(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/** Docker reports x86_64/aarch64 from uname but images say amd64/arm64; compare the latter. */
export function normalizeArch(arch: string): string {
  const lower = arch.toLowerCase();
  switch (lower) {
    case 'x86_64': case 'x86-64': return 'amd64';
    case 'aarch64': return 'arm64';
    case 'armhf': case 'armv7l': return 'arm';
    case 'i386': case 'i686': return '386';
    default: return lower;
  }
}

function hostPortsOf(task: SchedulableTask): string[] {
  const endpoint = task.Endpoint;
  const ports = field(field(endpoint, 'Spec'), 'Ports') ?? field(endpoint, 'Ports');
  if (!Array.isArray(ports)) return [];
  const keys: string[] = [];
  for (const port of ports) {
    if (field(port, 'PublishMode') !== 'host') continue;
    const published = field(port, 'PublishedPort');
    // A host-mode port without a published number gets a dynamic port from the worker: no conflict.
    if (typeof published !== 'number' || published <= 0) continue;
    const protocol = field(port, 'Protocol');
    keys.push(`${published}/${typeof protocol === 'string' && protocol !== '' ? protocol : 'tcp'}`);
  }
  return keys;
}

/** Resources and ports only: cheap, never throws; used for tasks already on nodes. */
export function resourceDemandOf(task: SchedulableTask): ResourceDemand {
  const reservations = field(field(task.Spec, 'Resources'), 'Reservations');
  return {
    serviceId: task.ServiceID,
    nanoCPUs: nonNegative(field(reservations, 'NanoCPUs')),
    memoryBytes: nonNegative(field(reservations, 'MemoryBytes')),
    hostPorts: hostPortsOf(task),
  };
}

/**
 * Everything placement needs. Throws ConstraintParseError for a bad constraint (the API refuses
 * those, so only a spec written around it gets here; the task then stays pending saying why).
 */
export function requirementsOf(task: SchedulableTask): TaskRequirements {
  const placement = field(task.Spec, 'Placement') as Loose;
  const constraints = field(placement, 'Constraints');
  const preferences = field(placement, 'Preferences');
  const platforms = field(placement, 'Platforms');
  return {
    ...resourceDemandOf(task),
    constraints: parseConstraints(Array.isArray(constraints) ? constraints.filter((c): c is string => typeof c === 'string') : []),
    spreadOver: Array.isArray(preferences)
      ? preferences.map((p) => field(field(p, 'Spread'), 'SpreadDescriptor')).filter((d): d is string => typeof d === 'string' && d !== '')
      : [],
    maxReplicas: Math.floor(nonNegative(field(placement, 'MaxReplicas'))),
    platforms: Array.isArray(platforms)
      ? platforms.map((p) => ({
        os: String(field(p, 'OS') ?? '').toLowerCase(),
        arch: normalizeArch(String(field(p, 'Architecture') ?? '')),
      }))
      : [],
  };
}

const specKeys = new WeakMap<object, string>();

/** Structural equality of JSON-shaped values. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

/** The previous spec keyed, to reuse its key for the next task of the same service (the usual order). */
let lastSpec: { reservations: unknown; placement: unknown; key: string } | undefined;

/**
 * The spec part of a task's group key: its reservations and placement, serialized. Cached per
 * Spec object, so tasks sharing a spec object pay nothing.
 */
export function specKeyOf(task: SchedulableTask): string {
  const spec = task.Spec;
  let specKey = typeof spec === 'object' && spec !== null ? specKeys.get(spec) : undefined;
  if (specKey === undefined) {
    const reservations = field(field(spec, 'Resources'), 'Reservations') ?? null;
    const placement = field(spec, 'Placement') ?? null;
    // Comparing with the last spec is several times cheaper than serializing this one.
    if (lastSpec && sameValue(lastSpec.reservations, reservations) && sameValue(lastSpec.placement, placement)) {
      specKey = lastSpec.key;
    } else {
      specKey = JSON.stringify([reservations, placement]);
      lastSpec = { reservations, placement, key: specKey };
    }
    if (typeof spec === 'object' && spec !== null) specKeys.set(spec, specKey);
  }
  return specKey;
}

/** The ports part of a task's group key: its host-mode published ports. */
export function hostPortsKeyOf(task: SchedulableTask): string {
  return task.Endpoint === undefined ? '' : hostPortsOf(task).join(',');
}

/** A group key from its parts: service, specKeyOf, hostPortsKeyOf. */
export function joinGroupKey(serviceId: string, specKey: string, portsKey: string): string {
  return `${serviceId}\u0000${specKey}\u0000${portsKey}`;
}

/**
 * Tasks with equal keys have identical requirements and are placed as one group. Equal parts
 * (service, specKeyOf, hostPortsKeyOf) make equal keys, so a caller holding an earlier task's
 * parts may compare those instead of building and hashing this string.
 */
export function groupKeyOf(task: SchedulableTask): string {
  return joinGroupKey(task.ServiceID, specKeyOf(task), hostPortsKeyOf(task));
}
