// The NodeCA service on real managers: what it checks before issuing, what it writes, and how
// renewal follows the role the store gives a node.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { clusterClientCredentials, joinCluster, renewNodeCertificate } from '../../../manager/ca/client-credentials.js';
import { createClusterCA } from '../../../manager/ca/cluster-ca.js';
import { StatusError } from '../../../manager/ca/status-error.js';
import { thaw } from '../../../manager/store/index.js';
import {
  createCsr, generateKeyPair, parseNodeCertificate, verifyIssuedBy,
} from '../../../shared/pki/index.js';
import { callNodeCA, startCaCluster } from './ca-cluster.js';
import type { CaCluster } from './ca-cluster.js';

/** TLS that verifies the manager but presents no client certificate: a joining node's view. */
function joiningCredentials(cluster: CaCluster): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(cluster.ca.RootCA.CACert));
}

async function refusedWith(promise: Promise<unknown>, code: grpc.status, details: RegExp): Promise<void> {
  await assert.rejects(promise, (error: grpc.ServiceError | StatusError) => {
    assert.equal(error.code, code, `expected ${grpc.status[code]}, got ${grpc.status[error.code]}: ${error.details}`);
    assert.match(error.details, details);
    return true;
  });
}

async function setRole(cluster: CaCluster, nodeId: string, role: 'manager' | 'worker'): Promise<void> {
  await cluster.leader.store.update((tx) => {
    const node = thaw(tx.get('node', nodeId)!);
    node.Spec.Role = role;
    tx.update('node', node);
  });
}

describe('NodeCA.IssueNodeCertificate', () => {
  it('refuses a malformed CSR with INVALID_ARGUMENT and writes nothing', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const nodesBefore = cluster.leader.store.find('node').length;
    await refusedWith(
      callNodeCA(cluster.leader.addr, joiningCredentials(cluster), 'issueNodeCertificate',
        { csr: '-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n-----END CERTIFICATE REQUEST-----\n', token: cluster.ca.JoinTokens.Worker, availability: '', addr: '' }),
      grpc.status.INVALID_ARGUMENT, /invalid certificate signing request/);
    assert.equal(cluster.leader.store.find('node').length, nodesBefore);
  });

  it('refuses a malformed token with INVALID_ARGUMENT naming what is wrong', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const csr = await createCsr(generateKeyPair().privateKeyPem);
    await refusedWith(
      callNodeCA(cluster.leader.addr, joiningCredentials(cluster), 'issueNodeCertificate', { csr, token: 'SWMTKN-2-x-y', availability: '', addr: '' }),
      grpc.status.INVALID_ARGUMENT, /malformed join token: version "2" is not supported/);
  });

  it('refuses a token pinning another CA even when sent straight to the manager', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const csr = await createCsr(generateKeyPair().privateKeyPem);
    const other = await createClusterCA('othercluster');
    await refusedWith(
      callNodeCA(cluster.leader.addr, joiningCredentials(cluster), 'issueNodeCertificate', { csr, token: other.JoinTokens.Manager, availability: '', addr: '' }),
      grpc.status.PERMISSION_DENIED, /invalid join token: it pins a different CA/);
  });

  it('refuses an unknown availability', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    await assert.rejects(
      joinCluster({ managerAddr: cluster.leader.addr, token: cluster.ca.JoinTokens.Worker, availability: 'sleepy' }),
      (error: StatusError) => error.code === grpc.status.INVALID_ARGUMENT && /availability "sleepy" is not one of active, pause, drain/.test(error.message));
  });

  it('on a follower answers FAILED_PRECONDITION naming the leader, in the message and the trailer', async () => {
    const cluster = await startCaCluster();
    const csr = await createCsr(generateKeyPair().privateKeyPem);
    await assert.rejects(
      callNodeCA(cluster.followers[0].addr, joiningCredentials(cluster), 'issueNodeCertificate', { csr, token: cluster.ca.JoinTokens.Worker, availability: '', addr: '' }),
      (error: grpc.ServiceError) => {
        assert.equal(error.code, grpc.status.FAILED_PRECONDITION);
        assert.equal(error.details, `not the leader; leader is at ${cluster.leader.addr}`);
        assert.deepEqual(error.metadata.get('berth-leader-addr'), [cluster.leader.addr]);
        return true;
      });
  });

  it('serves the root CA from followers too', async () => {
    const cluster = await startCaCluster();
    const answer = await callNodeCA(cluster.followers[1].addr, joiningCredentials(cluster), 'getRootCA', {});
    assert.equal(answer.certificate, cluster.ca.RootCA.CACert);
  });
});

describe('NodeCA.RenewNodeCertificate', () => {
  it('issues a new certificate whose role follows Node.Spec.Role (promotion, then demotion)', async () => {
    const cluster = await startCaCluster();
    const worker = await joinCluster({ managerAddr: cluster.leader.addr, token: cluster.ca.JoinTokens.Worker });

    await setRole(cluster, worker.nodeId, 'manager');
    const promoted = await renewNodeCertificate({ managerAddr: cluster.followers[0].addr, identity: worker });
    assert.equal(promoted.nodeId, worker.nodeId);
    assert.equal(promoted.role, 'manager');
    assert.equal(parseNodeCertificate(promoted.certPem).role, 'manager');
    assert.ok(verifyIssuedBy(promoted.certPem, cluster.ca.RootCA.CACert));
    assert.notEqual(promoted.keyPem, worker.keyPem, 'each renewal certifies a fresh key');

    await setRole(cluster, worker.nodeId, 'worker');
    const demoted = await renewNodeCertificate({ managerAddr: cluster.leader.addr, identity: promoted });
    assert.equal(demoted.role, 'worker');
    assert.equal(parseNodeCertificate(demoted.certPem).nodeId, worker.nodeId);
  });

  it('needs the caller\'s client certificate', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const csr = await createCsr(generateKeyPair().privateKeyPem);
    await refusedWith(
      callNodeCA(cluster.leader.addr, joiningCredentials(cluster), 'renewNodeCertificate', { csr }),
      grpc.status.UNAUTHENTICATED, /needs a client certificate issued by the cluster CA/);
  });

  it('refuses a node that was removed from the cluster', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const worker = await joinCluster({ managerAddr: cluster.leader.addr, token: cluster.ca.JoinTokens.Worker });
    await cluster.leader.store.update((tx) => tx.delete('node', worker.nodeId));
    await assert.rejects(renewNodeCertificate({ managerAddr: cluster.leader.addr, identity: worker }),
      (error: StatusError) => error.code === grpc.status.PERMISSION_DENIED && /no longer a member of the cluster/.test(error.message));
  });

  it('refuses a CSR that names another node', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const worker = await joinCluster({ managerAddr: cluster.leader.addr, token: cluster.ca.JoinTokens.Worker });
    const csr = await createCsr(generateKeyPair().privateKeyPem, cluster.leader.nodeId);
    await refusedWith(
      callNodeCA(cluster.leader.addr, clusterClientCredentials(worker), 'renewNodeCertificate', { csr }),
      grpc.status.INVALID_ARGUMENT, new RegExp(`the CSR names node ${cluster.leader.nodeId}, but the caller is node ${worker.nodeId}`));
  });

  it('leaves the previous certificate valid (renewal is not revocation)', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const worker = await joinCluster({ managerAddr: cluster.leader.addr, token: cluster.ca.JoinTokens.Worker });
    await renewNodeCertificate({ managerAddr: cluster.leader.addr, identity: worker });
    const again = await renewNodeCertificate({ managerAddr: cluster.leader.addr, identity: worker });
    assert.equal(again.nodeId, worker.nodeId);
  });
});
