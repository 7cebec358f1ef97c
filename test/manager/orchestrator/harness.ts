// A real three-manager store (in-process raft) with the orchestrators running on every member
// (each acting only while its member leads), plus what the tests play: the worker's status
// reports and the operator's service and node changes, written straight to the store as the
// dispatcher and the API will write them. Every change to the store is checked against the
// invariant "no slot (or global node) has two tasks desired running", continuously.
import assert from 'node:assert/strict';
import { afterEach } from 'node:test';
import pino from 'pino';
import type { Frozen, NewObject, Node, Service, Store, Task, TaskState } from '../../../manager/store/index.js';
import { thaw } from '../../../manager/store/index.js';
import { GlobalOrchestrator, ReplicatedOrchestrator, RestartSupervisor, TaskReaper, isDesiredLive } from '../../../manager/orchestrator/index.js';
import { startStoreCluster, waitFor } from '../store/store-cluster.js';
import type { StoreCluster } from '../store/store-cluster.js';

export { waitFor };

interface Stoppable { stop(): Promise<void> }
const started = new Set<Stoppable>();

afterEach(async () => {
  await Promise.all([...started].map((c) => c.stop()));
  started.clear();
});

/** Slots (or global nodes) holding more than one task desired running; [] when the invariant holds. */
export function invariantViolations(store: Store): string[] {
  const holders = new Map<string, string[]>();
  for (const task of store.find('task')) {
    if (!isDesiredLive(task)) continue;
    const key = task.Slot ? `${task.ServiceID} slot ${task.Slot}` : `${task.ServiceID} node ${task.NodeID}`;
    holders.set(key, [...(holders.get(key) ?? []), task.ID]);
  }
  return [...holders].filter(([, ids]) => ids.length > 1).map(([key, ids]) => `${key}: ${ids.join(', ')}`);
}

export interface Harness {
  cluster: StoreCluster;
  store: Store;
  /** Asserts the invariant now and that it never broke since the start. */
  checkInvariant(): void;
  createService(spec: Record<string, unknown>): Promise<Frozen<Service>>;
  updateService(id: string, edit: (spec: Record<string, unknown>) => void): Promise<void>;
  createNode(hostname: string, fields?: { role?: 'worker' | 'manager'; labels?: Record<string, string> }): Promise<Frozen<Node>>;
  updateNode(id: string, edit: (node: { Spec: Record<string, unknown>; Status: Record<string, unknown> }) => void): Promise<void>;
  /** What a worker reports (and, for NodeID, what the scheduler writes). */
  report(taskId: string, state: TaskState, nodeId?: string): Promise<void>;
  tasks(serviceId: string, where?: (t: Frozen<Task>) => boolean): Frozen<Task>[];
  liveInSlot(serviceId: string, slot: number): Frozen<Task>[];
  settleFor(ms: number): Promise<void>;
}

export type Component = 'replicated' | 'global' | 'restart' | 'reaper';

export async function startHarness(components: readonly Component[] = ['replicated', 'global', 'restart', 'reaper']): Promise<Harness> {
  const cluster = await startStoreCluster();
  const store = cluster.leader;
  const logger = pino({ level: 'silent' });
  for (const member of cluster.members) {
    // As the daemon wires them: told of leadership changes by raft, not polling.
    const raft = cluster.raftOf(member);
    const options = {
      store: member, isLeader: () => member.isLeader, logger,
      onLeadershipChange: (listener: () => void) => {
        raft.on('leadership', listener);
        return () => { raft.off('leadership', listener); };
      },
    };
    for (const name of components) {
      const component = name === 'replicated' ? new ReplicatedOrchestrator(options)
        : name === 'global' ? new GlobalOrchestrator(options)
          : name === 'restart' ? new RestartSupervisor(options)
            : new TaskReaper(options);
      component.start();
      started.add(component);
    }
  }
  const violations: string[] = [];
  const monitor = store.subscribe({ kinds: ['task'] }, () => { violations.push(...invariantViolations(store)); });
  started.add({ stop: async () => monitor.close() });

  const harness: Harness = {
    cluster,
    store,
    checkInvariant() {
      assert.deepEqual(violations, [], 'a slot had two tasks desired running at some point');
      assert.deepEqual(invariantViolations(store), []);
    },
    async createService(spec) {
      let id = '';
      await store.update((tx) => { id = tx.create('service', { Spec: spec as NewObject<'service'>['Spec'] }).ID; });
      return store.get('service', id)!;
    },
    async updateService(id, edit) {
      await store.update((tx) => {
        const service = thaw(tx.get('service', id)!);
        edit(service.Spec as Record<string, unknown>);
        tx.update('service', service);
      });
    },
    async createNode(hostname, fields = {}) {
      let id = '';
      await store.update((tx) => {
        id = tx.create('node', {
          Spec: { Role: fields.role ?? 'worker', Availability: 'active', Labels: fields.labels ?? {} },
          Description: { Hostname: hostname },
          Status: { State: 'ready' },
        }).ID;
      });
      return store.get('node', id)!;
    },
    async updateNode(id, edit) {
      await store.update((tx) => {
        const node = thaw(tx.get('node', id)!);
        node.Status ??= {};
        edit(node as unknown as { Spec: Record<string, unknown>; Status: Record<string, unknown> });
        tx.update('node', node);
      });
    },
    async report(taskId, state, nodeId) {
      // A report races the orchestrators' writes exactly as a dispatcher's would: retry on conflict.
      for (let attempt = 0; ; attempt++) {
        try {
          await store.update((tx) => {
            const task = thaw(tx.get('task', taskId)!);
            if (nodeId) task.NodeID = nodeId;
            task.Status = { State: state, Timestamp: new Date().toISOString() };
            tx.update('task', task);
          });
          return;
        } catch (error) {
          if (attempt > 5) throw error;
        }
      }
    },
    tasks(serviceId, where) {
      return store.find('task', { serviceId, ...(where ? { where } : {}) });
    },
    liveInSlot(serviceId, slot) {
      return store.find('task', { slot: { serviceId, slot }, where: isDesiredLive });
    },
    async settleFor(ms) {
      await new Promise((resolve) => setTimeout(resolve, ms));
    },
  };
  return harness;
}

/** A replicated service spec with a restart policy in milliseconds (the API's nanoseconds). */
export function replicatedSpec(name: string, replicas: number, restart: { condition?: string; delayMs?: number; maxAttempts?: number; windowMs?: number } = {}): Record<string, unknown> {
  return {
    Name: name,
    Mode: { Replicated: { Replicas: replicas } },
    TaskTemplate: {
      ContainerSpec: { Image: 'nginx:alpine' },
      RestartPolicy: {
        Condition: restart.condition ?? 'any',
        Delay: (restart.delayMs ?? 0) * 1e6,
        MaxAttempts: restart.maxAttempts ?? 0,
        Window: (restart.windowMs ?? 0) * 1e6,
      },
    },
  };
}
