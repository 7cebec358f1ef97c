import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeAgentMessage, decodeDispatcherMessage, encodeAgentMessage, encodeDispatcherMessage,
} from '../../shared/session-protocol.js';
import type { AgentMessage, DispatcherMessage } from '../../shared/session-protocol.js';
import { describeNode } from '../../worker/node-description.js';

test('every message survives the wire unchanged', () => {
  const agentMessages: AgentMessage[] = [
    { kind: 'register', register: { nodeId: 'n1', description: describeNode({ labels: { a: 'b' } }), addr: '10.0.0.1' } },
    { kind: 'heartbeat' },
    { kind: 'taskStatuses', taskStatuses: { updates: [] } },
    {
      kind: 'taskStatuses',
      taskStatuses: {
        updates: [
          { taskId: 't1', state: 'running', message: 'started', err: '', exitCode: null, timestampMs: 1_700_000_000_123, runtimeId: '4242', pid: 4242 },
          { taskId: 't2', state: 'failed', message: 'finished', err: 'task: non-zero exit (3)', exitCode: 3, timestampMs: 1_700_000_000_456, runtimeId: '77', pid: 77 },
          { taskId: 't3', state: 'complete', message: 'finished', err: '', exitCode: 0, timestampMs: 1, runtimeId: '', pid: 0 },
        ],
      },
    },
  ];
  for (const m of agentMessages) assert.deepEqual(decodeAgentMessage(encodeAgentMessage(m)), m);

  const managers = [{ nodeId: 'm1', addr: '10.0.0.1:4242' }, { nodeId: 'm2', addr: '10.0.0.2:4242' }];
  const dispatcherMessages: DispatcherMessage[] = [
    { kind: 'sessionAck', sessionAck: { sessionId: 's', heartbeatPeriodMs: 1000, managers } },
    { kind: 'notLeader', notLeader: { leaderAddr: '10.0.0.2:4242', managers } },
    { kind: 'notLeader', notLeader: { leaderAddr: '', managers: [] } },
    { kind: 'managersChanged', managersChanged: { managers } },
    { kind: 'assignments', assignments: { full: true, tasks: [], removed: [] } },
    {
      kind: 'assignments',
      assignments: {
        full: false,
        tasks: [{
          ID: 't1', ServiceID: 's1', Slot: 2, NodeID: 'n1', DesiredState: 'running',
          Spec: { ContainerSpec: { Command: ['/bin/sh', '-c', 'sleep 30'], Env: ['A=ü'] } },
          Status: { State: 'assigned', Timestamp: '2024-01-01T00:00:00.000Z' },
        }],
        removed: ['t0', 't9'],
      },
    },
  ];
  for (const m of dispatcherMessages) assert.deepEqual(decodeDispatcherMessage(encodeDispatcherMessage(m)), m);
});

test('a message kind from a newer peer decodes as unrecognized, so it can be ignored', () => {
  // Field 14 (reserved for later kinds), length-delimited, empty: what a newer peer might send.
  const newer = Buffer.from([0x72, 0x00]);
  assert.deepEqual(decodeAgentMessage(newer), { kind: 'unrecognized' });
  assert.deepEqual(decodeDispatcherMessage(newer), { kind: 'unrecognized' });
});

test('bytes that are no message throw', () => {
  assert.throws(() => decodeAgentMessage(Buffer.from([0x0a, 0x05, 0x01])));
  assert.throws(() => decodeDispatcherMessage(Buffer.from([0x0a, 0x05, 0x01])));
});

test('an assigned task that is not the JSON object it claims to be throws', () => {
  const wire = (id: string, json: string): Buffer => {
    const body = Buffer.from(json, 'utf8');
    const idBytes = Buffer.from(id, 'utf8');
    // AssignedTask { id = 1; task = 2 } inside Assignments.tasks (2) inside DispatcherMessage.assignments (5).
    const assigned = Buffer.concat([Buffer.from([0x0a, idBytes.length]), idBytes, Buffer.from([0x12, body.length]), body]);
    const assignments = Buffer.concat([Buffer.from([0x12, assigned.length]), assigned]);
    return Buffer.concat([Buffer.from([0x2a, assignments.length]), assignments]);
  };
  assert.equal(decodeDispatcherMessage(wire('t1', '{"ID":"t1","DesiredState":"running","Spec":{}}')).kind, 'assignments');
  assert.throws(() => decodeDispatcherMessage(wire('t1', '{"ID":"t2","DesiredState":"running","Spec":{}}')), /carries the task "t2"/);
  assert.throws(() => decodeDispatcherMessage(wire('t1', 'not json')));
  assert.throws(() => decodeDispatcherMessage(wire('t1', '[1]')), /not a JSON object/);
});
