import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { eventually, harness, isAlive, lines, sh, task } from '../harness.js';

const MS = 1e6;

test('shutdown stops a task with SIGTERM; the task ends as shutdown', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('exec sleep 30', { StopGracePeriod: 5000 * MS })));
  await h.started(c);
  const begun = Date.now();
  await c.shutdown();
  assert.ok(Date.now() - begun < 2000, 'a process that obeys SIGTERM stops at once');
  const exit = await c.wait();
  assert.equal(exit.state, 'shutdown');
  assert.equal(exit.signal, 'SIGTERM');
  assert.equal(exit.exitCode, 143);
  assert.equal(exit.err, undefined);
  assert.equal((await c.status()).stopRequested, true);
});

test('a task that traps SIGTERM and exits cleanly gets to do so', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('trap "echo draining; exit 0" TERM; echo ready; while :; do sleep 0.05; done', { StopGracePeriod: 5000 * MS })));
  await h.started(c);
  await eventually(async () => (await lines(c)).includes('stdout:ready'));
  await c.shutdown();
  const exit = await c.wait();
  assert.equal(exit.exitCode, 0);
  assert.equal(exit.signal, null);
  assert.equal(exit.state, 'shutdown');
  // (sh may also report on stderr that its foreground sleep was terminated.)
  assert.deepEqual((await lines(c)).filter((l) => l.startsWith('stdout:')), ['stdout:ready', 'stdout:draining']);
});

test('a task that ignores SIGTERM is killed with SIGKILL after StopGracePeriod', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('trap "echo ignoring" TERM; echo ready; while :; do sleep 0.05; done', { StopGracePeriod: 400 * MS })));
  await h.started(c);
  await eventually(async () => (await lines(c)).includes('stdout:ready'));
  const begun = Date.now();
  await c.shutdown();
  const took = Date.now() - begun;
  assert.ok(took >= 380, `waited the grace period (${took} ms)`);
  assert.ok(took < 3000, `then killed at once (${took} ms)`);
  const exit = await c.wait();
  assert.equal(exit.signal, 'SIGKILL');
  assert.equal(exit.state, 'shutdown');
  assert.ok((await lines(c)).includes('stdout:ignoring'));
});

test('the grace period given to shutdown overrides the spec\'s', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('trap "" TERM; while :; do sleep 0.05; done', { StopGracePeriod: 60_000 * MS })));
  await h.started(c);
  const begun = Date.now();
  await c.shutdown({ gracePeriodMs: 100 });
  assert.ok(Date.now() - begun < 3000);
  assert.equal((await c.wait()).signal, 'SIGKILL');
});

test('stopping reaches every process the task started (its process group)', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('sleep 30 & echo $!; wait', { StopGracePeriod: 0 })));
  await h.started(c);
  let child = 0;
  await eventually(async () => {
    const out = await lines(c);
    child = out.length ? Number(out[0].split(':')[1]) : 0;
    return child > 0;
  });
  assert.ok(isAlive(child));
  await c.terminate();
  assert.equal((await c.wait()).signal, 'SIGKILL');
  await eventually(() => !isAlive(child) || isZombie(child));
});

test('processes left behind when the main process exits are killed with it, as in a container', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('sleep 30 & echo $!')));
  await h.started(c);
  assert.equal((await c.wait()).state, 'complete');
  const child = Number((await lines(c))[0].split(':')[1]);
  await eventually(() => !isAlive(child) || isZombie(child));
});

test('shutdown and terminate of a task that is not running are no-ops', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('exit 0')));
  await c.shutdown();
  await c.terminate();
  await h.started(c);
  await c.wait();
  await c.shutdown();
  assert.equal((await c.wait()).state, 'complete');
});

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
