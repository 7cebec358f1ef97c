// `berth node …` against recorded dockerd responses: the requests must be the ones the docker CLI
// sent for the same command, and the output docker's.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describe as describeExchange, recorded, type Exchange } from './replay-server.js';
import { berthAgainst } from './run-berth.js';

const SELF = 'zczb4ttv0u9mhmx01v3pjre8o';


function bodyOf(exchanges: Exchange[], method: string): unknown {
  const exchange = exchanges.find((e) => e.method === method);
  assert.ok(exchange?.reqBody, `a recorded ${method} with a body`);
  return JSON.parse(exchange.reqBody);
}

test('node ls sends GET /nodes then GET /info, like docker, and prints docker\'s table', async () => {
  const exchanges = recorded('node ls');
  const { code, stdout, stderr, server } = await berthAgainst(exchanges, ['node', 'ls']);
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.deepEqual(server.sent(), ['HEAD /_ping', 'GET /nodes', 'GET /info']);
  assert.equal(server.requests[1].version, '1.41');
  assert.equal(
    stdout,
    'ID                            HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION\n' +
      `${SELF} *   vm         Ready     Active         Leader           20.10.24+dfsg1\n`,
  );
});

test('node ls -q prints only IDs and does not ask /info who we are', async () => {
  const { code, stdout, server } = await berthAgainst(recorded('node ls'), ['node', 'ls', '-q']);
  assert.equal(code, 0);
  assert.equal(stdout, `${SELF}\n`);
  assert.deepEqual(server.sent(), ['HEAD /_ping', 'GET /nodes']);
});

test('node ls --format json prints the raw node objects as valid JSON', async () => {
  const { code, stdout } = await berthAgainst(recorded('node ls'), ['node', 'ls', '--format', 'json']);
  assert.equal(code, 0);
  const nodes = JSON.parse(stdout) as { ID: string; ManagerStatus: { Leader: boolean } }[];
  assert.equal(nodes.length, 1);
  assert.equal(nodes[0].ID, SELF);
  assert.equal(nodes[0].ManagerStatus.Leader, true);
});

test('node ls --filter sends docker\'s filters JSON, several values of a key together', async () => {
  const { server } = await berthAgainst(recorded('node ls'), ['node', 'ls', '-f', 'role=manager', '--filter', 'role=worker', '-f', 'name=vm']);
  assert.equal(server.requests[1].path, '/nodes');
  assert.deepEqual(JSON.parse(server.requests[1].query.filters), { role: { manager: true, worker: true }, name: { vm: true } });
});

test('node inspect self resolves self through GET /info, then prints the node as a JSON list', async () => {
  const exchanges = recorded('node inspect self');
  const { code, stdout, server } = await berthAgainst(exchanges, ['node', 'inspect', 'self']);
  assert.equal(code, 0);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.deepEqual(server.sent(), ['HEAD /_ping', 'GET /info', `GET /nodes/${SELF}`]);
  const nodes = JSON.parse(stdout) as { ID: string; Description: { Hostname: string } }[];
  assert.deepEqual(
    nodes.map((n) => [n.ID, n.Description.Hostname]),
    [[SELF, 'vm']],
  );
});

test('node inspect by hostname and by prefix passes the reference through for the daemon to resolve', async () => {
  for (const [command, ref] of [['node inspect by hostname', 'vm'], ['node inspect by prefix', 'zczb']]) {
    const exchanges = recorded(command);
    const { code, server } = await berthAgainst(exchanges, ['node', 'inspect', ref]);
    assert.equal(code, 0);
    assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  }
});

test('node inspect --pretty prints docker\'s human-friendly view', async () => {
  const { code, stdout, server } = await berthAgainst(recorded('node inspect --pretty self'), ['node', 'inspect', '--pretty', 'self']);
  assert.equal(code, 0);
  assert.deepEqual(server.sent(), ['HEAD /_ping', 'GET /info', `GET /nodes/${SELF}`]);
  const lines = stdout.split('\n');
  for (const expected of [
    `ID:                     ${SELF}`,
    'Hostname:               vm',
    'Joined at:              2026-11-22 13:09:02.879299871 +0000 utc',
    'Status:',
    ' State:                 Ready',
    ' Availability:          Active',
    ' Address:               127.0.0.1',
    'Manager Status:',
    ' Address:               127.0.0.1:2377',
    ' Raft Status:           Reachable',
    ' Leader:                Yes',
    ' Operating System:      linux',
    ' Architecture:          x86_64',
    ' CPUs:                  2',
    ' Memory:                23.54GiB',
    ' Network:               bridge, host, ipvlan, macvlan, null, overlay',
    'Engine Version:         20.10.24+dfsg1',
    '-----BEGIN CERTIFICATE-----',
    ' Issuer Subject:        MBMxETAPBgNVBAMTCHN3YXJtLWNh',
  ]) {
    assert.ok(lines.includes(expected), `missing line ${JSON.stringify(expected)} in:\n${stdout}`);
  }
});

test('node inspect of a missing node: [] on stdout, the daemon\'s 404 message on stderr, exit 1', async () => {
  const exchanges = recorded('node inspect missing');
  const { code, stdout, stderr, server } = await berthAgainst(exchanges, ['node', 'inspect', 'nosuchnode']);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.equal(code, 1);
  assert.equal(stdout, '[]\n');
  assert.equal(stderr, 'Error response from daemon: node nosuchnode not found\n');
});

test('node update --label-add reads the node, then posts its whole spec at the version read', async () => {
  const exchanges = recorded('node update --label-add');
  const { code, stdout, server } = await berthAgainst(exchanges, ['node', 'update', '--label-add', 'zone=a', SELF]);
  assert.equal(code, 0);
  assert.equal(stdout, `${SELF}\n`);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.deepEqual(server.sent(), ['HEAD /_ping', `GET /nodes/${SELF}`, `POST /nodes/${SELF}/update?version=9`]);
  assert.deepEqual(JSON.parse(server.requests[2].body), bodyOf(exchanges, 'POST'));
  assert.equal(server.requests[2].headers['content-type'], 'application/json');
});

test('node update --availability drain and --label-rm send the spec docker sent', async () => {
  for (const [command, flags] of [
    ['node update drain', ['--availability', 'drain']],
    ['node update active', ['--availability', 'active']],
    ['node update --label-rm', ['--label-rm', 'zone']],
  ] as const) {
    const exchanges = recorded(command);
    const { code, server } = await berthAgainst(exchanges, ['node', 'update', ...flags, SELF]);
    assert.equal(code, 0, command);
    assert.deepEqual(server.sent(), exchanges.map(describeExchange), command);
    assert.deepEqual(JSON.parse(server.requests[2].body), bodyOf(exchanges, 'POST'), command);
  }
});

test('node update --label-rm of a label the node does not have fails without writing', async () => {
  const { code, stderr, server } = await berthAgainst(recorded('node update --label-add'), ['node', 'update', '--label-rm', 'nope', SELF]);
  assert.equal(code, 1);
  assert.equal(stderr, "berth: key nope doesn't exist in node's labels\n");
  assert.deepEqual(server.sent(), ['HEAD /_ping', `GET /nodes/${SELF}`]);
});

test('node update with an availability docker does not know is a usage error (exit 2), nothing sent', async () => {
  const { code, stderr, server } = await berthAgainst(recorded('node update drain'), ['node', 'update', '--availability', 'asleep', SELF]);
  assert.equal(code, 2);
  assert.match(stderr, /^berth: option '--availability <availability>' argument 'asleep' is invalid/);
  assert.match(stderr, /See 'berth node update --help'\./);
  assert.deepEqual(server.sent(), []);
});

// The recording has no promote/demote (its one node is the leader); docker sends the update pair
// recorded for `node update` with only Role changed (catalog §4), and nothing when the role is set.
test('node promote of a manager says so and sends no update', async () => {
  const { code, stdout, server } = await berthAgainst(recorded('node update --label-add'), ['node', 'promote', SELF]);
  assert.equal(code, 0);
  assert.equal(stdout, `Node ${SELF} is already a manager.\n`);
  assert.deepEqual(server.sent(), ['HEAD /_ping', `GET /nodes/${SELF}`]);
});

test('node demote posts the node spec with Role worker at the version read', async () => {
  const { code, stdout, server } = await berthAgainst(recorded('node update --label-add'), ['node', 'demote', SELF]);
  assert.equal(code, 0);
  assert.equal(stdout, `Manager ${SELF} demoted in the swarm.\n`);
  assert.deepEqual(server.sent(), ['HEAD /_ping', `GET /nodes/${SELF}`, `POST /nodes/${SELF}/update?version=9`]);
  assert.deepEqual(JSON.parse(server.requests[2].body), { Labels: {}, Role: 'worker', Availability: 'active' });
});

test('node rm of a raft member: DELETE as docker sends it, the daemon\'s refusal on stderr, exit 1', async () => {
  const exchanges = recorded('node rm self (error)');
  const { code, stdout, stderr, server } = await berthAgainst(exchanges, ['node', 'rm', SELF]);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.match(stderr, /^Error response from daemon: rpc error: code = FailedPrecondition desc = node zczb4ttv0u9mhmx01v3pjre8o is a cluster manager/);
});

test('node rm --force adds force=1', async () => {
  const { server } = await berthAgainst(recorded('node rm self (error)'), ['node', 'rm', '--force', SELF]);
  assert.deepEqual(server.sent().slice(1), [`DELETE /nodes/${SELF}?force=1`]);
});

test('node ps with no tasks sends docker\'s requests and prints the header', async () => {
  const exchanges = recorded('node ps');
  const { code, stdout, server } = await berthAgainst(exchanges, ['node', 'ps']);
  assert.equal(code, 0);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.deepEqual(JSON.parse(server.requests[3].query.filters), { node: { [SELF]: true } });
  assert.equal(stdout.split('\n')[0].split(/\s{2,}/).join('|'), 'ID|NAME|IMAGE|NODE|DESIRED STATE|CURRENT STATE|ERROR|PORTS');
  assert.equal(stdout.split('\n').length, 2);
});

/** The three tasks of `service ps web`, all on this node, served as the answer to node ps's query. */
function nodePsWithTasks(): Exchange[] {
  const nodePs = recorded('node ps');
  const servicePs = recorded('service ps web');
  const tasks = servicePs.find((e) => e.url.startsWith('/v1.41/tasks'))!;
  return [
    ...nodePs.filter((e) => !e.url.startsWith('/v1.41/tasks')),
    { ...tasks, url: nodePs.find((e) => e.url.startsWith('/v1.41/tasks'))!.url },
    ...servicePs.filter((e) => e.url.startsWith('/v1.41/services/') || e.url.startsWith('/v1.41/nodes/')),
  ];
}

test('node ps with tasks resolves service and node names once each and prints a row per task', async () => {
  const { code, stdout, server } = await berthAgainst(nodePsWithTasks(), ['node', 'ps', 'self']);
  assert.equal(code, 0);
  assert.deepEqual(server.sent().slice(4), ['GET /services/lwek99lcsh1q40f3mtsndgmty?insertDefaults=false', `GET /nodes/${SELF}`]);
  const rows = stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/\s{2,}/));
  assert.deepEqual(
    rows.map((r) => r.slice(0, 5)),
    [
      ['up65zh9g5ecl', 'web.1', 'localbusybox:1', 'vm', 'Running'],
      ['t4x3h8twrn29', 'web.2', 'localbusybox:1', 'vm', 'Running'],
      ['lh2sy20t4us2', 'web.3', 'localbusybox:1', 'vm', 'Running'],
    ],
  );
  assert.match(rows[0][5], /^Running .+ ago$/);
});

test('node ps -q prints short task IDs without looking up names; --format json the raw tasks', async () => {
  const quiet = await berthAgainst(nodePsWithTasks(), ['node', 'ps', '-q']);
  assert.equal(quiet.stdout, 'lh2sy20t4us2\nt4x3h8twrn29\nup65zh9g5ecl\n');
  assert.equal(quiet.server.sent().length, 4);
  const asJson = await berthAgainst(nodePsWithTasks(), ['node', 'ps', '--format', 'json']);
  assert.deepEqual(
    (JSON.parse(asJson.stdout) as { Slot: number }[]).map((t) => t.Slot),
    [3, 2, 1],
  );
});
