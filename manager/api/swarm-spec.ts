// The swarm (cluster) spec: its request schema, dockerd's defaults, and the checks swarmkit
// makes before accepting one. A field sent as 0 or null takes the default, as dockerd does on
// both init and update ("If a field is specified with 0 or nil, then the default value will be
// used"), so the stored spec is always complete. The daemon and components act on what is
// stored: raft and dispatcher timings, certificate expiry, task history.
import { apiError } from '../../shared/errors.js';
import type { SwarmSpec } from '../../shared/engine-types.js';

const SECOND_NS = 1_000_000_000;
const HOUR_NS = 3600 * SECOND_NS;

/** dockerd's defaults; each is what `docker swarm init` produces with no flags. */
export const SWARM_SPEC_DEFAULTS = {
  /** The only cluster name dockerd allows. */
  name: 'default',
  /** Finished tasks kept per slot for `service ps` history. */
  taskHistoryRetentionLimit: 5,
  /** Raft entries between snapshots. */
  snapshotInterval: 10_000,
  keepOldSnapshots: 0,
  /** Entries kept after a snapshot so slow followers catch up from the log instead of a snapshot. */
  logEntriesForSlowFollowers: 500,
  electionTick: 10,
  heartbeatTick: 1,
  /**
   * How often workers heartbeat the dispatcher: 1 s (Docker uses 5 s) so a dead node is marked
   * down within 3 s (grace = 2 periods + 0.5 s, manager/dispatcher/heartbeat-period.ts).
   */
  heartbeatPeriodNs: 1 * SECOND_NS,
  /** 90 days: node certificates renew well before expiring. */
  nodeCertExpiryNs: 90 * 24 * HOUR_NS,
} as const;

/** swarmkit's floor (ca.MinNodeCertExpiration): shorter certificates would renew constantly. */
export const MIN_NODE_CERT_EXPIRY_NS = HOUR_NS;

const STRING_MAP_SCHEMA = { type: 'object', nullable: true, additionalProperties: { type: 'string' } } as const;
const COUNT_SCHEMA = { type: 'integer', minimum: 0 } as const;
const DURATION_SCHEMA = { type: 'integer', minimum: 0, description: 'a non-negative duration in nanoseconds' } as const;

/** The spec as clients send it: every field optional, nulls for Go's nil maps and pointers. */
export const SWARM_SPEC_SCHEMA = {
  type: 'object',
  properties: {
    Name: { type: 'string' },
    Labels: STRING_MAP_SCHEMA,
    Orchestration: {
      type: 'object',
      nullable: true,
      properties: { TaskHistoryRetentionLimit: { type: 'integer', nullable: true, minimum: 0 } },
    },
    Raft: {
      type: 'object',
      nullable: true,
      properties: {
        SnapshotInterval: COUNT_SCHEMA,
        KeepOldSnapshots: { type: 'integer', nullable: true, minimum: 0 },
        LogEntriesForSlowFollowers: COUNT_SCHEMA,
        ElectionTick: COUNT_SCHEMA,
        HeartbeatTick: COUNT_SCHEMA,
      },
    },
    Dispatcher: { type: 'object', nullable: true, properties: { HeartbeatPeriod: DURATION_SCHEMA } },
    CAConfig: {
      type: 'object',
      nullable: true,
      properties: {
        NodeCertExpiry: DURATION_SCHEMA,
        ExternalCAs: {
          type: 'array',
          nullable: true,
          items: {
            type: 'object',
            required: ['URL'],
            properties: {
              Protocol: { type: 'string', enum: ['cfssl'] },
              URL: { type: 'string', minLength: 1 },
              Options: STRING_MAP_SCHEMA,
              CACert: { type: 'string' },
            },
          },
        },
        SigningCACert: { type: 'string' },
        SigningCAKey: { type: 'string' },
        ForceRotate: COUNT_SCHEMA,
      },
    },
    TaskDefaults: {
      type: 'object',
      nullable: true,
      properties: {
        LogDriver: {
          type: 'object',
          nullable: true,
          required: ['Name'],
          properties: { Name: { type: 'string' }, Options: STRING_MAP_SCHEMA },
        },
      },
    },
    EncryptionConfig: { type: 'object', nullable: true, properties: { AutoLockManagers: { type: 'boolean' } } },
  },
} as const;

/** What SWARM_SPEC_SCHEMA admits. */
export interface SwarmSpecInput {
  Name?: string;
  Labels?: Record<string, string> | null;
  Orchestration?: { TaskHistoryRetentionLimit?: number | null } | null;
  Raft?: {
    SnapshotInterval?: number;
    KeepOldSnapshots?: number | null;
    LogEntriesForSlowFollowers?: number;
    ElectionTick?: number;
    HeartbeatTick?: number;
  } | null;
  Dispatcher?: { HeartbeatPeriod?: number } | null;
  CAConfig?: {
    NodeCertExpiry?: number;
    ExternalCAs?: { Protocol?: 'cfssl'; URL: string; Options?: Record<string, string> | null; CACert?: string }[] | null;
    SigningCACert?: string;
    SigningCAKey?: string;
    ForceRotate?: number;
  } | null;
  TaskDefaults?: { LogDriver?: { Name: string; Options?: Record<string, string> | null } | null } | null;
  EncryptionConfig?: { AutoLockManagers?: boolean } | null;
}

/** `value` unless it is missing or 0, which mean "the default" in a swarm spec. */
function orDefault(value: number | null | undefined, fallback: number): number {
  return value === undefined || value === null || value === 0 ? fallback : value;
}

/**
 * The complete spec a partial one stands for. Never throws: it also renders whatever is stored,
 * so a cluster object written by an older or partial writer still reads back complete.
 */
export function withSpecDefaults(input: Readonly<SwarmSpecInput>): SwarmSpec {
  const d = SWARM_SPEC_DEFAULTS;
  const raft = input.Raft ?? {};
  const ca = input.CAConfig ?? {};
  const logDriver = input.TaskDefaults?.LogDriver;
  const history = input.Orchestration?.TaskHistoryRetentionLimit;
  return {
    Name: input.Name || d.name,
    Labels: { ...(input.Labels ?? {}) },
    // An explicit 0 is a real choice here (keep no history), so only a missing value defaults.
    Orchestration: { TaskHistoryRetentionLimit: history ?? d.taskHistoryRetentionLimit },
    Raft: {
      SnapshotInterval: orDefault(raft.SnapshotInterval, d.snapshotInterval),
      KeepOldSnapshots: raft.KeepOldSnapshots ?? d.keepOldSnapshots,
      LogEntriesForSlowFollowers: orDefault(raft.LogEntriesForSlowFollowers, d.logEntriesForSlowFollowers),
      ElectionTick: orDefault(raft.ElectionTick, d.electionTick),
      HeartbeatTick: orDefault(raft.HeartbeatTick, d.heartbeatTick),
    },
    Dispatcher: { HeartbeatPeriod: orDefault(input.Dispatcher?.HeartbeatPeriod, d.heartbeatPeriodNs) },
    CAConfig: {
      NodeCertExpiry: orDefault(ca.NodeCertExpiry, d.nodeCertExpiryNs),
      ...(ca.ExternalCAs && ca.ExternalCAs.length > 0
        ? {
          ExternalCAs: ca.ExternalCAs.map((e) => ({
            Protocol: e.Protocol ?? 'cfssl',
            URL: e.URL,
            ...(e.Options ? { Options: { ...e.Options } } : {}),
            ...(e.CACert ? { CACert: e.CACert } : {}),
          })),
        }
        : {}),
      ...(ca.SigningCACert ? { SigningCACert: ca.SigningCACert } : {}),
      ...(ca.SigningCAKey ? { SigningCAKey: ca.SigningCAKey } : {}),
      ...(ca.ForceRotate ? { ForceRotate: ca.ForceRotate } : {}),
    },
    TaskDefaults: logDriver
      ? { LogDriver: { Name: logDriver.Name, ...(logDriver.Options ? { Options: { ...logDriver.Options } } : {}) } }
      : {},
    EncryptionConfig: { AutoLockManagers: input.EncryptionConfig?.AutoLockManagers ?? false },
  };
}

/** Refuses what berth cannot honour: a locked swarm needs unlock support that does not exist. */
export function refuseAutolock(requested: boolean | undefined, field: string): void {
  if (requested) {
    throw apiError('NOT_SUPPORTED', {
      feature: `autolock (${field})`,
      reason: 'managers cannot encrypt their raft data with an unlock key; leave it false',
    });
  }
}

/**
 * A client's spec, validated past what the schema can say (swarmkit's validateClusterSpec and
 * raft's own rule), with the defaults filled in. `field` prefixes messages ("Spec").
 */
export function normalizeSwarmSpec(input: Readonly<SwarmSpecInput>, field: string): SwarmSpec {
  if (input.Name !== undefined && input.Name !== '' && input.Name !== SWARM_SPEC_DEFAULTS.name) {
    throw apiError('INVALID_FIELD', { field: `${field}.Name`, reason: `modification of cluster name is not allowed; it must be "${SWARM_SPEC_DEFAULTS.name}"` });
  }
  refuseAutolock(input.EncryptionConfig?.AutoLockManagers, `${field}.EncryptionConfig.AutoLockManagers`);
  const spec = withSpecDefaults(input);
  if (spec.Raft.ElectionTick <= spec.Raft.HeartbeatTick) {
    throw apiError('INVALID_FIELD', {
      field: `${field}.Raft.ElectionTick`,
      reason: `must be greater than Raft.HeartbeatTick (${spec.Raft.HeartbeatTick}), or followers would start elections between heartbeats; got ${spec.Raft.ElectionTick}`,
    });
  }
  if (spec.CAConfig.NodeCertExpiry < MIN_NODE_CERT_EXPIRY_NS) {
    throw apiError('INVALID_FIELD', {
      field: `${field}.CAConfig.NodeCertExpiry`,
      reason: `minimum certificate expiry time is 1h0m0s (${MIN_NODE_CERT_EXPIRY_NS} ns); got ${spec.CAConfig.NodeCertExpiry} ns`,
    });
  }
  return spec;
}

/** The spec as clients see it: complete, and without the signing key a client may have sent. */
export function renderSwarmSpec(stored: Readonly<SwarmSpecInput>): SwarmSpec {
  const spec = withSpecDefaults(stored);
  delete spec.CAConfig.SigningCAKey;
  return spec;
}
