// Replays what the stock docker CLI 28 sent to a real dockerd for `docker node …`,
// `docker swarm join-token|update|unlock-key|ca|init|join`, `docker info` and `docker version`
// (../shared/reference/engine-api-recording.jsonl), with the recorded node's ID swapped for
// ours, and checks each answer as the CLI would take it: the same status; every field dockerd
// returned present with the same JSON type (so every field the CLI reads is there); the specs
// with the same values as the command sequence left them on dockerd, and TLSInfo identical (the
// harness uses the recorded swarm's root CA); errors with dockerd's message and exactly
// `application/json`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordedCommands, type RecordedCommand } from '../../shared/engine-recording.js';
import { HOSTNAMES, IDS, call, startApi } from './api-harness.js';
import { assertSameShape, jsonType } from './json-shape.js';


/** The recorded single-node swarm's manager, which the replay maps onto our manager1. */
/** The recorded swarm was made by dockerd, whose heartbeat default is 5 s (Berth's is 1 s). */
const RECORDED_SWARM_SPEC = { Dispatcher: { HeartbeatPeriod: 5_000_000_000 } };
const RECORDED_NODE_ID = 'zczb4ttv0u9mhmx01v3pjre8o';
const RECORDED_PREFIX = 'zczb';
const RECORDED_HOSTNAME = 'vm';

const REPLAYED_COMMANDS = [
  'docker version', 'docker info', 'system info', 'swarm inspect via info format',
  'swarm join-token worker', 'swarm join-token -q manager', 'swarm join-token --rotate worker',
  'swarm update --task-history-limit 3', 'swarm unlock-key', 'swarm ca', 'swarm init (already)', 'swarm join (already)',
  'node ls', 'node inspect self', 'node inspect --pretty self', 'node update --label-add', 'node update drain',
  'node update active', 'node ps', 'node ps self', 'node update --label-rm', 'node inspect by hostname',
  'node inspect by prefix', 'node inspect missing', 'node rm self (error)',
];

/** `GET /tasks` belongs to the tasks API; `node ps` is replayed up to it. */
const NOT_OURS = /^\/v[0-9.]+\/tasks/;


function loadCommands(): RecordedCommand[] {
  return recordedCommands().filter((c) => REPLAYED_COMMANDS.includes(c.name));
}

function ours(text: string): string {
  return text
    .replaceAll(RECORDED_NODE_ID, IDS.manager1)
    .replace(new RegExp(`/nodes/${RECORDED_PREFIX}$`), '/nodes/mgr1')
    .replace(new RegExp(`/nodes/${RECORDED_HOSTNAME}$`), `/nodes/${HOSTNAMES.manager1}`);
}



function at(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value);
}

/** The fields the CLI reads from each answer (catalog §2–4), which must be there with these types. */
const CLI_READS: { route: RegExp; fields: Record<string, string> }[] = [
  { route: /\/version$/, fields: { Version: 'string', ApiVersion: 'string', MinAPIVersion: 'string', Os: 'string', Arch: 'string', Components: 'array' } },
  {
    route: /\/info$/,
    fields: {
      'Swarm.NodeID': 'string', 'Swarm.NodeAddr': 'string', 'Swarm.LocalNodeState': 'string', 'Swarm.ControlAvailable': 'boolean',
      'Swarm.Error': 'string', 'Swarm.RemoteManagers': 'array', 'Swarm.Nodes': 'number', 'Swarm.Managers': 'number',
      'Swarm.Cluster.ID': 'string', 'Swarm.Cluster.Spec.Orchestration.TaskHistoryRetentionLimit': 'number',
      'Swarm.Cluster.Spec.Raft.SnapshotInterval': 'number', 'Swarm.Cluster.Spec.Dispatcher.HeartbeatPeriod': 'number',
      'Swarm.Cluster.Spec.CAConfig.NodeCertExpiry': 'number', 'Swarm.Cluster.RootRotationInProgress': 'boolean',
    },
  },
  {
    route: /\/swarm$/,
    fields: { 'JoinTokens.Worker': 'string', 'JoinTokens.Manager': 'string', 'Version.Index': 'number', Spec: 'object', 'TLSInfo.TrustRoot': 'string' },
  },
  { route: /\/swarm\/unlockkey$/, fields: { UnlockKey: 'string' } },
  {
    route: /\/nodes\/[^/]+$/,
    fields: {
      ID: 'string', 'Version.Index': 'number', CreatedAt: 'string', 'Spec.Labels': 'object', 'Spec.Role': 'string',
      'Spec.Availability': 'string', 'Description.Hostname': 'string', 'Description.Platform.Architecture': 'string',
      'Description.Platform.OS': 'string', 'Description.Resources.NanoCPUs': 'number', 'Description.Resources.MemoryBytes': 'number',
      'Description.Engine.EngineVersion': 'string', 'Description.Engine.Plugins': 'array', 'Description.TLSInfo.TrustRoot': 'string',
      'Status.State': 'string', 'Status.Addr': 'string', 'ManagerStatus.Leader': 'boolean', 'ManagerStatus.Reachability': 'string',
      'ManagerStatus.Addr': 'string',
    },
  },
];

describe('golden replay of the docker CLI’s recorded swarm and node traffic', () => {
  it('answers every recorded request as dockerd did, in the recorded order', async () => {
    const { app } = await startApi({}, RECORDED_SWARM_SPEC);
    const commands = loadCommands();
    assert.deepEqual(commands.map((c) => c.name).sort(), [...REPLAYED_COMMANDS].sort(), 'every replayed command is in the recording');

    let replayed = 0;
    let skipped = 0;
    // The Version.Index the CLI would have just read, per object, for its `version=` on updates.
    const lastRead = new Map<string, number>();
    for (const command of commands) {
      const swarmReads: { Worker: string; Manager: string; index: number }[] = [];
      for (const exchange of command.exchanges) {
        if (NOT_OURS.test(exchange.url)) {
          skipped++;
          continue;
        }
        const where = `${command.name}: ${exchange.method} ${exchange.url}`;
        let url = ours(exchange.url);
        const updated = /^\/v[0-9.]+\/(swarm|nodes\/([^/]+))\/update\?/.exec(url);
        const objectKey = updated ? (updated[2] ?? 'swarm') : undefined;
        if (objectKey !== undefined) {
          assert.ok(lastRead.has(objectKey), `${where}: the CLI read the object before updating it`);
          url = url.replace(/version=[0-9]+/, `version=${lastRead.get(objectKey)}`);
        }
        const res = await call(app, {
          method: exchange.method,
          url,
          ...(exchange.reqBody !== undefined ? { raw: exchange.reqBody } : {}),
          headers: exchange.reqHeaders,
        });
        replayed++;
        assert.equal(res.statusCode, exchange.status, `${where}: ${res.body}`);
        assert.equal(res.headers['api-version'], '1.41', where);
        if (exchange.resHeaders['content-type'] === 'application/json') {
          assert.equal(res.headers['content-type'], 'application/json', where);
        }
        if (exchange.resBody === undefined) {
          if (exchange.method !== 'HEAD') assert.equal(res.body, '', `${where}: dockerd sent no body`);
          continue;
        }
        const expected = JSON.parse(ours(exchange.resBody)) as unknown;
        const actual = res.json() as unknown;
        if (exchange.status >= 400) {
          assert.deepEqual(actual, expected, `${where}: the error dockerd gave`);
          continue;
        }
        // The node dockerd listed is our manager1; /info is compared on its Swarm section and
        // the host facts Berth reports (dockerd's container-engine fields have no counterpart).
        const path = new URL(url, 'http://berth').pathname;
        if (path.endsWith('/nodes')) {
          const mine = (actual as { ID: string; Spec: unknown }[]).find((n) => n.ID === IDS.manager1);
          assertSameShape(mine, (expected as unknown[])[0], where);
          assert.deepEqual(mine?.Spec, ((expected as unknown[])[0] as { Spec: unknown }).Spec, `${where}: Spec`);
        } else if (path.endsWith('/info')) {
          const recorded = expected as Record<string, unknown>;
          assertSameShape(actual, {
            Swarm: recorded.Swarm,
            ...Object.fromEntries(['Name', 'NCPU', 'MemTotal', 'KernelVersion', 'OperatingSystem', 'OSType', 'Architecture', 'Labels', 'ServerVersion']
              .map((key) => [key, recorded[key]])),
          }, where);
          assert.deepEqual(at(actual, 'Swarm.Cluster.Spec'), at(expected, 'Swarm.Cluster.Spec'), `${where}: cluster Spec`);
        } else {
          assertSameShape(actual, expected, where);
          if (at(expected, 'Spec') !== undefined) assert.deepEqual(at(actual, 'Spec'), at(expected, 'Spec'), `${where}: Spec`);
        }
        // Our cluster has the recorded swarm's root CA, so its TLSInfo must read exactly the same.
        for (const tls of ['TLSInfo', 'Swarm.Cluster.TLSInfo', 'Description.TLSInfo']) {
          const recordedTls = path.endsWith('/nodes') ? at((expected as unknown[])[0], tls) : at(expected, tls);
          const ourTls = path.endsWith('/nodes') ? at((actual as { ID: string }[]).find((n) => n.ID === IDS.manager1), tls) : at(actual, tls);
          if (recordedTls !== undefined) assert.deepEqual(ourTls, recordedTls, `${where}: ${tls}`);
        }
        for (const { route, fields } of CLI_READS) {
          if (!route.test(path)) continue;
          for (const [field, type] of Object.entries(fields)) {
            assert.equal(jsonType(at(actual, field)), type, `${where}: the CLI reads ${field}`);
          }
        }
        if (path.endsWith('/swarm')) {
          const swarm = actual as { Version: { Index: number }; JoinTokens: { Worker: string; Manager: string } };
          assert.match(swarm.JoinTokens.Worker, /^SWMTKN-1-/, where);
          swarmReads.push({ ...swarm.JoinTokens, index: swarm.Version.Index });
          lastRead.set('swarm', swarm.Version.Index);
        }
        const node = /\/nodes\/([a-z0-9]{25})$/.exec(path);
        if (node) {
          const index = (actual as { Version: { Index: number } }).Version.Index;
          if (objectKey === undefined && lastRead.has(node[1]) && command.name.startsWith('node update')) {
            assert.ok(index >= lastRead.get(node[1])!, where);
          }
          lastRead.set(node[1], index);
        }
      }
      if (command.name === 'swarm join-token --rotate worker') {
        const [before, after] = [swarmReads[0], swarmReads.at(-1)!];
        assert.notEqual(after.Worker, before.Worker, 'the worker token was rotated');
        assert.equal(after.Manager, before.Manager, 'the manager token was not');
        assert.ok(after.index > before.index, 'the rotation bumped Version.Index');
      }
    }
    assert.equal(skipped, 2, 'only node ps’s two GET /tasks were left to the tasks API');
    assert.equal(replayed, 68, 'every other recorded request was replayed');
  });
});
