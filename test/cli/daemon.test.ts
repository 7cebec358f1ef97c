// `berth daemon`: its flags become the DaemonOptions runDaemon is started with, and mistakes are
// refused before anything starts. The CLI tests run the real binary; the others give
// daemonCommand a runDaemon that records what it was handed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daemonCommand } from '../../cli/commands/daemon.js';
import type { DaemonOptions } from '../../cli/daemon/options.js';
import { berth } from './run-berth.js';

/** Parses `args` as `berth daemon args…` and returns what runDaemon would get, or the usage error. */
async function parse(args: string[]): Promise<DaemonOptions | { error: string; exitCode: number }> {
  let started: DaemonOptions | undefined;
  let written = '';
  const command = daemonCommand(async (options) => {
    started = options;
  })
    .exitOverride()
    .configureOutput({ writeErr: (s) => (written += s), outputError: (s, write) => write(s) });
  try {
    await command.parseAsync(args, { from: 'user' });
  } catch (err) {
    return { error: written.trim(), exitCode: (err as { exitCode: number }).exitCode };
  }
  assert.ok(started, 'runDaemon was called');
  return started;
}

test('berth daemon -H tcp:// without TLS or --insecure-tcp exits non-zero and says what to pass', async () => {
  const { code, stderr } = await berth(['daemon', '--host', 'tcp://127.0.0.1:1']);
  assert.equal(code, 2);
  assert.match(stderr, /^berth: refusing to serve tcp:\/\/127\.0\.0\.1:1 without TLS: pass --tlsverify --tlscacert --tlscert --tlskey, or --insecure-tcp/);
});

test('berth daemon -H with a scheme other than unix:// or tcp:// is refused', async () => {
  const { code, stderr } = await berth(['daemon', '-H', 'fd://3']);
  assert.equal(code, 2);
  assert.match(stderr, /^berth: invalid host "fd:\/\/3": use unix:\/\/\/path\/to\.sock or tcp:\/\/host:port/);
});

test('berth daemon with an unknown flag exits 2', async () => {
  const { code, stderr } = await berth(['daemon', '--debug']);
  assert.equal(code, 2);
  assert.match(stderr, /unknown option '--debug'/);
});

test('-H before "daemon" is the client\'s flag, so it is refused rather than silently ignored', async () => {
  const { code, stderr } = await berth(['-H', 'unix:///tmp/x.sock', 'daemon']);
  assert.equal(code, 2);
  assert.match(stderr, /give listen addresses after it: berth daemon -H <url>/);
});

test('defaults: the local socket, /var/lib/berth, log level info, no TLS', async () => {
  assert.deepEqual(await parse([]), {
    dataDir: '/var/lib/berth',
    hosts: ['unix:///run/berth/berth.sock'],
    insecureTcp: false,
    logLevel: 'info',
    runtime: 'auto',
    labels: {},
  });
});

test('repeated -H, a relative --data-dir, --hostname and --log-level', async () => {
  const options = await parse([
    '-H', 'unix:///tmp/b1.sock', '--host', 'tcp://127.0.0.1:2390', '--insecure-tcp',
    '--data-dir', 'state', '--hostname', 'node-2', '--log-level', 'debug',
  ]);
  assert.deepEqual(options, {
    dataDir: join(process.cwd(), 'state'),
    hosts: ['unix:///tmp/b1.sock', 'tcp://127.0.0.1:2390'],
    insecureTcp: true,
    logLevel: 'debug',
    hostname: 'node-2',
    runtime: 'auto',
    labels: {},
  });
});

test('--runtime, --docker-host and repeated --label; bad values are refused naming the flag', async () => {
  const options = await parse(['--runtime', 'docker', '--docker-host', 'unix:///run/d.sock', '--label', 'zone=a', '--label', 'disk=ssd']) as DaemonOptions;
  assert.equal(options.runtime, 'docker');
  assert.equal(options.dockerHost, 'unix:///run/d.sock');
  assert.deepEqual(options.labels, { zone: 'a', disk: 'ssd' });
  for (const [args, message] of [
    [['--runtime', 'lxc'], /--runtime <name>' argument 'lxc' is invalid/],
    [['--docker-host', '/run/d.sock'], /--docker-host "\/run\/d.sock": expected unix:\/\/\/path or tcp:\/\/host:port/],
    [['--label', 'novalue'], /--label "novalue": expected key=value/],
  ] as const) {
    const { code, stderr } = await berth(['daemon', ...args]);
    assert.equal(code, 2, stderr);
    assert.match(stderr, message);
  }
});

test('TLS: all three files and --tlsverify give verified TLS; a tcp:// address without a port gets 2376', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tls-'));
  try {
    for (const name of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, name), 'x');
    const options = await parse([
      '-H', 'tcp://0.0.0.0', '--tlsverify',
      '--tlscacert', join(dir, 'ca.pem'), '--tlscert', join(dir, 'cert.pem'), '--tlskey', join(dir, 'key.pem'),
    ]);
    assert.ok(!('error' in options));
    assert.deepEqual(options.hosts, ['tcp://0.0.0.0:2376']);
    assert.deepEqual(options.tls, { verify: true, ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') });

    const missingKey = await parse(['--tlsverify', '--tlscacert', join(dir, 'ca.pem'), '--tlscert', join(dir, 'cert.pem')]);
    assert.deepEqual(missingKey, { error: 'TLS needs --tlscacert, --tlscert and --tlskey (missing --tlskey)', exitCode: 2 });

    const unreadable = await parse(['--tlscacert', join(dir, 'ca.pem'), '--tlscert', join(dir, 'nope.pem'), '--tlskey', join(dir, 'key.pem')]);
    assert.deepEqual(unreadable, { error: `cannot read --tlscert ${join(dir, 'nope.pem')}: ENOENT`, exitCode: 2 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a relative unix socket path and a bad log level are refused', async () => {
  assert.deepEqual(await parse(['-H', 'unix://berth.sock']), {
    error: 'invalid host "unix://berth.sock": a unix socket needs an absolute path, as in unix:///run/berth/berth.sock',
    exitCode: 2,
  });
  const level = await parse(['--log-level', 'loud']);
  assert.ok('error' in level && level.exitCode !== 0 && /Allowed choices are fatal, error, warn, info, debug, trace/.test(level.error));
});
