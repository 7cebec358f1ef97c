import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConstraintParseError, matchConstraint, parseConstraint } from '../../../manager/scheduler/constraints.js';
import { node } from './fixtures.js';

describe('parseConstraint', () => {
  it('parses every supported key with == and !=, trimming spaces', () => {
    assert.deepEqual(parseConstraint(' node.labels.zone == a '), { text: 'node.labels.zone==a', key: { kind: 'node.labels', label: 'zone' }, operator: '==', value: 'a' });
    assert.deepEqual(parseConstraint('node.role!=manager').key, { kind: 'node.role' });
    assert.deepEqual(parseConstraint('engine.labels.storage-driver==overlay2').key, { kind: 'engine.labels', label: 'storage-driver' });
    for (const key of ['node.id', 'node.hostname', 'node.platform.os', 'node.platform.arch']) {
      assert.equal(parseConstraint(`${key}==x`).key.kind, key);
    }
    assert.equal(parseConstraint('Node.Labels.Zone==a').key.kind, 'node.labels', 'the prefix is case-insensitive');
  });

  it('rejects bad expressions with a message naming the problem', () => {
    const cases: [string, RegExp][] = [
      ['node.labels.zone=a', /expected "key==value" or "key!=value"/],
      ['==a', /missing key/],
      ['node.role==', /missing value/],
      ['node.colour==red', /key "node.colour" is not supported/],
      ['node.labels.==a', /names no label/],
      ['node.role==a==b', /value "a==b"/],
      ['node role==worker', /key "node role"/],
    ];
    for (const [expression, message] of cases) {
      assert.throws(() => parseConstraint(expression), (error: unknown) => {
        assert.ok(error instanceof ConstraintParseError, expression);
        assert.match(error.message, message);
        assert.ok(error.message.startsWith(`invalid constraint ${JSON.stringify(expression)}: `));
        return true;
      });
    }
  });
});

describe('matchConstraint', () => {
  const web1 = node('n1', { hostname: 'web-1', role: 'manager', labels: { zone: 'a' }, engineLabels: { ssd: 'true' } });

  it('compares values case-insensitively', () => {
    assert.equal(matchConstraint(parseConstraint('node.hostname==WEB-1'), web1), true);
    assert.equal(matchConstraint(parseConstraint('node.role==manager'), web1), true);
    assert.equal(matchConstraint(parseConstraint('node.role!=manager'), web1), false);
    assert.equal(matchConstraint(parseConstraint('node.id==n1'), web1), true);
    assert.equal(matchConstraint(parseConstraint('node.platform.os==linux'), web1), true);
    assert.equal(matchConstraint(parseConstraint('node.platform.arch==x86_64'), web1), true);
    assert.equal(matchConstraint(parseConstraint('engine.labels.ssd==true'), web1), true);
  });

  it('treats a missing label as unequal to any value', () => {
    assert.equal(matchConstraint(parseConstraint('node.labels.rack==r1'), web1), false);
    assert.equal(matchConstraint(parseConstraint('node.labels.rack!=r1'), web1), true);
  });
});
