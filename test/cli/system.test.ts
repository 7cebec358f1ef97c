// `berth info` and `berth version` against recorded dockerd responses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describe as describeExchange, recorded } from './replay-server.js';
import { berthAgainst } from './run-berth.js';


test('info sends the one GET /info docker sends and prints the swarm section as docker does', async () => {
  const exchanges = recorded('docker info');
  const { code, stdout, server } = await berthAgainst(exchanges, ['info']);
  assert.equal(code, 0);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.deepEqual(server.sent(), ['HEAD /_ping', 'GET /info']);
  const swarm = stdout.slice(stdout.indexOf(' Swarm:'), stdout.indexOf(' Kernel Version:'));
  assert.equal(
    swarm,
    [
      ' Swarm: active',
      '  NodeID: zczb4ttv0u9mhmx01v3pjre8o',
      '  Is Manager: true',
      '  ClusterID: vms3atft59s0osmbly1xetg30',
      '  Managers: 1',
      '  Nodes: 1',
      '  Data Path Port: 4789',
      '  Orchestration:',
      '   Task History Retention Limit: 5',
      '  Raft:',
      '   Snapshot Interval: 10000',
      '   Number of Old Snapshots to Retain: 0',
      '   Heartbeat Tick: 1',
      '   Election Tick: 10',
      '  Dispatcher:',
      '   Heartbeat Period: 5 seconds',
      '  CA Configuration:',
      '   Expiry Duration: 3 months',
      '   Force Rotate: 0',
      '  Autolock Managers: false',
      '  Root Rotation In Progress: false',
      '  Node Address: 127.0.0.1',
      '  Manager Addresses:',
      '   127.0.0.1:2377',
      '',
    ].join('\n'),
  );
  assert.match(stdout, /^ Server Version: 20\.10\.24\+dfsg1$/m);
  assert.match(stdout, /^ CPUs: 2$/m);
  assert.match(stdout, /^ Total Memory: 23\.54GiB$/m);
  assert.match(stdout, /^ Host: {7}unix:\/\//m);
});

test('info --format json prints the daemon\'s /info unchanged', async () => {
  const exchanges = recorded('docker info');
  const { code, stdout } = await berthAgainst(exchanges, ['info', '--format', 'json']);
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(stdout), JSON.parse(exchanges[1].resBody!));
});

test('version sends GET /version and prints client and server, the Engine first', async () => {
  const exchanges = recorded('docker version');
  const { code, stdout, server } = await berthAgainst(exchanges, ['version']);
  assert.equal(code, 0);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.match(stdout, /^Client:\n Version: +\d+\.\d+\.\d+\n API version: +1\.41\n/);
  assert.match(stdout, /\nServer:\n Engine:\n  Version: +20\.10\.24\+dfsg1\n  API version: +1\.41 \(minimum version 1\.12\)\n/);
  assert.match(stdout, /\n containerd:\n  Version: +1\.6\.20~ds1\n  GitCommit: +1\.6\.20~ds1-1\+deb12u3\n/);
});

test('version --format json is one JSON document with the client and the raw server version', async () => {
  const exchanges = recorded('docker version');
  const { code, stdout } = await berthAgainst(exchanges, ['version', '--format', 'json']);
  assert.equal(code, 0);
  const parsed = JSON.parse(stdout) as { Client: { ApiVersion: string }; Server: unknown };
  assert.equal(parsed.Client.ApiVersion, '1.41');
  assert.deepEqual(parsed.Server, JSON.parse(exchanges[1].resBody!));
});

test('a daemon reporting an older API version is spoken to in that version', async () => {
  const exchanges = recorded('docker version').map((e) =>
    e.method === 'HEAD' ? { ...e, resHeaders: { ...e.resHeaders, 'api-version': '1.30' } } : e,
  );
  const { stdout, server } = await berthAgainst(exchanges, ['version']);
  assert.equal(server.requests[1].version, '1.30');
  assert.match(stdout, /API version: +1\.30 \(downgraded from 1\.41\)/);
});
