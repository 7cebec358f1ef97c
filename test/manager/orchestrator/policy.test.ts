import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { meetsConstraint, restartPolicyOf, shouldRestart } from '../../../manager/orchestrator/index.js';
import type { Node } from '../../../manager/store/index.js';
import { matchConstraint, parseConstraint } from '../../../manager/scheduler/index.js';

const node = {
  ID: 'n1', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '',
  Spec: { Role: 'manager', Availability: 'active', Labels: { zone: 'a' } },
  Description: { Hostname: 'Host1', Platform: { OS: 'linux', Architecture: 'x86_64' } },
  Status: { State: 'ready' },
} as unknown as Node;

describe('restart policy', () => {
  it('reads Docker\'s defaults and nanoseconds', () => {
    assert.deepEqual(restartPolicyOf(undefined), { condition: 'any', delayMs: 5000, maxAttempts: 0, windowMs: 0 });
    assert.deepEqual(restartPolicyOf({ RestartPolicy: { Condition: 'on-failure', Delay: 2e8, MaxAttempts: 3, Window: 1e10 } }),
      { condition: 'on-failure', delayMs: 200, maxAttempts: 3, windowMs: 10_000 });
  });

  it('decides by condition, then by attempts within the window', () => {
    const any = restartPolicyOf({ RestartPolicy: { Condition: 'any' } });
    const onFailure = restartPolicyOf({ RestartPolicy: { Condition: 'on-failure' } });
    const none = restartPolicyOf({ RestartPolicy: { Condition: 'none' } });
    assert.equal(shouldRestart(none, 'ended', 'failed', [], 0), false);
    assert.equal(shouldRestart(none, 'node-down', 'running', [], 0), false);
    assert.equal(shouldRestart(onFailure, 'ended', 'complete', [], 0), false);
    assert.equal(shouldRestart(onFailure, 'ended', 'failed', [], 0), true);
    assert.equal(shouldRestart(onFailure, 'ended', 'rejected', [], 0), true);
    assert.equal(shouldRestart(onFailure, 'node-drained', 'running', [], 0), true);
    assert.equal(shouldRestart(any, 'ended', 'complete', [], 0), true);
    const limited = { ...any, maxAttempts: 2 };
    assert.equal(shouldRestart(limited, 'ended', 'failed', [1, 2], 10), false);
    assert.equal(shouldRestart({ ...limited, windowMs: 5 }, 'ended', 'failed', [1, 8], 10), true);
    assert.equal(shouldRestart({ ...limited, windowMs: 5 }, 'ended', 'failed', [6, 8], 10), false);
  });
});

describe('constraints', () => {
  it('matches labels, role, hostname and platform with == and !=, and refuses what it cannot read', () => {
    assert.equal(meetsConstraint(node, 'node.labels.zone==a'), true);
    assert.equal(meetsConstraint(node, 'node.labels.zone != a'), false);
    assert.equal(meetsConstraint(node, 'node.labels.missing!=a'), true);
    assert.equal(meetsConstraint(node, 'node.role==manager'), true);
    assert.equal(meetsConstraint(node, 'node.role==worker'), false);
    assert.equal(meetsConstraint(node, 'node.hostname==host1'), true);
    assert.equal(meetsConstraint(node, 'node.platform.os==linux'), true);
    assert.equal(meetsConstraint(node, 'node.id==n1'), true);
    assert.equal(meetsConstraint(node, 'node.unknown==x'), false);
    assert.equal(meetsConstraint(node, 'garbage'), false);
  });

  it('judges exactly as the scheduler does (one grammar: values compare case-insensitively)', () => {
    for (const expression of ['node.labels.zone==A', 'node.labels.zone!=A', 'node.role==MANAGER', 'node.hostname!=HOST1']) {
      const target = { id: 'n1', hostname: 'host1', role: 'manager', os: 'linux', arch: 'x86_64', labels: { zone: 'a' }, engineLabels: {} };
      assert.equal(meetsConstraint(node, expression), matchConstraint(parseConstraint(expression), target), expression);
    }
    assert.equal(meetsConstraint(node, 'node.labels.zone==A'), true);
  });
});
