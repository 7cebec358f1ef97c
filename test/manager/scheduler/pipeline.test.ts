import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NodeInfo } from '../../../manager/scheduler/node-info.js';
import { placeTasks, placementVerdicts } from '../../../manager/scheduler/pipeline.js';
import { GiB, countByNode, node, tasks } from './fixtures.js';

const now = { nowMs: Date.parse('2024-05-01T12:00:00Z') };

describe('placeTasks', () => {
  it('spreads tasks evenly: 10 tasks over 5 nodes is 2 each', () => {
    const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'].map((id) => node(id));
    const { assignments, unplaced } = placeTasks(tasks('web', 10), nodes, now);
    assert.equal(unplaced.length, 0);
    assert.deepEqual(countByNode(assignments, ['n1', 'n2', 'n3', 'n4', 'n5']), { n1: 2, n2: 2, n3: 2, n4: 2, n5: 2 });
  });

  it('prefers nodes with fewer tasks of the service, then fewer tasks in all', () => {
    const nodes = [node('busy'), node('idle'), node('other')];
    nodes[0].addTask('x', { serviceId: 'web', nanoCPUs: 0, memoryBytes: 0, hostPorts: [] });
    nodes[2].addTask('y', { serviceId: 'db', nanoCPUs: 0, memoryBytes: 0, hostPorts: [] });
    const { assignments } = placeTasks(tasks('web', 2), nodes, now);
    assert.deepEqual(assignments.map((a) => a.nodeId), ['idle', 'other']);
  });

  it('puts nodes where the service failed recently last', () => {
    const nodes = [node('flaky'), node('steady')];
    nodes[0].recordFailure('web', now.nowMs - 1000);
    const { assignments } = placeTasks(tasks('web', 1), nodes, now);
    assert.equal(assignments[0].nodeId, 'steady');
    const old = [node('was-flaky'), node('steady')];
    old[0].recordFailure('web', now.nowMs - 60 * 60_000);
    assert.equal(placeTasks(tasks('web', 1), old, now).assignments[0].nodeId, 'was-flaky', 'old failures are forgotten');
  });

  it('stops placing when reservations exhaust memory, and says why', () => {
    const nodes = [node('n1', { memoryBytes: 4 * GiB }), node('n2', { memoryBytes: 2 * GiB })];
    const { assignments, unplaced } = placeTasks(tasks('db', 5, { memory: GiB }), nodes, now);
    assert.deepEqual(countByNode(assignments, ['n1', 'n2']), { n1: 3, n2: 2 });
    assert.equal(unplaced.length, 0);
    const more = placeTasks(tasks('db2', 2, { memory: GiB }), nodes, now);
    assert.equal(more.assignments.length, 1);
    assert.deepEqual(more.unplaced, [{ taskId: 'db2-task-2', explanation: 'no suitable node (2 nodes: insufficient memory)' }]);
  });

  it('honours constraints by label, hostname and role', () => {
    const nodes = [
      node('n1', { hostname: 'alpha', role: 'manager', labels: { zone: 'a' } }),
      node('n2', { hostname: 'beta', labels: { zone: 'b' } }),
      node('n3', { hostname: 'gamma', labels: { zone: 'a' } }),
    ];
    const place = (constraints: string[]): string[] => placeTasks(tasks('s', 4, { constraints }), nodes, now).assignments.map((a) => a.nodeId);
    assert.deepEqual(new Set(place(['node.labels.zone==a'])), new Set(['n1', 'n3']));
    assert.deepEqual(new Set(place(['node.hostname==beta'])), new Set(['n2']));
    assert.deepEqual(new Set(place(['node.role==worker', 'node.labels.zone!=b'])), new Set(['n3']));
  });

  it('spreads over placement-preference label values, counting tasks already there', () => {
    // Zone a has three nodes, b one, c two: spreading evens out zones, not nodes.
    const zones = { a1: 'a', a2: 'a', a3: 'a', b1: 'b', c1: 'c', c2: 'c' };
    const nodes = Object.entries(zones).map(([id, zone]) => node(id, { labels: { zone } }));
    const { assignments } = placeTasks(tasks('web', 9, { spread: ['node.labels.zone'] }), nodes, now);
    const perZone: Record<string, number> = {};
    for (const a of assignments) perZone[zones[a.nodeId as keyof typeof zones]] = (perZone[zones[a.nodeId as keyof typeof zones]] ?? 0) + 1;
    assert.deepEqual(perZone, { a: 3, b: 3, c: 3 });
    // Zone b now has one more task of api than a and c: the next two go to a and c.
    nodes[3].addTask('api-old', { serviceId: 'api', nanoCPUs: 0, memoryBytes: 0, hostPorts: [] });
    const next = placeTasks(tasks('api', 2, { spread: ['node.labels.zone'] }), nodes, now);
    assert.deepEqual(new Set(next.assignments.map((a) => zones[a.nodeId as keyof typeof zones])), new Set(['a', 'c']));
  });

  it('spreads nested preferences, and treats a missing label as its own value', () => {
    const nodes = [
      node('a-r1', { labels: { zone: 'a', rack: '1' } }), node('a-r1b', { labels: { zone: 'a', rack: '1' } }),
      node('a-r2', { labels: { zone: 'a', rack: '2' } }), node('none', { labels: {} }),
    ];
    const { assignments } = placeTasks(tasks('web', 4, { spread: ['node.labels.zone', 'node.labels.rack'] }), nodes, now);
    const counts = countByNode(assignments, nodes.map((n) => n.id));
    assert.equal(counts.none, 2, 'the unlabelled branch gets half');
    assert.equal(counts['a-r2'], 1, 'zone a splits its half over racks');
    assert.equal(counts['a-r1'] + counts['a-r1b'], 1);
  });

  it('caps tasks per node with MaxReplicas', () => {
    const nodes = [node('n1'), node('n2')];
    const { assignments, unplaced } = placeTasks(tasks('web', 5, { maxReplicas: 2 }), nodes, now);
    assert.deepEqual(countByNode(assignments, ['n1', 'n2']), { n1: 2, n2: 2 });
    assert.deepEqual(unplaced.map((u) => u.explanation), ['no suitable node (2 nodes: max replicas per node limit reached)']);
  });

  it('keeps host-mode published ports unique per node', () => {
    const nodes = [node('n1'), node('n2')];
    const { assignments, unplaced } = placeTasks(tasks('lb', 3, { hostPorts: [443] }), nodes, now);
    assert.deepEqual(countByNode(assignments, ['n1', 'n2']), { n1: 1, n2: 1 });
    assert.equal(unplaced[0].explanation, 'no suitable node (2 nodes: host-mode published port already in use)');
  });

  it('explains an unplaceable task per filter, in filter order, Docker style', () => {
    const nodes = [
      node('small1', { memoryBytes: GiB, labels: { zone: 'a' } }),
      node('small2', { memoryBytes: GiB, labels: { zone: 'a' } }),
      node('big-b', { memoryBytes: 64 * GiB, labels: { zone: 'b' } }),
      node('down', { state: 'down', labels: { zone: 'a' } }),
    ];
    const { assignments, unplaced } = placeTasks(tasks('db', 1, { memory: 4 * GiB, constraints: ['node.labels.zone==a'] }), nodes, now);
    assert.equal(assignments.length, 0);
    assert.deepEqual(unplaced, [{
      taskId: 'db-task-1',
      explanation: 'no suitable node (1 node: node is not ready; 2 nodes: insufficient memory; 1 node: constraint node.labels.zone==a not met)',
    }]);
    assert.equal(placeTasks(tasks('x', 1), [], now).unplaced[0].explanation, 'no suitable node (the cluster has no nodes)');
  });

  it('leaves a task with an invalid constraint pending, saying why', () => {
    const { unplaced } = placeTasks(tasks('bad', 1, { constraints: ['node.labels.zone=a'] }), [node('n1')], now);
    assert.match(unplaced[0].explanation, /^invalid constraint "node.labels.zone=a": /);
  });

  it('places many services in one batch against shared, updated node state', () => {
    const nodes: NodeInfo[] = Array.from({ length: 20 }, (_, i) => node(`n${i}`, { memoryBytes: 10 * GiB }));
    const batch = [...tasks('a', 100, { memory: GiB }), ...tasks('b', 150, { memory: GiB })];
    const { assignments, unplaced } = placeTasks(batch, nodes, now);
    assert.equal(assignments.length, 200);
    assert.equal(unplaced.length, 50);
    for (const n of nodes) assert.equal(n.activeTasks, 10);
  });
});

describe('placementVerdicts', () => {
  it('lists every node with all the filters it fails', () => {
    const nodes = [node('ok', { labels: { zone: 'a' } }), node('bad', { hostname: 'bad-host', availability: 'drain', memoryBytes: GiB })];
    const verdicts = placementVerdicts(tasks('db', 1, { memory: 2 * GiB, constraints: ['node.labels.zone==a'] })[0], nodes);
    assert.deepEqual(verdicts, [
      { node: { ID: 'ok', Hostname: 'ok' }, ok: true, reasons: [] },
      { node: { ID: 'bad', Hostname: 'bad-host' }, ok: false, reasons: ['node availability is not active', 'insufficient memory', 'constraint node.labels.zone==a not met'] },
    ]);
  });
});
