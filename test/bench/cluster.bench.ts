// npm run bench:cluster [-- --runs N]
// Real berth daemons on loopback. Prints `name value unit` lines (medians over N runs):
//   cluster_form_3_managers_ms   swarm init + two manager joins until all three are Ready
//   cluster_api_failover_ms      kill -9 of the leader until a write through the API succeeds
//   cluster_worker_down_ms       kill -9 of a worker until the managers mark it down

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalBerthCluster, api, BerthNode } from '../../deploy/berth-cluster.js';

interface ApiNode { ID: string; Version: { Index: number }; Spec: Record<string, unknown>; Status: { State: string }; ManagerStatus?: { Leader?: boolean } }

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function until(fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function nodes(n: BerthNode): Promise<ApiNode[]> {
  const res = await api<ApiNode[]>(n.socket, 'GET', '/nodes');
  if (res.status !== 200) throw new Error(`GET /nodes: ${res.status}`);
  return res.body;
}

const form: number[] = [];
const failover: number[] = [];
const workerDown: number[] = [];
for (let run = 0; run < runs; run++) {
  const cluster = await LocalBerthCluster.spawn({ managers: 3, workers: 1, baseDir: mkdtempSync(join(tmpdir(), 'berth-bench-cluster-')) });
  try {
    const t0 = performance.now();
    await cluster.form();
    await until(async () => (await nodes(cluster.nodes[0])).filter((n) => n.ManagerStatus && n.Status.State === 'ready').length === 3);
    form.push(performance.now() - t0);

    const worker = cluster.nodes[3];
    await until(async () => (await nodes(cluster.nodes[0])).find((n) => n.ID === worker.nodeId)?.Status.State === 'ready');
    const tw = performance.now();
    await cluster.kill(worker);
    await until(async () => (await nodes(cluster.nodes[0])).find((n) => n.ID === worker.nodeId)?.Status.State === 'down');
    workerDown.push(performance.now() - tw);

    const all = await nodes(cluster.nodes[0]);
    const leaderId = all.find((n) => n.ManagerStatus?.Leader)!.ID;
    const leader = cluster.nodes.find((n) => n.nodeId === leaderId)!;
    const survivors = cluster.nodes.filter((n) => n.role === 'manager' && n !== leader);
    const tk = performance.now();
    await cluster.kill(leader);
    // A client retries against the surviving managers until a write commits.
    await until(async () => {
      for (const m of survivors) {
        const list = await nodes(m).catch(() => [] as ApiNode[]);
        const target = list.find((n) => n.ID === m.nodeId);
        if (!target) continue;
        const res = await api(m.socket, 'POST', `/nodes/${target.ID}/update?version=${target.Version.Index}`, { ...target.Spec, Labels: { bench: String(run) } });
        if (res.status === 200) return true;
      }
      return false;
    });
    failover.push(performance.now() - tk);
  } finally {
    await cluster.stop();
    cluster.remove();
  }
}
console.log(`cluster_form_3_managers_ms ${median(form).toFixed(0)} ms`);
console.log(`cluster_api_failover_ms ${median(failover).toFixed(0)} ms`);
console.log(`cluster_api_failover_max_ms ${Math.max(...failover).toFixed(0)} ms`);
console.log(`cluster_worker_down_ms ${median(workerDown).toFixed(0)} ms`);
console.log(`cluster_worker_down_max_ms ${Math.max(...workerDown).toFixed(0)} ms`);
