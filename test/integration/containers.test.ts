// Services on real containers: berth daemons with the Docker runtime (one manager, two workers,
// all on this machine's dockerd, told apart by Swarm's node label), driven by the stock docker
// CLI. What a Swarm user checks first: the containers' names, labels, env and limits; a host-mode
// port answering; rolling updates in batches, rolling back by themselves; an unhealthy task
// replaced; an agent restart that keeps the containers; logs; rm removing the containers.
// Skipped (with the reason) when no Docker engine or no test image is here; .ci/run provides both.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LocalBerthCluster, api, BerthNode } from '../../deploy/berth-cluster.js';
import { eventually } from './eventually.js';

const run = promisify(execFile);
const IMAGE = 'berth-test/busybox:latest';

interface ApiTask {
  ID: string; Slot?: number; NodeID?: string; DesiredState: string; CreatedAt: string;
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string }; PortStatus?: { Ports?: { PublishedPort: number }[] } };
}

/** Why the tests cannot run here, or '' when they can. */
function missingEngine(): string {
  try {
    execFileSync('docker', ['-H', 'unix:///var/run/docker.sock', 'image', 'inspect', IMAGE], { stdio: 'ignore', env: engineEnv() });
    return '';
  } catch {
    return `no Docker engine at /var/run/docker.sock with ${IMAGE} (deploy/test-image.sh builds it)`;
  }
}

function engineEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.DOCKER_HOST;
  return env;
}

const skip = missingEngine();
let cluster: LocalBerthCluster;
let manager: BerthNode;

/** The docker CLI against berth. */
function docker(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${manager.socket}` } });
}

/** The docker CLI against the real engine underneath. */
function engine(...args: string[]): string {
  return execFileSync('docker', ['-H', 'unix:///var/run/docker.sock', ...args], { env: engineEnv(), encoding: 'utf8' });
}

/** Containers of a service made by this test's nodes (running ones, or all with `all`). */
function runningContainers(service: string, all = false): { id: string; name: string; labels: Record<string, string> }[] {
  const ids = engine('ps', ...(all ? ['-a'] : []), '-q', '--no-trunc', '--filter', `label=com.docker.swarm.service.name=${service}`)
    .split('\n').filter(Boolean);
  if (ids.length === 0) return [];
  const ours = new Set(cluster.nodes.map((n) => n.nodeId));
  // One at a time: a container may be removed between the listing and its inspection.
  const inspected = ids.flatMap((id) => {
    try {
      return JSON.parse(execFileSync('docker', ['-H', 'unix:///var/run/docker.sock', 'inspect', id],
        { env: engineEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { Id: string; Name: string; Config: { Labels: Record<string, string> } }[];
    } catch {
      return [];
    }
  });
  return inspected
    .filter((c) => ours.has(c.Config.Labels['com.docker.swarm.node.id']))
    .map((c) => ({ id: c.Id, name: c.Name.replace(/^\//, ''), labels: c.Config.Labels }));
}

async function tasks(service: string): Promise<ApiTask[]> {
  const filters = encodeURIComponent(JSON.stringify({ service: { [service]: true } }));
  return (await api<ApiTask[]>(manager.socket, 'GET', `/tasks?filters=${filters}`)).body;
}

async function running(service: string): Promise<ApiTask[]> {
  return (await tasks(service)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.end('GET / HTTP/1.0\r\n\r\n'));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => { data += chunk; });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('timed out')));
  });
}

before(async () => {
  if (skip) return;
  cluster = await LocalBerthCluster.start({
    managers: 1, workers: 2, runtime: 'docker', baseDir: mkdtempSync(join(tmpdir(), 'berth-containers-')),
  });
  manager = cluster.nodes[0];
  await eventually('three ready nodes', async () =>
    (await api<{ Status: { State: string } }[]>(manager.socket, 'GET', '/nodes')).body.filter((n) => n.Status.State === 'ready').length === 3);
});

after(async () => {
  if (skip) return;
  try {
    for (const name of ['web', 'roll', 'sick', 'talk', 'gone']) await docker('service', 'rm', name).catch(() => undefined);
  } finally {
    await cluster?.stop(); // also force-removes every container its nodes made
    cluster?.remove();
  }
});

test('three httpd replicas are containers with Swarm names, labels, env and limits; host-mode ports answer', { skip: skip || false }, async () => {
  await docker('service', 'create', '--detach', '--name', 'web', '--replicas', '3',
    '--env', 'GREETING=hi', '--hostname', '{{.Service.Name}}-{{.Task.Slot}}', '--limit-memory', '64m', '--limit-cpu', '0.5',
    '--container-label', 'team=ops', '--publish', 'mode=host,target=8080',
    IMAGE, 'httpd', '-f', '-p', '8080', '-h', '/www');
  await eventually('three running on three nodes', async () => {
    const list = await running('web');
    return list.length === 3 && new Set(list.map((t) => t.NodeID)).size === 3;
  });

  const containers = runningContainers('web');
  assert.equal(containers.length, 3);
  for (const t of await running('web')) {
    const container = containers.find((c) => c.labels['com.docker.swarm.task.id'] === t.ID);
    assert.ok(container, `task ${t.ID} has a container`);
    assert.equal(container.name, `web.${t.Slot}.${t.ID}`);
    assert.equal(container.id, t.Status.ContainerStatus?.ContainerID);
    assert.equal(container.labels['com.docker.swarm.node.id'], t.NodeID);
    assert.equal(container.labels['com.docker.swarm.service.name'], 'web');
    assert.equal(container.labels.team, 'ops');
    const [inspected] = JSON.parse(engine('inspect', container.id)) as {
      Config: { Env: string[]; Hostname: string }; HostConfig: { Memory: number; NanoCpus: number };
    }[];
    assert.ok(inspected.Config.Env.includes('GREETING=hi'));
    assert.equal(inspected.Config.Hostname, `web-${t.Slot}`);
    assert.equal(inspected.HostConfig.Memory, 64 * 1024 * 1024);
    assert.equal(inspected.HostConfig.NanoCpus, 500_000_000);
    // A host-mode port without a number gets one from the engine; the task reports which.
    const port = t.Status.PortStatus?.Ports?.[0]?.PublishedPort;
    assert.ok(port && port > 0, `task ${t.ID} reports its published port`);
    assert.match(await httpGet(port), /hello from berth/);
  }

  // A fixed host port: the endpoint change replaces the task, and the new container holds the port.
  await docker('service', 'update', '--replicas', '1', '--publish-rm', '8080', '--publish-add', 'mode=host,target=8080,published=18080', 'web');
  await eventually('one task on port 18080', async () => {
    const list = await running('web');
    return list.length === 1 && list[0].Status.PortStatus?.Ports?.[0]?.PublishedPort === 18080;
  });
  assert.match(await httpGet(18080), /hello from berth/);

  await docker('service', 'rm', 'web');
  await eventually('its containers removed', () => runningContainers('web', true).length === 0);
});

/** Tasks grouped by creation time: tasks made within `gapMs` of each other form one batch. */
function batches(list: ApiTask[], gapMs: number): number[] {
  const times = list.map((t) => Date.parse(t.CreatedAt)).sort((a, b) => a - b);
  const sizes: number[] = [];
  let last = -Infinity;
  for (const time of times) {
    if (time - last > gapMs) sizes.push(0);
    sizes[sizes.length - 1] += 1;
    last = time;
  }
  return sizes;
}

test('rolling update of 6 replicas 2 by 2, docker service rollback, berth service restart, scale; a failing update rolls back by itself', { skip: skip || false }, async () => {
  await docker('service', 'create', '--detach', '--name', 'roll', '--replicas', '6', '--stop-grace-period', '1s',
    '--update-parallelism', '2', '--update-delay', '1s', '--update-monitor', '1s', IMAGE, 'sleep', '600');
  await eventually('6 running', async () => (await running('roll')).length === 6);
  const first = new Set((await running('roll')).map((t) => t.ID));

  await docker('service', 'update', '--env-add', 'V=2', 'roll');
  const second = await running('roll');
  assert.equal(second.length, 6);
  assert.ok(second.every((t) => !first.has(t.ID)), 'every task was replaced');
  assert.deepEqual(batches(second, 700), [2, 2, 2], 'replacements made two at a time, a delay apart');
  assert.equal(runningContainers('roll').length, 6, 'the old containers are gone');

  // docker service rollback: back to the spec without V, container by container.
  await docker('service', 'rollback', 'roll');
  const rolledBack = await running('roll');
  assert.equal(rolledBack.length, 6);
  for (const container of runningContainers('roll')) {
    const env = JSON.parse(engine('inspect', '--format', '{{json .Config.Env}}', container.id)) as string[];
    assert.ok(!env.includes('V=2'), 'rolled back to the spec without V');
  }

  // A rolling restart: same spec, new containers, same batches.
  await run(process.execPath, [join(process.cwd(), 'dist/cli/berth.js'), '-H', `unix://${manager.socket}`, 'service', 'restart', 'roll']);
  const third = await running('roll');
  assert.equal(third.length, 6);
  assert.ok(third.every((t) => !rolledBack.some((s) => s.ID === t.ID)), 'every task was restarted');
  assert.deepEqual(batches(third, 700), [2, 2, 2]);

  await docker('service', 'scale', 'roll=3');
  await eventually('3 containers', () => runningContainers('roll').length === 3);
  await docker('service', 'scale', 'roll=6');
  await eventually('6 containers', () => runningContainers('roll').length === 6);

  // An update whose tasks fail rolls back by itself (--update-failure-action rollback).
  await docker('service', 'update', '--detach', '--update-failure-action', 'rollback', '--update-max-failure-ratio', '0',
    '--args', 'sh -c "exit 3"', 'roll');
  const status = await eventually('rollback completed', async () => {
    const s = JSON.parse((await docker('service', 'inspect', 'roll', '--format', '{{json .UpdateStatus}}')).stdout) as { State?: string };
    return s.State === 'rollback_completed' ? s : undefined;
  }, 90_000);
  assert.equal(status.State, 'rollback_completed');
  const args = JSON.parse((await docker('service', 'inspect', 'roll', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Args}}')).stdout);
  assert.deepEqual(args, ['sleep', '600']);
  await eventually('6 running again', async () => (await running('roll')).length === 6);
  await docker('service', 'rm', 'roll');
});

test('a task whose healthcheck fails is failed and replaced', { skip: skip || false }, async () => {
  await docker('service', 'create', '--detach', '--name', 'sick', '--stop-grace-period', '1s',
    '--health-cmd', 'test -e /tmp/never', '--health-interval', '500ms', '--health-retries', '1', '--health-start-period', '0s',
    '--restart-delay', '0s', IMAGE, 'sleep', '600');
  const failed = await eventually('an unhealthy task failed and a replacement made', async () => {
    const list = await tasks('sick');
    const unhealthy = list.find((t) => t.Status.State === 'failed' && /unhealthy/.test(t.Status.Err ?? ''));
    return unhealthy && list.length >= 2 ? unhealthy : undefined;
  }, 30_000);
  assert.match(failed.Status.Err ?? '', /unhealthy/);
  assert.ok((await running('sick')).length === 0, 'a task never healthy is never running');

  // Healthy: running once the check passes.
  await docker('service', 'update', '--detach', '--health-cmd', 'true', 'sick');
  await eventually('a healthy task running', async () => (await running('sick')).length === 1, 30_000);
  await docker('service', 'rm', 'sick');
});

test('kill -9 and restart of an agent keeps its containers (same IDs, adopted, not restarted)', { skip: skip || false }, async () => {
  await docker('service', 'create', '--detach', '--name', 'talk', '--replicas', '3', '--stop-grace-period', '1s',
    IMAGE, 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo "line $i from $(hostname)"; sleep 0.2; done');
  await eventually('3 running', async () => (await running('talk')).length === 3);
  const worker = cluster.nodes[1];
  const before = (await running('talk')).filter((t) => t.NodeID === worker.nodeId);
  assert.ok(before.length >= 1, 'the worker runs a task');
  const startedAt = (id: string) => engine('inspect', '--format', '{{.State.StartedAt}}', id).trim();
  const started = before.map((t) => startedAt(t.Status.ContainerStatus!.ContainerID!));
  // Adoption is what is tested, not failure detection: a slow restart on a loaded machine must
  // not get the node marked down (and its tasks replaced) first.
  await docker('swarm', 'update', '--dispatcher-heartbeat', '5s');
  await new Promise((r) => setTimeout(r, 1500)); // a heartbeat under the new period sets the deadline
  try {
    await cluster.kill(worker, 'SIGKILL');
    await cluster.startDaemon(worker);
    await new Promise((r) => setTimeout(r, 2000));
    const afterTasks = (await running('talk')).filter((t) => t.NodeID === worker.nodeId);
    assert.deepEqual(afterTasks.map((t) => [t.ID, t.Status.ContainerStatus?.ContainerID]).sort(),
      before.map((t) => [t.ID, t.Status.ContainerStatus?.ContainerID]).sort());
    assert.deepEqual(before.map((t) => startedAt(t.Status.ContainerStatus!.ContainerID!)), started, 'never restarted');
    assert.equal((await running('talk')).length, 3);
  } finally {
    await docker('swarm', 'update', '--dispatcher-heartbeat', '1s');
  }
});

test('docker service logs shows each container\'s output, complete and in order, with Swarm\'s prefixes; rm removes the containers', { skip: skip || false }, async () => {
  // Runs after the adoption test: `talk` has printed for a while, across an agent restart.
  const list = await running('talk');
  assert.equal(list.length, 3);
  const { stdout } = await docker('service', 'logs', '--no-trunc', 'talk');
  const names = new Map((await api<{ ID: string; Description: { Hostname: string } }[]>(manager.socket, 'GET', '/nodes')).body
    .map((n) => [n.ID, n.Description.Hostname]));
  for (const t of list) {
    const prefix = `talk.${t.Slot}.${t.ID}@${names.get(t.NodeID!)}`;
    const mine = stdout.split('\n').filter((l) => l.startsWith(`${prefix} `));
    assert.ok(mine.length >= 3, `lines of ${prefix}`);
    const numbers = mine.map((l) => Number(/\| line (\d+) from /.exec(l)?.[1]));
    assert.deepEqual(numbers, numbers.map((_, i) => i + 1), `${prefix}: complete, in order`);
    // The container's own output: its hostname is its container ID's first 12 digits.
    assert.ok(mine[0].endsWith(`| line 1 from ${t.Status.ContainerStatus!.ContainerID!.slice(0, 12)}`), mine[0]);
  }
  await docker('service', 'rm', 'talk');
  await eventually('its containers removed', () => runningContainers('talk', true).length === 0);
});

test('nodes report the engine; a container killed outside Berth is reported and replaced; a restarted agent removes containers no longer assigned', { skip: skip || false }, async () => {
  const engineVersion = engine('version', '--format', '{{.Server.Version}}').trim();
  const nodes = (await api<{ ID: string; Description: { Engine: { EngineVersion: string }; Resources: { NanoCPUs: number } } }[]>(
    manager.socket, 'GET', '/nodes')).body;
  for (const n of nodes) {
    assert.equal(n.Description.Engine.EngineVersion, engineVersion, 'the node reports the Docker engine it runs containers with');
    assert.ok(n.Description.Resources.NanoCPUs >= 1e9);
  }

  const worker = cluster.nodes[2];
  await docker('service', 'create', '--detach', '--name', 'gone', '--replicas', '2', '--stop-grace-period', '1s', '--restart-delay', '0s',
    '--constraint', `node.hostname==${worker.name}`, IMAGE, 'sleep', '600');
  const [first] = await eventually('2 running', async () => { const l = await running('gone'); return l.length === 2 ? l : undefined; });

  // Killed behind Berth's back: the task fails with the exit code, and a replacement runs.
  const killedAt = Date.now();
  engine('kill', first.Status.ContainerStatus!.ContainerID!);
  const failed = await eventually('the kill reported', async () =>
    (await tasks('gone')).find((t) => t.ID === first.ID && t.Status.State === 'failed'), 10_000);
  assert.match(failed.Status.Err ?? '', /non-zero exit \(137\)/);
  console.log(`a container killed outside Berth was reported failed after ${Date.now() - killedAt} ms`);
  await eventually('2 running again', async () => (await running('gone')).length === 2);
  // As in Swarm, the dead task's container stays (exited) while the task is in the history.
  const kept = engine('ps', '-a', '-q', '--no-trunc', '--filter', `id=${first.Status.ContainerStatus!.ContainerID!}`).trim();
  assert.equal(kept, first.Status.ContainerStatus!.ContainerID, 'the failed task\'s container is kept for inspection and logs');

  // Removed while the worker's agent is down: the next agent removes what it is no longer assigned.
  await docker('swarm', 'update', '--dispatcher-heartbeat', '5s');
  await new Promise((r) => setTimeout(r, 1500));
  try {
    await cluster.kill(worker, 'SIGKILL');
    await docker('service', 'rm', 'gone');
    assert.equal(runningContainers('gone').length, 2, 'the containers outlive their agent');
    await cluster.startDaemon(worker);
    await eventually('the new agent removed them', () => runningContainers('gone', true).length === 0, 30_000);
  } finally {
    await docker('swarm', 'update', '--dispatcher-heartbeat', '1s');
  }
});
