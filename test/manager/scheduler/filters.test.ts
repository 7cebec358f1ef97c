import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConstraint } from '../../../manager/scheduler/constraints.js';
import {
  constraintFilter, constraintsFilter, cpuFilter, filtersFor, hostPortsFilter, maxReplicasFilter, memoryFilter,
  nodeActiveFilter, nodeReadyFilter, platformFilter,
} from '../../../manager/scheduler/filters/index.js';
import { resourceDemandOf } from '../../../manager/scheduler/requirements.js';
import { CORE, GiB, node, requirements, tasks } from './fixtures.js';

describe('filters', () => {
  it('node-ready: only ready nodes', () => {
    const task = requirements('s');
    assert.equal(nodeReadyFilter.check(task, node('n', { state: 'ready' })), true);
    assert.equal(nodeReadyFilter.check(task, node('n', { state: 'down' })), false);
    assert.equal(nodeReadyFilter.explain(2), '2 nodes: node is not ready');
  });

  it('node-active: neither paused nor drained', () => {
    const task = requirements('s');
    assert.equal(nodeActiveFilter.check(task, node('n')), true);
    assert.equal(nodeActiveFilter.check(task, node('n', { availability: 'drain' })), false);
    assert.equal(nodeActiveFilter.check(task, node('n', { availability: 'pause' })), false);
    assert.equal(nodeActiveFilter.explain(1), '1 node: node availability is not active');
  });

  it('cpu: counts what tasks already reserved', () => {
    const task = requirements('s', { cpus: 2 });
    const n = node('n', { nanoCPUs: 3 * CORE });
    assert.equal(cpuFilter.enabled(requirements('s')), false, 'no reservation, nothing to check');
    assert.equal(cpuFilter.check(task, n), true);
    n.addTask('other', resourceDemandOf(tasks('other', 1, { cpus: 1.5 })[0]));
    assert.equal(cpuFilter.check(task, n), false);
    n.removeTask('other');
    assert.equal(cpuFilter.check(task, n), true);
    assert.equal(cpuFilter.explain(3), '3 nodes: insufficient CPU');
  });

  it('memory: counts what tasks already reserved', () => {
    const task = requirements('s', { memory: 3 * GiB });
    const n = node('n', { memoryBytes: 4 * GiB });
    assert.equal(memoryFilter.check(task, n), true);
    n.addTask('other', resourceDemandOf(tasks('other', 1, { memory: 2 * GiB })[0]));
    assert.equal(memoryFilter.check(task, n), false);
    assert.equal(memoryFilter.explain(2), '2 nodes: insufficient memory');
  });

  it('constraint: one filter per expression, naming it', () => {
    const task = requirements('s', { constraints: ['node.labels.zone==a'] });
    const filter = constraintFilter(parseConstraint('node.labels.zone==a'));
    assert.equal(filter.check(task, node('n', { labels: { zone: 'a' } })), true);
    assert.equal(filter.check(task, node('n', { labels: { zone: 'b' } })), false);
    assert.equal(filter.explain(1), '1 node: constraint node.labels.zone==a not met');
    assert.equal(constraintsFilter.check(task, node('n', { labels: { zone: 'b' } })), false);
  });

  it('platform: OS and normalized architecture', () => {
    const task = requirements('s', { platforms: [{ OS: 'linux', Architecture: 'amd64' }] });
    assert.equal(platformFilter.check(task, node('n', { os: 'linux', arch: 'x86_64' })), true);
    assert.equal(platformFilter.check(task, node('n', { os: 'linux', arch: 'aarch64' })), false);
    assert.equal(platformFilter.check(task, node('n', { os: 'windows', arch: 'x86_64' })), false);
    assert.equal(platformFilter.check(requirements('s', { platforms: [{ OS: 'linux' }] }), node('n', { arch: 'aarch64' })), true);
    assert.equal(platformFilter.explain(1), '1 node: unsupported platform');
  });

  it('host-ports: a host-mode published port may be bound once per node', () => {
    const task = requirements('s', { hostPorts: [8080] });
    const n = node('n');
    assert.equal(hostPortsFilter.check(task, n), true);
    n.addTask('other', resourceDemandOf(tasks('other', 1, { hostPorts: [8080] })[0]));
    assert.equal(hostPortsFilter.check(task, n), false);
    assert.equal(hostPortsFilter.check(requirements('s', { hostPorts: [8081] }), n), true);
    assert.equal(hostPortsFilter.explain(1), '1 node: host-mode published port already in use');
  });

  it('max-replicas: at most N tasks of the service per node', () => {
    const task = requirements('s', { maxReplicas: 1 });
    const n = node('n');
    assert.equal(maxReplicasFilter.check(task, n), true);
    n.addTask('t1', task);
    assert.equal(maxReplicasFilter.check(task, n), false);
    assert.equal(maxReplicasFilter.check(requirements('other', { maxReplicas: 1 }), n), true, 'other services are not counted');
    assert.equal(maxReplicasFilter.explain(2), '2 nodes: max replicas per node limit reached');
  });

  it('filtersFor lists only the filters a task needs, in pipeline order', () => {
    assert.deepEqual(filtersFor(requirements('s')).map((f) => f.name), ['node-ready', 'node-active']);
    assert.deepEqual(
      filtersFor(requirements('s', { cpus: 1, memory: GiB, constraints: ['node.role==worker'], platforms: [{ OS: 'linux' }], hostPorts: [80], maxReplicas: 2 })).map((f) => f.name),
      ['node-ready', 'node-active', 'cpu', 'memory', 'constraint node.role==worker', 'platform', 'host-ports', 'max-replicas'],
    );
  });
});
