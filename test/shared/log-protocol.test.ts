import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameDecoder, encodeFrame } from '../../shared/log-frames.js';
import {
  decodeLogBatch, decodeLogRecords, decodeSubscribeLogsRequest, encodeLogBatch, encodeLogRecords, encodeSubscribeLogsRequest,
} from '../../shared/log-protocol.js';
import type { LogBatch, LogRecord, SubscribeLogsRequest } from '../../shared/log-protocol.js';
import { decodeAgentMessage, decodeDispatcherMessage, encodeAgentMessage, encodeDispatcherMessage } from '../../shared/session-protocol.js';
import type { AgentMessage, DispatcherMessage } from '../../shared/session-protocol.js';

const record = (taskId: string, line: string, stream: 'stdout' | 'stderr' = 'stdout'): LogRecord => ({
  context: { serviceId: 's1', nodeId: 'n1', taskId }, time: '2026-01-02T03:04:05.678Z', stream, line,
});

test('log batches, subscription requests and forwarded lines survive the wire unchanged', () => {
  const batches: LogBatch[] = [
    { subscriptionId: 'sub', messages: [], endedTasks: [], close: false },
    { subscriptionId: 'sub', messages: [record('t1', 'hello'), record('t1', '', 'stderr'), record('t2', 'ünïcode ✓ and spaces  ')], endedTasks: ['t1'], close: true },
  ];
  for (const batch of batches) assert.deepEqual(decodeLogBatch(encodeLogBatch(batch)), batch);

  const requests: SubscribeLogsRequest[] = [
    { selector: { serviceIds: ['s1'], taskIds: [] }, options: { follow: true, stdout: true, stderr: false } },
    { selector: { serviceIds: [], taskIds: ['t1', 't2'] }, options: { follow: false, tail: 0, sinceMs: 1_700_000_000_123, stdout: true, stderr: true } },
    { selector: { serviceIds: [], taskIds: ['t1'] }, options: { follow: false, tail: 25, stdout: false, stderr: true } },
  ];
  for (const request of requests) assert.deepEqual(decodeSubscribeLogsRequest(encodeSubscribeLogsRequest(request)), request);

  const lines = [record('t1', 'a'), record('t2', 'b', 'stderr')];
  assert.deepEqual(decodeLogRecords(encodeLogRecords(lines)), lines);
});

test('a log subscription and a status report with ports travel on the session', () => {
  const subscriptions: DispatcherMessage[] = [
    { kind: 'logSubscription', logSubscription: { id: 'sub', taskIds: ['t1', 't2'], options: { follow: true, tail: 0, stdout: true, stderr: true }, close: false } },
    { kind: 'logSubscription', logSubscription: { id: 'sub', taskIds: [], options: { follow: false, sinceMs: 5, stdout: true, stderr: false }, close: true } },
  ];
  for (const m of subscriptions) assert.deepEqual(decodeDispatcherMessage(encodeDispatcherMessage(m)), m);

  const withPorts: AgentMessage = {
    kind: 'taskStatuses',
    taskStatuses: {
      updates: [{
        taskId: 't1', state: 'running', message: 'started', err: '', exitCode: null, timestampMs: 1, runtimeId: 'c0ffee', pid: 9,
        ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 30080, PublishMode: 'host' }, { Protocol: 'udp', TargetPort: 53, PublishedPort: 5353, PublishMode: 'host' }],
      }],
    },
  };
  assert.deepEqual(decodeAgentMessage(encodeAgentMessage(withPorts)), withPorts);
});

test('frames: one header per line, reassembled from chunks cut anywhere', () => {
  const frames = [encodeFrame('stdout', Buffer.from('one\n')), encodeFrame('stderr', Buffer.from('two\n')), encodeFrame('stdout', Buffer.alloc(0))];
  const stream = Buffer.concat(frames);
  assert.deepEqual([...stream.subarray(0, 8)], [1, 0, 0, 0, 0, 0, 0, 4]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const decoder = new FrameDecoder();
    const got = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
    assert.deepEqual(got.map((f) => [f.stream, f.payload.toString()]), [['stdout', 'one\n'], ['stderr', 'two\n'], ['stdout', '']]);
    assert.equal(decoder.leftover, 0);
  }
  assert.throws(() => new FrameDecoder().push(Buffer.from('hello, not framed')), /unrecognized input header/);
});
