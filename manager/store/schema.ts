// Which indexes each kind has, and how an object and a query value map to index keys.
// Unique names: services, networks, secrets and configs, as Docker enforces (the cluster object
// too; there is one). Node names are not unique: two hosts may share a hostname, so nodes get a
// plain index and `lookup` reports an ambiguous name instead.
import type { Frozen } from './frozen.js';
import type { IndexDefinition } from './table.js';
import { Table } from './table.js';
import type { ObjectKind, ObjectsByKind, TaskState } from './objects.js';

/** A replicated service's slot: the key of "the task(s) for slot N of service S". */
export interface ServiceSlot {
  serviceId: string;
  slot: number;
}

/** For each kind, the indexes a query may use and the type of value each one takes. */
export interface IndexValuesByKind {
  node: { name: string };
  service: { name: string };
  task: { serviceId: string; nodeId: string; slot: ServiceSlot; desiredState: TaskState };
  network: { name: string };
  secret: { name: string };
  config: { name: string };
  cluster: { name: string };
}

export interface QueryableIndex<T, V> extends IndexDefinition<T> {
  /** The key a query value looks up. */
  keyFor(value: V): string;
  /** When set, objects must have a key here; the text names the field for error messages. */
  readonly requiredField?: string;
}

export type KindIndexes<K extends ObjectKind> = {
  readonly [I in keyof IndexValuesByKind[K]]: QueryableIndex<Frozen<ObjectsByKind[K]>, IndexValuesByKind[K][I]>;
};

/**
 * Names compare case-insensitively, as in SwarmKit: service names become DNS names, which are
 * case-insensitive, so "web" and "Web" must not both exist.
 */
function nameKey(name: string): string {
  return name.toLowerCase();
}

/** The unique `Spec.Name` index shared by services, networks, secrets, configs and the cluster. */
function uniqueSpecName(): QueryableIndex<{ readonly Spec: { readonly Name: string } }, string> {
  return {
    unique: true,
    requiredField: 'Spec.Name',
    keysOf: (o) => presentString(o.Spec?.Name).map(nameKey),
    keyFor: nameKey,
  };
}

/** Replicated services' slots (1..N); global tasks have none and are found by node, and replicated jobs (slots from 0) group their own tasks. */
function slotKey(serviceId: string, slot: number): string {
  return `${serviceId}\u0000${slot}`;
}

function presentString(value: unknown): string[] {
  return typeof value === 'string' && value !== '' ? [value] : [];
}

export const SCHEMA: { readonly [K in ObjectKind]: KindIndexes<K> } = {
  node: {
    name: {
      unique: false,
      // Either the operator's Spec.Name or the reported hostname identifies a node to a person.
      keysOf: (n) => [...new Set([...presentString(n.Description?.Hostname), ...presentString(n.Spec?.Name)].map(nameKey))],
      keyFor: nameKey,
    },
  },
  service: { name: uniqueSpecName() },
  task: {
    serviceId: { unique: false, keysOf: (t) => presentString(t.ServiceID), keyFor: (id) => id },
    nodeId: { unique: false, keysOf: (t) => presentString(t.NodeID), keyFor: (id) => id },
    slot: {
      unique: false,
      keysOf: (t) => (typeof t.ServiceID === 'string' && Number.isInteger(t.Slot) && t.Slot! > 0 ? [slotKey(t.ServiceID, t.Slot!)] : []),
      keyFor: (s) => slotKey(s.serviceId, s.slot),
    },
    desiredState: { unique: false, keysOf: (t) => presentString(t.DesiredState), keyFor: (state) => state },
  },
  network: { name: uniqueSpecName() },
  secret: { name: uniqueSpecName() },
  config: { name: uniqueSpecName() },
  cluster: { name: uniqueSpecName() },
};

/** A kind's indexes with the per-kind typing erased, for code that handles every kind alike. */
export function indexesOf(kind: ObjectKind): Readonly<Record<string, QueryableIndex<Frozen<ObjectsByKind[ObjectKind]>, unknown>>> {
  return SCHEMA[kind] as unknown as Readonly<Record<string, QueryableIndex<Frozen<ObjectsByKind[ObjectKind]>, unknown>>>;
}

export type Tables = { readonly [K in ObjectKind]: Table<Frozen<ObjectsByKind[K]>> };

export function createTables(): Tables {
  return {
    node: new Table(SCHEMA.node),
    service: new Table(SCHEMA.service),
    task: new Table(SCHEMA.task),
    network: new Table(SCHEMA.network),
    secret: new Table(SCHEMA.secret),
    config: new Table(SCHEMA.config),
    cluster: new Table(SCHEMA.cluster),
  };
}

/** The table for `kind` with the per-kind typing erased (see indexesOf). */
export function tableOf(tables: Tables, kind: ObjectKind): Table<Frozen<ObjectsByKind[ObjectKind]>> {
  return tables[kind] as Table<Frozen<ObjectsByKind[ObjectKind]>>;
}
