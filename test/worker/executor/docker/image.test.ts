import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { isExecutorError } from '../../../../worker/executor/executor.js';
import type Docker from 'dockerode';
import { silentLogger } from '../../../../worker/executor/docker/engine.js';
import { IMAGE_FACTS_TTL_MS, ImageStore, redact, registryAuthHeader, withDefaultTag } from '../../../../worker/executor/docker/image.js';
import { dockerSuite, dockerTest, sh } from './harness.js';

const suite = dockerSuite(import.meta.url);

test('an untagged image is pulled as :latest; tags, digests and registry ports are kept', () => {
  assert.equal(withDefaultTag('busybox'), 'busybox:latest');
  assert.equal(withDefaultTag('busybox:1.36'), 'busybox:1.36');
  assert.equal(withDefaultTag('localhost:5000/team/app'), 'localhost:5000/team/app:latest');
  assert.equal(withDefaultTag('localhost:5000/team/app:v2'), 'localhost:5000/team/app:v2');
  assert.equal(withDefaultTag('busybox@sha256:abc'), 'busybox@sha256:abc');
});

test('credentials go to the engine as padded URL-safe base64, however the client encoded them', () => {
  const json = JSON.stringify({ username: 'u', password: 'p?>x' });
  const padded = Buffer.from(json).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  assert.ok(padded.endsWith('='));
  assert.equal(registryAuthHeader(Buffer.from(json).toString('base64url')), padded);
  assert.equal(registryAuthHeader(padded), padded);
  assert.equal(registryAuthHeader('not-json'), 'not-json');
});

test('credentials are cut from any text that might echo them', () => {
  const auth = Buffer.from(JSON.stringify({ username: 'u', password: 'hunter22' })).toString('base64url');
  assert.equal(redact(`denied for u/hunter22 (${auth})`, auth), 'denied for u/<redacted> (<redacted>)');
  assert.equal(redact('nothing secret', undefined), 'nothing secret');
});

test('replicas arriving together share one image inspect; the image\'s healthcheck comes with it; forget() asks again', async () => {
  let inspects = 0;
  const engine = {
    getImage: () => ({
      inspect: async () => {
        inspects++;
        await new Promise((r) => setTimeout(r, 5));
        return { Config: { Healthcheck: { Test: ['CMD', 'true'] } } };
      },
    }),
  } as unknown as Docker;
  const images = new ImageStore(engine, 'unix:///x', silentLogger);
  const facts = await Promise.all(Array.from({ length: 20 }, () => images.ensure('app:1')));
  await images.ensure('app:1');
  assert.equal(inspects, 1);
  assert.deepEqual(facts[0].healthcheck, { Test: ['CMD', 'true'] });
  images.forget('app:1');
  await images.ensure('app:1');
  assert.equal(inspects, 2);
  assert.ok(IMAGE_FACTS_TTL_MS <= 30_000, 'a re-tagged image must be seen soon');
});

dockerTest('a local image is used without a pull', async () => {
  const calls: string[] = [];
  const logger = { debug() {}, info(_: object, m?: string) { calls.push(m ?? ''); }, warn() {}, error() {} };
  const c = suite.executor({ logger }).controller(suite.task(sh('true')));
  await c.prepare();
  assert.ok(!calls.includes('pulling image'), calls.join(', '));
  await c.remove();
});

dockerTest('an image that cannot be pulled rejects the task with the engine\'s reason', async () => {
  const c = suite.executor().controller(suite.task(sh('true', { Image: '127.0.0.1:1/berth/nosuch' })));
  await assert.rejects(c.prepare(), (error: unknown) => {
    assert.ok(isExecutorError(error, 'IMAGE_NOT_FOUND'), String(error));
    assert.equal(error.taskState, 'rejected');
    assert.match(error.message, /^No such image: 127\.0\.0\.1:1\/berth\/nosuch \(pull failed: .*connection refused\)$/);
    return true;
  });
});

dockerTest('registry credentials reach the registry in the pull, and nowhere else', async (t) => {
  // A registry that asks for basic auth, records what it got, and has no such image.
  const authorizations: string[] = [];
  const registry = createServer((req, res) => {
    if (req.headers.authorization) authorizations.push(req.headers.authorization);
    if (!req.headers.authorization) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="berth-test"', 'Docker-Distribution-API-Version': 'registry/2.0', 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    res.writeHead(req.url === '/v2/' ? 200 : 404, { 'Docker-Distribution-API-Version': 'registry/2.0', 'Content-Type': 'application/json' });
    res.end(req.url === '/v2/' ? '{}' : JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
  });
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  t.after(() => registry.close());
  const { port } = registry.address() as AddressInfo;

  const password = 'pa55-w0rd-berth';
  const registryAuth = Buffer.from(JSON.stringify({ username: 'deployer', password, serveraddress: `127.0.0.1:${port}` })).toString('base64url');
  const logged: unknown[] = [];
  const record = (object: object, message?: string): void => { logged.push([object, message]); };
  const executor = suite.executor({ logger: { debug: record, info: record, warn: record, error: record } });
  const c = executor.controller(suite.task(sh('true', { Image: `127.0.0.1:${port}/team/private:v1`, PullOptions: { RegistryAuth: registryAuth } })));
  let message = '';
  await assert.rejects(c.prepare(), (error: unknown) => {
    assert.ok(isExecutorError(error, 'IMAGE_NOT_FOUND'), String(error));
    message = error.message;
    return true;
  });
  assert.ok(authorizations.includes(`Basic ${Buffer.from(`deployer:${password}`).toString('base64')}`), JSON.stringify(authorizations));
  assert.match(message, /^No such image: 127\.0\.0\.1:\d+\/team\/private:v1 \(pull failed: .*\)$/);
  for (const text of [message, JSON.stringify(logged)]) {
    assert.ok(!text.includes(password), text);
    assert.ok(!text.includes(registryAuth), text);
  }
});
