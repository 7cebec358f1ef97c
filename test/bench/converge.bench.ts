// npm run bench:converge [-- --sizes 10,100,500]
// Real berth daemons on loopback (3 managers, 2 workers, process executor). Prints `name value
// unit` lines: time from `service create --replicas N` (through the Engine API, as `docker service
// create -d` sends it) until all N tasks run, for each N; then scale 100 → 200 → 0; and the
// control plane's CPU-seconds (all berth daemons) over the whole run.

import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalBerthCluster, api, BerthNode } from '../../deploy/berth-cluster.js';

interface ApiTask { DesiredState: string; Status: { State: string } }
interface ApiService { ID: string; Version: { Index: number }; Spec: { Mode: { Replicated: { Replicas: number } } } & Record<string, unknown> }

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '10,100,500' } } });
const sizes = values.sizes!.split(',').map(Number);

async function runningCount(node: BerthNode, service: string): Promise<number> {
  // Observed state only: scaling down is done when the processes have stopped, not when asked to.
  const filters = encodeURIComponent(JSON.stringify({ service: { [service]: true } }));
  const res = await api<ApiTask[]>(node.socket, 'GET', `/tasks?filters=${filters}`);
  return res.status === 200 ? res.body.filter((t) => t.Status.State === 'running').length : -1;
}

async function until(fn: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** utime + stime of a process, in seconds (Linux /proc). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function spec(name: string, replicas: number): Record<string, unknown> {
  return {
    Name: name,
    TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Args: ['sleep', '3600'] }, RestartPolicy: { Condition: 'none' } },
    Mode: { Replicated: { Replicas: replicas } },
  };
}

const cluster = await LocalBerthCluster.start({ managers: 3, workers: 2, baseDir: mkdtempSync(join(tmpdir(), 'berth-bench-converge-')) });
const manager = cluster.nodes[0];
const cpuAtStart = cluster.nodes.map((n) => cpuSeconds(n.child!.pid!));
try {
  for (const n of sizes) {
    const t0 = performance.now();
    const created = await api<{ ID: string }>(manager.socket, 'POST', '/services/create', spec(`c${n}`, n));
    if (created.status !== 201) throw new Error(`create failed: ${JSON.stringify(created.body)}`);
    await until(async () => (await runningCount(manager, created.body.ID)) === n);
    console.log(`converge_${n}_replicas_ms ${(performance.now() - t0).toFixed(0)} ms`);
    await api(manager.socket, 'DELETE', `/services/${created.body.ID}`);
    await until(async () => (await runningCount(manager, created.body.ID)) === 0);
  }

  const created = await api<{ ID: string }>(manager.socket, 'POST', '/services/create', spec('scale', 100));
  const id = created.body.ID;
  await until(async () => (await runningCount(manager, id)) === 100);
  for (const target of [200, 0]) {
    const current = (await api<ApiService>(manager.socket, 'GET', `/services/${id}`)).body;
    const t0 = performance.now();
    const updated = { ...current.Spec, Mode: { Replicated: { Replicas: target } } };
    const res = await api(manager.socket, 'POST', `/services/${id}/update?version=${current.Version.Index}`, updated);
    if (res.status !== 200) throw new Error(`scale failed: ${JSON.stringify(res.body)}`);
    await until(async () => (await runningCount(manager, id)) === target);
    console.log(`scale_to_${target}_ms ${(performance.now() - t0).toFixed(0)} ms`);
  }
  await api(manager.socket, 'DELETE', `/services/${id}`);
  const cpu = cluster.nodes.reduce((sum, n, i) => sum + cpuSeconds(n.child!.pid!) - cpuAtStart[i], 0);
  console.log(`control_plane_cpu_seconds ${cpu.toFixed(1)} s`);
} finally {
  await new Promise((r) => setTimeout(r, 2000));
  await cluster.stop();
  cluster.remove();
}
