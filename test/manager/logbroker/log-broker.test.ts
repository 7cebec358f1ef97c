// The log broker between real managers and real agents: three managers on in-process raft, each
// with a dispatcher and a broker on one mutual-TLS gRPC server (as the daemon wires them), agents
// reading their tasks' logs through the process executor or a scripted one. Lines reach a
// subscriber on the leader and on a follower; cancelling reaches the node; a node that goes away
// mid-stream ends its part; the gRPC doors check who calls.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { LeaderLogClient } from '../../../manager/logbroker/leader-client.js';
import { LogBroker } from '../../../manager/logbroker/log-broker.js';
import type { BrokerCall } from '../../../manager/logbroker/log-broker.js';
import type { Store } from '../../../manager/store/index.js';
import {
  PUBLISH_LOGS_PATH, SUBSCRIBE_LOGS_PATH, encodeLogBatch, encodeSubscribeLogsRequest,
} from '../../../shared/log-protocol.js';
import type { LogReadOptions, LogRecord } from '../../../shared/log-protocol.js';
import { ProcessExecutor } from '../../../worker/executor/process/process-executor.js';
import { killRecordedTasks } from '../../../deploy/berth-cluster.js';
import type { DispatcherHarness } from '../dispatcher/harness.js';
import { identifyByCertificate, logger, startDispatcherHarness, waitFor, waitForSession } from '../dispatcher/harness.js';
import type { SessionCall } from '../../../manager/dispatcher/dispatcher.js';
import { testPki } from '../dispatcher/test-pki.js';
import { ScriptedExecutor } from '../../worker/agent/scripted-executor.js';

interface Rig {
  h: DispatcherHarness;
  brokerOf(store: Store): LogBroker;
  leader(): Promise<{ store: Store; broker: LogBroker; addr: string }>;
  follower(): Promise<{ store: Store; broker: LogBroker }>;
  /** Writes tasks of service `svc1` assigned to `nodeId` (as the scheduler leaves them); returns their IDs. */
  createTasks(nodeId: string, commands: string[][]): Promise<string[]>;
  waitRunning(ids: string[]): Promise<void>;
}

async function rig(t: TestContext): Promise<Rig> {
  const pki = testPki();
  const brokers = new Map<Store, LogBroker>();
  const h = await startDispatcherHarness(t, {
    setupManager: (m) => {
      const identity = pki.issue(m.nodeId, 'swarm-manager');
      const leader = new LeaderLogClient(grpc.credentials.createSsl(pki.ca, identity.key, identity.cert), { 'grpc.use_local_subchannel_pool': 1 });
      const broker = new LogBroker({
        store: m.store, isLeader: m.isLeader, leaderAddr: m.leaderAddr, leader, logger,
        sessions: {
          send: (nodeId, logSubscription) => m.dispatcher.sendToNode(nodeId, { kind: 'logSubscription', logSubscription }),
          connected: (nodeId) => m.dispatcher.hasSession(nodeId),
        },
        identify: (call: BrokerCall) => identifyByCertificate(call as unknown as SessionCall),
      });
      m.dispatcher.onSessionChange((nodeId, connected) => broker.nodeSessionChanged(nodeId, connected));
      const { definition, implementation } = broker.service();
      m.server.addService(definition, implementation);
      brokers.set(m.store, broker);
      return () => {
        broker.stop();
        leader.close();
      };
    },
  });
  let slot = 0;
  const leaderEndpoint = async () => h.leader();
  return {
    h,
    brokerOf: (store) => brokers.get(store)!,
    async leader() {
      const l = await leaderEndpoint();
      return { store: l.store, broker: brokers.get(l.store)!, addr: l.addr };
    },
    async follower() {
      const l = await leaderEndpoint();
      const f = h.managers.find((m) => m !== l)!;
      return { store: f.store, broker: brokers.get(f.store)! };
    },
    async createTasks(nodeId, commands) {
      const { store } = await leaderEndpoint();
      const ids: string[] = [];
      await store.update((tx) => {
        for (const command of commands) {
          ids.push(tx.create('task', {
            ServiceID: 'svc1', Slot: ++slot, NodeID: nodeId, DesiredState: 'running',
            Status: { State: 'assigned', Timestamp: new Date().toISOString() },
            Spec: { ContainerSpec: { Image: 'none', Command: command, StopGracePeriod: 1_000_000_000 } },
          }).ID);
        }
      });
      return ids;
    },
    async waitRunning(ids) {
      const { store } = await leaderEndpoint();
      await waitFor(() => ids.every((id) => store.get('task', id)?.Status.State === 'running'), `tasks ${ids.join(', ')} running`);
    },
  };
}

function processExecutor(t: TestContext, nodeId: string): ProcessExecutor {
  const stateDir = mkdtempSync(join(os.tmpdir(), 'berth-logbroker-'));
  const executor = new ProcessExecutor({ stateDir, nodeId });
  t.after(() => {
    executor.close();
    killRecordedTasks(stateDir); // every process group the executor started, if still its own
    rmSync(stateDir, { recursive: true, force: true });
  });
  return executor;
}

const ALL: LogReadOptions = { follow: false, stdout: true, stderr: true };

async function collect(lines: AsyncIterable<LogRecord[]>): Promise<LogRecord[]> {
  const all: LogRecord[] = [];
  for await (const records of lines) all.push(...records);
  return all;
}

const sh = (script: string): string[] => ['/bin/sh', '-c', script];

test('a service\'s lines come from the nodes that run its tasks, complete and in order, on the leader and through a follower', async (t) => {
  const r = await rig(t);
  const { addr } = await r.leader();
  const nodes = [await r.h.createNode(), await r.h.createNode()];
  for (const nodeId of nodes) await waitForSession(r.h.startAgent(nodeId, [addr], { executor: processExecutor(t, nodeId) }));
  const script = 'i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo "out $i"; done; echo "err" >&2; exec sleep 30';
  const ids = [...await r.createTasks(nodes[0], [sh(script), sh(script)]), ...await r.createTasks(nodes[1], [sh(script)])];
  await r.waitRunning(ids);
  const expected = Array.from({ length: 200 }, (_, i) => `out ${i + 1}`);

  for (const side of [await r.leader(), await r.follower()]) {
    let records: LogRecord[] = [];
    // The tasks may still be writing: ask until every task's last line is there.
    for (let attempt = 0; attempt < 50; attempt++) {
      records = await collect(await side.broker.subscribe({ selector: { serviceIds: ['svc1'], taskIds: [] }, options: ALL }, new AbortController().signal));
      if (records.filter((x) => x.stream === 'stderr').length === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const id of ids) {
      const mine = records.filter((x) => x.context.taskId === id);
      assert.deepEqual(mine.filter((x) => x.stream === 'stdout').map((x) => x.line), expected, `task ${id}: all lines in order`);
      assert.deepEqual(mine.filter((x) => x.stream === 'stderr').map((x) => x.line), ['err']);
      const nodeId = nodes[ids.indexOf(id) < 2 ? 0 : 1];
      assert.ok(mine.every((x) => x.context.nodeId === nodeId && x.context.serviceId === 'svc1'), 'context from the store and the certificate');
    }
  }

  // One task, its last lines, stderr only.
  const { broker } = await r.follower();
  const tail = await collect(await broker.subscribe({ selector: { serviceIds: [], taskIds: [ids[2]] }, options: { follow: false, tail: 2, stdout: false, stderr: true } }, new AbortController().signal));
  assert.deepEqual(tail.map((x) => [x.context.taskId, x.stream, x.line]), [[ids[2], 'stderr', 'err']]);
});

test('following through a follower: lines flow until the reader goes away, and then the node stops reading', async (t) => {
  const r = await rig(t);
  const { addr } = await r.leader();
  const nodeId = await r.h.createNode();
  const executor = new ScriptedExecutor();
  await waitForSession(r.h.startAgent(nodeId, [addr], { executor }));
  const [id] = await r.createTasks(nodeId, [['scripted']]);
  await r.waitRunning([id]);

  const { broker } = await r.follower();
  const abort = new AbortController();
  const lines = await broker.subscribe({ selector: { serviceIds: ['svc1'], taskIds: [] }, options: { ...ALL, follow: true } }, abort.signal);
  const iterator = lines[Symbol.asyncIterator]();
  const got: string[] = [];
  while (got.length < 3) got.push(...((await iterator.next()).value as LogRecord[]).map((x) => x.line));
  assert.deepEqual(got, [`${id.slice(0, 4)} 1`, `${id.slice(0, 4)} 2`, `${id.slice(0, 4)} 3`]);
  const controller = executor.controllers.get(id)!;
  assert.equal(controller.signals.length, 1);
  assert.equal(controller.signals[0].aborted, false);

  abort.abort();
  await waitFor(() => controller.signals[0].aborted, 'the node stopped reading the task\'s logs');
  const { broker: leaderBroker } = await r.leader();
  await waitFor(() => leaderBroker.size === 0, 'the leader forgot the subscription');
  assert.equal((await iterator.next()).done, true);
});

test('not following: a node that goes away mid-stream ends its part, and the request completes', async (t) => {
  const r = await rig(t);
  const { addr, broker } = await r.leader();
  const nodeId = await r.h.createNode();
  const executor = new ScriptedExecutor();
  // Its logs never end: only the node going away can end its part.
  executor.hang = true;
  const agent = r.h.startAgent(nodeId, [addr], { executor });
  await waitForSession(agent);
  const [id] = await r.createTasks(nodeId, [['scripted']]);
  await r.waitRunning([id]);

  const lines = await broker.subscribe({ selector: { serviceIds: ['svc1'], taskIds: [] }, options: ALL }, new AbortController().signal);
  const iterator = lines[Symbol.asyncIterator]();
  const first = (await iterator.next()).value as LogRecord[];
  assert.ok(first.length > 0);
  await agent.stop();
  const rest: LogRecord[] = [];
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(...next.value);
  assert.deepEqual([...first, ...rest].map((x) => x.line), [`${id.slice(0, 4)} 1`, `${id.slice(0, 4)} 2`, `${id.slice(0, 4)} 3`]);
  assert.equal(broker.size, 0);
});

test('the gRPC doors: PublishLogs for no known subscription is answered at once; SubscribeLogs wants a manager certificate on the leader', async (t) => {
  const r = await rig(t);
  const { addr } = await r.leader();
  const workerId = await r.h.createNode();
  const worker = new grpc.Client(addr, r.h.credentials(workerId), { 'grpc.use_local_subchannel_pool': 1 });
  t.after(() => worker.close());
  const passBytes = (b: Buffer): Buffer => b;

  const published = await new Promise<grpc.ServiceError | null>((resolve) => {
    const call = worker.makeClientStreamRequest<Buffer, Buffer>(PUBLISH_LOGS_PATH, passBytes, passBytes, (error) => resolve(error));
    call.write(encodeLogBatch({ subscriptionId: 'nosuch', messages: [], endedTasks: [], close: false }));
  });
  assert.equal(published, null, 'OK: nothing is wanted');

  const subscribe = (client: grpc.Client): Promise<grpc.StatusObject> => new Promise((resolve) => {
    const call = client.makeServerStreamRequest<Buffer, Buffer>(SUBSCRIBE_LOGS_PATH, passBytes, passBytes,
      encodeSubscribeLogsRequest({ selector: { serviceIds: ['svc1'], taskIds: [] }, options: ALL }));
    call.on('data', () => {});
    call.on('error', () => {});
    call.on('status', resolve);
  });
  assert.equal((await subscribe(worker)).code, grpc.status.PERMISSION_DENIED);

  const follower = r.h.managers.find((m) => m.addr !== addr)!;
  const manager = new grpc.Client(follower.addr, r.h.credentials(follower.nodeId, 'swarm-manager'), { 'grpc.use_local_subchannel_pool': 1 });
  t.after(() => manager.close());
  const refused = await subscribe(manager);
  assert.equal(refused.code, grpc.status.FAILED_PRECONDITION, 'only the leader serves subscriptions');
});
