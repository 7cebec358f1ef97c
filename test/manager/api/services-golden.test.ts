// Replays what the stock docker CLI 28 sent to a real dockerd for `docker service …`
// (../shared/reference/engine-api-recording.jsonl): create (full flags, global, detached, with
// secret/config/network/mount), ls, ps, inspect, scale, update, rollback, rm and the not-found
// cases, including the convergence polls. Recorded service IDs are swapped for the ones our
// creates return, `version=` for the Version.Index we last showed, and the recorded node for our
// manager1. Each answer is checked as the CLI takes it: the same status; stored specs equal to
// what dockerd showed (the CLI posts them back); every other field dockerd returned present with
// the same JSON type, except what needs components the API does not run: UpdateStatus (the
// updater), Endpoint.VirtualIPs (the allocator), task lists (the orchestrators), ServiceStatus
// values. Where the recording skipped a command (an unrecorded update between two recorded
// ones), the spec dockerd showed is applied first, so later comparisons stay exact.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { recordedCommands } from '../../shared/engine-recording.js';
import { IDS, call, startApi } from './api-harness.js';
import { assertSameShape, jsonType } from './json-shape.js';

const RECORDED_NODE_ID = 'zczb4ttv0u9mhmx01v3pjre8o';

const REPLAYED_COMMANDS = [
  'service create web (full flags, default detach)', 'service ls', 'service ps web', 'service inspect web',
  'service inspect --pretty web', 'service scale web=5', 'service update --image --force web',
  'service update --env-add B=2 web', 'service rollback web', 'service rm web logsvc', 'service rm missing',
  'service create --mode global', 'service ls (global)', 'service ps missing', 'service inspect missing',
  'service logs missing', 'service create -d with secret/config/network/mount', 'service create --detach=false -q',
  'service scale -d multi', 'service update -d --replicas',
];

/** Other APIs' requests within these commands (networks, secrets, configs, log streams). */
const NOT_OURS = /^\/v[0-9.]+\/(networks|secrets|configs)\b|\/logs\?/;

/** Objects the recorded `service create --network xnet --secret xs1 --config …` referred to, by their recorded IDs. */
const REFERENCED = {
  network: { ID: 'woy05u3yb3z4y7cn5gxo4txj1', Spec: { Name: 'xnet' } },
  secret: { ID: 'p3c6li5rj07niikexrsyrklnv', Spec: { Name: 'xs1', Data: 'eA==' } },
  config: { ID: 'tk9z6uuylax74cflggjopu8wg', Spec: { Name: 'xc1', Data: 'eA==' } },
} as const;


type Json = Record<string, any>;

/** The recording keeps the first few KB of each body; a longer one does not parse. */
const TRUNCATED = Symbol('truncated');

function parseRecorded(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return TRUNCATED;
  }
}



/** A recorded service checked against ours: specs exactly, the rest by shape. */
function compareService(actual: Json | undefined, expected: Json, where: string): void {
  assert.ok(actual, `${where}: we have service ${expected.Spec.Name}`);
  assert.deepEqual(actual.Spec, expected.Spec, `${where}: Spec`);
  if (expected.PreviousSpec) assert.deepEqual(actual.PreviousSpec, expected.PreviousSpec, `${where}: PreviousSpec`);
  else assert.equal(actual.PreviousSpec, undefined, `${where}: no PreviousSpec before the first update`);
  const { UpdateStatus: _status, ServiceStatus: recordedStatus, Endpoint: recordedEndpoint, ...rest } = expected;
  assertSameShape(actual, rest, where);
  const { VirtualIPs: _vips, ...endpoint } = recordedEndpoint as Json;
  assertSameShape(actual.Endpoint, endpoint, `${where}.Endpoint`);
  if (endpoint.Ports) assert.deepEqual(actual.Endpoint.Ports, endpoint.Ports, `${where}: Endpoint.Ports`);
  if (recordedStatus) assertSameShape(actual.ServiceStatus, recordedStatus, `${where}.ServiceStatus`);
  else assert.equal(actual.ServiceStatus, undefined, `${where}: ServiceStatus only with status=true`);
}

describe('golden replay of the docker CLI’s recorded `docker service …` traffic', () => {
  it('answers every recorded service request as dockerd did, in the recorded order', async () => {
    const { app, store } = await startApi();
    await store.update((tx) => {
      for (const [kind, object] of Object.entries(REFERENCED)) tx.create(kind as keyof typeof REFERENCED, object);
    });
    const all = recordedCommands();
    const commands = all.filter((c) => REPLAYED_COMMANDS.includes(c.name));
    assert.deepEqual(commands.map((c) => c.name).sort(), [...REPLAYED_COMMANDS].sort(), 'every replayed command is in the recording');

    // Every spec dockerd showed, by service name, in recorded order: for services created
    // outside the replayed commands (logsvc) and for unrecorded updates.
    const recordedByName = new Map<string, Json>();
    for (const command of all) {
      for (const e of command.exchanges) {
        if (e.method === 'GET' && /\/services\/[^/?]+\?/.test(e.url) && e.status === 200 && e.resBody) {
          const service = parseRecorded(e.resBody) as Json | typeof TRUNCATED;
          if (service === TRUNCATED) continue;
          if (!recordedByName.has(service.Spec.Name)) recordedByName.set(service.Spec.Name, service);
        }
      }
    }

    const idMap = new Map<string, string>([[RECORDED_NODE_ID, IDS.manager1]]);
    const ours = (text: string): string => [...idMap].reduce((t, [from, to]) => t.replaceAll(from, to), text);
    const lastRead = new Map<string, number>();
    const read = async (ref: string): Promise<Json> => {
      const res = await call(app, { url: `/v1.41/services/${ref}?insertDefaults=false` });
      assert.equal(res.statusCode, 200, res.body);
      const service = res.json() as Json;
      lastRead.set(service.ID, service.Version.Index);
      return service;
    };
    /** Brings our service to the spec dockerd showed, as the unrecorded command in between did. */
    const catchUp = async (app_: FastifyInstance, recorded: Json): Promise<void> => {
      const mine = await read(recorded.Spec.Name);
      if (isDeepStrictEqual(mine.Spec, recorded.Spec)) return;
      const res = await call(app_, { method: 'POST', url: `/v1.41/services/${mine.ID}/update?version=${mine.Version.Index}`, body: recorded.Spec });
      assert.equal(res.statusCode, 200, res.body);
      await read(recorded.Spec.Name);
    };

    let replayed = 0;
    let skipped = 0;
    let truncated = 0;
    for (const command of commands) {
      // `service rm web logsvc` removes a service made by commands this replay leaves out.
      for (const e of command.exchanges) {
        const name = /^\/v[0-9.]+\/services\/([a-z]+)$/.exec(e.url)?.[1];
        if (e.method === 'DELETE' && name && e.status === 200 && store.find('service', { name }).length === 0) {
          const recorded = recordedByName.get(name)!;
          const res = await call(app, { method: 'POST', url: '/v1.41/services/create', body: recorded.Spec });
          assert.equal(res.statusCode, 201, res.body);
          idMap.set(recorded.ID, (res.json() as Json).ID);
        }
      }
      for (const [index, exchange] of command.exchanges.entries()) {
        if (exchange.method === 'HEAD' || NOT_OURS.test(exchange.url)) {
          skipped++;
          continue;
        }
        const where = `${command.name}: ${exchange.method} ${exchange.url}`;
        let url = ours(exchange.url);
        const recordedBody = exchange.resBody ? parseRecorded(ours(exchange.resBody)) : undefined;
        // The first read of a command shows where dockerd's service stood when the command began.
        if (index <= 1 && exchange.method === 'GET' && /\/services\/[^/?]+\?insertDefaults=false/.test(url) && exchange.status === 200) {
          await catchUp(app, recordedBody as Json);
        }
        const update = /^\/v[0-9.]+\/services\/([a-z0-9]{25})\/update\?/.exec(url);
        if (update) {
          assert.ok(lastRead.has(update[1]), `${where}: the CLI read the service before updating it`);
          url = url.replace(/version=[0-9]+/, `version=${lastRead.get(update[1])}`);
        }
        const res = await call(app, {
          method: exchange.method,
          url,
          ...(exchange.reqBody !== undefined ? { raw: ours(exchange.reqBody) } : {}),
          headers: exchange.reqHeaders,
        });
        replayed++;
        assert.equal(res.headers['api-version'], '1.41', where);
        if (url.includes('/distribution/')) {
          // dockerd failed to reach a registry (500); the CLI takes any non-2xx the same way.
          assert.equal(res.statusCode, 404, where);
          assert.equal(res.headers['content-type'], 'application/json', where);
          assert.equal(typeof (res.json() as Json).message, 'string', where);
          continue;
        }
        assert.equal(res.statusCode, exchange.status, `${where}: ${res.body}`);
        if (exchange.resHeaders['content-type'] === 'application/json') {
          assert.equal(res.headers['content-type'], 'application/json', where);
        }
        if (exchange.resBody === undefined) {
          assert.equal(res.body, '', `${where}: dockerd sent no body`);
          continue;
        }
        const actual = res.json() as unknown;
        if (recordedBody === TRUNCATED) {
          // The recording cut this body short: only its top-level type can be compared.
          assert.equal(jsonType(actual), exchange.resBody.trimStart().startsWith('[') ? 'array' : 'object', where);
          truncated++;
          continue;
        }
        if (exchange.status >= 400) {
          assert.deepEqual(actual, recordedBody, `${where}: the error dockerd gave`);
          continue;
        }
        const path = new URL(url, 'http://berth').pathname;
        if (exchange.method === 'POST' && path.endsWith('/services/create')) {
          assert.deepEqual(Object.keys(actual as Json), Object.keys(recordedBody as Json), `${where}: {"ID"} only`);
          idMap.set((recordedBody as Json).ID, (actual as Json).ID);
        } else if (exchange.method === 'POST') {
          assert.deepEqual(actual, recordedBody, where);
        } else if (/\/services\/[^/]+$/.test(path)) {
          compareService(actual as Json, recordedBody as Json, where);
          lastRead.set((actual as Json).ID, (actual as Json).Version.Index);
        } else if (path.endsWith('/services')) {
          const list = actual as Json[];
          for (const recorded of recordedBody as Json[]) {
            compareService(list.find((s) => s.Spec.Name === recorded.Spec.Name), recorded, where);
          }
          assert.equal(list.length, (recordedBody as Json[]).length, `${where}: the same services`);
        } else if (path.endsWith('/tasks') || path.endsWith('/nodes')) {
          // Tasks come from the orchestrators, which this API test does not run.
          assert.ok(Array.isArray(actual), where);
        } else {
          assertSameShape(actual, recordedBody, where);
        }
      }
    }
    assert.ok(replayed > 60, `replayed ${replayed} requests (skipped ${skipped})`);
    assert.ok(truncated < replayed / 2, `most answers were compared in full (${truncated} of ${replayed} recorded bodies were truncated)`);
    // The rollback left the spec before `--env-add` in place, and the one rolled away as PreviousSpec.
    assert.equal(store.find('service', { name: 'web' }).length, 0, 'web was removed');
  });
});
