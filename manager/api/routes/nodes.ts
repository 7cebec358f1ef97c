// /nodes: list, inspect, update (labels, availability, role) and remove. A role change is only
// written to Spec.Role; the daemon reconciles raft membership from it, so here a demotion is
// refused when it would remove the last manager or cost the raft its quorum, and a removal when
// the node is still a raft member or still up.
import type { FastifyInstance } from 'fastify';
import { apiError } from '../../../shared/errors.js';
import type { EngineNode, EngineNodeSpec, NodeAvailability, NodeRole, TLSInfo } from '../../../shared/engine-types.js';
import { thaw } from '../../store/index.js';
import type { Frozen, Node, StoreReader } from '../../store/index.js';
import type { ClusterBackend, ManagerMemberStatus } from '../backend.js';
import { matchesLabelFilters, parseFilters } from '../filters.js';
import type { Filters } from '../filters.js';
import { nonEmptyString, recordOf } from '../loose-fields.js';
import { requireManagerForWrites, requireManagerForReads } from '../manager-access.js';
import { BOOLEAN_QUERY_SCHEMA, FILTERS_QUERY_SCHEMA, OBJECT_VERSION_QUERY_SCHEMA, parseObjectVersion, queryBool } from '../query-params.js';
import { currentCluster, tlsInfoOf } from './swarm.js';

/** The filters dockerd's `GET /nodes` accepts. */
const NODE_FILTERS = ['id', 'label', 'membership', 'name', 'node.label', 'role'] as const;
const ROLES: readonly NodeRole[] = ['manager', 'worker'];
/** Nodes join already accepted; "pending" is from before Docker 1.13's join tokens. */
const MEMBERSHIPS = ['accepted', 'pending'] as const;

// ---- conversion ----

/** Raft members by swarm node ID. */
function membersByNode(managers: readonly ManagerMemberStatus[]): ReadonlyMap<string, ManagerMemberStatus> {
  return new Map(managers.map((m) => [m.nodeId, m]));
}

function renderNodeSpec(spec: Frozen<Node['Spec']>): EngineNodeSpec {
  return {
    ...(nonEmptyString(spec.Name) ? { Name: spec.Name } : {}),
    Labels: { ...(spec.Labels ?? {}) },
    Role: spec.Role,
    Availability: spec.Availability,
  };
}

/**
 * A stored node in dockerd's shape: Description's sub-objects always present (the CLI reads
 * them unguarded), TLSInfo from the cluster when the node has none of its own, ManagerStatus
 * only for raft members.
 */
export function renderNode(node: Frozen<Node>, members: ReadonlyMap<string, ManagerMemberStatus>, clusterTls: TLSInfo): EngineNode {
  const description = recordOf(node.Description) ?? {};
  const status = recordOf(node.Status) ?? {};
  const hostname = nonEmptyString(description.Hostname);
  const rendered: EngineNode = {
    ID: node.ID,
    Version: { Index: node.Version.Index },
    CreatedAt: node.CreatedAt,
    UpdatedAt: node.UpdatedAt,
    Spec: renderNodeSpec(node.Spec),
    Description: {
      ...(hostname ? { Hostname: hostname } : {}),
      Platform: { Architecture: '', OS: '', ...recordOf(description.Platform) },
      Resources: { NanoCPUs: 0, MemoryBytes: 0, ...recordOf(description.Resources) },
      Engine: { ...recordOf(description.Engine) },
      TLSInfo: (recordOf(description.TLSInfo) as TLSInfo | undefined) ?? clusterTls,
    },
    Status: {
      State: nonEmptyString(status.State) ?? 'unknown',
      ...(nonEmptyString(status.Message) ? { Message: status.Message as string } : {}),
      ...(nonEmptyString(status.Addr) ? { Addr: status.Addr as string } : {}),
    },
  };
  const member = members.get(node.ID);
  if (member) {
    rendered.ManagerStatus = {
      ...(member.leader ? { Leader: true } : {}),
      Reachability: member.reachable ? 'reachable' : 'unreachable',
      Addr: member.addr,
    };
  }
  return rendered;
}

/** dockerd's node filters: name and id are prefixes, labels must all match, roles and memberships are alternatives. */
function nodeMatcher(filters: Filters): (node: Frozen<Node>) => boolean {
  const ids = filters.get('id') ?? [];
  const names = filters.get('name') ?? [];
  const engineLabels = filters.get('label') ?? [];
  const nodeLabels = filters.get('node.label') ?? [];
  const roles = (filters.get('role') ?? []).filter((r) => r !== '').map((role) => {
    const lower = role.toLowerCase() as NodeRole;
    if (!ROLES.includes(lower)) throw apiError('INVALID_FILTER_VALUE', { filter: 'role', value: role });
    return lower;
  });
  const memberships = (filters.get('membership') ?? []).filter((m) => m !== '').map((membership) => {
    const lower = membership.toLowerCase();
    if (!(MEMBERSHIPS as readonly string[]).includes(lower)) throw apiError('INVALID_FILTER_VALUE', { filter: 'membership', value: membership });
    return lower;
  });
  return (node) => {
    const description = recordOf(node.Description);
    const hostname = nonEmptyString(description?.Hostname) ?? '';
    const name = nonEmptyString(node.Spec.Name) ?? '';
    const engineLabelMap = recordOf(recordOf(description?.Engine)?.Labels) as Record<string, string> | undefined;
    const membership = nonEmptyString(node.Spec.Membership) ?? 'accepted';
    return (ids.length === 0 || ids.some((id) => node.ID.startsWith(id)))
      && (names.length === 0 || names.some((n) => hostname.startsWith(n) || (name !== '' && name.startsWith(n))))
      && matchesLabelFilters(engineLabelMap, engineLabels)
      && matchesLabelFilters(node.Spec.Labels, nodeLabels)
      && (roles.length === 0 || roles.includes(node.Spec.Role))
      && (memberships.length === 0 || memberships.includes(membership));
  };
}

/**
 * swarmkit's demotion rules: never the last manager, and never a member whose removal would
 * leave fewer reachable managers than a quorum of the smaller raft (CanRemoveMember). A manager
 * that is not (yet) a raft member has no vote to lose, so demoting it only cancels a promotion.
 */
function checkDemotion(tx: StoreReader, node: Frozen<Node>, managers: readonly ManagerMemberStatus[]): void {
  const managerNodes = tx.find('node', { where: (n) => n.Spec.Role === 'manager' });
  if (managerNodes.length === 1 && managerNodes[0].ID === node.ID) throw apiError('DEMOTE_LAST_MANAGER');
  if (!managers.some((m) => m.nodeId === node.ID)) return;
  const remaining = managers.filter((m) => m.nodeId !== node.ID);
  const reachableAfter = remaining.filter((m) => m.reachable).length;
  const quorum = Math.floor(remaining.length / 2) + 1;
  if (reachableAfter < quorum) {
    throw apiError('DEMOTE_LOSES_QUORUM', { nodeId: node.ID, reachableAfter, membersAfter: remaining.length, quorum });
  }
}

// ---- schemas ----

const NODE_SPEC_SCHEMA = {
  type: 'object',
  required: ['Role', 'Availability'],
  properties: {
    Name: { type: 'string' },
    Labels: { type: 'object', nullable: true, additionalProperties: { type: 'string' } },
    Role: { type: 'string', enum: ROLES },
    Availability: { type: 'string', enum: ['active', 'pause', 'drain'] },
  },
} as const;

interface NodeSpecBody {
  Name?: string;
  Labels?: Record<string, string> | null;
  Role: NodeRole;
  Availability: NodeAvailability;
}

const OPEN_OBJECT = { type: 'object', additionalProperties: true } as const;

const NODE_RESPONSE = {
  type: 'object',
  properties: {
    ID: { type: 'string' },
    Version: { type: 'object', properties: { Index: { type: 'integer' } } },
    CreatedAt: { type: 'string' },
    UpdatedAt: { type: 'string' },
    Spec: {
      type: 'object',
      properties: {
        Name: { type: 'string' },
        Labels: { type: 'object', additionalProperties: { type: 'string' } },
        Role: { type: 'string' },
        Availability: { type: 'string' },
      },
    },
    Description: OPEN_OBJECT,
    Status: { type: 'object', properties: { State: { type: 'string' }, Message: { type: 'string' }, Addr: { type: 'string' } } },
    ManagerStatus: {
      type: 'object',
      properties: { Leader: { type: 'boolean' }, Reachability: { type: 'string' }, Addr: { type: 'string' } },
    },
  },
} as const;

const NODE_PARAMS = { type: 'object', properties: { id: { type: 'string' } } } as const;

// ---- routes ----

export function registerNodeRoutes(app: FastifyInstance, backend: ClusterBackend): void {
  app.get<{ Querystring: { filters?: string } }>('/nodes', {
    schema: {
      querystring: { type: 'object', properties: { filters: FILTERS_QUERY_SCHEMA } },
      response: { 200: { type: 'array', items: NODE_RESPONSE } },
    },
  }, async (request) => {
    const { store, managers } = await requireManagerForReads(backend);
    const matches = nodeMatcher(parseFilters(request.query.filters, NODE_FILTERS));
    const members = membersByNode(managers);
    const tls = tlsInfoOf(currentCluster(store));
    return store.find('node').filter(matches).map((node) => renderNode(node, members, tls));
  });

  app.get<{ Params: { id: string } }>('/nodes/:id', {
    schema: { params: NODE_PARAMS, response: { 200: NODE_RESPONSE } },
  }, async (request) => {
    const { store, managers } = await requireManagerForReads(backend);
    return renderNode(store.lookup('node', request.params.id), membersByNode(managers), tlsInfoOf(currentCluster(store)));
  });

  app.delete<{ Params: { id: string }; Querystring: { force?: string } }>('/nodes/:id', {
    schema: { params: NODE_PARAMS, querystring: { type: 'object', properties: { force: BOOLEAN_QUERY_SCHEMA } } },
  }, async (request, reply) => {
    const { store, managers } = requireManagerForWrites(backend);
    const force = queryBool(request.query.force);
    const members = membersByNode(managers);
    await store.update((tx) => {
      const node = tx.lookup('node', request.params.id);
      if (members.has(node.ID)) {
        throw node.Spec.Role === 'manager'
          ? apiError('REMOVE_RAFT_MEMBER', { nodeId: node.ID })
          : apiError('REMOVE_DEMOTING_MEMBER', { nodeId: node.ID });
      }
      // Only a node known to be down goes without --force: "unknown" right after a leader
      // change, or "disconnected" within its grace period, may well be a healthy node.
      if (!force && node.Status?.State !== 'down') throw apiError('REMOVE_NODE_NOT_DOWN', { nodeId: node.ID });
      tx.delete('node', node.ID, node.Version.Index);
    });
    return reply.code(200).send();
  });

  app.post<{ Params: { id: string }; Querystring: { version?: string }; Body: NodeSpecBody }>('/nodes/:id/update', {
    schema: {
      params: NODE_PARAMS,
      querystring: { type: 'object', properties: { version: OBJECT_VERSION_QUERY_SCHEMA } },
      body: NODE_SPEC_SCHEMA,
    },
    config: { bodyName: 'Spec' },
  }, async (request, reply) => {
    const { store, managers } = requireManagerForWrites(backend);
    const version = parseObjectVersion('node', request.query.version);
    const body = request.body;
    await store.update((tx) => {
      const node = tx.lookup('node', request.params.id);
      if (node.Spec.Role === 'manager' && body.Role === 'worker') checkDemotion(tx, node, managers);
      const next = thaw(node);
      // The version the client read; the store refuses the write if the node moved since.
      next.Version.Index = version;
      // The Engine API's fields are replaced, as dockerd does (the client sent what it read,
      // edited); fields the API does not show (Membership) are Berth's and are kept.
      delete next.Spec.Name;
      if (nonEmptyString(body.Name)) next.Spec.Name = body.Name;
      next.Spec.Labels = { ...(body.Labels ?? {}) };
      next.Spec.Role = body.Role;
      next.Spec.Availability = body.Availability;
      tx.update('node', next as Frozen<Node>);
    });
    return reply.code(200).send();
  });
}
