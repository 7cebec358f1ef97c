// Joining a real cluster through its managers' gRPC servers: the door every new node uses.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { joinCluster, fetchRootCA, clusterClientCredentials } from '../../../manager/ca/client-credentials.js';
import { createClusterCA, rotateJoinToken } from '../../../manager/ca/cluster-ca.js';
import { StatusError } from '../../../manager/ca/status-error.js';
import { newObjectId } from '../../../manager/store/index.js';
import {
  caDigest, checkNodeIdentity, generateJoinToken, generateKeyPair, parseNodeCertificate, verifyIssuedBy,
} from '../../../shared/pki/index.js';
import { PROBE_METHODS, callRaw, startCaCluster } from './ca-cluster.js';

/** Rejects with a StatusError whose code and message match. */
async function refused(promise: Promise<unknown>, code: grpc.status, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StatusError, `expected a StatusError, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${grpc.status[code]}, got ${grpc.status[error.code]}: ${error.message}`);
    assert.match(error.message, message);
    return true;
  });
}

describe('joinCluster', () => {
  it('with the worker token yields a worker certificate from the cluster CA and a worker Node in the store', async () => {
    const cluster = await startCaCluster();
    const joined = await joinCluster({ managerAddr: cluster.leader.addr, token: cluster.ca.JoinTokens.Worker, advertiseAddr: '10.0.0.7:4243' });

    assert.equal(joined.role, 'worker');
    assert.equal(joined.caPem, cluster.ca.RootCA.CACert);
    const info = checkNodeIdentity(joined);
    assert.deepEqual([info.nodeId, info.role, info.clusterId], [joined.nodeId, 'worker', cluster.clusterId]);

    await cluster.settle();
    for (const manager of cluster.managers) {
      const node = manager.store.get('node', joined.nodeId);
      assert.ok(node, 'every manager holds the new Node object');
      assert.equal(node.Spec.Role, 'worker');
      assert.equal(node.Spec.Availability, 'active');
      assert.deepEqual(node.Spec.Labels, {});
      assert.deepEqual(node.Status, { State: 'unknown', Addr: '10.0.0.7:4243' });
    }
  });

  it('with the manager token yields a manager certificate and a manager Node', async () => {
    const cluster = await startCaCluster();
    const joined = await joinCluster({ managerAddr: cluster.leader.addr, token: cluster.ca.JoinTokens.Manager, availability: 'drain' });

    assert.equal(joined.role, 'manager');
    assert.equal(parseNodeCertificate(joined.certPem).role, 'manager');
    const node = cluster.leader.store.get('node', joined.nodeId)!;
    assert.equal(node.Spec.Role, 'manager');
    assert.equal(node.Spec.Availability, 'drain');
    assert.equal(node.Status?.Addr, '127.0.0.1', 'without an advertised address the manager records the address it saw');
  });

  it('certifies the key the node brings, and that key only', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const { privateKeyPem, publicKeyPem } = generateKeyPair();
    const joined = await joinCluster({ managerAddr: cluster.leader.addr, token: cluster.ca.JoinTokens.Worker, keyPem: privateKeyPem });
    assert.equal(joined.keyPem, privateKeyPem);
    assert.equal(new X509Certificate(joined.certPem).publicKey.export({ type: 'spki', format: 'pem' }), publicKeyPem);
  });

  it('through a follower, follows the redirect to the leader', async () => {
    const cluster = await startCaCluster();
    const joined = await joinCluster({ managerAddr: cluster.followers[0].addr, token: cluster.ca.JoinTokens.Worker });
    assert.equal(joined.role, 'worker');
    assert.ok(cluster.leader.store.get('node', joined.nodeId));
  });

  it('refuses a wrong token with a clear error and creates no Node', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const nodesBefore = cluster.leader.store.find('node').length;
    // Pins the right CA, so it gets as far as the manager's token check.
    const wrong = generateJoinToken(cluster.ca.RootCA.CACert);
    await refused(joinCluster({ managerAddr: cluster.leader.addr, token: wrong }), grpc.status.PERMISSION_DENIED, /invalid join token/);
    assert.equal(cluster.leader.store.find('node').length, nodesBefore);
  });

  it('refuses a rotated (old) token, accepts the new one, and leaves members already joined working', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const old = cluster.ca.JoinTokens.Worker;
    const member = await joinCluster({ managerAddr: cluster.leader.addr, token: old });
    const fresh = await rotateJoinToken(cluster.leader.store, 'worker');
    assert.notEqual(fresh, old);
    const nodesBefore = cluster.leader.store.find('node').length;

    await refused(joinCluster({ managerAddr: cluster.leader.addr, token: old }), grpc.status.PERMISSION_DENIED, /invalid join token/);
    assert.equal(cluster.leader.store.find('node').length, nodesBefore, 'no Node object for the refused join');

    const newcomer = await joinCluster({ managerAddr: cluster.leader.addr, token: fresh });
    assert.equal(newcomer.role, 'worker');
    // The certificate issued under the old token still opens member-only calls.
    const answer = await callRaw(cluster.leader.addr, clusterClientCredentials(member), PROBE_METHODS.anyMember);
    assert.equal(answer.toString(), member.nodeId);
  });

  it('refuses, before sending anything, a token that pins a different CA', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const otherCA = await createClusterCA(newObjectId());
    const nodesBefore = cluster.leader.store.find('node').length;
    await refused(
      joinCluster({ managerAddr: cluster.leader.addr, token: otherCA.JoinTokens.Worker }),
      grpc.status.PERMISSION_DENIED,
      new RegExp(`the CA presented by ${cluster.leader.addr.replace(/\./g, '\\.')} does not match the join token`),
    );
    assert.equal(cluster.leader.store.find('node').length, nodesBefore);
  });

  it('rejects a malformed token locally with the format error', async () => {
    await assert.rejects(joinCluster({ managerAddr: '127.0.0.1:1', token: 'SWMTKN-1-abc-def' }), /malformed join token: the CA digest must be 50 characters/);
  });
});

describe('fetchRootCA', () => {
  it('returns the CA a manager serves without verifying the manager first', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const caPem = await fetchRootCA(cluster.leader.addr);
    assert.equal(caDigest(caPem), caDigest(cluster.ca.RootCA.CACert));
  });
});

describe('clusterClientCredentials', () => {
  it('connects with mutual TLS as the node the certificate names', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const joined = await joinCluster({ managerAddr: cluster.leader.addr, token: cluster.ca.JoinTokens.Manager });
    const answer = await callRaw(cluster.leader.addr, clusterClientCredentials(joined), PROBE_METHODS.managerOnly);
    assert.equal(answer.toString(), joined.nodeId);
  });

  it('refuses a server whose certificate is not a manager certificate of the cluster CA', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const joined = await joinCluster({ managerAddr: cluster.leader.addr, token: cluster.ca.JoinTokens.Worker });
    // Same CA, but the server now presents a worker certificate: not a manager.
    cluster.leader.provider.replace({ caPem: joined.caPem, certPem: joined.certPem, keyPem: joined.keyPem });
    assert.ok(verifyIssuedBy(joined.certPem, cluster.ca.RootCA.CACert));
    await assert.rejects(callRaw(cluster.leader.addr, clusterClientCredentials(joined), PROBE_METHODS.anyMember),
      (error: grpc.ServiceError) => error.code === grpc.status.UNAVAILABLE && /swarm-manager/.test(error.details));
  });
});
