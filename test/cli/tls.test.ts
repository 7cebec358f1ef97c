// The client over tcp with TLS, against a replay server that requires client certificates from its
// CA, as a berth daemon started with --tlsverify does. Certificates are made with openssl.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recorded, ReplayServer } from './replay-server.js';
import { berth } from './run-berth.js';

let dir = '';
let server: ReplayServer;
const file = (name: string): string => join(dir, name);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-cli-tls-'));
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  writeFileSync(file('leaf.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  for (const ca of ['ca', 'other-ca']) {
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${ca}.key`);
    openssl('req', '-x509', '-new', '-key', `${ca}.key`, '-sha256', '-days', '1', '-subj', `/CN=${ca}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-out', `${ca}.crt`);
  }
  for (const [leaf, ca] of [['daemon', 'ca'], ['client', 'ca'], ['rogue', 'other-ca']]) {
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${leaf}.key`);
    openssl('req', '-new', '-key', `${leaf}.key`, '-subj', `/CN=${leaf}`, '-out', `${leaf}.csr`);
    openssl('x509', '-req', '-in', `${leaf}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
      '-days', '1', '-sha256', '-extfile', 'leaf.ext', '-out', `${leaf}.crt`);
  }
  server = await ReplayServer.start(recorded('node ls'), {
    ca: readFileSync(file('ca.crt')), cert: readFileSync(file('daemon.crt')), key: readFileSync(file('daemon.key')),
  });
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const clientCert = (name: string): string[] => ['--tlscert', file(`${name}.crt`), '--tlskey', file(`${name}.key`)];

test('--tlsverify with the cluster CA and a client certificate: the same requests as over the socket', async () => {
  const before = server.requests.length;
  const { code, stdout, stderr } = await berth(['-H', server.host, '--tlsverify', '--tlscacert', file('ca.crt'), ...clientCert('client'), 'node', 'ls', '-q']);
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.equal(stdout, 'zczb4ttv0u9mhmx01v3pjre8o\n');
  assert.deepEqual(server.sent().slice(before), ['HEAD /_ping', 'GET /nodes']);
});

test('--tlsverify refuses a daemon whose certificate another CA signed', async () => {
  const { code, stderr } = await berth(['-H', server.host, '--tlsverify', '--tlscacert', file('other-ca.crt'), ...clientCert('client'), 'node', 'ls']);
  assert.equal(code, 1);
  assert.match(stderr, /^berth: error during connect: HEAD tcp:\/\/127\.0\.0\.1:\d+\/_ping: /);
});

test('a client certificate from another CA, or none, is refused by the daemon', async () => {
  for (const certFlags of [clientCert('rogue'), []]) {
    const { code, stderr } = await berth(['-H', server.host, '--tlsverify', '--tlscacert', file('ca.crt'), ...certFlags, 'node', 'ls']);
    assert.equal(code, 1);
    assert.match(stderr, /^berth: error during connect: /);
  }
});

test('--tls alone encrypts without checking the daemon certificate', async () => {
  const { code, stdout } = await berth(['-H', server.host, '--tls', ...clientCert('client'), 'node', 'ls', '-q']);
  assert.equal(code, 0);
  assert.equal(stdout, 'zczb4ttv0u9mhmx01v3pjre8o\n');
});

test('an unreadable certificate file is named in the error', async () => {
  const { code, stderr } = await berth(['-H', server.host, '--tlsverify', '--tlscert', file('nope.crt'), '--tlskey', file('client.key'), 'node', 'ls']);
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`^berth: cannot read --tlscert ${file('nope.crt')}: ENOENT`));
});
