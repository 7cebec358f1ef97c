import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { test } from 'node:test';
import { isExecutorError } from '../../../../worker/executor/executor.js';
import { harness, lines, sh, task } from '../harness.js';

test('exit code 0 completes the task; its output is in the log', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('echo hi')));
  await c.prepare();
  await h.started(c);
  const exit = await c.wait();
  assert.equal(exit.state, 'complete');
  assert.equal(exit.exitCode, 0);
  assert.equal(exit.err, undefined);
  assert.deepEqual(await lines(c), ['stdout:hi']);
});

test('a non-zero exit fails the task with Swarm\'s message', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('echo hi; exit 3')));
  await h.started(c);
  const exit = await c.wait();
  assert.equal(exit.state, 'failed');
  assert.equal(exit.exitCode, 3);
  assert.equal(exit.err, 'task: non-zero exit (3)');
  assert.equal((await c.status()).phase, 'exited');
});

test('a process killed by a signal fails with the signal and exit code 128+n', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('kill -KILL $$')));
  await h.started(c);
  const exit = await c.wait();
  assert.equal(exit.state, 'failed');
  assert.equal(exit.signal, 'SIGKILL');
  assert.equal(exit.exitCode, 137);
  assert.equal(exit.err, 'task: killed by signal SIGKILL');
});

test('Command[0] is the program, then Command[1..] and Args; without Command, Args[0] is the program', async (t) => {
  const h = harness(t);
  const executor = h.executor();
  const both = executor.controller(task({ Command: ['/bin/echo', 'a'], Args: ['b', 'c'] }));
  await h.started(both);
  await both.wait();
  assert.deepEqual(await lines(both), ['stdout:a b c']);
  const argsOnly = executor.controller(task({ Args: ['echo', 'from', 'args'] }));
  await h.started(argsOnly);
  assert.equal((await argsOnly.wait()).state, 'complete');
  assert.deepEqual(await lines(argsOnly), ['stdout:from args']);
});

test('the environment is PATH, the task variables and Env; the agent\'s own environment does not leak', async (t) => {
  const h = harness(t);
  process.env.BERTH_AGENT_SECRET = 'leak';
  t.after(() => delete process.env.BERTH_AGENT_SECRET);
  const spec = task(sh('echo "$FOO|$BERTH_TASK_ID|$BERTH_TASK_NAME|$BERTH_SERVICE_NAME|$BERTH_TASK_SLOT|$BERTH_NODE_ID|${BERTH_AGENT_SECRET:-none}|${HOSTNAME}|${PATH}|${UNSET-unset}"', {
    Env: ['FOO=bar=baz', 'HOSTNAME=h1', 'UNSET'],
  }));
  const c = h.executor().controller(spec);
  await h.started(c);
  await c.wait();
  assert.deepEqual(await lines(c), [
    `stdout:bar=baz|${spec.ID}|web.1.${spec.ID}|web|1|node1|none|h1|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|unset`,
  ]);
});

test('Dir is the working directory', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('pwd', { Dir: h.scratch })));
  await h.started(c);
  await c.wait();
  assert.deepEqual(await lines(c), [`stdout:${realpathSync(h.scratch)}`]);
});

test('a missing program fails the task clearly at start, and wait reports the same failure', async (t) => {
  const h = harness(t);
  for (const program of ['no-such-program-berth', '/nonexistent/bin/tool']) {
    const c = h.executor().controller(task({ Command: [program, 'x'] }));
    await c.prepare();
    await assert.rejects(c.start(), (error: unknown) => {
      assert.ok(isExecutorError(error, 'EXECUTABLE_NOT_FOUND'));
      assert.equal(error.taskState, 'failed');
      assert.equal(error.message, `executable file not found: ${program}`);
      return true;
    });
    const exit = await c.wait();
    assert.equal(exit.state, 'failed');
    assert.equal(exit.err, `executable file not found: ${program}`);
    // Starting again does not run anything: the task is over.
    await c.start();
    assert.equal((await c.status()).phase, 'exited');
  }
});

test('specs the process executor cannot honour are rejected at prepare with the reason', async (t) => {
  const h = harness(t);
  const executor = h.executor();
  const cases: [Parameters<typeof task>[0], string, RegExp][] = [
    [{ Command: [] }, 'INVALID_SPEC', /^invalid ContainerSpec\.Command: empty/],
    [sh('true', { Dir: '/no/such/dir' }), 'INVALID_SPEC', /^invalid ContainerSpec\.Dir: \/no\/such\/dir does not exist$/],
    [sh('true', { Dir: 'relative' }), 'INVALID_SPEC', /not an absolute path/],
    [sh('true', { StopSignal: 'SIGNOPE' }), 'INVALID_SPEC', /^invalid ContainerSpec\.StopSignal: unknown signal "SIGNOPE"$/],
    [sh('true', { Env: ['=x'] }), 'INVALID_SPEC', /^invalid ContainerSpec\.Env/],
    [sh('true', { User: 'no-such-user-berth' }), 'INVALID_SPEC', /^invalid ContainerSpec\.User: no user/],
    [sh('true', { Mounts: [{ Type: 'bind', Source: '/', Target: '/x' }] }), 'UNSUPPORTED', /^the process executor does not support mounts/],
    [sh('true', { Secrets: [{ SecretName: 's' }] }), 'UNSUPPORTED', /secrets/],
  ];
  for (const [spec, code, message] of cases) {
    const c = executor.controller(task(spec));
    await assert.rejects(c.prepare(), (error: unknown) => {
      assert.ok(isExecutorError(error), String(error));
      assert.equal(error.code, code);
      assert.equal(error.taskState, 'rejected');
      assert.match(error.message, message);
      return true;
    });
    await assert.rejects(c.wait(), (error: unknown) => isExecutorError(error, 'NOT_STARTED'));
  }
  assert.throws(() => executor.controller(task(sh('true'), { ID: '../escape' })), (error: unknown) => isExecutorError(error, 'INVALID_SPEC'));
});

test('signals may be named with or without SIG, or by number', async (t) => {
  const h = harness(t);
  const executor = h.executor();
  for (const StopSignal of ['SIGINT', 'INT', '2', 'int']) {
    const c = executor.controller(task(sh('trap "echo int; exit 0" INT; while :; do sleep 0.05; done', { StopSignal })));
    await h.started(c);
    await c.shutdown({ gracePeriodMs: 5000 });
    assert.equal((await c.wait()).exitCode, 0, StopSignal);
  }
});

test('controllers are one per task; prepare and start are idempotent', async (t) => {
  const h = harness(t);
  const executor = h.executor();
  const spec = task(sh('sleep 30', { StopGracePeriod: 0 }));
  const c = executor.controller(spec);
  assert.equal(executor.controller(spec), c);
  const [pid] = await Promise.all([h.started(c), c.start()]);
  await c.prepare();
  await c.start();
  assert.equal((await c.status()).pid, pid);
  await c.terminate();
  assert.equal((await c.wait()).state, 'shutdown');
});

test('remove stops the task and deletes its state and logs', async (t) => {
  const h = harness(t);
  const executor = h.executor();
  const spec = task(sh('echo x; sleep 30'));
  const c = executor.controller(spec);
  const pid = await h.started(c);
  await c.remove();
  assert.equal((await c.status()).phase, 'removed');
  assert.equal(await executor.adopt(spec.ID), undefined);
  assert.ok(!(await import('node:fs')).existsSync(`${h.stateDir}/tasks/${spec.ID}`));
  assert.throws(() => process.kill(pid, 0));
  await assert.rejects(c.start(), (error: unknown) => isExecutorError(error, 'REMOVED'));
});

test('User runs the task as another user when the agent is root', { skip: process.getuid?.() !== 0 }, async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('id -u; id -g', { User: '65534:65534' })));
  await h.started(c);
  await c.wait();
  assert.deepEqual(await lines(c), ['stdout:65534', 'stdout:65534']);
});

test('describe reports the node and the runtime', async (t) => {
  const h = harness(t);
  const d = await h.executor().describe();
  assert.equal(d.runtime, 'process');
  assert.equal(d.os, 'linux');
  assert.ok(d.nanoCpus > 0);
});
