// npm run bench:scheduler [-- --nodes N --services S --tasks-per-service T --batch B --seed X]
// The scheduler's placement pipeline alone (no store, no raft): 5,000 synthetic nodes with mixed
// labels, roles, platforms and sizes; 100,000 pending tasks of 1,000 services with mixed
// constraints, reservations, spread preferences, MaxReplicas and host ports, each task with its
// own copy of its service's spec (as tasks read from the store have). Tasks are placed in
// batches of B (default 1,000: ten services' worth, in creation order) against node state that
// accumulates across batches. Prints `name value unit` lines:
//   scheduler_tasks_per_sec, scheduler_batch_p50_ms, scheduler_batch_p99_ms, scheduler_unplaceable, …
import { parseArgs } from 'node:util';
import { NodeInfo } from '../../manager/scheduler/node-info.js';
import { placeTasks } from '../../manager/scheduler/pipeline.js';
import type { SchedulableTask } from '../../manager/scheduler/requirements.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5000' },
    services: { type: 'string', default: '1000' },
    'tasks-per-service': { type: 'string', default: '100' },
    batch: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '42' },
  },
});
const NODES = Number(values.nodes);
const SERVICES = Number(values.services);
const TASKS_PER_SERVICE = Number(values['tasks-per-service']);
const BATCH = Number(values.batch);

/** mulberry32: a seeded generator, so every run builds the same cluster. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(Number(values.seed));
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
const chance = (p: number): boolean => random() < p;

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const CORE = 1e9;
const ZONES = ['a', 'b', 'c', 'd', 'e'];

function makeNodes(): NodeInfo[] {
  return Array.from({ length: NODES }, (_, i) => new NodeInfo({
    id: `node${String(i).padStart(21, '0')}`,
    hostname: `host-${i}`,
    role: i % 10 === 0 ? 'manager' : 'worker',
    availability: chance(0.02) ? 'drain' : 'active',
    state: chance(0.01) ? 'down' : 'ready',
    os: chance(0.05) ? 'windows' : 'linux',
    arch: chance(0.2) ? 'aarch64' : 'x86_64',
    labels: { zone: pick(ZONES), rack: `r${i % 40}`, disk: chance(0.3) ? 'ssd' : 'hdd', ...(chance(0.1) ? { gpu: 'true' } : {}) },
    engineLabels: { 'storage-driver': chance(0.5) ? 'overlay2' : 'btrfs' },
    nanoCPUs: pick([4, 8, 16, 32]) * CORE,
    memoryBytes: pick([8, 16, 32, 64]) * GiB,
  }));
}

function makeServiceSpec(s: number): { spec: Record<string, unknown>; endpoint?: Record<string, unknown> } {
  const constraints: string[] = [];
  const roll = random();
  if (roll < 0.2) constraints.push(`node.labels.zone==${pick(ZONES)}`);
  else if (roll < 0.3) constraints.push('node.role==worker');
  else if (roll < 0.4) constraints.push('node.labels.disk==ssd', 'node.platform.os==linux');
  else if (roll < 0.45) constraints.push('node.platform.arch!=aarch64');
  else if (roll < 0.5) constraints.push('engine.labels.storage-driver==overlay2', 'node.labels.gpu!=true');
  else if (roll < 0.505) constraints.push('node.labels.zone==nowhere'); // unplaceable on purpose
  const placement: Record<string, unknown> = { Constraints: constraints };
  if (chance(0.2)) placement.Preferences = [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }];
  if (chance(0.05)) placement.Preferences = [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }, { Spread: { SpreadDescriptor: 'node.labels.rack' } }];
  if (chance(0.05)) placement.MaxReplicas = 1;
  if (chance(0.05)) placement.Platforms = [{ OS: 'linux', Architecture: 'amd64' }];
  const spec = {
    ContainerSpec: { Image: `registry.example.com/app-${s}:1.0` },
    Resources: { Reservations: { NanoCPUs: pick([0, 0.1, 0.25, 0.5, 1]) * CORE, MemoryBytes: pick([0, 64, 128, 256, 512, 1024]) * MiB } },
    Placement: placement,
  };
  const endpoint = s % 50 === 0 ? { Spec: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8000 + s, PublishMode: 'host' }] } } : undefined;
  return { spec, endpoint };
}

function makeTasks(): SchedulableTask[] {
  const tasks: SchedulableTask[] = [];
  for (let s = 0; s < SERVICES; s++) {
    const serviceId = `svc${String(s).padStart(22, '0')}`;
    const { spec, endpoint } = makeServiceSpec(s);
    for (let slot = 1; slot <= TASKS_PER_SERVICE; slot++) {
      tasks.push({
        ID: `t${String(s * TASKS_PER_SERVICE + slot).padStart(24, '0')}`,
        ServiceID: serviceId,
        Spec: structuredClone(spec),
        ...(endpoint ? { Endpoint: structuredClone(endpoint) } : {}),
      });
    }
  }
  return tasks;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const nodes = makeNodes();
const tasks = makeTasks();
const nowMs = Date.now();
const latencies: number[] = [];
let placed = 0;
let unplaceable = 0;
const start = performance.now();
for (let i = 0; i < tasks.length; i += BATCH) {
  const t = performance.now();
  const result = placeTasks(tasks.slice(i, i + BATCH), nodes, { nowMs });
  latencies.push(performance.now() - t);
  placed += result.assignments.length;
  unplaceable += result.unplaced.length;
}
const seconds = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
const busiest = nodes.reduce((max, n) => Math.max(max, n.activeTasks), 0);

console.log(`scheduler_nodes ${NODES} nodes`);
console.log(`scheduler_tasks ${tasks.length} tasks`);
console.log(`scheduler_tasks_per_sec ${Math.round(tasks.length / seconds)} tasks/s`);
console.log(`scheduler_batch_p50_ms ${percentile(latencies, 50).toFixed(2)} ms`);
console.log(`scheduler_batch_p99_ms ${percentile(latencies, 99).toFixed(2)} ms`);
console.log(`scheduler_placed ${placed} tasks`);
console.log(`scheduler_unplaceable ${unplaceable} tasks`);
console.log(`scheduler_busiest_node ${busiest} tasks`);
