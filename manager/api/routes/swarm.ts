// /swarm: the cluster object (inspect, update, join-token rotation, unlock key) and this
// daemon's membership (init, join, leave). The cluster object is rendered from a whitelist, so
// what the CA keeps in it (RootCA with its key) never reaches a client.
import type { FastifyInstance } from 'fastify';
import { apiError } from '../../../shared/errors.js';
import type {
  ClusterInfo, JoinTokens, NodeAvailability, SwarmInitRequest, SwarmInspect, SwarmJoinRequest, TLSInfo,
} from '../../../shared/engine-types.js';
import { thaw } from '../../store/index.js';
import type { Cluster, Frozen, StoreReader } from '../../store/index.js';
import type { ClusterBackend, LocalNodeInfo, ManagerMemberStatus } from '../backend.js';
import { recordOf, stringOf } from '../loose-fields.js';
import type { LooseRecord } from '../loose-fields.js';
import { requireManagerForWrites, requireManager, requireManagerForReads } from '../manager-access.js';
import { BOOLEAN_QUERY_SCHEMA, OBJECT_VERSION_QUERY_SCHEMA, parseObjectVersion, queryBool } from '../query-params.js';
import { SWARM_SPEC_SCHEMA, normalizeSwarmSpec, refuseAutolock, renderSwarmSpec } from '../swarm-spec.js';
import type { SwarmSpecInput } from '../swarm-spec.js';
import { tlsInfoOfRootCertificate } from '../tls-info.js';

/** dockerd's defaults for what `swarm init` leaves at zero. */
const DEFAULT_LISTEN_ADDR = '0.0.0.0:2377';
/** The VXLAN port (IANA). */
const DEFAULT_DATA_PATH_PORT = 4789;
const DEFAULT_SUBNET_SIZE = 24;
/** dockerd's range for a custom data path port: unprivileged, below the ephemeral range. */
const DATA_PATH_PORT_RANGE = { min: 1024, max: 49151 } as const;

// ---- conversion ----

/** The one cluster object; absent until the daemon's init has written it. */
export function currentCluster(reader: StoreReader): Frozen<Cluster> | undefined {
  return reader.find('cluster')[0];
}

function requireCluster(reader: StoreReader): Frozen<Cluster> {
  const cluster = currentCluster(reader);
  if (!cluster) throw apiError('MANAGER_NOT_READY');
  return cluster;
}

/** The root CA as clients see it: what the cluster object says, else derived from RootCA.CACert. */
export function tlsInfoOf(cluster: Frozen<Cluster> | undefined): TLSInfo {
  const info = recordOf(cluster?.TLSInfo);
  if (info && stringOf(info.TrustRoot) !== '') {
    return {
      TrustRoot: stringOf(info.TrustRoot),
      CertIssuerSubject: stringOf(info.CertIssuerSubject),
      CertIssuerPublicKey: stringOf(info.CertIssuerPublicKey),
    };
  }
  const rootCa = recordOf((cluster as LooseRecord | undefined)?.RootCA);
  return tlsInfoOfRootCertificate(stringOf(rootCa?.CACert));
}

export function renderClusterInfo(cluster: Frozen<Cluster>): ClusterInfo {
  const loose = cluster as LooseRecord;
  const pool = loose.DefaultAddrPool;
  return {
    ID: cluster.ID,
    Version: { Index: cluster.Version.Index },
    CreatedAt: cluster.CreatedAt,
    UpdatedAt: cluster.UpdatedAt,
    Spec: renderSwarmSpec(cluster.Spec as SwarmSpecInput),
    TLSInfo: tlsInfoOf(cluster),
    RootRotationInProgress: cluster.RootRotationInProgress === true,
    // dockerd shows null for the allocator's built-in pool.
    DefaultAddrPool: Array.isArray(pool) && pool.length > 0 ? pool.map(String) : null,
    SubnetSize: typeof loose.SubnetSize === 'number' && loose.SubnetSize > 0 ? loose.SubnetSize : DEFAULT_SUBNET_SIZE,
    DataPathPort: typeof loose.DataPathPort === 'number' && loose.DataPathPort > 0 ? loose.DataPathPort : DEFAULT_DATA_PATH_PORT,
  };
}

function joinTokensOf(cluster: Frozen<Cluster>): JoinTokens {
  const tokens = recordOf(cluster.JoinTokens) ?? {};
  return { Worker: stringOf(tokens.Worker), Manager: stringOf(tokens.Manager) };
}

function renderSwarm(cluster: Frozen<Cluster>): SwarmInspect {
  return { ...renderClusterInfo(cluster), JoinTokens: joinTokensOf(cluster) };
}

/** dockerd's refusal of an unforced leave by a manager, worded from the manager counts as it does. */
function leaveAsManagerWarning(local: LocalNodeInfo, managers: readonly ManagerMemberStatus[] | null): string {
  let warning = 'You are attempting to leave the swarm on a node that is participating as a manager. ';
  if (!local.controlAvailable) {
    warning += 'Doing so may lose the consensus of your cluster. ';
  } else if (managers) {
    const reachable = managers.filter((m) => m.reachable).length;
    const unreachable = managers.length - reachable;
    const active = managers.some((m) => m.nodeId === local.nodeId && m.reachable);
    if (active && reachable - 2 <= unreachable) {
      if (reachable === 1 && unreachable === 0) {
        return `${warning}Removing the last manager erases all current state of the swarm. Use \`--force\` to ignore this message. `;
      }
      warning += `Removing this node leaves ${reachable - 1} managers out of ${reachable + unreachable}. Without a Raft quorum your swarm will be inaccessible. `;
    }
  }
  return `${warning}The only way to restore a swarm that has lost consensus is to reinitialize it with \`--force-new-cluster\`. Use \`--force\` to suppress this message.`;
}

// ---- schemas ----

const STRING_MAP_RESPONSE = { type: 'object', additionalProperties: { type: 'string' } } as const;
const OPEN_OBJECT = { type: 'object', additionalProperties: true } as const;

const TLS_INFO_RESPONSE = {
  type: 'object',
  properties: { TrustRoot: { type: 'string' }, CertIssuerSubject: { type: 'string' }, CertIssuerPublicKey: { type: 'string' } },
} as const;

const SWARM_SPEC_RESPONSE = {
  type: 'object',
  properties: {
    Name: { type: 'string' },
    Labels: STRING_MAP_RESPONSE,
    Orchestration: OPEN_OBJECT,
    Raft: OPEN_OBJECT,
    Dispatcher: OPEN_OBJECT,
    CAConfig: OPEN_OBJECT,
    TaskDefaults: OPEN_OBJECT,
    EncryptionConfig: OPEN_OBJECT,
  },
} as const;

const CLUSTER_INFO_PROPERTIES = {
  ID: { type: 'string' },
  Version: { type: 'object', properties: { Index: { type: 'integer' } } },
  CreatedAt: { type: 'string' },
  UpdatedAt: { type: 'string' },
  Spec: SWARM_SPEC_RESPONSE,
  TLSInfo: TLS_INFO_RESPONSE,
  RootRotationInProgress: { type: 'boolean' },
  DefaultAddrPool: { type: 'array', nullable: true, items: { type: 'string' } },
  SubnetSize: { type: 'integer' },
  DataPathPort: { type: 'integer' },
} as const;

/** Swarm.Cluster in /info. */
export const CLUSTER_INFO_RESPONSE = { type: 'object', properties: CLUSTER_INFO_PROPERTIES } as const;

const SWARM_INSPECT_RESPONSE = {
  type: 'object',
  properties: {
    ...CLUSTER_INFO_PROPERTIES,
    JoinTokens: { type: 'object', properties: { Worker: { type: 'string' }, Manager: { type: 'string' } } },
  },
} as const;

const AVAILABILITY_OR_DEFAULT = { type: 'string', enum: ['', 'active', 'pause', 'drain'] } as const;

const INIT_BODY_SCHEMA = {
  type: 'object',
  properties: {
    ListenAddr: { type: 'string' },
    AdvertiseAddr: { type: 'string' },
    DataPathAddr: { type: 'string' },
    DataPathPort: { type: 'integer', minimum: 0, maximum: 65535 },
    ForceNewCluster: { type: 'boolean' },
    Spec: { ...SWARM_SPEC_SCHEMA, nullable: true },
    AutoLockManagers: { type: 'boolean' },
    Availability: AVAILABILITY_OR_DEFAULT,
    DefaultAddrPool: { type: 'array', nullable: true, items: { type: 'string', minLength: 1 } },
    SubnetSize: { type: 'integer', minimum: 0, maximum: 32 },
  },
} as const;

interface InitBody {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  DataPathPort?: number;
  ForceNewCluster?: boolean;
  Spec?: SwarmSpecInput | null;
  AutoLockManagers?: boolean;
  Availability?: NodeAvailability | '';
  DefaultAddrPool?: string[] | null;
  SubnetSize?: number;
}

const JOIN_BODY_SCHEMA = {
  type: 'object',
  required: ['RemoteAddrs', 'JoinToken'],
  properties: {
    ListenAddr: { type: 'string' },
    AdvertiseAddr: { type: 'string' },
    DataPathAddr: { type: 'string' },
    RemoteAddrs: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    JoinToken: { type: 'string', minLength: 1 },
    Availability: AVAILABILITY_OR_DEFAULT,
  },
} as const;

interface JoinBody {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  RemoteAddrs: string[];
  JoinToken: string;
  Availability?: NodeAvailability | '';
}

interface UpdateQuery {
  version?: string;
  rotateWorkerToken?: string;
  rotateManagerToken?: string;
  rotateManagerUnlockKey?: string;
}

// ---- routes ----

export function registerSwarmRoutes(app: FastifyInstance, backend: ClusterBackend): void {
  app.get('/swarm', { schema: { response: { 200: SWARM_INSPECT_RESPONSE } } }, async () => {
    const { store } = await requireManagerForReads(backend);
    return renderSwarm(requireCluster(store));
  });

  app.post<{ Body: InitBody | undefined }>('/swarm/init', {
    schema: { body: INIT_BODY_SCHEMA, response: { 200: { type: 'string', description: 'the new node ID' } } },
  }, async (request, reply) => {
    const body = request.body ?? {};
    if (backend.local().state !== 'inactive' && body.ForceNewCluster !== true) throw apiError('ALREADY_IN_SWARM');
    refuseAutolock(body.AutoLockManagers, 'AutoLockManagers');
    const port = body.DataPathPort ?? 0;
    if (port !== 0 && (port < DATA_PATH_PORT_RANGE.min || port > DATA_PATH_PORT_RANGE.max)) {
      throw apiError('INVALID_FIELD', {
        field: 'DataPathPort',
        reason: `must be 0 (for ${DEFAULT_DATA_PATH_PORT}) or between ${DATA_PATH_PORT_RANGE.min} and ${DATA_PATH_PORT_RANGE.max}`,
      });
    }
    const init: SwarmInitRequest = {
      ListenAddr: body.ListenAddr || DEFAULT_LISTEN_ADDR,
      AdvertiseAddr: body.AdvertiseAddr ?? '',
      DataPathAddr: body.DataPathAddr ?? '',
      DataPathPort: port || DEFAULT_DATA_PATH_PORT,
      ForceNewCluster: body.ForceNewCluster ?? false,
      Spec: normalizeSwarmSpec(body.Spec ?? {}, 'Spec'),
      AutoLockManagers: false,
      Availability: body.Availability || 'active',
      DefaultAddrPool: body.DefaultAddrPool ?? [],
      SubnetSize: body.SubnetSize || DEFAULT_SUBNET_SIZE,
    };
    const nodeId = await backend.init(init);
    // dockerd answers with the node ID as a JSON string.
    return reply.header('content-type', 'application/json').send(JSON.stringify(nodeId));
  });

  app.post<{ Body: JoinBody }>('/swarm/join', { schema: { body: JOIN_BODY_SCHEMA } }, async (request, reply) => {
    if (backend.local().state !== 'inactive') throw apiError('ALREADY_IN_SWARM');
    const body = request.body;
    const join: SwarmJoinRequest = {
      ListenAddr: body.ListenAddr || DEFAULT_LISTEN_ADDR,
      AdvertiseAddr: body.AdvertiseAddr ?? '',
      DataPathAddr: body.DataPathAddr ?? '',
      RemoteAddrs: [...body.RemoteAddrs],
      JoinToken: body.JoinToken,
      Availability: body.Availability || 'active',
    };
    await backend.join(join);
    return reply.code(200).send();
  });

  app.post<{ Querystring: { force?: string } }>('/swarm/leave', {
    schema: { querystring: { type: 'object', properties: { force: BOOLEAN_QUERY_SCHEMA } } },
  }, async (request, reply) => {
    const force = queryBool(request.query.force);
    const local = backend.local();
    if (local.state === 'inactive') throw apiError('NOT_PART_OF_SWARM');
    if (local.state === 'locked' && !force) throw apiError('LEAVE_LOCKED_SWARM');
    if (local.role === 'manager' && !force) {
      throw apiError('LEAVE_AS_MANAGER', { warning: leaveAsManagerWarning(local, backend.managers()) });
    }
    await backend.leave(force);
    return reply.code(200).send();
  });

  app.post<{ Querystring: UpdateQuery; Body: SwarmSpecInput }>('/swarm/update', {
    schema: {
      querystring: {
        type: 'object',
        properties: {
          version: OBJECT_VERSION_QUERY_SCHEMA,
          rotateWorkerToken: BOOLEAN_QUERY_SCHEMA,
          rotateManagerToken: BOOLEAN_QUERY_SCHEMA,
          rotateManagerUnlockKey: BOOLEAN_QUERY_SCHEMA,
        },
      },
      body: SWARM_SPEC_SCHEMA,
    },
    config: { bodyName: 'Spec' },
  }, async (request, reply) => {
    const { store } = requireManagerForWrites(backend);
    const version = parseObjectVersion('swarm', request.query.version);
    const spec = normalizeSwarmSpec(request.body, 'Spec');
    const rotateWorker = queryBool(request.query.rotateWorkerToken);
    const rotateManager = queryBool(request.query.rotateManagerToken);
    // rotateManagerUnlockKey is accepted and has nothing to rotate: autolock is never on.
    await store.update((tx) => {
      const next = thaw(requireCluster(tx));
      // The version the client read; the store refuses the write if the cluster moved since.
      next.Version.Index = version;
      next.Spec = spec;
      if (rotateWorker || rotateManager) {
        const tokens = joinTokensOf(next as Frozen<Cluster>);
        next.JoinTokens = {
          Worker: rotateWorker ? backend.newJoinToken() : tokens.Worker,
          Manager: rotateManager ? backend.newJoinToken() : tokens.Manager,
        };
      }
      tx.update('cluster', next as Frozen<Cluster>);
    });
    return reply.code(200).send();
  });

  app.get('/swarm/unlockkey', {
    schema: { response: { 200: { type: 'object', properties: { UnlockKey: { type: 'string' } } } } },
  }, async () => {
    requireManager(backend);
    // Autolock is refused on init and update, so there is never a key; the CLI then says so.
    return { UnlockKey: '' };
  });
}
