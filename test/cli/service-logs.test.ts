import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLogDetails, sinceTimestamp } from '../../cli/commands/service-logs.js';

test('--since is sent as docker sends it: durations in whole seconds ago, times as seconds.nanoseconds', () => {
  const now = Date.parse('2026-11-22T13:15:50.250Z');
  assert.equal(sinceTimestamp('10m', now), String(Math.floor(now / 1000) - 600));
  assert.equal(sinceTimestamp('1795353169', now), '1795353169');
  assert.equal(sinceTimestamp('1795353169.5', now), '1795353169.5');
  assert.equal(sinceTimestamp('2026-11-22T13:15:50.266372051Z', now), `${Date.parse('2026-11-22T13:15:50Z') / 1000}.266372051`);
  assert.equal(sinceTimestamp('2026-11-22T13:15:50Z', now), `${Date.parse('2026-11-22T13:15:50Z') / 1000}.000000000`);
  assert.throws(() => sinceTimestamp('yesterday', now), /failed to parse value as time or duration/);
});

test('details are comma-separated, query-escaped key=value pairs', () => {
  assert.deepEqual([...parseLogDetails('com.docker.swarm.node.id=n1,a%2Cb=c+d')], [['com.docker.swarm.node.id', 'n1'], ['a,b', 'c d']]);
  assert.deepEqual([...parseLogDetails('')], []);
  assert.throws(() => parseLogDetails('novalue'), /invalid details format/);
});
