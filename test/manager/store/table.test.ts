import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Table } from '../../../manager/store/table.js';
import type { IndexDefinition } from '../../../manager/store/table.js';
import { SCHEMA } from '../../../manager/store/schema.js';
import { storedObject } from '../../../manager/store/actions.js';
import type { Frozen } from '../../../manager/store/frozen.js';
import type { ObjectsByKind } from '../../../manager/store/objects.js';

interface Row {
  readonly ID: string;
  readonly name?: string;
  readonly color?: string;
}

const indexes: Record<string, IndexDefinition<Row>> = {
  name: { unique: true, keysOf: (r) => (r.name ? [r.name] : []) },
  color: { unique: false, keysOf: (r) => (r.color ? [r.color] : []) },
};

describe('Table', () => {
  it('stores rows by ID and replaces them in place', () => {
    const table = new Table<Row>(indexes);
    assert.equal(table.put({ ID: 'a', name: 'x' }), undefined);
    table.put({ ID: 'b', name: 'y' });
    const previous = table.put({ ID: 'a', name: 'z' });
    assert.deepEqual(previous, { ID: 'a', name: 'x' });
    assert.equal(table.size, 2);
    assert.deepEqual([...table.values()].map((r) => r.ID), ['a', 'b'], 'replacing keeps creation order');
    assert.deepEqual(table.delete('a'), { ID: 'a', name: 'z' });
    assert.equal(table.get('a'), undefined);
    assert.equal(table.delete('a'), undefined);
  });

  it('keeps a unique index right when a batch swaps two names in either order', () => {
    for (const order of [['a', 'b'], ['b', 'a']]) {
      const table = new Table<Row>(indexes);
      table.put({ ID: 'a', name: 'x' });
      table.put({ ID: 'b', name: 'y' });
      const swapped: Record<string, Row> = { a: { ID: 'a', name: 'y' }, b: { ID: 'b', name: 'x' } };
      for (const id of order) table.put(swapped[id]);
      assert.equal(table.uniqueOwner('name', 'x'), 'b', `order ${order}`);
      assert.equal(table.uniqueOwner('name', 'y'), 'a', `order ${order}`);
    }
  });

  it('frees a unique key when its row is renamed or deleted', () => {
    const table = new Table<Row>(indexes);
    table.put({ ID: 'a', name: 'x' });
    table.put({ ID: 'a', name: 'w' });
    assert.equal(table.uniqueOwner('name', 'x'), undefined);
    table.delete('a');
    assert.equal(table.uniqueOwner('name', 'w'), undefined);
  });

  it('returns index lookups in creation order, even after updates', () => {
    const table = new Table<Row>(indexes);
    for (const id of ['a', 'b', 'c']) table.put({ ID: id, color: 'red' });
    table.put({ ID: 'a', color: 'red', name: 'renamed' });
    assert.deepEqual(table.byIndex('color', 'red').map((r) => r.ID), ['a', 'b', 'c']);
    table.put({ ID: 'b', color: 'blue' });
    assert.deepEqual(table.byIndex('color', 'red').map((r) => r.ID), ['a', 'c']);
    assert.deepEqual(table.byIndex('color', 'blue').map((r) => r.ID), ['b']);
    table.delete('b');
    assert.equal(table.countByIndex('color', 'blue'), 0);
    assert.deepEqual(table.byIndex('color', 'blue'), []);
    assert.deepEqual(table.byIndex('name', 'renamed').map((r) => r.ID), ['a']);
  });

  it('finds rows by ID prefix', () => {
    const table = new Table<Row>(indexes);
    for (const id of ['abc1', 'abc2', 'abd']) table.put({ ID: id });
    assert.deepEqual(table.withIdPrefix('abc').map((r) => r.ID), ['abc1', 'abc2']);
    assert.deepEqual(table.withIdPrefix('abd').map((r) => r.ID), ['abd']);
    assert.deepEqual(table.withIdPrefix('x'), []);
  });

  it('clears rows and indexes', () => {
    const table = new Table<Row>(indexes);
    table.put({ ID: 'a', name: 'x', color: 'red' });
    table.clear();
    assert.equal(table.size, 0);
    assert.equal(table.uniqueOwner('name', 'x'), undefined);
    assert.equal(table.countByIndex('color', 'red'), 0);
  });

  it('rejects lookups on an index it does not have', () => {
    const table = new Table<Row>(indexes);
    assert.throws(() => table.byIndex('size', 'x'), /no index "size"/);
  });
});

describe('schema indexes', () => {
  function task(fields: Record<string, unknown>): Frozen<ObjectsByKind['task']> {
    return storedObject({ ID: 'x'.repeat(25), Spec: {}, DesiredState: 'running', Status: { State: 'new' }, ...fields }, 1, 't', 't') as Frozen<ObjectsByKind['task']>;
  }

  it('files a replicated task by service, node, slot and desired state', () => {
    const t = task({ ServiceID: 'svc', NodeID: 'node1', Slot: 3 });
    assert.deepEqual(SCHEMA.task.serviceId.keysOf(t), ['svc']);
    assert.deepEqual(SCHEMA.task.nodeId.keysOf(t), ['node1']);
    assert.deepEqual(SCHEMA.task.slot.keysOf(t), [SCHEMA.task.slot.keyFor({ serviceId: 'svc', slot: 3 })]);
    assert.deepEqual(SCHEMA.task.desiredState.keysOf(t), ['running']);
  });

  it('leaves unassigned and global tasks out of the node and slot indexes', () => {
    assert.deepEqual(SCHEMA.task.nodeId.keysOf(task({ ServiceID: 'svc', Slot: 1 })), []);
    assert.deepEqual(SCHEMA.task.slot.keysOf(task({ ServiceID: 'svc', NodeID: 'n', Slot: 0 })), []);
  });

  it('files a node under its hostname and its Spec.Name, case-insensitively, and not uniquely', () => {
    const node = storedObject({ ID: 'n'.repeat(25), Spec: { Name: 'Edge', Role: 'worker', Availability: 'active' }, Description: { Hostname: 'Host-1' } }, 1, 't', 't') as Frozen<ObjectsByKind['node']>;
    assert.deepEqual(SCHEMA.node.name.keysOf(node), ['host-1', 'edge']);
    assert.equal(SCHEMA.node.name.unique, false);
  });

  it('makes service, network, secret, config and cluster names unique and required', () => {
    for (const kind of ['service', 'network', 'secret', 'config', 'cluster'] as const) {
      assert.equal(SCHEMA[kind].name.unique, true, kind);
      assert.equal(SCHEMA[kind].name.requiredField, 'Spec.Name', kind);
      assert.equal(SCHEMA[kind].name.keyFor('Web'), 'web', kind);
    }
  });
});
