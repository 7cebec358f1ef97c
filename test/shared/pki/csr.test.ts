import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  InvalidCsrError, MAX_CSR_BYTES, createCsr, generateKeyPair, parseCsr, publicKeyDerOf,
} from '../../../shared/pki/index.js';
import { x509 } from '../../../shared/pki/x509-library.js';

describe('CSRs', () => {
  it('round-trip the node ID and the public key', async () => {
    const { privateKeyPem } = generateKeyPair();
    const csr = await createCsr(privateKeyPem, 'node0000000000000000000001');
    assert.match(csr, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
    const info = await parseCsr(csr);
    assert.equal(info.nodeId, 'node0000000000000000000001');
    assert.deepEqual(Buffer.from(info.publicKeyDer), publicKeyDerOf(privateKeyPem));
  });

  it('may leave the node ID out (a joining node has none yet)', async () => {
    const info = await parseCsr(await createCsr(generateKeyPair().privateKeyPem));
    assert.equal(info.nodeId, null);
  });

  it('are refused when the signature does not match the key', async () => {
    const csr = new x509.Pkcs10CertificateRequest(await createCsr(generateKeyPair().privateKeyPem, 'abc'));
    const raw = new Uint8Array(csr.rawData);
    raw[raw.length - 5] ^= 0xff; // inside the signature value
    const tampered = new x509.Pkcs10CertificateRequest(raw).toString('pem');
    await assert.rejects(parseCsr(tampered), (error: Error) => error instanceof InvalidCsrError && /signature/.test(error.message));
  });

  it('are refused for keys other than P-256', async () => {
    const keys = await webcrypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']);
    const rsa = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' } });
    await assert.rejects(parseCsr(rsa.toString('pem')), /ECDSA P-256 keys only/);
  });

  it('are refused when empty, not PEM, unparseable or oversized, with the reason', async () => {
    await assert.rejects(parseCsr(''), /invalid certificate signing request: it is empty/);
    await assert.rejects(parseCsr('hello'), /not PEM with a "CERTIFICATE REQUEST" block/);
    await assert.rejects(parseCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n'), /cannot be parsed/);
    await assert.rejects(parseCsr('-----BEGIN CERTIFICATE REQUEST-----\n' + 'A'.repeat(MAX_CSR_BYTES)), /larger than/);
  });
});
