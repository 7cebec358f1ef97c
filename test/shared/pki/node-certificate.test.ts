import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  CLOCK_SKEW_BACKDATE_MS, NODE_CERT_VALIDITY_MS, createCsr, createRootCA, generateKeyPair, parseNodeCertificate, signNodeCertificate,
  verifyIssuedBy, certificateMatchesKey, DAY_MS,
} from '../../../shared/pki/index.js';
import type { NodeRole, RootCA } from '../../../shared/pki/index.js';
import { x509 } from '../../../shared/pki/x509-library.js';

const NOW = new Date('2030-06-01T12:00:00Z');
const NODE_ID = '0d8qf4nr1jmwv3g3o7q1v6k2b';

async function issue(root: RootCA, role: NodeRole, options: { validityMs?: number; now?: Date } = {}): Promise<{ certPem: string; keyPem: string }> {
  const { privateKeyPem } = generateKeyPair();
  const certPem = await signNodeCertificate({
    csrPem: await createCsr(privateKeyPem), caCertPem: root.certPem, caKeyPem: root.keyPem, nodeId: NODE_ID, role, now: options.now ?? NOW, validityMs: options.validityMs,
  });
  return { certPem, keyPem: privateKeyPem };
}

describe('signNodeCertificate', () => {
  it('puts node ID, role and cluster ID in the subject, SwarmKit style', async () => {
    const root = await createRootCA('cluster1', { now: NOW });
    const { certPem } = await issue(root, 'worker');
    const cert = new X509Certificate(certPem);
    assert.equal(cert.subject, `O=cluster1\nOU=swarm-worker\nCN=${NODE_ID}`);
    assert.equal(cert.issuer, 'CN=berth-root-ca\nO=cluster1');
    assert.equal(cert.subjectAltName, `DNS:${NODE_ID}, DNS:swarm-worker`);
    assert.equal(cert.ca, false);
  });

  it('gives managers the swarm-manager OU and SAN', async () => {
    const root = await createRootCA('cluster1', { now: NOW });
    const cert = new X509Certificate((await issue(root, 'manager')).certPem);
    assert.match(cert.subject, /^OU=swarm-manager$/m);
    assert.equal(cert.checkHost('swarm-manager'), 'swarm-manager');
  });

  it('allows TLS server and client use with digitalSignature + keyEncipherment', async () => {
    const root = await createRootCA('cluster1', { now: NOW });
    const { certPem } = await issue(root, 'worker');
    assert.deepEqual(new X509Certificate(certPem).keyUsage.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    const usage = new x509.X509Certificate(certPem).getExtension(x509.KeyUsagesExtension)!;
    assert.equal(usage.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
  });

  it('is valid for 90 days by default, backdated a minute for clock skew', async () => {
    const root = await createRootCA('cluster1', { now: NOW });
    const info = parseNodeCertificate((await issue(root, 'worker')).certPem);
    assert.equal(NODE_CERT_VALIDITY_MS, 90 * DAY_MS);
    assert.equal(info.notBefore.getTime(), NOW.getTime() - CLOCK_SKEW_BACKDATE_MS);
    assert.equal(info.notAfter.getTime(), NOW.getTime() + NODE_CERT_VALIDITY_MS);
  });

  it('never outlives the CA', async () => {
    const root = await createRootCA('cluster1', { now: NOW });
    const caEnd = new Date(new X509Certificate(root.certPem).validTo);
    const info = parseNodeCertificate((await issue(root, 'worker', { now: new Date(caEnd.getTime() - DAY_MS) })).certPem);
    assert.equal(info.notAfter.getTime(), caEnd.getTime());
  });

  it('certifies the CSR\'s key', async () => {
    const root = await createRootCA('cluster1', { now: NOW });
    const { certPem, keyPem } = await issue(root, 'worker');
    assert.ok(certificateMatchesKey(certPem, keyPem));
    assert.ok(!certificateMatchesKey(certPem, generateKeyPair().privateKeyPem));
  });

  it('refuses a CA key that does not belong to the CA certificate', async () => {
    const root = await createRootCA('cluster1');
    const other = await createRootCA('cluster1');
    await assert.rejects(signNodeCertificate({
      csrPem: await createCsr(generateKeyPair().privateKeyPem), caCertPem: root.certPem, caKeyPem: other.keyPem, nodeId: NODE_ID, role: 'worker',
    }), /the CA key does not belong to the CA certificate/);
  });

  it('refuses node IDs that cannot be DNS names', async () => {
    const root = await createRootCA('cluster1');
    await assert.rejects(signNodeCertificate({
      csrPem: await createCsr(generateKeyPair().privateKeyPem), caCertPem: root.certPem, caKeyPem: root.keyPem, nodeId: 'Bad ID', role: 'worker',
    }), /is not a lowercase DNS label/);
  });
});

describe('parseNodeCertificate', () => {
  it('reads back node ID, role, cluster, validity and fingerprint, from PEM or DER', async () => {
    const root = await createRootCA('cluster1', { now: NOW });
    const { certPem } = await issue(root, 'manager');
    const info = parseNodeCertificate(certPem);
    assert.equal(info.nodeId, NODE_ID);
    assert.equal(info.role, 'manager');
    assert.equal(info.clusterId, 'cluster1');
    assert.match(info.fingerprint, /^[0-9a-f]{64}$/);
    assert.deepEqual(parseNodeCertificate(new X509Certificate(certPem).raw), info);
  });

  it('refuses certificates that are not node certificates', async () => {
    const root = await createRootCA('cluster1');
    assert.throws(() => parseNodeCertificate(root.certPem), /exactly one non-empty OU/);
    assert.throws(() => parseNodeCertificate('nonsense'), /not an X.509 certificate/);
  });
});

describe('verifyIssuedBy', () => {
  it('accepts a certificate from its CA and refuses one from another CA with the same name', async () => {
    const root = await createRootCA('cluster1');
    const impostor = await createRootCA('cluster1');
    const { certPem } = await issue(root, 'worker', { now: new Date() });
    const { certPem: foreign } = await issue(impostor, 'worker', { now: new Date() });
    assert.equal(verifyIssuedBy(certPem, root.certPem), true);
    assert.equal(verifyIssuedBy(foreign, root.certPem), false);
    assert.equal(verifyIssuedBy(certPem, impostor.certPem), false);
  });
});
