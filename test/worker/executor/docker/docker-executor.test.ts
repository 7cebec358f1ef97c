import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isExecutorError } from '../../../../worker/executor/executor.js';
import { DockerExecutor, dockerAvailable } from '../../../../worker/executor/docker/docker-executor.js';
import { dockerSuite, dockerTest, lines, sh, within } from './harness.js';

const suite = dockerSuite(import.meta.url);

test('dockerAvailable says no, quickly, when nothing answers', async () => {
  const started = Date.now();
  assert.equal(await dockerAvailable('unix:///nonexistent/docker.sock'), false);
  assert.equal(await dockerAvailable('tcp://127.0.0.1:1'), false);
  assert.equal(await dockerAvailable('not a host'), false);
  assert.ok(Date.now() - started < 3000);
});

test('an unreachable engine is a clear error, not a crash', async () => {
  const executor = new DockerExecutor({ nodeId: 'n1', dockerHost: 'unix:///nonexistent/docker.sock' });
  try {
    await assert.rejects(executor.describe(), (error: unknown) => {
      assert.ok(isExecutorError(error, 'ENGINE_UNAVAILABLE'), String(error));
      assert.match(error.message, /^cannot connect to the Docker engine at unix:\/\/\/nonexistent\/docker\.sock: /);
      return true;
    });
    const c = executor.controller({ ID: 'tunreachable', Spec: { ContainerSpec: { Image: 'busybox' } } });
    await assert.rejects(c.prepare(), (error: unknown) => isExecutorError(error, 'ENGINE_UNAVAILABLE'));
    await assert.rejects(executor.adoptAll(), (error: unknown) => isExecutorError(error, 'ENGINE_UNAVAILABLE'));
  } finally {
    executor.close();
  }
});

dockerTest('dockerAvailable answers for the local engine', async () => {
  assert.equal(await dockerAvailable(), true);
});

dockerTest('describe reports the engine\'s host, platform, resources and version, with our labels over its own', async () => {
  const info = await suite.docker.info();
  const described = await suite.executor({ labels: { zone: 'a' } }).describe();
  assert.deepEqual(described, {
    hostname: info.Name,
    os: info.OSType,
    arch: info.Architecture,
    nanoCpus: info.NCPU * 1e9,
    memoryBytes: info.MemTotal,
    engineVersion: info.ServerVersion,
    engineLabels: { ...Object.fromEntries((info.Labels as string[]).map((l) => l.split('=', 2))), zone: 'a' },
    runtime: 'docker',
  });
  assert.equal((await suite.executor({ hostname: 'node-7' }).describe()).hostname, 'node-7');
});

dockerTest('a new executor adopts running and exited containers without restarting them', async () => {
  const first = suite.executor();
  const runningTask = suite.task(sh('echo up; sleep 60', { StopGracePeriod: 0 }));
  const exitedTask = suite.task(sh('exit 4'));
  const preparedTask = suite.task(sh('echo late'));
  const running = first.controller(runningTask);
  const exited = first.controller(exitedTask);
  await Promise.all([running.start(), exited.start(), first.controller(preparedTask).prepare()]);
  await exited.wait();
  const { runtimeId, startedAt } = await running.status();
  first.close();

  // The agent restarted.
  const second = suite.executor();
  const report = await second.adoptAll();
  assert.deepEqual(report.unreadable, []);
  const byId = new Map(report.adopted.map((a) => [a.taskId, a]));
  assert.deepEqual([...byId.keys()].sort(), [runningTask.ID, exitedTask.ID, preparedTask.ID].sort());

  const adopted = byId.get(runningTask.ID)!;
  assert.equal(adopted.running, true);
  const status = await adopted.controller.status();
  assert.equal(status.runtimeId, runtimeId);
  assert.equal(status.phase, 'running');
  assert.equal(status.adopted, true);
  assert.equal(status.startedAt, startedAt);
  // The agent hands over the full task later: same controller, nothing restarted.
  assert.equal(second.controller(runningTask), adopted.controller);
  await adopted.controller.start();
  assert.equal((await suite.docker.getContainer(runtimeId!).inspect()).State.StartedAt.slice(0, 23), startedAt!.slice(0, 23));
  assert.equal(await second.adopt(runningTask.ID), adopted.controller);
  assert.deepEqual(await lines(adopted.controller), ['stdout:up']);

  const over = byId.get(exitedTask.ID)!;
  assert.equal(over.running, false);
  const exit = await over.controller.wait();
  assert.equal(exit.state, 'failed');
  assert.equal(exit.exitCode, 4);
  assert.equal(exit.err, 'task: non-zero exit (4)');

  // A created container is prepared: starting it runs it now.
  const prepared = byId.get(preparedTask.ID)!;
  assert.equal(prepared.running, false);
  assert.equal((await prepared.controller.status()).phase, 'prepared');
  await prepared.controller.start();
  assert.equal((await prepared.controller.wait()).state, 'complete');

  // The adopted task's death is seen as quickly as a task the executor started.
  const waiting = adopted.controller.wait();
  await suite.docker.getContainer(runtimeId!).kill();
  const died = await within(3000, waiting, 'reporting the death');
  assert.equal(died.exitCode, 137);
  assert.equal(died.state, 'failed');
});

dockerTest('adopt finds one task by ID; other nodes\' containers are not ours', async () => {
  const first = suite.executor();
  const task = suite.task(sh('sleep 60', { StopGracePeriod: 0 }));
  await first.controller(task).start();
  first.close();

  const stranger = new DockerExecutor({ nodeId: `${suite.nodeId}other` });
  try {
    assert.equal(await stranger.adopt(task.ID), undefined);
    assert.deepEqual((await stranger.adoptAll()).adopted, []);
  } finally {
    stranger.close();
  }
  const second = suite.executor();
  assert.equal(await second.adopt('no-such-task'), undefined);
  const controller = await second.adopt(task.ID);
  assert.ok(controller);
  const status = await controller.status();
  assert.equal(status.phase, 'running');
  // Stopping an adopted task honours the grace period its container keeps (0 s here).
  const started = Date.now();
  await controller.shutdown();
  assert.ok(Date.now() - started < 5000);
  assert.equal((await controller.wait()).state, 'shutdown');
  await controller.remove();
  assert.equal(await second.adopt(task.ID), undefined);
});
