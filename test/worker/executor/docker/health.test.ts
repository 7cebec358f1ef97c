import assert from 'node:assert/strict';
import { isExecutorError } from '../../../../worker/executor/executor.js';
import { dockerSuite, dockerTest, ns, sh, within } from './harness.js';

const suite = dockerSuite(import.meta.url);

/** Checks every 200 ms, one failure is enough: fast enough for a test, the semantics of any other setting. */
function check(test: string[]): Record<string, unknown> {
  return { Test: test, Interval: ns(200), Timeout: ns(2000), Retries: 1 };
}

dockerTest('with a healthcheck, start resolves only once the container is healthy', async () => {
  const executor = suite.executor();
  // Healthy only once the task has created its marker, a moment after it started.
  // Failures during the start period do not count, as in Docker.
  const c = executor.controller(suite.task(sh('sleep 0.5; touch /tmp/ready; sleep 60', {
    Healthcheck: { ...check(['CMD-SHELL', 'test -f /tmp/ready']), StartPeriod: ns(10_000) },
    StopGracePeriod: 0,
  })));
  await within(10_000, c.start(), 'start');
  const { runtimeId } = await c.status();
  const info = await suite.docker.getContainer(runtimeId!).inspect();
  assert.equal(info.State.Health?.Status, 'healthy');
  await c.terminate();
  assert.equal((await c.wait()).state, 'shutdown');
});

dockerTest('a container that turns unhealthy before it is healthy fails its start as SwarmKit does', async () => {
  const executor = suite.executor();
  const c = executor.controller(suite.task(sh('sleep 60', {
    Healthcheck: check(['CMD', 'false']),
    StopGracePeriod: ns(500),
  })));
  await assert.rejects(within(10_000, c.start(), 'start'), (error: unknown) => {
    assert.ok(isExecutorError(error, 'CONTAINER_UNHEALTHY'), String(error));
    assert.equal(error.taskState, 'failed');
    // sh as PID 1 ignores SIGTERM: the grace period ends in SIGKILL.
    assert.equal(error.message, 'task: non-zero exit (137): dockerexec: unhealthy container');
    return true;
  });
  const exit = await c.wait();
  assert.equal(exit.state, 'failed');
  assert.equal(exit.err, 'task: non-zero exit (137): dockerexec: unhealthy container');
  assert.equal((await c.status()).stopRequested, false);
});

dockerTest('a running container that turns unhealthy is stopped and its task fails', async () => {
  const executor = suite.executor();
  const c = executor.controller(suite.task(sh('touch /tmp/ok; sleep 1; rm /tmp/ok; sleep 60', {
    Healthcheck: check(['CMD-SHELL', 'test -f /tmp/ok']),
    StopGracePeriod: ns(500),
  })));
  await within(10_000, c.start(), 'start');
  assert.equal((await c.status()).phase, 'running');
  const exit = await within(10_000, c.wait(), 'the unhealthy stop');
  assert.equal(exit.state, 'failed');
  assert.equal(exit.exitCode, 137);
  assert.equal(exit.err, 'task: non-zero exit (137): dockerexec: unhealthy container');
});

dockerTest('Healthcheck NONE disables the image\'s check: start does not wait', async () => {
  const executor = suite.executor();
  const c = executor.controller(suite.task(sh('sleep 60', { Healthcheck: { Test: ['NONE'] }, StopGracePeriod: 0 })));
  await within(5000, c.start(), 'start');
  const info = await suite.docker.getContainer((await c.status()).runtimeId!).inspect();
  assert.equal(info.State.Health, undefined);
  await c.terminate();
});
