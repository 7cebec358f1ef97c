// npm start: a local Berth cluster of real daemons — three managers and two workers on loopback —
// shown with the berth CLI, running a replicated service of 5 tasks: real containers when a
// Docker engine answers here (the busybox test image is built if missing, see test-image.sh),
// host processes otherwise; then the leader is killed with SIGKILL and another manager takes over
// with the service intact; then everything is stopped. `--keep` leaves the cluster running until Ctrl-C.

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

const IMAGE = 'berth-test/busybox:latest';

/** Whether the host's Docker engine answers; if so, makes sure the demo's image is there. */
function dockerReady(): boolean {
  try {
    execFileSync('docker', ['version'], { stdio: 'ignore', timeout: 5000 });
  } catch {
    return false;
  }
  try {
    execFileSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
  } catch {
    console.log(`building ${IMAGE} from this host's busybox (deploy/test-image.sh)`);
    execFileSync(fileURLToPath(new URL('../../deploy/test-image.sh', import.meta.url)), [IMAGE], { stdio: 'inherit' });
  }
  return true;
}

const containers = dockerReady();
const SERVICE = containers ? 'web' : 'sleeper';
const baseDir = mkdtempSync(join(tmpdir(), 'berth-demo-'));
console.log(`starting 5 berth daemons (data in ${baseDir}) and forming a cluster: 3 managers, 2 workers`);
console.log(containers ? 'tasks run as Docker containers (a Docker engine answers here)' : 'tasks run as host processes (no Docker engine here)');
const started = Date.now();
const cluster = await LocalBerthCluster.start({ managers: 3, workers: 2, baseDir, runtime: containers ? 'docker' : 'process' });
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

  // A replicated service: web servers in containers, or (no engine) sleeping host processes.
  const serviceArgs = containers
    ? ['--name', SERVICE, '--replicas', '5', '--publish', 'mode=host,target=8080', IMAGE, 'httpd', '-f', '-p', '8080', '-h', '/www']
    : ['--name', SERVICE, '--replicas', '5', 'busybox', 'sleep', '3600'];
  console.log(`\n$ berth service create ${serviceArgs.join(' ')}`);
  process.stdout.write(berth(cluster.nodes[0].socket, 'service', 'create', ...serviceArgs));
  console.log(`\n$ berth service ps ${SERVICE}`);
  process.stdout.write(berth(cluster.nodes[0].socket, 'service', 'ps', SERVICE));
  if (containers) {
    console.log(`\n$ docker ps --filter label=com.docker.swarm.service.name=${SERVICE}`);
    process.stdout.write(execFileSync('docker', ['ps', '--filter', `label=com.docker.swarm.service.name=${SERVICE}`,
      '--format', 'table {{.ID}}\t{{.Names}}\t{{.Status}}\t{{.Ports}}'], { encoding: 'utf8' }));
  }

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
  try { berth(cluster.nodes[1].socket, 'service', 'rm', SERVICE); } catch { /* not created */ }
  await new Promise((r) => setTimeout(r, 2000));
  await cluster.stop();
  cluster.remove();
}
