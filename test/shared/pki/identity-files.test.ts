import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  IDENTITY_FILES, createCsr, createRootCA, generateKeyPair, loadNodeIdentity, saveNodeIdentity, signNodeCertificate,
} from '../../../shared/pki/index.js';
import type { NodeIdentity } from '../../../shared/pki/index.js';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-pki-'));
  dirs.push(dir);
  return dir;
}

async function anIdentity(): Promise<NodeIdentity> {
  const root = await createRootCA('cluster1');
  const { privateKeyPem } = generateKeyPair();
  const certPem = await signNodeCertificate({
    csrPem: await createCsr(privateKeyPem), caCertPem: root.certPem, caKeyPem: root.keyPem, nodeId: 'node1', role: 'worker',
  });
  return { caPem: root.certPem, certPem, keyPem: privateKeyPem };
}

describe('node identity files', () => {
  it('are written with the key readable by its owner only (0600) and certificates 0644, and read back', async () => {
    const dir = join(await tempDir(), 'certificates');
    const identity = await anIdentity();
    await saveNodeIdentity(dir, identity);
    assert.equal((await stat(join(dir, IDENTITY_FILES.key))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, IDENTITY_FILES.cert))).mode & 0o777, 0o644);
    assert.equal((await stat(join(dir, IDENTITY_FILES.ca))).mode & 0o777, 0o644);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.deepEqual(await loadNodeIdentity(dir), identity);
  });

  it('replace an earlier identity in place, leaving no temporary files', async () => {
    const dir = await tempDir();
    await saveNodeIdentity(dir, await anIdentity());
    const renewed = await anIdentity();
    await saveNodeIdentity(dir, renewed);
    assert.deepEqual(await loadNodeIdentity(dir), renewed);
    assert.deepEqual((await readdir(dir)).sort(), Object.values(IDENTITY_FILES).sort());
    assert.equal((await stat(join(dir, IDENTITY_FILES.key))).mode & 0o777, 0o600);
  });

  it('load as null when absent', async () => {
    assert.equal(await loadNodeIdentity(await tempDir()), null);
    assert.equal(await loadNodeIdentity(join(await tempDir(), 'never-created')), null);
  });

  it('that are partial or mismatched are reported, not used', async () => {
    const dir = await tempDir();
    await saveNodeIdentity(dir, await anIdentity());
    await writeFile(join(dir, IDENTITY_FILES.key), generateKeyPair().privateKeyPem);
    await assert.rejects(loadNodeIdentity(dir), /unusable: node certificate [0-9a-f]{64} does not certify the identity's private key/);
    await unlink(join(dir, IDENTITY_FILES.key));
    await assert.rejects(loadNodeIdentity(dir), /incomplete \(missing node.key\)/);
  });

  it('refuse to save an identity whose parts do not belong together', async () => {
    const identity = await anIdentity();
    const other = await anIdentity();
    await assert.rejects(saveNodeIdentity(await tempDir(), { ...identity, caPem: other.caPem }), /was not issued by the identity's CA/);
  });
});
