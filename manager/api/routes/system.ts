// Daemon-wide endpoints: /_ping (version negotiation), /version and /info. They answer on every
// daemon, in a swarm or not; /info's Swarm section is how the CLI learns this node's ID and
// role, and on managers it carries the cluster object (catalog §2).
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SwarmInfo } from '../../../shared/engine-types.js';
import { API_VERSION, MIN_API_VERSION } from '../api-version.js';
import type { ClusterBackend, LocalNodeInfo } from '../backend.js';
import { BERTH_VERSION } from '../berth-version.js';
import { CLUSTER_INFO_RESPONSE, currentCluster, renderClusterInfo } from './swarm.js';

/** Node's process.arch in Go's GOARCH spelling, which `docker version` shows. */
const GO_ARCH: Readonly<Record<string, string>> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };

// ---- conversion ----

/**
 * The `Swarm` header: `active/manager`, `active/worker`, or the bare state. The CLI only uses it
 * to hide commands in --help; dockerd reports an active node that cannot serve cluster state as
 * a worker, and so does this.
 */
function swarmHeader(local: LocalNodeInfo): string {
  if (local.state !== 'active') return local.state;
  return local.controlAvailable ? 'active/manager' : 'active/worker';
}

function swarmInfo(backend: ClusterBackend): SwarmInfo {
  const local = backend.local();
  const info: SwarmInfo = {
    NodeID: local.nodeId,
    NodeAddr: local.nodeAddr,
    LocalNodeState: local.state,
    ControlAvailable: local.controlAvailable,
    Error: local.error,
    RemoteManagers: local.state === 'inactive' ? null : local.remoteManagers.map((m) => ({ NodeID: m.NodeID, Addr: m.Addr })),
  };
  const store = backend.store();
  if (local.role !== 'manager' || !local.controlAvailable || store === null) return info;
  // Local state, not a linearizable read: `docker info` must answer even without a quorum.
  const nodes = store.find('node');
  const members = new Set((backend.managers() ?? []).map((m) => m.nodeId));
  info.Nodes = nodes.length;
  info.Managers = nodes.filter((n) => members.has(n.ID)).length;
  const cluster = currentCluster(store);
  if (cluster) info.Cluster = renderClusterInfo(cluster);
  return info;
}

// ---- schemas ----

const PEER_RESPONSE = { type: 'object', properties: { NodeID: { type: 'string' }, Addr: { type: 'string' } } } as const;

const SWARM_INFO_RESPONSE = {
  type: 'object',
  properties: {
    NodeID: { type: 'string' },
    NodeAddr: { type: 'string' },
    LocalNodeState: { type: 'string' },
    ControlAvailable: { type: 'boolean' },
    Error: { type: 'string' },
    RemoteManagers: { type: 'array', nullable: true, items: PEER_RESPONSE },
    Nodes: { type: 'integer' },
    Managers: { type: 'integer' },
    Cluster: CLUSTER_INFO_RESPONSE,
  },
} as const;

const INFO_RESPONSE = {
  type: 'object',
  properties: {
    Name: { type: 'string' },
    NCPU: { type: 'integer' },
    MemTotal: { type: 'integer' },
    KernelVersion: { type: 'string' },
    OperatingSystem: { type: 'string' },
    OSType: { type: 'string' },
    Architecture: { type: 'string' },
    Labels: { type: 'array', items: { type: 'string' } },
    ServerVersion: { type: 'string' },
    ExperimentalBuild: { type: 'boolean' },
    Debug: { type: 'boolean' },
    SystemTime: { type: 'string' },
    Swarm: SWARM_INFO_RESPONSE,
    Warnings: { type: 'array', items: { type: 'string' } },
  },
} as const;

const VERSION_DETAILS = {
  ApiVersion: { type: 'string' },
  MinAPIVersion: { type: 'string' },
  GitCommit: { type: 'string' },
  GoVersion: { type: 'string' },
  Os: { type: 'string' },
  Arch: { type: 'string' },
  KernelVersion: { type: 'string' },
  BuildTime: { type: 'string' },
} as const;

const VERSION_RESPONSE = {
  type: 'object',
  properties: {
    Platform: { type: 'object', properties: { Name: { type: 'string' } } },
    Components: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          Name: { type: 'string' },
          Version: { type: 'string' },
          Details: { type: 'object', properties: { ...VERSION_DETAILS, Experimental: { type: 'string' } } },
        },
      },
    },
    Version: { type: 'string' },
    ...VERSION_DETAILS,
  },
} as const;

// ---- routes ----

export function registerSystemRoutes(app: FastifyInstance, backend: ClusterBackend): void {
  const pingHeaders = (reply: FastifyReply): FastifyReply => reply
    .header('Docker-Experimental', 'false')
    .header('Swarm', swarmHeader(backend.local()))
    .header('Cache-Control', 'no-cache, no-store, must-revalidate')
    .header('Pragma', 'no-cache')
    .header('content-type', 'text/plain; charset=utf-8');

  // HEAD must answer 200 with Api-Version, or the CLI retries with GET (catalog §1.1).
  app.head('/_ping', async (_request, reply) => pingHeaders(reply).code(200).send(''));
  app.get('/_ping', async (_request, reply) => pingHeaders(reply).code(200).send('OK'));

  app.get('/version', { schema: { response: { 200: VERSION_RESPONSE } } }, async () => {
    const system = backend.systemInfo();
    const details = {
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: '',
      GoVersion: `node ${process.version}`,
      Os: system.osType,
      Arch: GO_ARCH[process.arch] ?? process.arch,
      KernelVersion: system.kernelVersion,
      BuildTime: '',
    };
    return {
      Platform: { Name: 'Berth' },
      Components: [{ Name: 'Engine', Version: BERTH_VERSION, Details: { ...details, Experimental: 'false' } }],
      Version: BERTH_VERSION,
      ...details,
    };
  });

  app.get('/info', { schema: { response: { 200: INFO_RESPONSE } } }, async () => {
    const system = backend.systemInfo();
    return {
      Name: system.name,
      NCPU: system.ncpu,
      MemTotal: system.memTotal,
      KernelVersion: system.kernelVersion,
      OperatingSystem: system.operatingSystem,
      OSType: system.osType,
      Architecture: system.architecture,
      Labels: system.labels,
      ServerVersion: BERTH_VERSION,
      ExperimentalBuild: false,
      Debug: false,
      SystemTime: new Date().toISOString(),
      Swarm: swarmInfo(backend),
      Warnings: [],
    };
  });
}
