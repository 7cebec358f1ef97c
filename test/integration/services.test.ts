// Services on real daemons with the process executor, driven by the stock docker CLI: three
// managers and two workers; replicas spread evenly, scaling, a failing command restarted per its
// policy until MaxAttempts, a drained node's tasks moved, an unsatisfiable constraint explained,
// a killed worker's tasks replaced, malformed specs refused.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LocalBerthCluster, api, BerthNode } from '../../deploy/berth-cluster.js';
import { eventually } from './eventually.js';

const run = promisify(execFile);

interface ApiTask { ID: string; Slot?: number; NodeID?: string; DesiredState: string; Status: { State: string; Err?: string } }

let cluster: LocalBerthCluster;
let manager: BerthNode;

function docker(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${manager.socket}` } });
}

async function tasks(service: string): Promise<ApiTask[]> {
  const filters = encodeURIComponent(JSON.stringify({ service: { [service]: true } }));
  return (await api<ApiTask[]>(manager.socket, 'GET', `/tasks?filters=${filters}`)).body;
}

async function running(service: string): Promise<ApiTask[]> {
  return (await tasks(service)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
}

function perNode(list: ApiTask[]): number[] {
  const counts = new Map<string, number>();
  for (const t of list) counts.set(t.NodeID ?? '', (counts.get(t.NodeID ?? '') ?? 0) + 1);
  return [...counts.values()].sort((a, b) => a - b);
}

before(async () => {
  cluster = await LocalBerthCluster.start({ managers: 3, workers: 2, baseDir: mkdtempSync(join(tmpdir(), 'berth-services-')) });
  manager = cluster.nodes[0];
  await eventually('five ready nodes', async () =>
    (await api<{ Status: { State: string } }[]>(manager.socket, 'GET', '/nodes')).body.filter((n) => n.Status.State === 'ready').length === 5);
});

after(async () => {
  try {
    for (const name of ['spread', 'crash', 'pending', 'everywhere', 'rolling', 'job']) await docker('service', 'rm', name).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    await cluster?.stop();
    cluster?.remove();
  }
});

test('10 replicas run 2/2/2/2/2; scale to 20, then to 0', async () => {
  await docker('service', 'create', '--detach', '--name', 'spread', '--replicas', '10', 'busybox', 'sleep', '600');
  const ten = await eventually('10 running', async () => { const r = await running('spread'); return r.length === 10 && r; });
  assert.deepEqual(perNode(ten), [2, 2, 2, 2, 2]);
  const ls = (await docker('service', 'ls', '--format', '{{.Name}} {{.Replicas}}')).stdout;
  assert.match(ls, /spread 10\/10/);

  await docker('service', 'scale', '--detach', 'spread=20');
  const twenty = await eventually('20 running', async () => { const r = await running('spread'); return r.length === 20 && r; });
  assert.deepEqual(perNode(twenty), [4, 4, 4, 4, 4]);
  const slots = new Set(twenty.map((t) => t.Slot));
  assert.equal(slots.size, 20, 'one running task per slot');

  await docker('service', 'scale', '--detach', 'spread=0');
  await eventually('all stopped', async () => (await tasks('spread')).every((t) => t.Status.State !== 'running'));
});

test('draining a node moves its tasks; kill -9 of a worker gets its tasks replaced', async () => {
  await docker('service', 'scale', '--detach', 'spread=5');
  await eventually('5 running', async () => (await running('spread')).length === 5);
  const worker1 = cluster.nodes.find((n) => n.name === 'worker-1')!;
  await docker('node', 'update', '--availability', 'drain', 'worker-1');
  const moved = await eventually('tasks off the drained node', async () => {
    const r = await running('spread');
    return r.length === 5 && r.every((t) => t.NodeID !== worker1.nodeId) && r;
  });
  assert.equal(moved.length, 5);
  await docker('node', 'update', '--availability', 'active', 'worker-1');

  const worker2 = cluster.nodes.find((n) => n.name === 'worker-2')!;
  await eventually('a task on worker-2', async () => (await running('spread')).some((t) => t.NodeID === worker2.nodeId));
  const killedAt = Date.now();
  await cluster.kill(worker2);
  await eventually('tasks replaced elsewhere', async () => {
    const r = await running('spread');
    return r.length === 5 && r.every((t) => t.NodeID !== worker2.nodeId);
  });
  console.log(`killed worker's tasks running elsewhere after ${Date.now() - killedAt} ms`);
  await cluster.startDaemon(worker2);
});

test('kill -9 and restart of a worker daemon keeps its tasks\' processes (re-adopted, not restarted)', async () => {
  const worker1 = cluster.nodes.find((n) => n.name === 'worker-1')!;
  const onWorker = await eventually('a task running on worker-1', async () =>
    (await running('spread')).find((t) => t.NodeID === worker1.nodeId));
  const pidOf = async (id: string): Promise<number | undefined> =>
    (await api<{ Status: { ContainerStatus?: { PID?: number } } }>(manager.socket, 'GET', `/tasks/${id}`)).body.Status.ContainerStatus?.PID;
  const pid = await eventually('its PID reported', () => pidOf(onWorker.ID));
  // Adoption is what is tested, not failure detection: a slow restart on a loaded machine must
  // not get the node marked down (and its tasks replaced) first.
  await docker('swarm', 'update', '--dispatcher-heartbeat', '5s');
  await new Promise((r) => setTimeout(r, 1500)); // a heartbeat under the new period sets the deadline
  try {
    await cluster.kill(worker1);
    process.kill(pid, 0); // the task's process outlives its agent
    await cluster.startDaemon(worker1);
    await eventually('the worker back', async () =>
      (await api<{ ID: string; Status: { State: string } }[]>(manager.socket, 'GET', '/nodes')).body.find((n) => n.ID === worker1.nodeId)?.Status.State === 'ready');
    await new Promise((r) => setTimeout(r, 1500));
    const task = (await tasks('spread')).find((t) => t.ID === onWorker.ID)!;
    assert.equal(task.Status.State, 'running', 'the same task still runs');
    assert.equal(await pidOf(onWorker.ID), pid, 'with the same process');
  } finally {
    await docker('swarm', 'update', '--dispatcher-heartbeat', '1s');
  }
});

test('kill -9 of the leader during a scale: the service converges and no slot ever has two running tasks', async () => {
  const leaderId = (await api<{ ID: string; ManagerStatus?: { Leader?: boolean } }[]>(manager.socket, 'GET', '/nodes')).body.find((n) => n.ManagerStatus?.Leader)!.ID;
  const leader = cluster.nodes.find((n) => n.nodeId === leaderId)!;
  const survivor = cluster.nodes.find((n) => n.role === 'manager' && n !== leader)!;
  // From here on the tests talk to a surviving manager (the killed one needs a moment after its restart).
  manager = survivor;
  try {
    await docker('service', 'scale', '--detach', 'spread=12');
    await cluster.kill(leader);
    let worst = 0;
    await eventually('12 running after failover', async () => {
      const r = await running('spread');
      const perSlot = new Map<number, number>();
      for (const t of r) perSlot.set(t.Slot ?? 0, (perSlot.get(t.Slot ?? 0) ?? 0) + 1);
      worst = Math.max(worst, ...perSlot.values());
      return r.length === 12;
    }, 45_000);
    assert.equal(worst, 1, 'a slot had two running tasks');
  } finally {
    await cluster.startDaemon(leader);
  }
});

test('a command that exits 1 is restarted per its policy and stops at MaxAttempts', async () => {
  await docker('service', 'create', '--detach', '--name', 'crash', '--restart-condition', 'on-failure', '--restart-max-attempts', '2',
    '--restart-delay', '100ms', 'busybox', 'sh', '-c', 'exit 1');
  const all = await eventually('three failed attempts', async () => {
    const t = await tasks('crash');
    return t.filter((x) => x.Status.State === 'failed').length === 3 && t;
  });
  assert.ok(all.every((t) => t.Slot === 1));
  assert.match(all[0].Status.Err ?? '', /non-zero exit \(1\)/);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await tasks('crash')).length, 3, 'no fourth attempt');
});

test('an unsatisfiable constraint stays pending with an explanation', async () => {
  await docker('service', 'create', '--detach', '--name', 'pending', '--constraint', 'node.labels.zone==mars', 'busybox', 'sleep', '60');
  const task = await eventually('an explained pending task', async () => (await tasks('pending')).find((t) => t.Status.Err));
  assert.equal(task.Status.State, 'pending');
  assert.match(task.Status.Err!, /no suitable node \(5 nodes: constraint node\.labels\.zone==mars not met\)/);
  const ps = (await docker('service', 'ps', '--no-trunc', 'pending')).stdout;
  assert.match(ps, /no suitable node/);
  // Berth's placement view gives every node's verdict.
  const verdicts = await api<{ node: { Hostname: string }; ok: boolean; reasons: string[] }[]>(manager.socket, 'GET', `/berth/tasks/${task.ID}/placement`);
  assert.equal(verdicts.status, 200);
  assert.equal(verdicts.body.length, 5);
  for (const v of verdicts.body) {
    assert.equal(v.ok, false);
    assert.match(v.reasons.join('; '), /node\.labels\.zone==mars/);
  }
});

test('a global service runs one task per eligible node, follows drains and a node joining', async () => {
  await docker('service', 'create', '--detach', '--name', 'everywhere', '--mode', 'global', 'busybox', 'sleep', '600');
  const nodes = (await api<{ ID: string; Status: { State: string }; Spec: { Availability: string } }[]>(manager.socket, 'GET', '/nodes')).body
    .filter((n) => n.Status.State === 'ready' && n.Spec.Availability === 'active');
  const all = await eventually('one task per node', async () => {
    const r = await running('everywhere');
    return r.length === nodes.length && r;
  });
  assert.equal(new Set(all.map((t) => t.NodeID)).size, nodes.length);
  await docker('node', 'update', '--availability', 'drain', 'worker-1');
  const worker1 = cluster.nodes.find((n) => n.name === 'worker-1')!;
  await eventually('no task on the drained node', async () => {
    const r = await running('everywhere');
    return r.length === nodes.length - 1 && r.every((t) => t.NodeID !== worker1.nodeId);
  });
  await docker('node', 'update', '--availability', 'active', 'worker-1');
  await eventually('a task back on worker-1', async () => (await running('everywhere')).some((t) => t.NodeID === worker1.nodeId));

  // A node that joins later gets its task too.
  const template = cluster.nodes.find((n) => n.name === 'worker-2')!;
  const joiner: BerthNode = {
    ...template, name: 'worker-3', dataDir: join(template.dataDir, '..', 'worker-3'), socket: join(template.dataDir, '..', 'worker-3', 'berth.sock'),
    clusterAddr: '127.0.0.1:0', child: null, nodeId: '',
  };
  cluster.nodes.push(joiner);
  await cluster.startDaemon(joiner);
  const swarm = await api<{ JoinTokens: { Worker: string } }>(manager.socket, 'GET', '/swarm');
  const joined = await api(joiner.socket, 'POST', '/swarm/join', { RemoteAddrs: [manager.clusterAddr], JoinToken: swarm.body.JoinTokens.Worker });
  assert.equal(joined.status, 200, JSON.stringify(joined.body));
  joiner.nodeId = (await api<{ Swarm: { NodeID: string } }>(joiner.socket, 'GET', '/info')).body.Swarm.NodeID;
  await eventually('a task on the new node', async () => (await running('everywhere')).some((t) => t.NodeID === joiner.nodeId));
  await docker('service', 'rm', 'everywhere');
});

test('a rolling update replaces tasks in batches; a replicated job runs to completion', async () => {
  await docker('service', 'create', '--detach', '--name', 'rolling', '--replicas', '4', 'busybox', 'sleep', '600');
  await eventually('4 running', async () => (await running('rolling')).length === 4);
  const before = new Set((await running('rolling')).map((t) => t.ID));
  await docker('service', 'update', '--update-parallelism', '2', '--update-delay', '0s', '--env-add', 'V=2', 'rolling');
  const after = await running('rolling');
  assert.equal(after.length, 4);
  assert.ok(after.every((t) => !before.has(t.ID)), 'every task was replaced');
  const status = JSON.parse((await docker('service', 'inspect', 'rolling', '--format', '{{json .UpdateStatus}}')).stdout);
  assert.equal(status.State, 'completed');
  await docker('service', 'rm', 'rolling');

  await docker('service', 'create', '--detach', '--name', 'job', '--mode', 'replicated-job', '--replicas', '3', 'busybox', 'sh', '-c', 'exit 0');
  await eventually('3 completions', async () => (await tasks('job')).filter((t) => t.Status.State === 'complete').length === 3);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await tasks('job')).length, 3, 'no more tasks once the job is done');
  await docker('service', 'rm', 'job');

  // Without -d the stock CLI follows the job until every slot 0..TotalCompletions-1 of its
  // iteration completed (SwarmKit's numbering), then says so and exits.
  // (On the timeout's SIGTERM the CLI stops following and may still exit 0: the time is checked too.)
  const bound = 60_000;
  try {
    const startedAt = Date.now();
    const waited = await run('docker', ['service', 'create', '--name', 'job-wait', '--mode', 'replicated-job', '--replicas', '3', 'busybox', 'sh', '-c', 'exit 0'],
      { env: { ...process.env, DOCKER_HOST: `unix://${manager.socket}` }, timeout: bound });
    assert.ok(Date.now() - startedAt < bound, `the CLI was still following the job after ${bound} ms:\n${waited.stdout}`);
    assert.match(waited.stdout, /job complete/);
    const done = (await tasks('job-wait')) as (ApiTask & { JobIteration?: { Index: number } })[];
    const service = await api<{ JobStatus?: { JobIteration: { Index: number } } }>(manager.socket, 'GET', '/services/job-wait');
    assert.deepEqual(done.map((t) => t.Slot ?? 0).sort(), [0, 1, 2]);
    assert.ok(done.every((t) => t.Status.State === 'complete' && t.JobIteration?.Index === service.body.JobStatus?.JobIteration.Index));
  } finally {
    await docker('service', 'rm', 'job-wait').catch(() => undefined);
  }
});

test('malformed service specs are refused with 400 naming the field', async () => {
  const bad = await api<{ message: string }>(manager.socket, 'POST', '/services/create', {
    Name: 'bad', TaskTemplate: { ContainerSpec: { Image: 'busybox' }, RestartPolicy: { Condition: 'sometimes' } },
  });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /RestartPolicy\.Condition/);
  await assert.rejects(docker('service', 'create', '--constraint', 'node.role=manager', 'busybox'), /constraint/);
});
