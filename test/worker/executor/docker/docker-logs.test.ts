import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_LOG_LINE_BYTES } from '../../../../worker/executor/executor.js';
import { LogDecoder, engineTimestamp } from '../../../../worker/executor/docker/docker-logs.js';
import { collect, dockerSuite, dockerTest, eventually, lines, sh, sleep, within } from './harness.js';

const suite = dockerSuite(import.meta.url);

const T1 = '2024-05-01T10:00:00.123456789Z';
const T2 = '2024-05-01T10:00:01.000000001Z';

function frame(type: number, payload: string | Buffer): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

test('frames are demultiplexed into stdout and stderr lines with the engine\'s time, however the bytes are chunked', () => {
  const bytes = Buffer.concat([frame(1, `${T1} hello\n`), frame(2, `${T2} oops\n`), frame(1, `${T2} \n`)]);
  for (const size of [1, 3, 8, 9, bytes.length]) {
    const decoder = new LogDecoder(false);
    const out = [];
    for (let at = 0; at < bytes.length; at += size) out.push(...decoder.push(bytes.subarray(at, at + size)));
    out.push(...decoder.end());
    assert.deepEqual(out, [
      { stream: 'stdout', time: T1, line: 'hello' },
      { stream: 'stderr', time: T2, line: 'oops' },
      { stream: 'stdout', time: T2, line: '' },
    ], `chunks of ${size}`);
  }
});

test('a partial message (Docker\'s piece of a long line) is a line of its own; longer ones are cut at MAX_LOG_LINE_BYTES', () => {
  const decoder = new LogDecoder(false);
  const long = 'x'.repeat(MAX_LOG_LINE_BYTES + 10);
  const out = decoder.push(Buffer.concat([frame(1, `${T1} first piece`), frame(1, `${T1} ${long}\n`)]));
  assert.deepEqual(out.map((l) => l.line.length), [11, MAX_LOG_LINE_BYTES, 10]);
});

test('a TTY container\'s raw stream is split at newlines, carriage returns dropped', () => {
  const decoder = new LogDecoder(true);
  const out = [...decoder.push(Buffer.from(`${T1} one\r\n${T2} tw`)), ...decoder.push(Buffer.from('o\r\n')), ...decoder.push(Buffer.from(`${T2} last`)), ...decoder.end()];
  assert.deepEqual(out, [
    { stream: 'stdout', time: T1, line: 'one' },
    { stream: 'stdout', time: T2, line: 'two' },
    { stream: 'stdout', time: T2, line: 'last' },
  ]);
});

test('since and until are sent as the engine\'s seconds.nanoseconds', () => {
  assert.equal(engineTimestamp(1714557600123), '1714557600.123000000');
  assert.equal(engineTimestamp(5), '0.005000000');
});

dockerTest('logs: stdout and stderr lines with their times; the stream filters and tail', async () => {
  const executor = suite.executor();
  const c = executor.controller(suite.task(sh('echo out1; sleep 0.05; echo err1 >&2; sleep 0.05; echo out2; sleep 0.05; echo err2 >&2; sleep 0.05; echo out3')));
  await c.start();
  await c.wait();
  const all = await collect(c.logs());
  // stdout and stderr are copied by separate readers: the pauses make their order the order written.
  assert.deepEqual(all.map((l) => `${l.stream}:${l.line}`), ['stdout:out1', 'stderr:err1', 'stdout:out2', 'stderr:err2', 'stdout:out3']);
  for (const line of all) assert.ok(!Number.isNaN(Date.parse(line.time)), line.time);
  assert.deepEqual(await lines(c, { stderr: false }), ['stdout:out1', 'stdout:out2', 'stdout:out3']);
  assert.deepEqual(await lines(c, { stdout: false }), ['stderr:err1', 'stderr:err2']);
  assert.deepEqual(await lines(c, { stdout: false, stderr: false }), []);
  assert.deepEqual(await lines(c, { tail: 1 }), ['stdout:out3']);
  assert.deepEqual(await lines(c, { tail: 0 }), []);
  const last = Date.parse(all[all.length - 1].time);
  assert.deepEqual(await lines(c, { since: last + 60_000 }), []);
  assert.equal((await lines(c, { until: Date.parse(all[0].time) })).length, 0);
});

dockerTest('logs: follow streams new lines until the task exits, or until aborted', async () => {
  const executor = suite.executor();
  const c = executor.controller(suite.task(sh('for i in 1 2 3; do echo line$i; sleep 0.2; done')));
  await c.start();
  const seen = await within(5000, collect(c.logs({ follow: true })), 'following to the end');
  assert.deepEqual(seen.map((l) => l.line), ['line1', 'line2', 'line3']);

  const forever = executor.controller(suite.task(sh('while :; do echo tick; sleep 0.1; done', { StopGracePeriod: 0 })));
  await forever.start();
  const abort = new AbortController();
  const got: string[] = [];
  const following = (async () => {
    for await (const line of forever.logs({ follow: true, signal: abort.signal })) {
      got.push(line.line);
    }
  })();
  await eventually(() => got.length >= 2);
  abort.abort();
  await within(3000, following, 'ending on abort');
  await forever.terminate();
});

dockerTest('logs of a TTY container, and of a task not started or removed', async () => {
  const executor = suite.executor();
  const tty = executor.controller(suite.task(sh('echo on a terminal; echo second', { TTY: true })));
  await tty.start();
  await tty.wait();
  await sleep(50);
  assert.deepEqual(await lines(tty), ['stdout:on a terminal', 'stdout:second']);
  const fresh = executor.controller(suite.task(sh('echo never')));
  assert.deepEqual(await lines(fresh), []);
  await tty.remove();
  assert.deepEqual(await lines(tty), []);
});
