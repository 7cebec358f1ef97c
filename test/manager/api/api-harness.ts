// The API under test: buildApiServer over a real Store on a real in-process three-manager raft
// cluster (test/manager/store/store-cluster.ts, stopped after every test), seeded with a swarm
// of three managers and two workers, behind a small ClusterBackend whose membership, local
// state and raft view tests can change. init/join/leave only record what the API passed on:
// real daemons cover what happens next.
import { randomInt } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApiServer } from '../../../manager/api/app.js';
import type {
  ClusterBackend, LocalNodeInfo, ManagerMemberStatus, SwarmInitRequest, SwarmJoinRequest, SystemInfo,
} from '../../../manager/api/backend.js';
import { withSpecDefaults } from '../../../manager/api/swarm-spec.js';
import type { NewObject, Node } from '../../../manager/store/index.js';
import type { Store } from '../../../manager/store/store.js';
import { startStoreCluster } from '../store/store-cluster.js';
import type { StoreCluster, StoreClusterOptions } from '../store/store-cluster.js';

/** 25-character IDs; "mgr" is a prefix of three, "mgr1" of one. */
export const IDS = {
  manager1: 'mgr1q8v0c5k2x9d7w4t6y3n0a',
  manager2: 'mgr2h7s1p4z8b6m3r5j9e2u0f',
  manager3: 'mgr3c6w2n9t4k8x1v5d3q7g0h',
  worker1: 'wrk1z3f8j2m6p9b4s7c1e5k0l',
  worker2: 'wrk2r5y9d1h7n3u6x2a8g4q0m',
  cluster: 'clu5t3r8x2k7d9w4m6b1q0v3a',
} as const;

export const HOSTNAMES: Readonly<Record<keyof typeof NODES, string>> = {
  manager1: 'vm',
  manager2: 'manager-2',
  manager3: 'manager-3',
  worker1: 'worker-1',
  worker2: 'worker-2',
};

export const ADDRS = { manager1: '10.0.0.1', manager2: '10.0.0.2', manager3: '10.0.0.3', worker1: '10.0.0.4', worker2: '10.0.0.5' } as const;

/**
 * The root CA the recorded dockerd swarm had (a public certificate), and what dockerd showed for
 * it: the cluster object carries it as RootCA.CACert, with a key clients must never see.
 */
export const TRUST_ROOT = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBazCCARCgAwIBAgIUToH3br6ZM1OQu2IjNZvK1j30ToQwCgYIKoZIzj0EAwIw',
  'EzERMA8GA1UEAxMIc3dhcm0tY2EwHhcNMjYxMTIyMTMwNDAwWhcNNDYxMTE3MTMw',
  'NDAwWjATMREwDwYDVQQDEwhzd2FybS1jYTBZMBMGByqGSM49AgEGCCqGSM49AwEH',
  'A0IABMbDqoN9MOj5ncc5E32jZ8untsxYg9z5KLvyebcly9b0nMp9fpXvi04gKF26',
  'frABZMSH8GEebce3JIdK0hl0Bo+jQjBAMA4GA1UdDwEB/wQEAwIBBjAPBgNVHRMB',
  'Af8EBTADAQH/MB0GA1UdDgQWBBTSGHk6llToq1eXWTeHHVadfD+Z1jAKBggqhkjO',
  'PQQDAgNJADBGAiEAlBDhcjn+UsCmccGv+dbNFqpcMXVhirbcq+SmVXgClo4CIQD7',
  'Nj/s2Zn/INs41+WYsDdfmXMIA0C8TBqhkBra8Ucobg==',
  '-----END CERTIFICATE-----',
  '',
].join('\n');
export const RECORDED_TLS_INFO = {
  TrustRoot: TRUST_ROOT,
  CertIssuerSubject: 'MBMxETAPBgNVBAMTCHN3YXJtLWNh',
  CertIssuerPublicKey: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAExsOqg30w6PmdxzkTfaNny6e2zFiD3Pkou/J5tyXL1vScyn1+le+LTiAoXbp+sAFkxIfwYR5tx7ckh0rSGXQGjw==',
} as const;
export const CA_KEY = '-----BEGIN EC PRIVATE KEY-----\nTOP-SECRET\n-----END EC PRIVATE KEY-----\n';

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

function base36(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE36[randomInt(36)];
  return out;
}

/** A token in the real format: SWMTKN-1-<50 base36 CA digest>-<25 base36 secret>. */
export function joinToken(caDigest = 'd'.repeat(50)): string {
  return `SWMTKN-1-${caDigest}-${base36(25)}`;
}

function describedNode(hostname: string, role: 'manager' | 'worker', addr: string, state: string, extra: { engineLabels?: Record<string, string>; labels?: Record<string, string> } = {}): NewObject<'node'> {
  return {
    Spec: { Labels: extra.labels ?? {}, Role: role, Availability: 'active' },
    Description: {
      Hostname: hostname,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 2_000_000_000, MemoryBytes: 8_000_000_000 },
      Engine: {
        EngineVersion: '0.1.0',
        ...(extra.engineLabels ? { Labels: extra.engineLabels } : {}),
        Plugins: [{ Type: 'Log', Name: 'json-file' }, { Type: 'Network', Name: 'overlay' }],
      },
    },
    Status: { State: state, Addr: addr },
  };
}

const NODES = {
  manager1: describedNode('vm', 'manager', ADDRS.manager1, 'ready'),
  manager2: describedNode('manager-2', 'manager', ADDRS.manager2, 'ready'),
  manager3: describedNode('manager-3', 'manager', ADDRS.manager3, 'ready'),
  worker1: describedNode('worker-1', 'worker', ADDRS.worker1, 'ready', { engineLabels: { disk: 'ssd' }, labels: { zone: 'a' } }),
  worker2: describedNode('worker-2', 'worker', ADDRS.worker2, 'down', { labels: { zone: 'b', gpu: 'yes' } }),
};

export class TestBackend implements ClusterBackend {
  localInfo: LocalNodeInfo = {
    state: 'active',
    nodeId: IDS.manager1,
    nodeAddr: ADDRS.manager1,
    role: 'manager',
    controlAvailable: true,
    error: '',
    remoteManagers: [
      { NodeID: IDS.manager1, Addr: `${ADDRS.manager1}:2377` },
      { NodeID: IDS.manager2, Addr: `${ADDRS.manager2}:2377` },
      { NodeID: IDS.manager3, Addr: `${ADDRS.manager3}:2377` },
    ],
  };
  members: ManagerMemberStatus[] | null = [
    { nodeId: IDS.manager1, addr: `${ADDRS.manager1}:2377`, leader: true, reachable: true },
    { nodeId: IDS.manager2, addr: `${ADDRS.manager2}:2377`, leader: false, reachable: true },
    { nodeId: IDS.manager3, addr: `${ADDRS.manager3}:2377`, leader: false, reachable: true },
  ];
  readonly calls: { init: SwarmInitRequest[]; join: SwarmJoinRequest[]; leave: boolean[] } = { init: [], join: [], leave: [] };
  readonly issuedTokens: string[] = [];

  constructor(public storeRef: Store | null) {}

  local(): LocalNodeInfo {
    return this.localInfo;
  }

  store(): Store | null {
    return this.storeRef;
  }

  managers(): ManagerMemberStatus[] | null {
    return this.members;
  }

  async init(req: SwarmInitRequest): Promise<string> {
    this.calls.init.push(req);
    return 'newnode0000000000000000000';
  }

  async join(req: SwarmJoinRequest): Promise<void> {
    this.calls.join.push(req);
  }

  async leave(force: boolean): Promise<void> {
    this.calls.leave.push(force);
  }

  newJoinToken(): string {
    const token = joinToken();
    this.issuedTokens.push(token);
    return token;
  }

  systemInfo(): SystemInfo {
    return {
      name: 'vm',
      ncpu: 2,
      memTotal: 8_000_000_000,
      kernelVersion: '6.1.0-test',
      operatingSystem: 'Debian GNU/Linux 12 (bookworm)',
      osType: 'linux',
      architecture: 'x86_64',
      labels: ['rack=r1'],
    };
  }

  /** Makes this daemon a worker of the swarm: no store, no raft view. */
  becomeWorker(): void {
    this.localInfo = { ...this.localInfo, role: 'worker', controlAvailable: false };
    this.storeRef = null;
    this.members = null;
  }

  /** Takes this daemon out of any swarm. */
  becomeInactive(): void {
    this.localInfo = { state: 'inactive', nodeId: '', nodeAddr: '', role: null, controlAvailable: false, error: '', remoteManagers: [] };
    this.storeRef = null;
    this.members = null;
  }

  setReachable(nodeId: string, reachable: boolean): void {
    this.members = (this.members ?? []).map((m) => (m.nodeId === nodeId ? { ...m, reachable } : m));
  }
}

export interface ApiFixture {
  readonly app: FastifyInstance;
  readonly backend: TestBackend;
  readonly cluster: StoreCluster;
  readonly store: Store;
  readonly tokens: { worker: string; manager: string };
}

/** Seeds the leader's store with the cluster object and the five nodes, then builds the app on it. */
/** `spec` overrides parts of the seeded cluster spec (the golden replay uses the recorded swarm's). */
export async function startApi(options: StoreClusterOptions = {}, spec: Record<string, unknown> = {}): Promise<ApiFixture> {
  const cluster = await startStoreCluster(options);
  const store = cluster.leader;
  const tokens = { worker: joinToken(), manager: joinToken() };
  await store.update((tx) => {
    tx.create('cluster', {
      ID: IDS.cluster,
      Spec: withSpecDefaults(spec),
      JoinTokens: { Worker: tokens.worker, Manager: tokens.manager },
      // As manager/ca writes it: the root CA with its key, and no TLSInfo.
      RootCA: { CACert: TRUST_ROOT, CAKey: CA_KEY, CACertHash: 'sha256:0123' },
    } as NewObject<'cluster'>);
    for (const [name, node] of Object.entries(NODES)) {
      tx.create('node', { ...node, ID: IDS[name as keyof typeof NODES] });
    }
  });
  const backend = new TestBackend(store);
  const app = buildApiServer({ backend });
  await app.ready();
  return { app, backend, cluster, store, tokens };
}

export interface Sent {
  method?: 'GET' | 'HEAD' | 'POST' | 'DELETE' | 'PUT';
  url: string;
  /** An object is sent as the docker CLI sends it: JSON, Content-Type application/json, trailing newline. */
  body?: unknown;
  /** A string is sent verbatim, with no Content-Type unless headers say so. */
  raw?: string;
  headers?: Record<string, string>;
}

export async function call(app: FastifyInstance, request: Sent): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...(request.headers ?? {}) };
  let payload: string | undefined = request.raw;
  if (request.body !== undefined) {
    payload = `${JSON.stringify(request.body)}\n`;
    headers['content-type'] ??= 'application/json';
  }
  return app.inject({ method: request.method ?? 'GET', url: request.url, headers, ...(payload === undefined ? {} : { payload }) });
}

/** The node as the store holds it now. */
export function storedNode(store: Store, id: string): Node {
  const node = store.get('node', id);
  if (!node) throw new Error(`node ${id} is not in the store`);
  return node as Node;
}
