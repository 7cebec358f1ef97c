import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isExecutorError } from '../../../../worker/executor/executor.js';
import { eventually, harness, isAlive, lines, sh, sleep, task } from '../harness.js';

test('a new executor on the same state dir adopts a running task: same PID, still running, its exit observed', async (t) => {
  const h = harness(t);
  const go = join(h.scratch, 'go');
  const spec = task(sh(`echo before; while [ ! -e ${go} ]; do sleep 0.05; done; echo after; echo bye >&2`));
  const first = h.executor();
  const original = first.controller(spec);
  const pid = await h.started(original);
  await eventually(async () => (await lines(original)).includes('stdout:before'));
  first.close(); // the agent goes away; the task must not notice

  await sleep(150);
  assert.ok(isAlive(pid));
  const second = h.executor();
  const report = await second.adoptAll();
  assert.equal(report.unreadable.length, 0);
  assert.equal(report.adopted.length, 1);
  const [adopted] = report.adopted;
  assert.equal(adopted.taskId, spec.ID);
  assert.equal(adopted.running, true);
  const status = await adopted.controller.status();
  assert.equal(status.pid, pid);
  assert.equal(status.adopted, true);
  assert.equal(status.phase, 'running');
  // The agent's reconciliation asks for the same task again: it gets the adopted controller, and start does not run it twice.
  assert.equal(second.controller(spec), adopted.controller);
  await adopted.controller.start();
  assert.equal((await adopted.controller.status()).pid, pid);

  writeFileSync(go, '');
  const exit = await adopted.controller.wait();
  // Not our child: the exit is seen, its code cannot be read.
  assert.equal(exit.state, 'failed');
  assert.equal(exit.exitCode, null);
  assert.match(exit.err ?? '', /^task: exit status unknown: /);
  assert.ok(!isAlive(pid) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'));
  // Every line exactly once, across both agents.
  assert.deepEqual(await lines(adopted.controller), ['stdout:before', 'stdout:after', 'stderr:bye']);
  // And a third agent finds it finished, with the same report.
  const third = h.executor();
  const again = await third.adopt(spec.ID);
  assert.ok(again);
  assert.deepEqual(await again.wait(), exit);
});

test('an adopted task can be shut down gracefully', async (t) => {
  const h = harness(t);
  const spec = task(sh('trap "echo stopping; exit 0" TERM; while :; do sleep 0.05; done', { StopGracePeriod: 5e9 }));
  const first = h.executor();
  const pid = await h.started(first.controller(spec));
  first.close();
  const adopted = await h.executor().adopt(spec.ID);
  assert.ok(adopted);
  await adopted.shutdown();
  const exit = await adopted.wait();
  assert.equal(exit.state, 'shutdown');
  await eventually(() => !isAlive(pid) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'));
  assert.ok((await lines(adopted)).includes('stdout:stopping'));
});

test('logs follow across adoption and end when the adopted task exits', async (t) => {
  const h = harness(t);
  const spec = task(sh('for i in 1 2 3 4 5 6; do echo $i; sleep 0.1; done'));
  const first = h.executor();
  await h.started(first.controller(spec));
  first.close();
  const adopted = await h.executor().adopt(spec.ID);
  assert.ok(adopted);
  const seen: string[] = [];
  for await (const l of adopted.logs({ follow: true })) seen.push(l.line);
  assert.deepEqual(seen, ['1', '2', '3', '4', '5', '6']);
});

test('a task that exited while no agent ran is found finished, and nothing is signalled', async (t) => {
  const h = harness(t);
  const spec = task(sh('echo last words; sleep 30'));
  const first = h.executor();
  const c = first.controller(spec);
  const pid = await h.started(c);
  await eventually(async () => (await lines(c)).length > 0);
  first.close();
  process.kill(-pid, 'SIGKILL');
  await eventually(() => !isAlive(pid) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'));

  const report = await h.executor().adoptAll();
  assert.equal(report.adopted.length, 1);
  assert.equal(report.adopted[0].running, false);
  const exit = await report.adopted[0].controller.wait();
  assert.equal(exit.state, 'failed');
  assert.match(exit.err ?? '', /exit status unknown/);
  assert.deepEqual(await lines(report.adopted[0].controller), ['stdout:last words']);
});

test('PID reuse: a stored PID that now names another process is never adopted nor signalled', async (t) => {
  const h = harness(t);
  const spec = task(sh('sleep 30', { StopGracePeriod: 0 }));
  const first = h.executor();
  await h.started(first.controller(spec));
  first.close();

  // Another process now holds "our" PID: same number, a later start time (counted in 10 ms clock ticks).
  await sleep(50);
  const bystander = spawn('sleep', ['30'], { stdio: 'ignore', detached: true });
  h.track(bystander.pid!);
  const statePath = join(h.stateDir, 'tasks', spec.ID, 'state.json');
  const state = JSON.parse(readFileSync(statePath, 'utf8'));
  state.process.pid = bystander.pid;
  state.process.pgid = bystander.pid;
  writeFileSync(statePath, JSON.stringify(state));

  const adopted = await h.executor().adopt(spec.ID);
  assert.ok(adopted);
  const status = await adopted.status();
  assert.equal(status.phase, 'exited');
  await adopted.shutdown();
  await adopted.terminate();
  await adopted.remove();
  assert.ok(isAlive(bystander.pid!), 'the bystander was not touched');
  assert.equal(bystander.exitCode, null);
});

test('an unreadable state file is reported, not fatal to adopting the others', async (t) => {
  const h = harness(t);
  const first = h.executor();
  const good = task(sh('exit 0'));
  const c = first.controller(good);
  await h.started(c);
  await c.wait();
  const bad = task(sh('exit 0'));
  const b = first.controller(bad);
  await b.prepare();
  first.close();
  writeFileSync(join(h.stateDir, 'tasks', bad.ID, 'state.json'), '{"trunc');

  const report = await h.executor().adoptAll();
  assert.deepEqual(report.adopted.map((a) => [a.taskId, a.running]), [[good.ID, false]]);
  assert.equal(report.unreadable.length, 1);
  assert.equal(report.unreadable[0].taskId, bad.ID);
  assert.ok(isExecutorError(report.unreadable[0].error, 'STATE_CORRUPT'));
});

test('a prepared task that was never started is adopted as prepared and can be started', async (t) => {
  const h = harness(t);
  const spec = task(sh('echo ran'));
  const first = h.executor();
  await first.controller(spec).prepare();
  first.close();
  const adopted = await h.executor().adopt(spec.ID);
  assert.ok(adopted);
  assert.equal((await adopted.status()).phase, 'prepared');
  await h.started(adopted);
  assert.equal((await adopted.wait()).state, 'complete');
  assert.deepEqual(await lines(adopted), ['stdout:ran']);
});
