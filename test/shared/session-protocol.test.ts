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
  ];
  for (const m of agentMessages) assert.deepEqual(decodeAgentMessage(encodeAgentMessage(m)), m);

  const managers = [{ nodeId: 'm1', addr: '10.0.0.1:4242' }, { nodeId: 'm2', addr: '10.0.0.2:4242' }];
  const dispatcherMessages: DispatcherMessage[] = [
    { kind: 'sessionAck', sessionAck: { sessionId: 's', heartbeatPeriodMs: 1000, managers } },
    { kind: 'notLeader', notLeader: { leaderAddr: '10.0.0.2:4242', managers } },
    { kind: 'notLeader', notLeader: { leaderAddr: '', managers: [] } },
    { kind: 'managersChanged', managersChanged: { managers } },
  ];
  for (const m of dispatcherMessages) assert.deepEqual(decodeDispatcherMessage(encodeDispatcherMessage(m)), m);
});

test('a message kind from a newer peer decodes as unrecognized, so it can be ignored', () => {
  // Field 4 (reserved for task messages), length-delimited, empty: what a newer peer might send.
  const newer = Buffer.from([0x22, 0x00]);
  assert.deepEqual(decodeAgentMessage(newer), { kind: 'unrecognized' });
  assert.deepEqual(decodeDispatcherMessage(newer), { kind: 'unrecognized' });
});

test('bytes that are no message throw', () => {
  assert.throws(() => decodeAgentMessage(Buffer.from([0x0a, 0x05, 0x01])));
  assert.throws(() => decodeDispatcherMessage(Buffer.from([0x0a, 0x05, 0x01])));
});
