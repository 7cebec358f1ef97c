import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NodeInfo } from '../../../manager/scheduler/node-info.js';
import { placeTasks } from '../../../manager/scheduler/pipeline.js';
import { ServiceTaskIndex } from '../../../manager/scheduler/service-index.js';
import { node, tasks } from './fixtures.js';

const now = { nowMs: Date.parse('2024-05-01T12:00:00Z') };
const demand = (serviceId: string) => ({ serviceId, nanoCPUs: 0, memoryBytes: 0, hostPorts: [] });

/** The index's view as slot → count per service, for comparing with what the nodes say. */
function holders(index: ServiceTaskIndex, serviceId: string): Record<number, number> {
  return Object.fromEntries(index.nodesHolding(serviceId) ?? []);
}

/** What the nodes themselves say, in the same shape. */
function expected(nodes: readonly NodeInfo[], serviceId: string): Record<number, number> {
  return Object.fromEntries(nodes.flatMap((n, slot) => (n.tasksOfService(serviceId) > 0 ? [[slot, n.tasksOfService(serviceId)]] : [])));
}

describe('ServiceTaskIndex', () => {
  it('counts per slot and forgets nodes and services that reach zero', () => {
    const index = new ServiceTaskIndex();
    index.add('web', 3, 1);
    index.add('web', 3, 1);
    index.add('web', 7, 1);
    assert.deepEqual(holders(index, 'web'), { 3: 2, 7: 1 });
    index.add('web', 7, -1);
    assert.deepEqual(holders(index, 'web'), { 3: 2 });
    index.add('web', 3, -2);
    assert.equal(index.nodesHolding('web'), undefined);
    index.add('db', 1, -1);
    assert.equal(index.nodesHolding('db'), undefined, 'removing from nothing creates nothing');
  });

  it('is built from the tasks nodes already hold and follows addTask/removeTask afterwards', () => {
    const nodes = [node('n0'), node('n1'), node('n2')];
    nodes[1].addTask('a', demand('web'));
    nodes[1].addTask('b', demand('web'));
    nodes[2].addTask('c', demand('db'));
    const index = NodeInfo.serviceIndexFor(nodes)!;
    assert.deepEqual(holders(index, 'web'), { 1: 2 });
    assert.deepEqual(holders(index, 'db'), { 2: 1 });
    nodes[0].addTask('d', demand('web'));
    nodes[1].removeTask('a');
    nodes[2].removeTask('c');
    nodes[2].addTask('c', demand('db'));
    nodes[2].addTask('c', demand('db')); // already held: no change
    for (const s of ['web', 'db']) assert.deepEqual(holders(index, s), expected(nodes, s));
  });

  it('is reused for the same nodes in the same order, rebuilt otherwise', () => {
    const nodes = [node('n0'), node('n1'), node('n2')];
    nodes[2].addTask('a', demand('web'));
    const first = NodeInfo.serviceIndexFor(nodes)!;
    assert.equal(NodeInfo.serviceIndexFor(nodes), first);
    assert.equal(NodeInfo.serviceIndexFor([...nodes]), first, 'a copy of the list is the same list');

    const reordered = [nodes[2], nodes[0], nodes[1]];
    const second = NodeInfo.serviceIndexFor(reordered)!;
    assert.notEqual(second, first);
    assert.deepEqual(holders(second, 'web'), { 0: 1 });

    const subset = [nodes[2], nodes[0]];
    const third = NodeInfo.serviceIndexFor(subset)!;
    assert.notEqual(third, second, 'fewer nodes than the index holds');
    assert.deepEqual(holders(third, 'web'), { 0: 1 });
    // nodes[2] moved to the third index: the second no longer counts it, nor follows it.
    nodes[2].addTask('b', demand('web'));
    assert.equal(second.nodesHolding('web'), undefined);
    assert.deepEqual(holders(third, 'web'), { 0: 2 });
    // The second index lost a member, so its remaining nodes are not mistaken for all of them.
    assert.notEqual(NodeInfo.serviceIndexFor([nodes[2], nodes[0], nodes[1]]), second);
  });

  it('declines a list naming a node twice', () => {
    const n = node('n0');
    assert.equal(NodeInfo.serviceIndexFor([n, node('n1'), n]), undefined);
  });

  it('gives placement the same counts as asking each node, across batches and outside changes', () => {
    const nodes = [node('n0'), node('n1'), node('n2'), node('n3')];
    nodes[0].addTask('old-1', demand('web'));
    nodes[0].addTask('old-2', demand('web'));
    const first = placeTasks(tasks('web', 2), nodes, now);
    assert.deepEqual(first.assignments.map((a) => a.nodeId), ['n1', 'n2'], 'n0 already holds two of web');
    // Changed between batches, outside placeTasks: the index must follow.
    nodes[0].removeTask('old-1');
    nodes[0].removeTask('old-2');
    nodes[3].addTask('elsewhere', demand('web'));
    const second = placeTasks(tasks('web', 1).map((t) => ({ ...t, ID: `${t.ID}-b` })), nodes, now);
    assert.deepEqual(second.assignments.map((a) => a.nodeId), ['n0']);
    // A list naming a node twice still places, asking the nodes directly.
    const dup = placeTasks(tasks('api', 2), [nodes[1], nodes[1]], now);
    assert.equal(dup.assignments.length, 2);
  });
});
