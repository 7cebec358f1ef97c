import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { isExecutorError } from '../../../../worker/executor/executor.js';
import { dockerSuite, dockerTest, eventually, lines, ns, sh, within } from './harness.js';

const suite = dockerSuite(import.meta.url);

/** GET / over a plain TCP socket: the response's last line (the body of /www/index.html). */
function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setTimeout(3000, () => socket.destroy(new Error('timed out')));
    socket.on('connect', () => socket.write('GET / HTTP/1.0\r\nHost: x\r\n\r\n'));
    socket.on('data', (chunk) => { text += chunk.toString(); });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

dockerTest('an httpd task runs as a Swarm-named, Swarm-labelled container with its spec applied', async () => {
  const executor = suite.executor({ hostname: 'node-host' });
  const task = suite.task({
    Command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
    Env: ['SLOT=web-{{.Task.Slot}}', 'WHERE={{.Node.Hostname}}/{{ .Service.Name }}', 'PLAIN=x=y'],
    Hostname: '{{.Service.Name}}-{{.Task.Slot}}',
    Labels: { team: 'blue' },
    ReadOnly: true,
    Mounts: [{ Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 1 << 20 } }],
    StopGracePeriod: 0,
  }, {
    Endpoint: { Ports: [{ Protocol: 'tcp', TargetPort: 8080, PublishMode: 'host' }, { Protocol: 'tcp', TargetPort: 9999, PublishedPort: 9999, PublishMode: 'ingress' }] },
  });
  task.Spec.Resources = {
    Limits: { NanoCPUs: 500_000_000, MemoryBytes: 64 * 1024 * 1024, Pids: 50 },
    Reservations: { MemoryBytes: 16 * 1024 * 1024 },
  };
  const c = executor.controller(task);
  await c.prepare();
  assert.equal((await c.status()).phase, 'prepared');
  await c.start();

  const status = await c.status();
  assert.equal(status.phase, 'running');
  assert.ok(status.runtimeId && /^[0-9a-f]{64}$/.test(status.runtimeId));
  assert.ok(status.pid && status.pid > 0);
  assert.ok(status.startedAt);
  assert.equal(status.adopted, false);

  const info = await suite.docker.getContainer(status.runtimeId).inspect();
  assert.equal(info.Name, `/web.${task.Slot}.${task.ID}`);
  assert.deepEqual(
    Object.fromEntries(Object.entries(info.Config.Labels).filter(([k]) => k.startsWith('com.') || k === 'team')),
    {
      team: 'blue',
      'com.docker.swarm.node.id': suite.nodeId,
      'com.docker.swarm.service.id': 'svc1',
      'com.docker.swarm.service.name': 'web',
      'com.docker.swarm.task': '',
      'com.docker.swarm.task.id': task.ID,
      'com.docker.swarm.task.name': `web.${task.Slot}.${task.ID}`,
      'com.berth.managed': 'true',
    },
  );
  assert.ok(info.Config.Env.includes(`SLOT=web-${task.Slot}`));
  assert.ok(info.Config.Env.includes('WHERE=node-host/web'));
  assert.ok(info.Config.Env.includes('PLAIN=x=y'));
  assert.equal(info.Config.Hostname, `web-${task.Slot}`);
  assert.equal(info.HostConfig.NanoCpus, 500_000_000);
  assert.equal(info.HostConfig.Memory, 64 * 1024 * 1024);
  assert.equal(info.HostConfig.MemoryReservation, 16 * 1024 * 1024);
  assert.equal(info.HostConfig.PidsLimit, 50);
  assert.equal(info.HostConfig.ReadonlyRootfs, true);
  const tmpfs = info.Mounts.find((m) => m.Destination === '/scratch');
  assert.equal(tmpfs?.Type, 'tmpfs');

  // The host-mode port got a host port from the engine; the ingress one is not the container's business.
  assert.equal(status.ports?.length, 1);
  const [port] = status.ports!;
  assert.equal(port.TargetPort, 8080);
  assert.equal(port.Protocol, 'tcp');
  assert.equal(port.PublishMode, 'host');
  assert.ok(port.PublishedPort > 0);
  assert.match(await httpGet(port.PublishedPort), /hello from berth/);

  await c.shutdown();
  assert.equal((await c.wait()).state, 'shutdown');
});

dockerTest('exit 0 completes; a non-zero exit fails with Swarm\'s message and the exit code', async () => {
  const executor = suite.executor();
  const ok = executor.controller(suite.task(sh('echo done')));
  const bad = executor.controller(suite.task(sh('echo failing >&2; exit 3')));
  await Promise.all([ok.start(), bad.start()]);
  const [okExit, badExit] = await Promise.all([within(5000, ok.wait(), 'exit'), within(5000, bad.wait(), 'exit')]);
  assert.equal(okExit.state, 'complete');
  assert.equal(okExit.exitCode, 0);
  assert.equal(okExit.err, undefined);
  assert.equal(badExit.state, 'failed');
  assert.equal(badExit.exitCode, 3);
  assert.equal(badExit.err, 'task: non-zero exit (3)');
  assert.ok(badExit.startedAt && badExit.finishedAt);
  assert.equal((await bad.status()).phase, 'exited');
  // Starting again runs nothing: the task is over.
  await bad.start();
  assert.equal((await bad.status()).exit?.exitCode, 3);
});

dockerTest('a task killed for exceeding its memory limit says so', async () => {
  const executor = suite.executor();
  const task = suite.task({ Command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'] });
  task.Spec.Resources = { Limits: { MemoryBytes: 8 * 1024 * 1024 } };
  const c = executor.controller(task);
  await c.start();
  const exit = await within(10_000, c.wait(), 'the OOM kill');
  assert.equal(exit.state, 'failed');
  assert.equal(exit.exitCode, 137);
  assert.equal(exit.err, 'task: non-zero exit (137): out of memory (OOMKilled)');
});

dockerTest('a container killed from outside is reported at once', async () => {
  const executor = suite.executor();
  const c = executor.controller(suite.task(sh('sleep 60')));
  await c.start();
  const { runtimeId } = await c.status();
  const waiting = c.wait();
  await suite.docker.getContainer(runtimeId!).kill({ signal: 'SIGKILL' });
  const exit = await within(3000, waiting, 'reporting the death');
  assert.equal(exit.state, 'failed');
  assert.equal(exit.exitCode, 137);
  assert.equal(exit.err, 'task: non-zero exit (137)');
});

dockerTest('shutdown sends the StopSignal and waits for the task to exit', async () => {
  const executor = suite.executor();
  const c = executor.controller(suite.task(sh('trap "echo got USR1; exit 0" USR1; echo ready; while :; do sleep 0.1; done', { StopSignal: 'SIGUSR1', StopGracePeriod: ns(10_000) })));
  await c.start();
  await eventually(async () => (await lines(c)).includes('stdout:ready'));
  const started = Date.now();
  await c.shutdown();
  assert.ok(Date.now() - started < 5000, 'stopped by the signal, not after the grace period');
  const exit = await c.wait();
  assert.equal(exit.state, 'shutdown');
  assert.equal(exit.exitCode, 0);
  assert.equal(exit.err, undefined);
  assert.ok((await lines(c)).includes('stdout:got USR1'));
  assert.equal((await c.status()).stopRequested, true);
});

dockerTest('a task that ignores its stop signal is killed once the grace period is over', async () => {
  const executor = suite.executor();
  const c = executor.controller(suite.task(sh('trap "" TERM; echo ready; while :; do sleep 0.1; done', { StopGracePeriod: ns(1000) })));
  await c.start();
  await eventually(async () => (await lines(c)).includes('stdout:ready'));
  const started = Date.now();
  await c.shutdown();
  const took = Date.now() - started;
  assert.ok(took >= 900, `killed after the grace period, not before (${took} ms)`);
  const exit = await c.wait();
  assert.equal(exit.state, 'shutdown');
  assert.equal(exit.exitCode, 137);
  // An explicit grace period overrides the spec's.
  const quick = executor.controller(suite.task(sh('trap "" TERM; while :; do sleep 0.1; done', { StopGracePeriod: ns(30_000) })));
  await quick.start();
  const t0 = Date.now();
  await quick.shutdown({ gracePeriodMs: 0 });
  assert.ok(Date.now() - t0 < 5000);
  assert.equal((await quick.wait()).exitCode, 137);
});

dockerTest('terminate kills at once; remove deletes the container; both are no-ops when done', async () => {
  const executor = suite.executor();
  const c = executor.controller(suite.task(sh('trap "" TERM; sleep 60')));
  await c.start();
  const { runtimeId } = await c.status();
  await c.terminate();
  const exit = await c.wait();
  assert.equal(exit.state, 'shutdown');
  assert.equal(exit.exitCode, 137);
  await c.terminate();
  await c.shutdown();
  await c.remove();
  assert.equal((await c.status()).phase, 'removed');
  await assert.rejects(suite.docker.getContainer(runtimeId!).inspect(), (error: { statusCode?: number }) => error.statusCode === 404);
  await c.remove();
  await assert.rejects(c.start(), (error: unknown) => isExecutorError(error, 'REMOVED'));

  // remove() of a running task stops it first; one removed from outside is no error.
  const running = executor.controller(suite.task(sh('sleep 60')));
  await running.start();
  await running.remove();
  assert.equal((await running.wait()).state, 'shutdown');
  const gone = executor.controller(suite.task(sh('sleep 60')));
  await gone.start();
  await suite.docker.getContainer((await gone.status()).runtimeId!).remove({ force: true });
  const goneExit = await within(3000, gone.wait(), 'reporting the removal');
  assert.equal(goneExit.state, 'failed');
  await gone.remove();
});

dockerTest('prepare and start are idempotent, and a second executor reuses the container a task already has', async () => {
  const executor = suite.executor();
  const task = suite.task(sh('sleep 60', { StopGracePeriod: 0 }));
  const c = executor.controller(task);
  assert.equal(executor.controller(task), c);
  await Promise.all([c.prepare(), c.prepare()]);
  const { runtimeId } = await c.status();
  // Another agent (same node) asked for the same task creates nothing new.
  const other = suite.executor().controller(task);
  await other.prepare();
  assert.equal((await other.status()).runtimeId, runtimeId);
  await Promise.all([c.start(), c.start()]);
  await c.start();
  const startedAt = (await suite.docker.getContainer(runtimeId!).inspect()).State.StartedAt;
  await other.start();
  assert.equal((await suite.docker.getContainer(runtimeId!).inspect()).State.StartedAt, startedAt, 'not started twice');
  const containers = await suite.docker.listContainers({ all: true, filters: { label: [`com.docker.swarm.task.id=${task.ID}`] } });
  assert.equal(containers.length, 1);
  await c.terminate();
});

dockerTest('a start the engine refuses fails the task with the engine\'s reason', async () => {
  const executor = suite.executor();
  const c = executor.controller(suite.task({ Command: ['no-such-program-berth'] }));
  await c.prepare();
  await assert.rejects(c.start(), (error: unknown) => {
    assert.ok(isExecutorError(error, 'START_FAILED'), String(error));
    assert.equal(error.taskState, 'failed');
    assert.match(error.message, /^starting task failed: .*no-such-program-berth.*executable file not found/);
    return true;
  });
  const exit = await c.wait();
  assert.equal(exit.state, 'failed');
  assert.match(exit.err ?? '', /executable file not found/);
  await c.start();
});

dockerTest('specs that cannot run are rejected at prepare: the executor\'s checks, then the engine\'s', async () => {
  const executor = suite.executor();
  const missingDir = mkdtempSync(join(os.tmpdir(), 'berth-bind-'));
  rmSync(missingDir, { recursive: true });
  const cases: [Parameters<typeof suite.task>[0], string, RegExp][] = [
    [sh('true', { Env: ['A={{.Task.Nope}}'] }), 'INVALID_SPEC', /^invalid ContainerSpec\.Env \(A\): unknown template placeholder \{\{\.Task\.Nope\}\}/],
    [sh('true', { Image: '' }), 'INVALID_SPEC', /^invalid ContainerSpec\.Image: required$/],
    [sh('true', { Secrets: [{ SecretName: 's' }] }), 'UNSUPPORTED', /^the docker executor does not support secrets/],
    [sh('true', { Mounts: [{ Type: 'bind', Source: missingDir, Target: '/data' }] }), 'CONTAINER_CREATE_FAILED', /bind source path does not exist/],
  ];
  for (const [spec, code, message] of cases) {
    const c = executor.controller(suite.task(spec));
    await assert.rejects(c.prepare(), (error: unknown) => {
      assert.ok(isExecutorError(error), String(error));
      assert.equal(error.code, code);
      assert.equal(error.taskState, 'rejected');
      assert.match(error.message, message);
      return true;
    });
    await assert.rejects(c.wait(), (error: unknown) => isExecutorError(error, 'NOT_STARTED'));
  }
});

dockerTest('a bind mount and a working directory reach the container', async () => {
  const executor = suite.executor();
  const dir = mkdtempSync(join(os.tmpdir(), 'berth-bind-'));
  try {
    const c = executor.controller(suite.task(sh('pwd; cat /data/hello; touch /data/ro 2>/dev/null || echo read-only', {
      Dir: '/data',
      Mounts: [{ Type: 'bind', Source: dir, Target: '/data', ReadOnly: true }],
    })));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'hello'), 'from the host\n');
    await c.start();
    assert.equal((await c.wait()).state, 'complete');
    assert.deepEqual(await lines(c), ['stdout:/data', 'stdout:from the host', 'stdout:read-only']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
