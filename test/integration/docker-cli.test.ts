// The stock docker CLI forms and changes a Berth cluster by itself: swarm init / join-token /
// join / update / leave, node rm, version; and a daemon serving the API on TCP with mutual TLS
// (like dockerd --tlsverify) accepts the docker CLI with a client certificate and refuses it
// without one.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LocalBerthCluster, api, BerthNode } from '../../deploy/berth-cluster.js';
import { freePort, makeDevPki } from '../../deploy/raft-cluster.js';

const run = promisify(execFile);
const BERTH = fileURLToPath(new URL('../../cli/berth.js', import.meta.url));

function docker(node: BerthNode, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${node.socket}` } });
}

async function eventually(what: string, fn: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let cluster: LocalBerthCluster;
let baseDir: string;

before(async () => {
  baseDir = mkdtempSync(join(tmpdir(), 'berth-docker-cli-'));
  // Two daemons outside any cluster: the docker CLI does the rest.
  cluster = await LocalBerthCluster.spawn({ managers: 1, workers: 1, baseDir });
});

after(async () => {
  await cluster?.stop();
  cluster?.remove();
});

test('docker swarm init, join-token, join, update, leave and node rm against berth', async () => {
  const [manager, worker] = cluster.nodes;
  const init = await docker(manager, 'swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', manager.clusterAddr);
  assert.match(init.stdout, /Swarm initialized: current node \([0-9a-z]{25}\) is now a manager/);
  const token = (await docker(manager, 'swarm', 'join-token', '-q', 'worker')).stdout.trim();
  assert.match(token, /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
  const joined = await docker(worker, 'swarm', 'join', '--token', token, '--listen-addr', worker.clusterAddr, manager.clusterAddr);
  assert.match(joined.stdout, /This node joined a swarm as a worker/);
  await eventually('two ready nodes', async () => {
    const out = (await docker(manager, 'node', 'ls', '--format', '{{.Hostname}} {{.Status}}')).stdout;
    return out.includes('manager-1 Ready') && out.includes('worker-1 Ready');
  });

  // No services yet: docker node ps answers with just its header.
  const ps = await docker(manager, 'node', 'ps', 'worker-1');
  assert.match(ps.stdout, /^ID\s+NAME\s+IMAGE\s+NODE\s+DESIRED STATE/);

  await docker(manager, 'swarm', 'update', '--task-history-limit', '3');
  const info = JSON.parse((await docker(manager, 'info', '--format', '{{json .Swarm.Cluster.Spec.Orchestration}}')).stdout);
  assert.equal(info.TaskHistoryRetentionLimit, 3);

  // docker swarm leave on a manager without --force is refused with dockerd's warning.
  await assert.rejects(docker(manager, 'swarm', 'leave'), /force/);

  const left = await docker(worker, 'swarm', 'leave');
  assert.match(left.stdout, /Node left the swarm/);
  const workerInfo = (await docker(worker, 'info', '--format', '{{.Swarm.LocalNodeState}}')).stdout.trim();
  assert.equal(workerInfo, 'inactive');
  await eventually('the worker shown Down', async () =>
    (await docker(manager, 'node', 'ls', '--format', '{{.Hostname}} {{.Status}}')).stdout.includes('worker-1 Down'));
  await docker(manager, 'node', 'rm', 'worker-1');
  const remaining = (await docker(manager, 'node', 'ls', '-q')).stdout.trim().split('\n');
  assert.equal(remaining.length, 1);

  const version = (await docker(manager, 'version', '--format', '{{.Server.APIVersion}}')).stdout.trim();
  assert.equal(version, '1.41');
});

test('the API over TCP with --tlsverify accepts a client certificate and refuses a client without one', async () => {
  const pki = join(baseDir, 'api-tls');
  makeDevPki(pki, [1, 2]); // node-1: the daemon's server certificate; node-2: a client's
  const port = await freePort();
  const dataDir = join(baseDir, 'tls-daemon');
  const child: ChildProcess = spawn(process.execPath, [
    BERTH, 'daemon', '--data-dir', dataDir, '-H', `tcp://127.0.0.1:${port}`, '-H', `unix://${join(dataDir, 'berth.sock')}`,
    '--tlsverify', '--tlscacert', join(pki, 'ca.crt'), '--tlscert', join(pki, 'node-1.crt'), '--tlskey', join(pki, 'node-1.key'),
  ], { stdio: 'ignore' });
  try {
    await eventually('the daemon up', async () => (await api(join(dataDir, 'berth.sock'), 'GET', '/_ping')).status === 200);
    const env = { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${port}` };
    const withCert = await run('docker', ['--tlsverify', '--tlscacert', join(pki, 'ca.crt'), '--tlscert', join(pki, 'node-2.crt'),
      '--tlskey', join(pki, 'node-2.key'), 'version', '--format', '{{.Server.APIVersion}}'], { env });
    assert.equal(withCert.stdout.trim(), '1.41');
    await assert.rejects(run('docker', ['--tls', '--tlscacert', join(pki, 'ca.crt'), 'version'], { env }));
    await assert.rejects(run('docker', ['version'], { env }));
  } finally {
    child.kill('SIGKILL');
  }
});
