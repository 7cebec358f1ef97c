import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  CLOCK_SKEW_BACKDATE_MS, ROOT_CA_VALIDITY_MS, certificateMatchesKey, clusterIdOfRootCA, createRootCA,
} from '../../../shared/pki/index.js';
import { x509 } from '../../../shared/pki/x509-library.js';

const NOW = new Date('2030-06-01T12:00:00Z');

describe('createRootCA', () => {
  it('is a self-signed CA named berth-root-ca for the cluster, valid for about 20 years', async () => {
    const root = await createRootCA('cluster1', { now: NOW });
    const cert = new X509Certificate(root.certPem);
    assert.equal(cert.ca, true);
    assert.equal(cert.subject, 'CN=berth-root-ca\nO=cluster1');
    assert.equal(cert.issuer, cert.subject);
    assert.ok(cert.verify(cert.publicKey), 'self-signed');
    assert.equal(clusterIdOfRootCA(root.certPem), 'cluster1');
    assert.equal(new Date(cert.validFrom).getTime(), NOW.getTime() - CLOCK_SKEW_BACKDATE_MS);
    assert.equal(new Date(cert.validTo).getTime(), NOW.getTime() + ROOT_CA_VALIDITY_MS);
    assert.ok(ROOT_CA_VALIDITY_MS >= 19 * 365 * 24 * 3600 * 1000);
    assert.ok(certificateMatchesKey(root.certPem, root.keyPem));
  });

  it('may sign certificates (keyCertSign), and says so in critical extensions', async () => {
    const root = await createRootCA('cluster1');
    const cert = new x509.X509Certificate(root.certPem);
    const constraints = cert.getExtension(x509.BasicConstraintsExtension)!;
    assert.equal(constraints.ca, true);
    assert.equal(constraints.critical, true);
    const usage = cert.getExtension(x509.KeyUsagesExtension)!;
    assert.ok(usage.usages & x509.KeyUsageFlags.keyCertSign);
    assert.equal(usage.critical, true);
  });

  it('needs a cluster ID', async () => {
    await assert.rejects(createRootCA(''), /needs the cluster ID/);
  });
});
