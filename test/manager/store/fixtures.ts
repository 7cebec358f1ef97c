// Small builders for store tests: objects with just the fields the store cares about.
import type { Frozen } from '../../../manager/store/frozen.js';
import type { NewObject, ObjectKind, ObjectsByKind } from '../../../manager/store/objects.js';
import type { Store } from '../../../manager/store/store.js';

/** Creates one object in its own transaction and returns it as stored. */
export async function createOne<K extends ObjectKind>(store: Store, kind: K, object: NewObject<K>): Promise<Frozen<ObjectsByKind[K]>> {
  let id = '';
  await store.update((tx) => { id = tx.create(kind, object).ID; });
  return store.get(kind, id)!;
}

export function newService(name: string, replicas = 1): NewObject<'service'> {
  return { Spec: { Name: name, Mode: { Replicated: { Replicas: replicas } }, TaskTemplate: { ContainerSpec: { Image: 'nginx:alpine' } } } };
}

export function newTask(serviceId: string, slot: number, nodeId?: string): NewObject<'task'> {
  return {
    ServiceID: serviceId,
    Slot: slot,
    ...(nodeId ? { NodeID: nodeId } : {}),
    DesiredState: 'running',
    Status: { State: nodeId ? 'assigned' : 'pending' },
    Spec: { ContainerSpec: { Image: 'nginx:alpine' } },
  };
}

export function newNode(hostname: string, name?: string): NewObject<'node'> {
  return {
    Spec: { Role: 'worker', Availability: 'active', Labels: {}, ...(name ? { Name: name } : {}) },
    Description: { Hostname: hostname },
    Status: { State: 'ready' },
  };
}

/** A clock that advances one second per reading, from a fixed start. */
export function steppingClock(start = Date.parse('2024-05-01T12:00:00.000Z')): () => Date {
  let readings = 0;
  return () => new Date(start + 1000 * readings++);
}

/** IDs that are valid and predictable: 25 chars, the given prefix then a counter. */
export function sequentialIds(prefix = 'id'): () => string {
  let next = 0;
  return () => (prefix + String(next++).padStart(25 - prefix.length, '0'));
}
