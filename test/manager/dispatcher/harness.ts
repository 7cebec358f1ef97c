// Three managers as the daemon will wire them: a real store on a real in-process raft cluster
// (store-cluster.ts), and on each manager a Dispatcher served by its own gRPC server with mutual
// TLS from a throwaway CA (test-pki.ts). Agents, and raw sessions for protocol-level checks,
// connect with node certificates from the same CA.
//
// identify() here reads the CN and OU of the verified client certificate; the daemon's, from
// manager/ca, additionally checks the certificate against the cluster's current root.
import type { TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { Dispatcher } from '../../../manager/dispatcher/dispatcher.js';
import type { NodeIdentity, SessionCall } from '../../../manager/dispatcher/dispatcher.js';
import { newObjectId } from '../../../manager/store/object-id.js';
import type { Frozen, Node } from '../../../manager/store/index.js';
import type { Store } from '../../../manager/store/store.js';
import { Agent } from '../../../worker/agent/agent.js';
import type { AgentOptions } from '../../../worker/agent/agent.js';
import type { AgentMessage, DispatcherMessage, ManagerInfo } from '../../../shared/session-protocol.js';
import { SESSION_PATH, decodeDispatcherMessage, encodeAgentMessage } from '../../../shared/session-protocol.js';
import { describeNode } from '../../../worker/node-description.js';
import { createOne } from '../store/fixtures.js';
import { startStoreCluster, waitFor } from '../store/store-cluster.js';
import type { StoreCluster } from '../store/store-cluster.js';
import { testPki } from './test-pki.js';
import type { TestPki } from './test-pki.js';

export { waitFor };

/** Set BERTH_TEST_LOG=debug to see the dispatchers' and agents' logs. */
export const logger = pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' });

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads the node's identity from its verified certificate: CN is the node ID, OU the role. */
export function identifyByCertificate(call: SessionCall): NodeIdentity | null {
  const subject = call.getAuthContext().sslPeerCertificate?.subject;
  // A field repeated in the subject comes back as an array: not a certificate this CA issues.
  const nodeId = subject?.CN;
  const role = subject?.OU;
  if (typeof nodeId !== 'string' || nodeId === '') return null;
  if (role === 'swarm-manager') return { nodeId, role: 'manager' };
  if (role === 'swarm-worker') return { nodeId, role: 'worker' };
  return null;
}

export interface ManagerEndpoint {
  readonly raftId: number;
  readonly nodeId: string;
  /** host:port of this manager's Dispatcher. */
  readonly addr: string;
  readonly store: Store;
  readonly dispatcher: Dispatcher;
  readonly server: grpc.Server;
}

export interface RawSession {
  readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  readonly received: DispatcherMessage[];
  /** Resolves with the call's final status. */
  readonly status: Promise<grpc.StatusObject>;
  send(message: AgentMessage): void;
}

export interface DispatcherHarness {
  readonly cluster: StoreCluster;
  readonly pki: TestPki;
  readonly managers: readonly ManagerEndpoint[];
  /** The manager whose raft node leads now. */
  leader(): Promise<ManagerEndpoint>;
  endpointOf(store: Store): ManagerEndpoint;
  /** Creates a Node object as the CA would at join (Status unknown) and returns its ID. */
  createNode(): Promise<string>;
  credentials(nodeId: string, role?: string): grpc.ChannelCredentials;
  /** Makes every dispatcher report this manager list (as after a promotion); undefined restores the real one. */
  reportManagers(list: ManagerInfo[] | undefined): void;
  /** Starts an agent for `nodeId` (stopped with the harness). */
  startAgent(nodeId: string, managers: string[], options?: Partial<AgentOptions>): Agent;
  /** Opens a Session by hand, for what an Agent would never send. */
  openRawSession(addr: string, credentials: grpc.ChannelCredentials): RawSession;
  /** The node as the current leader's store has it. */
  node(nodeId: string): Promise<Frozen<Node>>;
  /** The node's Status.State on the first member's store that has the node (no raft round trip). */
  stateOf(nodeId: string): string | undefined;
  stop(): Promise<void>;
}

function listen(server: grpc.Server, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (error, port) => (error ? reject(error) : resolve(port)));
  });
}

function shutdown(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 200);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const passBytes = (bytes: Buffer): Buffer => bytes;

/** What a test may add to each manager before its server listens (another service, such as the log broker). */
export interface ManagerSetup {
  readonly store: Store;
  readonly dispatcher: Dispatcher;
  readonly server: grpc.Server;
  readonly nodeId: string;
  readonly isLeader: () => boolean;
  /** The current leader's address, once every manager listens. */
  readonly leaderAddr: () => string | undefined;
}

export interface DispatcherHarnessOptions {
  /** Called for each manager before it listens; what it returns is called when the harness stops, before the dispatchers. */
  setupManager?: (manager: ManagerSetup) => (() => void) | void;
}

/** Starts three managers with dispatchers; everything is stopped after the test `t`. */
export async function startDispatcherHarness(t: TestContext, options: DispatcherHarnessOptions = {}): Promise<DispatcherHarness> {
  const pki = testPki();
  const cluster = await startStoreCluster();
  const agents: Agent[] = [];
  const clients: grpc.Client[] = [];
  const managers: ManagerEndpoint[] = [];
  const addrByRaftId = new Map<number, string>();
  let reportedManagers: ManagerInfo[] | undefined;
  const managerList = (): ManagerInfo[] => reportedManagers ?? managers.map((m) => ({ nodeId: m.nodeId, addr: m.addr }));

  const teardowns: (() => void)[] = [];
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await Promise.all(agents.map((a) => a.stop()));
      for (const client of clients) client.close();
      for (const teardown of teardowns) teardown();
      await Promise.all(managers.map((m) => m.dispatcher.stop()));
      await Promise.all(managers.map((m) => shutdown(m.server)));
      await cluster.stop();
    })();
    return stopped;
  };
  t.after(stop);

  for (const store of cluster.members) {
    const raft = cluster.raftOf(store);
    const nodeId = newObjectId();
    const identity = pki.issue(nodeId, 'swarm-manager');
    const server = new grpc.Server();
    const dispatcher = new Dispatcher({
      store,
      isLeader: () => raft.isLeader,
      leaderAddr: () => addrByRaftId.get(raft.leaderId),
      managers: managerList,
      identify: identifyByCertificate,
      logger: logger.child({ manager: raft.id }),
    });
    const { definition, implementation } = dispatcher.service();
    server.addService(definition, implementation);
    const teardown = options.setupManager?.({
      store, dispatcher, server, nodeId, isLeader: () => raft.isLeader, leaderAddr: () => addrByRaftId.get(raft.leaderId),
    });
    if (teardown) teardowns.push(teardown);
    const port = await listen(server, grpc.ServerCredentials.createSsl(pki.ca, [{ cert_chain: identity.cert, private_key: identity.key }], true));
    const addr = `127.0.0.1:${port}`;
    addrByRaftId.set(raft.id, addr);
    managers.push({ raftId: raft.id, nodeId, addr, store, dispatcher, server });
  }

  const endpointOf = (store: Store): ManagerEndpoint => {
    const found = managers.find((m) => m.store === store);
    if (!found) throw new Error('not a manager of this harness');
    return found;
  };
  const credentials = (nodeId: string, role = 'swarm-worker'): grpc.ChannelCredentials => {
    const { cert, key } = pki.issue(nodeId, role);
    return grpc.credentials.createSsl(pki.ca, key, cert);
  };

  return {
    cluster,
    pki,
    managers,
    leader: async () => endpointOf(await cluster.waitForLeader()),
    endpointOf,
    async createNode() {
      const store = await cluster.waitForLeader();
      const node = await createOne(store, 'node', {
        ID: newObjectId(),
        Spec: { Role: 'worker', Availability: 'active', Labels: {} },
        Status: { State: 'unknown' },
      });
      await cluster.settle();
      return node.ID;
    },
    credentials,
    reportManagers(list) {
      reportedManagers = list;
    },
    startAgent(nodeId, addrs, options = {}) {
      const agent = new Agent({
        nodeId,
        managers: addrs.map((addr) => ({ addr })),
        credentials: credentials(nodeId),
        description: describeNode({ hostname: `host-${nodeId.slice(0, 6)}`, labels: { zone: 'test' } }),
        logger: logger.child({ agent: nodeId.slice(0, 6) }),
        ...options,
      });
      agents.push(agent);
      agent.start();
      return agent;
    },
    openRawSession(addr, creds) {
      const client = new grpc.Client(addr, creds, { 'grpc.use_local_subchannel_pool': 1 });
      clients.push(client);
      const call = client.makeBidiStreamRequest<Buffer, Buffer>(SESSION_PATH, passBytes, passBytes);
      const received: DispatcherMessage[] = [];
      call.on('data', (bytes: Buffer) => received.push(decodeDispatcherMessage(bytes)));
      call.on('error', () => {});
      const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      return { call, received, status, send: (message) => call.write(encodeAgentMessage(message)) };
    },
    async node(nodeId) {
      const store = await cluster.waitForLeader();
      await store.readLinearizable();
      const node = store.get('node', nodeId);
      if (!node) throw new Error(`node ${nodeId} does not exist`);
      return node;
    },
    stateOf(nodeId) {
      for (const store of cluster.members) {
        const node = store.get('node', nodeId);
        if (node && cluster.raftOf(store).isLeader) return node.Status?.State;
      }
      return undefined;
    },
    stop,
  };
}

/** Waits until `agent` has an acknowledged session; returns how it stands. */
export async function waitForSession(agent: Agent, what = 'the agent has a session', timeoutMs?: number): Promise<ReturnType<Agent['status']>> {
  await waitFor(() => agent.status().connected, what, timeoutMs);
  return agent.status();
}

/** Creates (or replaces) the cluster object with this heartbeat period, in nanoseconds as in Docker. */
export async function setHeartbeatPeriod(cluster: StoreCluster, ns: number): Promise<void> {
  const store = await cluster.waitForLeader();
  const existing = store.find('cluster')[0];
  if (!existing) {
    await createOne(store, 'cluster', { Spec: { Name: 'default', Dispatcher: { HeartbeatPeriod: ns } } });
    return;
  }
  await store.update((tx) => {
    const current = tx.get('cluster', existing.ID)!;
    tx.update('cluster', { ...current, Spec: { ...current.Spec, Dispatcher: { HeartbeatPeriod: ns } } });
  });
}
