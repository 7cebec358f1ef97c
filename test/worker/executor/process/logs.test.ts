import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatLogLine } from '../../../../worker/executor/executor.js';
import { collect, harness, lines, sh, sleep, task } from '../harness.js';

test('stdout and stderr are captured as separate, timestamped streams', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('echo out1; echo err1 >&2; echo out2; printf partial')));
  const before = Date.now();
  await h.started(c);
  await c.wait();
  const all = await collect(c.logs());
  assert.deepEqual(all.filter((l) => l.stream === 'stdout').map((l) => l.line), ['out1', 'out2', 'partial']);
  assert.deepEqual(all.filter((l) => l.stream === 'stderr').map((l) => l.line), ['err1']);
  for (const l of all) {
    const time = Date.parse(l.time);
    assert.ok(time >= before - 5 && time <= Date.now(), l.time);
    assert.equal(formatLogLine(l, { timestamps: true }), `${l.time} ${l.line}`);
    assert.equal(formatLogLine(l), l.line);
  }
  assert.deepEqual(await lines(c, { stderr: false }), ['stdout:out1', 'stdout:out2', 'stdout:partial']);
  assert.deepEqual(await lines(c, { stdout: false }), ['stderr:err1']);
});

test('tail gives the last N lines', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('for i in 1 2 3 4 5; do echo $i; done')));
  await h.started(c);
  await c.wait();
  assert.deepEqual(await lines(c, { tail: 2 }), ['stdout:4', 'stdout:5']);
  assert.deepEqual(await lines(c, { tail: 0 }), []);
  assert.equal((await lines(c, { tail: 100 })).length, 5);
});

test('since and until select lines by capture time', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('echo early; sleep 0.4; echo late')));
  await h.started(c);
  await c.wait();
  const all = await collect(c.logs());
  assert.deepEqual(all.map((l) => l.line), ['early', 'late']);
  const middle = (Date.parse(all[0].time) + Date.parse(all[1].time)) / 2;
  assert.deepEqual(await lines(c, { since: middle }), ['stdout:late']);
  assert.deepEqual(await lines(c, { since: new Date(middle) }), ['stdout:late']);
  assert.deepEqual(await lines(c, { until: middle }), ['stdout:early']);
});

test('follow streams lines as they are written and ends when the task exits', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('echo one; sleep 0.3; echo two; sleep 0.3; echo three')));
  await h.started(c);
  const seen: { line: string; at: number }[] = [];
  for await (const l of c.logs({ follow: true })) seen.push({ line: l.line, at: Date.now() });
  assert.deepEqual(seen.map((s) => s.line), ['one', 'two', 'three']);
  assert.ok(seen[2].at - seen[0].at >= 400, 'lines arrived as written, not all at the end');
  assert.equal((await c.status()).phase, 'exited');
});

test('follow with tail starts from the last lines; an abort signal ends it early', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('echo a; echo b; echo c; sleep 30', { StopGracePeriod: 0 })));
  await h.started(c);
  await sleep(200);
  const ac = new AbortController();
  const seen: string[] = [];
  setTimeout(() => ac.abort(), 300);
  for await (const l of c.logs({ follow: true, tail: 1, signal: ac.signal })) seen.push(l.line);
  assert.deepEqual(seen, ['c']);
  assert.equal((await c.status()).phase, 'running');
  await c.terminate();
});

test('a line longer than 16 KiB arrives in pieces, as Docker splits it', async (t) => {
  const h = harness(t);
  const c = h.executor().controller(task(sh('head -c 40000 /dev/zero | tr "\\\\0" x; echo; echo next')));
  await h.started(c);
  await c.wait();
  const got = (await collect(c.logs())).map((l) => l.line.length);
  assert.deepEqual(got, [16384, 16384, 40000 - 2 * 16384, 4]);
});
