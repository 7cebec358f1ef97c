import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { generateKeyPair, publicKeyDerOf } from '../../../shared/pki/index.js';

describe('generateKeyPair', () => {
  it('makes ECDSA P-256 keys as PKCS#8 and SPKI PEM', () => {
    const { privateKeyPem, publicKeyPem } = generateKeyPair();
    assert.match(privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/);
    const key = createPrivateKey(privateKeyPem);
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.deepEqual(publicKeyDerOf(privateKeyPem), createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' }));
  });

  it('never repeats a key', () => {
    assert.notEqual(generateKeyPair().privateKeyPem, generateKeyPair().privateKeyPem);
  });
});
