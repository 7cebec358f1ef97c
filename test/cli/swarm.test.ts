// `berth init|join|leave|join-token` against recorded dockerd responses: the same requests, in the
// same order, with the same bodies as the docker CLI's swarm commands.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describe as describeExchange, recorded, type Exchange } from './replay-server.js';
import { berthAgainst } from './run-berth.js';

const SELF = 'zczb4ttv0u9mhmx01v3pjre8o';
const ALREADY = 'Error response from daemon: This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.\n';


test('join-token worker: GET /swarm, /info, /nodes/<self>, /swarm, then the join command with the manager address', async () => {
  const exchanges = recorded('swarm join-token worker');
  const { code, stdout, server } = await berthAgainst(exchanges, ['join-token', 'worker']);
  assert.equal(code, 0);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.deepEqual(server.sent(), ['HEAD /_ping', 'GET /swarm', 'GET /info', `GET /nodes/${SELF}`, 'GET /swarm']);
  assert.equal(
    stdout,
    'To add a worker to this swarm, run the following command:\n\n    berth join --token SWMTKN-1-REDACTED 127.0.0.1:2377\n\n',
  );
});

test('join-token -q manager: one GET /swarm, the token alone', async () => {
  const exchanges = recorded('swarm join-token -q manager');
  const { code, stdout, server } = await berthAgainst(exchanges, ['join-token', '-q', 'manager']);
  assert.equal(code, 0);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.equal(stdout, 'SWMTKN-1-REDACTED\n');
});

test('join-token --rotate worker: posts the unchanged spec with rotateWorkerToken=true at the version read', async () => {
  const exchanges = recorded('swarm join-token --rotate worker');
  const { code, stdout, server } = await berthAgainst(exchanges, ['join-token', '--rotate', 'worker']);
  assert.equal(code, 0);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  const update = server.requests.find((r) => r.method === 'POST')!;
  assert.deepEqual(update.query, { rotateManagerToken: 'false', rotateManagerUnlockKey: 'false', rotateWorkerToken: 'true', version: '10' });
  assert.deepEqual(JSON.parse(update.body), JSON.parse(exchanges.find((e) => e.method === 'POST')!.reqBody!));
  assert.match(stdout, /^Successfully rotated worker join token\.\n\nTo add a worker to this swarm/);
});

test('join-token with a role other than worker or manager is a usage error', async () => {
  const { code, stderr, server } = await berthAgainst(recorded('swarm join-token worker'), ['join-token', 'admin']);
  assert.equal(code, 2);
  assert.match(stderr, /'admin' is invalid for argument 'role'\. Allowed choices are worker, manager/);
  assert.deepEqual(server.sent(), []);
});

test('init sends the body docker swarm init sends; the daemon\'s 503 is printed as docker prints it', async () => {
  const exchanges = recorded('swarm init (already)');
  const { code, stdout, stderr, server } = await berthAgainst(exchanges, ['init', '--advertise-addr', '127.0.0.1']);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.deepEqual(JSON.parse(server.requests[1].body), JSON.parse(exchanges[1].reqBody!));
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.equal(stderr, ALREADY);
});

test('init passes --listen-addr, --force-new-cluster and --availability through', async () => {
  const { server } = await berthAgainst(recorded('swarm init (already)'), [
    'init', '--listen-addr', '10.0.0.1:4000', '--force-new-cluster', '--availability', 'drain',
  ]);
  const body = JSON.parse(server.requests[1].body) as Record<string, unknown>;
  assert.equal(body.ListenAddr, '10.0.0.1:4000');
  assert.equal(body.AdvertiseAddr, '');
  assert.equal(body.ForceNewCluster, true);
  assert.equal(body.Availability, 'drain');
});

test('init on success names the node and prints the worker join command', async () => {
  // The recording holds only the refused init. A successful one answers with the new node's ID as
  // a JSON string (catalog §3); the node and swarm reads after it are recorded ones.
  const joinToken = recorded('swarm join-token worker');
  const exchanges: Exchange[] = [
    joinToken[0],
    { method: 'POST', url: '/v1.41/swarm/init', status: 200, resHeaders: { 'content-type': 'application/json' }, resBody: `"${SELF}"\n` },
    ...joinToken.filter((e) => e.url.startsWith('/v1.41/nodes/') || e.url === '/v1.41/swarm'),
  ];
  const { code, stdout, server } = await berthAgainst(exchanges, ['init', '--advertise-addr', '127.0.0.1']);
  assert.equal(code, 0);
  assert.deepEqual(server.sent(), ['HEAD /_ping', 'POST /swarm/init', `GET /nodes/${SELF}`, 'GET /swarm']);
  assert.equal(
    stdout,
    `Swarm initialized: current node (${SELF}) is now a manager.\n\n` +
      'To add a worker to this swarm, run the following command:\n\n    berth join --token SWMTKN-1-REDACTED 127.0.0.1:2377\n\n' +
      "To add a manager to this swarm, run 'berth join-token manager' and follow the instructions.\n\n",
  );
});

test('join sends the body docker swarm join sends', async () => {
  const exchanges = recorded('swarm join (already)');
  const { code, stderr, server } = await berthAgainst(exchanges, ['join', '--token', 'SWMTKN-1-xxx', '127.0.0.1:2377']);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.deepEqual(JSON.parse(server.requests[1].body), JSON.parse(exchanges[1].reqBody!));
  assert.equal(code, 1);
  assert.equal(stderr, ALREADY);
});

test('join reads the role it got back from /info', async () => {
  // Only the refused join was recorded; a successful one answers 200 with no body.
  const exchanges: Exchange[] = [
    ...recorded('node ls').filter((e) => e.method === 'HEAD' || e.url === '/v1.41/info'),
    { method: 'POST', url: '/v1.41/swarm/join', status: 200, resHeaders: {} },
  ];
  const { code, stdout } = await berthAgainst(exchanges, ['join', '--token', 'SWMTKN-1-xxx', '127.0.0.1:2377']);
  assert.equal(code, 0);
  // The recorded /info is a manager's (ControlAvailable: true).
  assert.equal(stdout, 'This node joined a swarm as a manager.\n');
});

test('join without --token is a usage error', async () => {
  const { code, stderr } = await berthAgainst([], ['join', '127.0.0.1:2377']);
  assert.equal(code, 2);
  assert.match(stderr, /required option '--token <token>' not specified/);
});

test('leave posts /swarm/leave, with force=1 for --force', async () => {
  // Leave was not recorded (catalog §3, from the client source): 200 with no body.
  const exchanges: Exchange[] = [
    recorded('node ls')[0],
    { method: 'POST', url: '/v1.41/swarm/leave', status: 200, resHeaders: {} },
  ];
  const plain = await berthAgainst(exchanges, ['leave']);
  assert.equal(plain.stdout, 'Node left the swarm.\n');
  assert.deepEqual(plain.server.sent(), ['HEAD /_ping', 'POST /swarm/leave']);
  const forced = await berthAgainst(exchanges, ['leave', '--force']);
  assert.deepEqual(forced.server.sent(), ['HEAD /_ping', 'POST /swarm/leave?force=1']);
});
