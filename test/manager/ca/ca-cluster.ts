// A cluster of managers in this process for CA tests: real RaftNodes (over a LocalNetwork, as
// test/manager/store/store-cluster.ts wires them) driving real Stores, a cluster object holding a
// real CA, and on every manager a real gRPC server on 127.0.0.1 with clusterServerCredentials,
// the NodeCA service and a small Probe service whose methods need a role. Joining nodes talk to
// these servers exactly as a real node would.
//
// Every cluster started here is stopped after the test that started it (afterEach below), passed
// or failed, so no server or raft ticker keeps the test process alive.
import { afterEach } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { LocalNetwork } from '../../../manager/raft/local-transport.js';
import { RaftNode } from '../../../manager/raft/node.js';
import { MemoryStorage } from '../../../manager/raft/storage.js';
import { Store, newObjectId } from '../../../manager/store/index.js';
import { createClusterCA, issueNodeIdentity, newClusterObject } from '../../../manager/ca/cluster-ca.js';
import type { ClusterCA } from '../../../manager/ca/cluster-ca.js';
import { NodeCAServer } from '../../../manager/ca/ca-server.js';
import { NodeCertificateProvider } from '../../../manager/ca/certificate-provider.js';
import { MANAGER_CHANNEL_OPTIONS } from '../../../manager/ca/client-credentials.js';
import { NODE_CA_SERVICE } from '../../../manager/ca/node-ca-service.js';
import { clusterServerCredentials, requireRole } from '../../../manager/ca/peer-identity.js';
import { StatusError } from '../../../manager/ca/status-error.js';

/** Raft ticks every 10 ms: an election takes 100–200 ms. */
const TICK_MS = 10;
/** Generous, so no healthy request times out on a loaded machine. */
const REQUEST_TIMEOUT_MS = 5000;
const WAIT_TIMEOUT_MS = 5000;
/** Applied entries between raft snapshots: more than any test writes. */
const NEVER_SNAPSHOT = 1_000_000;

export const PROBE_METHODS = {
  managerOnly: '/berth.test.Probe/ManagerOnly',
  anyMember: '/berth.test.Probe/AnyMember',
} as const;

export interface CaManager {
  readonly raftId: number;
  readonly store: Store;
  readonly raft: RaftNode;
  /** This manager's Node ID (its certificate's CN). */
  readonly nodeId: string;
  /** Its TLS identity; replace() it to renew without restarting the server. */
  readonly provider: NodeCertificateProvider;
  /** 127.0.0.1:<port> of its gRPC server. */
  readonly addr: string;
}

export interface CaCluster {
  readonly ca: ClusterCA;
  readonly clusterId: string;
  readonly managers: readonly CaManager[];
  /** The manager raft elected at start. */
  readonly leader: CaManager;
  readonly followers: readonly CaManager[];
  /** Waits until every manager reflects every committed write. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<() => Promise<void>>();

afterEach(async () => {
  await Promise.all([...running].map((stop) => stop()));
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_TIMEOUT_MS} ms waiting until ${what}`);
    await sleep(TICK_MS);
  }
}

/** The Probe service: answers with the caller's node ID if its certificate has the role. */
function addProbeService(server: grpc.Server, provider: NodeCertificateProvider): void {
  const bytes = (b: Buffer): Buffer => b;
  const method = (path: string): grpc.MethodDefinition<Buffer, Buffer> => ({
    path, requestStream: false, responseStream: false,
    requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes,
  });
  const handler = (role: 'manager' | 'worker'): grpc.handleUnaryCall<Buffer, Buffer> => (call, callback) => {
    const peer = requireRole(call, provider, role);
    if (peer instanceof StatusError) callback(peer);
    else callback(null, Buffer.from(peer.nodeId));
  };
  server.addService(
    { managerOnly: method(PROBE_METHODS.managerOnly), anyMember: method(PROBE_METHODS.anyMember) },
    { managerOnly: handler('manager'), anyMember: handler('worker') },
  );
}

function bind(server: grpc.Server, credentials: grpc.ServerCredentials): Promise<string> {
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (error, port) => (error ? reject(error) : resolve(`127.0.0.1:${port}`)));
  });
}

export async function startCaCluster(options: { followers?: number } = {}): Promise<CaCluster> {
  const size = 1 + (options.followers ?? 2);
  const net = new LocalNetwork();
  const bootstrap = Array.from({ length: size }, (_, i) => ({ id: i + 1, address: `manager-${i + 1}` }));
  const stores = bootstrap.map(() => new Store());
  const rafts: RaftNode[] = [];
  const servers: grpc.Server[] = [];
  const logger = pino({ level: 'silent' });

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      running.delete(stop);
      for (const server of servers) server.forceShutdown();
      for (const raft of rafts) await raft.stop();
      for (const store of stores) store.close();
    })();
    return stopped;
  };
  running.add(stop);

  try {
    for (const [i, member] of bootstrap.entries()) {
      const raft = await RaftNode.start({
        id: member.id, storage: new MemoryStorage(), transport: net.transport(member.id), stateMachine: stores[i],
        bootstrap, tickMs: TICK_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS, snapshotEntries: NEVER_SNAPSHOT,
      });
      rafts.push(raft);
      stores[i].attach(raft);
    }
    rafts[0].campaign();
    await waitFor(() => rafts.some((r) => r.isLeader && rafts.every((o) => o.leaderId === r.id)), 'the managers agree on a leader');
    const leaderIndex = rafts.findIndex((r) => r.isLeader);

    // What `swarm init` does: the CA into the cluster object, a Node object per manager.
    const clusterId = newObjectId();
    const ca = await createClusterCA(clusterId);
    const nodeIds = bootstrap.map(() => newObjectId());
    const identities = await Promise.all(nodeIds.map((id) => issueNodeIdentity(ca.RootCA, id, 'manager')));
    await stores[leaderIndex].update((tx) => {
      tx.create('cluster', newClusterObject(ca));
      for (const id of nodeIds) tx.create('node', { ID: id, Spec: { Role: 'manager', Availability: 'active', Labels: {} }, Status: { State: 'ready' } });
    });
    const settle = async (): Promise<void> => {
      await Promise.all(stores.map((s) => s.readLinearizable()));
    };
    await settle();

    const addrByRaftId = new Map<number, string>();
    const managers: CaManager[] = [];
    for (const [i, member] of bootstrap.entries()) {
      const provider = new NodeCertificateProvider(identities[i]);
      const server = new grpc.Server();
      servers.push(server);
      const raft = rafts[i];
      new NodeCAServer({
        store: stores[i], logger,
        leaderInfo: () => ({ isLeader: raft.isLeader, leaderAddr: addrByRaftId.get(raft.leaderId) }),
      }).addTo(server);
      addProbeService(server, provider);
      const addr = await bind(server, clusterServerCredentials(provider));
      addrByRaftId.set(member.id, addr);
      managers.push({ raftId: member.id, store: stores[i], raft, nodeId: nodeIds[i], provider, addr });
    }
    return {
      ca, clusterId, managers,
      leader: managers[leaderIndex],
      followers: managers.filter((_, i) => i !== leaderIndex),
      settle,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Channel options for test clients: manager TLS naming, and connections owned by the client. */
export const TEST_CHANNEL_OPTIONS: grpc.ChannelOptions = { ...MANAGER_CHANNEL_OPTIONS, 'grpc.use_local_subchannel_pool': 1 };

/** One unary call with raw bytes on its own client; rejects with grpc's ServiceError. */
export async function callRaw(addr: string, credentials: grpc.ChannelCredentials, path: string, request: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  const client = new grpc.Client(addr, credentials, TEST_CHANNEL_OPTIONS);
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, request, new grpc.Metadata(), { deadline: Date.now() + REQUEST_TIMEOUT_MS },
        (error, response) => (error ? reject(error) : resolve(response!)));
    });
  } finally {
    client.close();
  }
}

/** A NodeCA call with a hand-made request (for requests joinCluster would never send). */
export async function callNodeCA<M extends keyof typeof NODE_CA_SERVICE>(
  addr: string, credentials: grpc.ChannelCredentials, method: M, request: Parameters<(typeof NODE_CA_SERVICE)[M]['requestSerialize']>[0],
): Promise<ReturnType<(typeof NODE_CA_SERVICE)[M]['responseDeserialize']>> {
  const definition = NODE_CA_SERVICE[method] as unknown as grpc.MethodDefinition<typeof request, ReturnType<(typeof NODE_CA_SERVICE)[M]['responseDeserialize']>>;
  const bytes = await callRaw(addr, credentials, definition.path, definition.requestSerialize(request));
  return definition.responseDeserialize(bytes);
}
