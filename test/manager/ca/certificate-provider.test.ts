// The in-memory provider grpc-js credentials are built on: current material to new listeners,
// renewed material to existing ones, and no half-valid identity ever.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NodeCertificateProvider } from '../../../manager/ca/certificate-provider.js';
import { createClusterCA, issueNodeIdentity } from '../../../manager/ca/cluster-ca.js';
import { newObjectId } from '../../../manager/store/index.js';
import { generateKeyPair } from '../../../shared/pki/index.js';
import type { experimental } from '@grpc/grpc-js';

async function twoIdentities() {
  const { RootCA } = await createClusterCA(newObjectId());
  const nodeId = newObjectId();
  return { first: await issueNodeIdentity(RootCA, nodeId, 'worker'), second: await issueNodeIdentity(RootCA, nodeId, 'manager') };
}

describe('NodeCertificateProvider', () => {
  it('hands new listeners the current material, after the call that subscribed them returns', async () => {
    const { first } = await twoIdentities();
    const provider = new NodeCertificateProvider(first);
    const identities: experimental.IdentityCertificateUpdate[] = [];
    const cas: experimental.CaCertificateUpdate[] = [];
    provider.addIdentityCertificateListener((u) => identities.push(u!));
    provider.addCaCertificateListener((u) => cas.push(u!));
    assert.equal(identities.length + cas.length, 0, 'grpc-js servers subscribe before they listen for the answer');
    await new Promise((resolve) => process.nextTick(resolve));
    assert.equal(identities[0].certificate.toString(), first.certPem);
    assert.equal(identities[0].privateKey.toString(), first.keyPem);
    assert.equal(cas[0].caCertificate.toString(), first.caPem);
  });

  it('sends a replaced identity to subscribed listeners, and the CA only when it changed', async () => {
    const { first, second } = await twoIdentities();
    const provider = new NodeCertificateProvider(first);
    const identities: string[] = [];
    let caUpdates = 0;
    const removed = (): void => {
      throw new Error('a removed listener was called');
    };
    provider.addIdentityCertificateListener((u) => identities.push(u!.certificate.toString()));
    provider.addCaCertificateListener(() => caUpdates++);
    provider.addIdentityCertificateListener(removed);
    provider.removeIdentityCertificateListener(removed);
    await new Promise((resolve) => process.nextTick(resolve));
    provider.replace(second);
    assert.deepEqual(identities, [first.certPem, second.certPem]);
    assert.equal(caUpdates, 1, 'only the initial CA update: the CA did not change');
    assert.equal(provider.identity, second);
    assert.equal(provider.info.role, 'manager');
  });

  it('refuses an identity whose key does not match its certificate, keeping the old one', async () => {
    const { first, second } = await twoIdentities();
    const provider = new NodeCertificateProvider(first);
    assert.throws(() => provider.replace({ ...second, keyPem: generateKeyPair().privateKeyPem }), /does not certify the identity's private key/);
    assert.equal(provider.identity, first);
  });
});
