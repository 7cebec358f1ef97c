// Brings up or tears down a local Berth cluster of real daemons on this machine:
//
//   node dist/deploy/local-cluster.js up [--managers 3] [--workers 2] [--netns] [--runtime auto|docker|process] [--dir /tmp/berth-local]
//   node dist/deploy/local-cluster.js down [--dir /tmp/berth-local]
//
// `up` prints one line per node (name, role, node ID, API address, cluster address, PID) and
// leaves the daemons running; `down` stops them by the PIDs `up` recorded, and the task processes
// their executors recorded (processes, or the nodes' containers), removes the network namespaces and bridge it made (with --netns),
// then the directory.

import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalBerthCluster, killRecordedTasks, removeBridge, removeNodeContainers } from './berth-cluster.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    managers: { type: 'string', default: '3' },
    workers: { type: 'string', default: '2' },
    netns: { type: 'boolean', default: false },
    runtime: { type: 'string', default: 'auto' },
    dir: { type: 'string', default: '/tmp/berth-local' },
  },
});
const stateFile = join(values.dir!, 'cluster.json');

if (positionals[0] === 'up') {
  if (existsSync(stateFile)) {
    console.error(`a cluster is already recorded in ${values.dir}; run 'down' first`);
    process.exit(1);
  }
  const managers = Number(values.managers);
  const workers = Number(values.workers);
  if (!Number.isInteger(managers) || managers < 1 || !Number.isInteger(workers) || workers < 0) {
    console.error('--managers must be at least 1 and --workers at least 0');
    process.exit(2);
  }
  const runtime = values.runtime as 'auto' | 'docker' | 'process';
  if (!['auto', 'docker', 'process'].includes(runtime)) {
    console.error('--runtime must be auto, docker or process');
    process.exit(2);
  }
  const cluster = await LocalBerthCluster.start({ managers, workers, baseDir: values.dir!, netns: values.netns, detached: true, runtime });
  cluster.recordPids(stateFile);
  for (const n of cluster.nodes) {
    console.log(`${n.name.padEnd(10)} ${n.role.padEnd(8)} ${n.nodeId}  api=unix://${n.socket}  cluster=${n.clusterAddr}  pid=${n.child?.pid}`);
  }
  for (const n of cluster.nodes) n.child?.unref();
  process.exit(0);
} else if (positionals[0] === 'down') {
  if (!existsSync(stateFile)) {
    console.error(`no cluster recorded in ${values.dir}`);
    process.exit(1);
  }
  const recorded = JSON.parse(readFileSync(stateFile, 'utf8')) as {
    pids: number[]; netns: string[]; bridge: string | null; runtime?: string; nodeIds?: string[];
  };
  for (const pid of recorded.pids) {
    try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
  }
  await new Promise((r) => setTimeout(r, 500));
  for (const pid of recorded.pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* stopped */ }
  }
  for (const entry of readdirSync(values.dir!, { withFileTypes: true })) {
    if (entry.isDirectory()) killRecordedTasks(join(values.dir!, entry.name, 'executor', 'process'));
  }
  // Containers outlive their daemons too; with auto the nodes may have used either runtime.
  if (recorded.runtime !== 'process') for (const nodeId of recorded.nodeIds ?? []) removeNodeContainers(nodeId);
  for (const ns of recorded.netns) try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* gone */ }
  if (recorded.bridge) removeBridge(recorded.bridge);
  rmSync(values.dir!, { recursive: true, force: true });
  console.log(`stopped ${recorded.pids.length} daemons`);
} else {
  console.error('usage: local-cluster up [--managers N] [--workers M] [--netns] [--runtime auto|docker|process] [--dir DIR] | down [--dir DIR]');
  process.exit(2);
}
