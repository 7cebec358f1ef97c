// The error catalogue of Berth's Engine API: every error the API returns has a stable code
// (callers and tests switch on it, never on text), the HTTP status the docker CLI branches on
// (404 → "no such …" fallbacks, 409 → conflicts, 503 → "not a manager"), and a message template.
// The CLI prints `Error response from daemon: <message>`, so messages copy dockerd's text
// wherever users and scripts may match on it, and name the field and the reason everywhere else.

/** Errors render as `{"message": …}` with exactly this Content-Type; with `; charset=utf-8` the CLI prints the raw JSON. */
export const ERROR_CONTENT_TYPE = 'application/json';

export interface ErrorTemplate<P> {
  readonly status: number;
  readonly message: (params: P) => string;
}

function template<P = void>(status: number, message: (params: P) => string): ErrorTemplate<P> {
  return { status, message };
}

/** Swarmkit's gRPC errors reach the CLI as `rpc error: code = <Code> desc = <text>`; users know them in that form. */
function rpc(code: string, text: string): string {
  return `rpc error: code = ${code} desc = ${text}`;
}

export const API_ERRORS = {
  // ---- routing and request shape ----
  PAGE_NOT_FOUND: template(404, () => 'page not found'),
  API_VERSION_TOO_NEW: template<{ requested: string; maximum: string }>(400,
    (p) => `client version ${p.requested} is too new. Maximum supported API version is ${p.maximum}`),
  API_VERSION_TOO_OLD: template<{ requested: string; minimum: string }>(400,
    (p) => `client version ${p.requested} is too old. Minimum supported API version is ${p.minimum}, please upgrade your client to a newer version`),
  INVALID_JSON: template<{ reason: string }>(400, (p) => `invalid JSON in request body: ${p.reason}`),
  BODY_TOO_LARGE: template<{ limitBytes: number }>(413, (p) => `request body is larger than the ${p.limitBytes} bytes this API accepts`),
  /** A request field (body, query or path) failed validation; `field` names it as the user wrote it. */
  INVALID_FIELD: template<{ field: string; reason: string }>(400, (p) => `invalid ${p.field}: ${p.reason}`),
  MISSING_FIELD: template<{ field: string }>(400, (p) => `missing required field ${p.field}`),
  MISSING_BODY: template<{ expected: string }>(400, (p) => `missing request body: expected ${p.expected} as JSON`),
  /** A request the HTTP layer refused before Berth saw it (the reason comes from fastify). */
  BAD_REQUEST: template<{ reason: string }>(400, (p) => p.reason),
  /** dockerd's text for an unparsable `version=` on updates (the CLI always sends one). */
  INVALID_OBJECT_VERSION: template<{ kind: string; raw: string; reason: string }>(400,
    (p) => `invalid ${p.kind} version '${p.raw}': strconv.ParseUint: parsing ${JSON.stringify(p.raw)}: ${p.reason}`),
  INVALID_FILTER: template<{ key: string }>(400, (p) => `Invalid filter '${p.key}'`),
  INVALID_FILTER_VALUE: template<{ filter: string; value: string }>(400, (p) => `Invalid ${p.filter} filter: '${p.value}'`),
  MALFORMED_FILTERS: template<{ reason: string }>(400,
    (p) => `invalid filters: ${p.reason} (expected JSON such as {"name":{"web":true}} or {"name":["web"]})`),
  NOT_SUPPORTED: template<{ feature: string; reason: string }>(400, (p) => `${p.feature} is not supported by Berth: ${p.reason}`),

  // ---- objects ----
  NOT_FOUND: template<{ kind: string; reference: string }>(404, (p) => `${p.kind} ${p.reference} not found`),
  AMBIGUOUS_REFERENCE: template<{ kind: string; reference: string; matches: number }>(400,
    (p) => `${p.kind} ${p.reference} is ambiguous (${p.matches} matches found); use a longer ID prefix or the full ID`),
  NAME_CONFLICT: template<{ kind: string; name: string }>(409,
    (p) => rpc('AlreadyExists', `name conflicts with an existing object: ${p.kind} ${p.name} already exists`)),
  ALREADY_EXISTS: template<{ kind: string; id: string }>(409, (p) => rpc('AlreadyExists', `${p.kind} ${p.id} already exists`)),
  /** dockerd answers a stale `version=` with this exact 500; the CLI shows it verbatim. */
  UPDATE_OUT_OF_SEQUENCE: template(500, () => rpc('Unknown', 'update out of sequence')),
  TRANSACTION_TOO_LARGE: template<{ bytes: number }>(400,
    (p) => `the change encodes to ${p.bytes} bytes, more than one raft entry may carry; make it smaller`),

  // ---- node membership rules (swarmkit's FailedPrecondition texts) ----
  DEMOTE_LAST_MANAGER: template(400, () => rpc('FailedPrecondition', 'attempting to demote the last manager of the swarm')),
  DEMOTE_LOSES_QUORUM: template<{ nodeId: string; reachableAfter: number; membersAfter: number; quorum: number }>(400,
    (p) => rpc('FailedPrecondition', `can't remove member from the raft: this would result in a loss of quorum (demoting node ${p.nodeId} would leave ${p.reachableAfter} of ${p.membersAfter} managers reachable; ${p.quorum} are needed)`)),
  REMOVE_RAFT_MEMBER: template<{ nodeId: string }>(400,
    (p) => rpc('FailedPrecondition', `node ${p.nodeId} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`)),
  REMOVE_DEMOTING_MEMBER: template<{ nodeId: string }>(400,
    (p) => rpc('FailedPrecondition', `node ${p.nodeId} was demoted but is still a member of the raft cluster; retry once it has left the raft`)),
  REMOVE_NODE_NOT_DOWN: template<{ nodeId: string }>(400,
    (p) => rpc('FailedPrecondition', `node ${p.nodeId} is not down and can't be removed`)),

  // ---- services (swarmkit's controlapi and dockerd's texts) ----
  /** More than one of Replicated/Global/ReplicatedJob/GlobalJob (dockerd's conversion error). */
  SERVICE_MODE_AMBIGUOUS: template(400, () => 'invalid Mode: must specify only one service mode (Replicated, Global, ReplicatedJob or GlobalJob)'),
  SERVICE_MODE_CHANGE: template(501, () => rpc('Unimplemented', 'service mode change is not allowed')),
  SERVICE_RENAME: template(501, () => rpc('Unimplemented', 'renaming services is not supported')),
  NO_PREVIOUS_SPEC: template<{ id: string }>(400, (p) => rpc('FailedPrecondition', `service ${p.id} does not have a previous spec`)),
  INVALID_ROLLBACK_OPTION: template<{ value: string }>(400, (p) => `unrecognized rollback option ${p.value}`),
  PORT_IN_USE: template<{ port: number; service: string; id: string }>(400,
    (p) => rpc('InvalidArgument', `port '${p.port}' is already in use by service '${p.service}' (${p.id}) as an ingress port`)),
  DUPLICATE_PUBLISHED_PORT: template<{ port: number; protocol: string }>(400,
    (p) => rpc('InvalidArgument', `EndpointSpec: duplicate published ports provided (${p.port}/${p.protocol})`)),
  INGRESS_PORT_WITH_DNSRR: template(400, () => rpc('InvalidArgument', "port published with ingress mode can't be used with dnsrr mode")),
  NO_FREE_INGRESS_PORT: template<{ protocol: string }>(400,
    (p) => rpc('InvalidArgument', `no free ${p.protocol} port left in the dynamic ingress range 30000-32767; publish the port explicitly`)),
  /** swarmkit's checkSecretExistence / checkConfigExistence. */
  REFERENCED_NOT_FOUND: template<{ kind: 'secret' | 'config'; names: string[] }>(400,
    (p) => rpc('InvalidArgument', `${p.kind}${p.names.length === 1 ? '' : 's'} not found: ${p.names.join(', ')}`)),
  /** `GET /distribution/{image}/json`: the CLI only warns and goes on without pinning a digest. */
  IMAGE_NOT_RESOLVED: template<{ image: string }>(404,
    (p) => `no digest for image ${p.image}: Berth does not contact image registries; every node runs the image it has under that name`),

  // ---- swarm membership of this daemon (dockerd's texts) ----
  NOT_IN_SWARM: template(503,
    () => 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.'),
  WORKER_NODE: template(503,
    () => "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager."),
  MANAGER_NOT_READY: template(503,
    () => 'This node is not a swarm manager. Manager is being prepared or has trouble connecting to the cluster.'),
  SWARM_LOCKED: template(503,
    () => 'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.'),
  ALREADY_IN_SWARM: template(503,
    () => 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.'),
  NOT_PART_OF_SWARM: template(503, () => 'This node is not part of a swarm'),
  JOIN_REFUSED: template<{ reason: string }>(400, (p) => p.reason),
  MANAGER_UNREACHABLE: template<{ addr: string; reason: string }>(503,
    (p) => `could not reach the manager at ${p.addr}: ${p.reason}`),
  LEAVE_LOCKED_SWARM: template(503,
    () => 'Swarm is encrypted and locked. Please unlock it first or use `--force` to ignore this message.'),
  /** The whole warning is composed by the caller from the manager counts, as dockerd does. */
  LEAVE_AS_MANAGER: template<{ warning: string }>(503, (p) => p.warning),

  // ---- consensus ----
  NO_LEADER: template(503,
    () => "The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online."),
  NOT_LEADER: template<{ leader: string }>(503,
    (p) => `this manager is not the swarm leader and cannot take writes; send the request to the leader, ${p.leader}`),
  WRITE_DROPPED: template(503, () => 'the change was dropped before it committed (the swarm leader changed) and was not applied; retry it'),
  SHUTTING_DOWN: template(503, () => 'this manager is shutting down or leaving the swarm; retry against another manager'),

  // ---- everything else ----
  INTERNAL: template<{ reason: string }>(500, (p) => `internal error: ${p.reason}`),
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export type ApiErrorParams<C extends ApiErrorCode> = (typeof API_ERRORS)[C] extends ErrorTemplate<infer P> ? P : never;

export class ApiError extends Error {
  /** `statusCode` is the name fastify reads when an ApiError reaches it unrendered. */
  readonly statusCode: number;

  constructor(readonly code: ApiErrorCode, message: string, statusCode: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ApiError';
    this.statusCode = statusCode;
  }
}

/** Builds the catalogued error `code` from its parameters (none for fixed messages). */
export function apiError<C extends ApiErrorCode>(
  code: C,
  ...params: [ApiErrorParams<C>] extends [void] ? [] : [ApiErrorParams<C>]
): ApiError {
  const entry = API_ERRORS[code] as ErrorTemplate<ApiErrorParams<C>>;
  return new ApiError(code, entry.message(params[0] as ApiErrorParams<C>), entry.status);
}

/** The body every error response carries. */
export function errorBody(error: Pick<ApiError, 'message'>): string {
  return JSON.stringify({ message: error.message });
}
