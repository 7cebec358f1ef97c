// Cluster bootstrap with real `berth daemon` processes: three managers and two workers formed
// through the Engine API, checked with the stock docker CLI; leader failover by kill -9; join
// tokens; certificate roles on the cluster port; restart of every daemon; bad request bodies.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { LocalBerthCluster, api, BerthNode } from '../../deploy/berth-cluster.js';
import { MANAGER_CHANNEL_OPTIONS } from '../../manager/ca/index.js';

const run = promisify(execFile);

async function docker(node: BerthNode, ...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${node.socket}` } });
  return stdout;
}

interface NodeRow { ID: string; Hostname: string; Status: string; Availability: string; ManagerStatus: string }

async function nodeRows(node: BerthNode): Promise<NodeRow[]> {
  const out = await docker(node, 'node', 'ls', '--format', '{{json .}}');
  return out.trim().split('\n').map((line) => JSON.parse(line) as NodeRow);
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

let cluster: LocalBerthCluster;

before(async () => {
  cluster = await LocalBerthCluster.start({ managers: 3, workers: 2, baseDir: mkdtempSync(join(tmpdir(), 'berth-cluster-')) });
});

after(async () => {
  await cluster?.stop();
  cluster?.remove();
});

test('docker node ls shows three managers (one Leader) and two workers, all Ready', async () => {
  const rows = await eventually('all nodes ready', async () => {
    const r = await nodeRows(cluster.nodes[0]);
    return r.length === 5 && r.every((n) => n.Status === 'Ready') && r;
  });
  assert.equal(rows.filter((r) => r.ManagerStatus === 'Leader').length, 1);
  assert.equal(rows.filter((r) => r.ManagerStatus === 'Reachable').length, 2);
  assert.equal(rows.filter((r) => r.ManagerStatus === '').length, 2);
  assert.deepEqual(rows.map((r) => r.Hostname).sort(), ['manager-1', 'manager-2', 'manager-3', 'worker-1', 'worker-2']);
});

test('a wrong or rotated token is refused with a clear error and nothing joins', async () => {
  const extra = cluster.nodes[4];
  const manager = cluster.nodes[0];
  const before = (await nodeRows(manager)).length;
  const swarm = await api<{ JoinTokens: { Worker: string } }>(manager.socket, 'GET', '/swarm');
  const oldToken = swarm.body.JoinTokens.Worker;
  await docker(manager, 'swarm', 'join-token', '--rotate', 'worker');
  const rotated = await api<{ JoinTokens: { Worker: string } }>(manager.socket, 'GET', '/swarm');
  assert.notEqual(rotated.body.JoinTokens.Worker, oldToken);

  // A fresh daemon outside the swarm tries to join with the old token, then with a garbage token.
  const stranger = { ...extra, name: 'stranger', dataDir: join(extra.dataDir, '..', 'stranger'), socket: join(extra.dataDir, '..', 'stranger.sock'), child: null, nodeId: '' };
  cluster.nodes.push(stranger);
  await cluster.startDaemon(stranger);
  const withOld = await api<{ message: string }>(stranger.socket, 'POST', '/swarm/join', { RemoteAddrs: [manager.clusterAddr], JoinToken: oldToken });
  assert.ok(withOld.status >= 400 && withOld.status < 600 && withOld.status !== 500, `status ${withOld.status}`);
  assert.match(withOld.body.message, /join token/i);
  const garbage = await api<{ message: string }>(stranger.socket, 'POST', '/swarm/join', { RemoteAddrs: [manager.clusterAddr], JoinToken: 'SWMTKN-1-nope' });
  assert.equal(garbage.status, 400);
  assert.match(garbage.body.message, /token/i);
  const info = await api<{ Swarm: { LocalNodeState: string } }>(stranger.socket, 'GET', '/info');
  assert.equal(info.body.Swarm.LocalNodeState, 'inactive');
  assert.equal((await nodeRows(manager)).length, before, 'no node was added');
  await cluster.kill(stranger);
  cluster.nodes.pop();
});

test('a worker certificate is refused on the raft service, and plaintext is refused on the cluster port', async () => {
  const worker = cluster.nodes[3];
  const manager = cluster.nodes[0];
  const certs = join(worker.dataDir, 'certificates');
  const files = ['ca.crt', 'node.key', 'node.crt'].map((f) => readFileSync(join(certs, f)));
  const workerCreds = grpc.credentials.createSsl(files[0], files[1], files[2]);
  const raftStream = (creds: grpc.ChannelCredentials, options: grpc.ChannelOptions): Promise<grpc.ServiceError> => new Promise((resolve) => {
    const client = new grpc.Client(manager.clusterAddr, creds, options);
    const call = client.makeClientStreamRequest('/berth.raft.Raft/Stream', (b: Buffer) => b, (b: Buffer) => b, new grpc.Metadata(),
      { deadline: Date.now() + 5000 }, (err) => { client.close(); resolve(err as grpc.ServiceError); });
    call.write(Buffer.alloc(0));
    call.end();
  });
  const denied = await raftStream(workerCreds, MANAGER_CHANNEL_OPTIONS);
  assert.equal(denied.code, grpc.status.PERMISSION_DENIED, denied.message);
  assert.match(denied.details, /manager/);
  const plaintext = await raftStream(grpc.credentials.createInsecure(), {});
  assert.equal(plaintext.code, grpc.status.UNAVAILABLE, plaintext.message);
});

test('bad request bodies get 400s with a message, never a 500 or a crash', async () => {
  const manager = cluster.nodes[0];
  const nodes = await api<{ ID: string; Version: { Index: number } }[]>(manager.socket, 'GET', '/nodes');
  const target = nodes.body[0];
  const cases: [string, string, unknown][] = [
    ['POST', `/nodes/${target.ID}/update?version=${target.Version.Index}`, { Role: 'captain' }],
    ['POST', `/nodes/${target.ID}/update?version=${target.Version.Index}`, { Availability: 42 }],
    ['POST', `/nodes/${target.ID}/update`, { Role: 'manager' }],
    ['POST', '/swarm/update?version=abc', {}],
    ['GET', '/nodes?filters=notjson', undefined],
    ['GET', '/nodes?filters={"bogus":{"x":true}}', undefined],
  ];
  for (const [method, path, body] of cases) {
    const res = await api<{ message?: string }>(manager.socket, method, path, body);
    assert.equal(res.status, 400, `${method} ${path} ${JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.body)}`);
    assert.ok(res.body?.message, `${method} ${path} has a message`);
  }
  const alive = await api(manager.socket, 'GET', '/_ping');
  assert.equal(alive.status, 200);
});

test('kill -9 of the leader: another manager becomes Leader and docker node ls works there', async () => {
  const rows = await nodeRows(cluster.nodes[0]);
  const leaderName = rows.find((r) => r.ManagerStatus === 'Leader')!.Hostname;
  const leader = cluster.nodes.find((n) => n.name === leaderName)!;
  const killedAt = Date.now();
  await cluster.kill(leader);
  const survivor = cluster.nodes.find((n) => n.role === 'manager' && n !== leader)!;
  const after = await eventually('a new leader', async () => {
    const r = await nodeRows(survivor);
    const newLeader = r.find((x) => x.ManagerStatus === 'Leader');
    return newLeader && newLeader.Hostname !== leaderName && r;
  });
  console.log(`new leader visible ${Date.now() - killedAt} ms after kill -9`);
  assert.ok(after.some((r) => r.Hostname === leaderName), 'the killed manager is still listed');
  await eventually('the killed manager shown Unreachable', async () => (await nodeRows(survivor)).find((r) => r.Hostname === leaderName)?.ManagerStatus === 'Unreachable');
  await eventually('the killed manager marked down', async () => (await nodeRows(survivor)).find((r) => r.Hostname === leaderName)?.Status === 'Down');
  await cluster.startDaemon(leader);
  await eventually('the restarted manager back', async () => {
    const r = await nodeRows(survivor);
    const back = r.find((x) => x.Hostname === leaderName);
    return back?.Status === 'Ready' && back.ManagerStatus === 'Reachable';
  });
  // The restarted manager is a follower now; once it has heard from the leader, writes through
  // it reach the leader, as in Swarm.
  await eventually('a write through the restarted follower', async () => {
    await docker(leader, 'node', 'update', '--label-add', 'written-via=follower', 'worker-2');
    return true;
  });
  const labels = JSON.parse(await docker(survivor, 'node', 'inspect', 'worker-2', '--format', '{{json .Spec.Labels}}'));
  assert.equal(labels['written-via'], 'follower');
});

test('docker node promote / demote move a node into and out of the raft group', async () => {
  const manager = cluster.nodes[0];
  const worker = cluster.nodes.find((n) => n.name === 'worker-1')!;
  await docker(manager, 'node', 'promote', 'worker-1');
  await eventually('worker-1 reachable as a manager', async () => (await nodeRows(manager)).find((r) => r.Hostname === 'worker-1')?.ManagerStatus === 'Reachable');
  // The promoted node now serves cluster state itself.
  const fromPromoted = await eventually('node ls on the promoted node', async () => (await nodeRows(worker)).length === 5);
  assert.ok(fromPromoted);
  await docker(manager, 'node', 'demote', 'worker-1');
  await eventually('worker-1 a worker again', async () => (await nodeRows(manager)).find((r) => r.Hostname === 'worker-1')?.ManagerStatus === '');
  await eventually('worker-1 no longer serves cluster state', async () => {
    const info = await api<{ Swarm: { ControlAvailable: boolean } }>(worker.socket, 'GET', '/info');
    return info.body.Swarm.ControlAvailable === false;
  });
  const rows = await nodeRows(manager);
  assert.equal(rows.filter((r) => r.ManagerStatus !== '').length, 3);
});

test('restarting every daemon keeps the cluster as it was', async () => {
  const before = (await nodeRows(cluster.nodes[0])).map((r) => `${r.ID} ${r.Hostname}`).sort();
  for (const n of cluster.nodes) await cluster.kill(n, 'SIGTERM');
  for (const n of cluster.nodes) await cluster.startDaemon(n);
  const rows = await eventually('the cluster back with every node ready', async () => {
    const r = await nodeRows(cluster.nodes[0]);
    return r.length === 5 && r.every((x) => x.Status === 'Ready') && r.some((x) => x.ManagerStatus === 'Leader') && r;
  }, 30_000);
  assert.deepEqual(rows.map((r) => `${r.ID} ${r.Hostname}`).sort(), before);
});
