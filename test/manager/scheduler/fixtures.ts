// Builders for scheduler tests: nodes as NodeInfos (pure tests) and tasks with just the fields
// placement reads.
import { NodeInfo } from '../../../manager/scheduler/node-info.js';
import type { SchedulableTask } from '../../../manager/scheduler/requirements.js';
import { requirementsOf } from '../../../manager/scheduler/requirements.js';
import type { TaskRequirements } from '../../../manager/scheduler/requirements.js';

export const GiB = 1024 ** 3;
export const CORE = 1e9;

export function node(id: string, fields: Partial<ConstructorParameters<typeof NodeInfo>[0]> = {}): NodeInfo {
  return new NodeInfo({ hostname: id, os: 'linux', arch: 'x86_64', nanoCPUs: 4 * CORE, memoryBytes: 8 * GiB, ...fields, id });
}

export interface TaskSpecFields {
  cpus?: number;
  memory?: number;
  constraints?: string[];
  spread?: string[];
  maxReplicas?: number;
  platforms?: { OS?: string; Architecture?: string }[];
  hostPorts?: number[];
}

export function spec(fields: TaskSpecFields = {}): Record<string, unknown> {
  return {
    ContainerSpec: { Image: 'nginx:alpine' },
    Resources: { Reservations: { NanoCPUs: (fields.cpus ?? 0) * CORE, MemoryBytes: fields.memory ?? 0 } },
    Placement: {
      Constraints: fields.constraints ?? [],
      Preferences: (fields.spread ?? []).map((d) => ({ Spread: { SpreadDescriptor: d } })),
      ...(fields.maxReplicas ? { MaxReplicas: fields.maxReplicas } : {}),
      ...(fields.platforms ? { Platforms: fields.platforms } : {}),
    },
  };
}

function endpoint(ports: number[] | undefined): Record<string, unknown> | undefined {
  if (!ports) return undefined;
  return { Spec: { Ports: ports.map((p) => ({ Protocol: 'tcp', TargetPort: 80, PublishedPort: p, PublishMode: 'host' })) } };
}

export function tasks(serviceId: string, count: number, fields: TaskSpecFields = {}): SchedulableTask[] {
  return Array.from({ length: count }, (_, i) => {
    const ep = endpoint(fields.hostPorts);
    return { ID: `${serviceId}-task-${i + 1}`, ServiceID: serviceId, Spec: spec(fields), ...(ep ? { Endpoint: ep } : {}) };
  });
}

export function requirements(serviceId: string, fields: TaskSpecFields = {}): TaskRequirements {
  return requirementsOf(tasks(serviceId, 1, fields)[0]);
}

/** Node ID → number of assignments, for every node listed (zeros included). */
export function countByNode(assignments: readonly { nodeId: string }[], nodeIds: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(nodeIds.map((id) => [id, 0]));
  for (const a of assignments) counts[a.nodeId] = (counts[a.nodeId] ?? 0) + 1;
  return counts;
}
