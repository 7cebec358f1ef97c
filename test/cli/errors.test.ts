// What a person sees when things go wrong: no daemon, a daemon error in each shape the catalog
// lists (§1.4), a mistyped command line. Daemon errors exit 1, usage errors 2.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recorded, ReplayServer, type Exchange } from './replay-server.js';
import { berth } from './run-berth.js';

async function run(exchanges: Exchange[], args: string[], env: Record<string, string> = {}, useFlag = true) {
  const server = await ReplayServer.start(exchanges);
  try {
    return { ...(await berth(useFlag ? ['-H', server.host, ...args] : args, env)), server };
  } finally {
    await server.close();
  }
}

/** A loopback port that was free a moment ago, so connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('no daemon on the unix socket: a clear message and exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cli-'));
  try {
    const socket = join(dir, 'nobody.sock');
    const { code, stdout, stderr } = await berth(['-H', `unix://${socket}`, 'node', 'ls']);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.equal(stderr, `berth: Cannot connect to the berth daemon at unix://${socket}. Is the berth daemon running?\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('connection refused on tcp: the same message, exit 1', async () => {
  const port = await closedPort();
  const { code, stderr } = await berth(['-H', `tcp://127.0.0.1:${port}`, 'info', '--format', 'json']);
  assert.equal(code, 1);
  assert.equal(stderr, `berth: Cannot connect to the berth daemon at tcp://127.0.0.1:${port}. Is the berth daemon running?\n`);
});

test('BERTH_HOST names the daemon when -H is not given', async () => {
  const exchanges = recorded('node ls');
  const server = await ReplayServer.start(exchanges);
  try {
    const { code, stdout } = await berth(['node', 'ls', '-q'], { BERTH_HOST: server.host });
    assert.equal(code, 0);
    assert.equal(stdout, 'zczb4ttv0u9mhmx01v3pjre8o\n');
  } finally {
    await server.close();
  }
});

test('daemon errors in each shape docker renders', async () => {
  const ping = recorded('node ls')[0];
  const cases: [Exchange, string][] = [
    [
      { method: 'GET', url: '/v1.41/nodes', status: 500, resHeaders: { 'content-type': 'text/plain' }, resBody: 'plain boom\n' },
      'Error response from daemon: plain boom\n',
    ],
    [
      { method: 'GET', url: '/v1.41/nodes', status: 500, resHeaders: { 'content-type': 'application/json' }, resBody: '{}\n' },
      'Error response from daemon: API returned a 500 (Internal Server Error) but provided no error-message\n',
    ],
    [
      { method: 'GET', url: '/v1.41/nodes', status: 503, resHeaders: { 'content-type': 'application/json' }, resBody: '{"message":"This node is not a swarm manager."}\n' },
      'Error response from daemon: This node is not a swarm manager.\n',
    ],
  ];
  for (const [answer, expected] of cases) {
    const { code, stderr } = await run([ping, answer], ['node', 'ls']);
    assert.equal(code, 1);
    assert.equal(stderr, expected);
  }
  const empty = await run([ping, { method: 'GET', url: '/v1.41/nodes', status: 500, resHeaders: {} }], ['node', 'ls']);
  assert.equal(empty.code, 1);
  assert.equal(
    empty.stderr,
    `berth: request returned 500 Internal Server Error for API route and version ${empty.server.host}/v1.41/nodes, check if the server supports the requested API version\n`,
  );
});

test('an unknown flag is a usage error: exit 2, docker\'s hint, nothing sent', async () => {
  const { code, stdout, stderr, server } = await run(recorded('node ls'), ['node', 'ls', '--bogus']);
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.equal(stderr, "berth: unknown option '--bogus'\nSee 'berth node ls --help'.\n");
  assert.deepEqual(server.sent(), []);
});

test('an unknown command and a missing argument are usage errors too', async () => {
  const unknown = await berth(['nodes']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^berth: unknown command 'nodes'/);
  const missing = await berth(['node', 'inspect']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^berth: missing required argument 'node'/);
});

test('global flags go before the verb, as with docker', async () => {
  const { code, stderr } = await berth(['node', 'ls', '-H', 'unix:///nowhere.sock']);
  assert.equal(code, 2);
  assert.match(stderr, /unknown option '-H'/);
});

test('--help describes the verbs and exits 0', async () => {
  const top = await berth(['--help']);
  assert.equal(top.code, 0);
  for (const verb of ['init', 'join', 'leave', 'join-token', 'node', 'info', 'version', 'daemon']) {
    assert.match(top.stdout, new RegExp(`^  ${verb}\\b`, 'm'));
  }
  const ls = await berth(['node', 'ls', '--help']);
  assert.equal(ls.code, 0);
  assert.match(ls.stdout, /--filter <key=value>/);
  assert.match(ls.stdout, /--format <format>/);
});

test('a malformed -H is refused with the accepted spellings', async () => {
  const { code, stderr } = await berth(['-H', 'http://127.0.0.1:2375', 'info']);
  assert.equal(code, 1);
  assert.equal(stderr, 'berth: invalid host "http://127.0.0.1:2375": use unix:///path/to.sock or tcp://host:port\n');
});
