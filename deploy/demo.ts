// npm start: a local Berth cluster of real daemons — three managers and two workers on loopback —
// shown with the berth CLI, running a replicated service (5 tasks, process executor); then the
// leader is killed with SIGKILL and another manager takes over with the service intact; then
// everything is stopped. `--keep` leaves the cluster running until Ctrl-C.

import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalBerthCluster, api } from './berth-cluster.js';

const BERTH = fileURLToPath(new URL('../cli/berth.js', import.meta.url));
const keep = process.argv.includes('--keep');

function berth(socket: string, ...args: string[]): string {
  return execFileSync(process.execPath, [BERTH, '-H', `unix://${socket}`, ...args], { encoding: 'utf8' });
}

const baseDir = mkdtempSync(join(tmpdir(), 'berth-demo-'));
console.log(`starting 5 berth daemons (data in ${baseDir}) and forming a cluster: 3 managers, 2 workers`);
const started = Date.now();
const cluster = await LocalBerthCluster.start({ managers: 3, workers: 2, baseDir });
try {
  for (let i = 0; i < 100; i++) {
    const nodes = (await api<{ Status: { State: string } }[]>(cluster.nodes[0].socket, 'GET', '/nodes')).body;
    if (nodes.length === 5 && nodes.every((n) => n.Status.State === 'ready')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  console.log(`cluster formed in ${Date.now() - started} ms\n`);
  for (const n of cluster.nodes) console.log(`  ${n.name.padEnd(10)} ${n.role.padEnd(8)} api unix://${n.socket}  pid ${n.child?.pid}`);
  console.log(`\n$ berth -H unix://${cluster.nodes[0].socket} node ls`);
  process.stdout.write(berth(cluster.nodes[0].socket, 'node', 'ls'));

  // A replicated service; with no container engine here, the process executor runs each task.
  console.log('\n$ berth service create --name sleeper --replicas 5 busybox sleep 3600');
  process.stdout.write(berth(cluster.nodes[0].socket, 'service', 'create', '--name', 'sleeper', '--replicas', '5', 'busybox', 'sleep', '3600'));
  console.log('\n$ berth service ps sleeper');
  process.stdout.write(berth(cluster.nodes[0].socket, 'service', 'ps', 'sleeper'));

  const leader = cluster.nodes[0];
  const killedAt = Date.now();
  await cluster.kill(leader);
  console.log(`\nkilled the leader (${leader.name}) with SIGKILL`);
  const survivor = cluster.nodes[1];
  for (;;) {
    const list = (await api<{ ManagerStatus?: { Leader?: boolean } }[]>(survivor.socket, 'GET', '/nodes').catch(() => ({ body: [] }))).body;
    if (Array.isArray(list) && list.some((n) => n.ManagerStatus?.Leader)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  console.log(`a new leader answers ${Date.now() - killedAt} ms later:\n\n$ berth -H unix://${survivor.socket} node ls`);
  await new Promise((r) => setTimeout(r, 3000)); // let the managers notice the dead node
  process.stdout.write(berth(survivor.socket, 'node', 'ls'));
  console.log(`\n$ berth -H unix://${survivor.socket} service ls`);
  process.stdout.write(berth(survivor.socket, 'service', 'ls'));
  if (keep) {
    console.log('\nthe cluster keeps running; press Ctrl-C to stop it');
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  }
} finally {
  // Tasks outlive their agents by design: bring the killed manager back so its agent is there to
  // stop its task, then remove the service and give the agents a moment to stop the processes.
  const down = cluster.nodes.find((n) => !n.child);
  if (down) await cluster.startDaemon(down).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 2000));
  try { berth(cluster.nodes[1].socket, 'service', 'rm', 'sleeper'); } catch { /* not created */ }
  await new Promise((r) => setTimeout(r, 2000));
  await cluster.stop();
  cluster.remove();
}
