// Who a caller is, and what it may call: peerIdentity's own checks on the presented certificate,
// and the one-port rules of clusterServerCredentials seen from real clients.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { clusterClientCredentials, joinCluster } from '../../../manager/ca/client-credentials.js';
import { createClusterCA, issueNodeIdentity } from '../../../manager/ca/cluster-ca.js';
import { peerIdentity, requireRole } from '../../../manager/ca/peer-identity.js';
import type { CallWithAuthContext } from '../../../manager/ca/peer-identity.js';
import { StatusError } from '../../../manager/ca/status-error.js';
import { NODE_CA_METHODS } from '../../../manager/ca/node-ca-service.js';
import { newObjectId } from '../../../manager/store/index.js';
import { DAY_MS, parseNodeCertificate } from '../../../shared/pki/index.js';
import type { NodeIdentity } from '../../../shared/pki/index.js';
import { PROBE_METHODS, callRaw, startCaCluster } from './ca-cluster.js';

/** A call as grpc-js hands it to a handler, presenting `certPem` (or nothing). */
function callPresenting(certPem?: string): CallWithAuthContext {
  return {
    getAuthContext: () => (certPem ? { sslPeerCertificate: { raw: new X509Certificate(certPem).raw } } : {}),
  };
}

async function identities(): Promise<{ caPem: string; worker: NodeIdentity; manager: NodeIdentity; foreign: NodeIdentity }> {
  const ca = await createClusterCA(newObjectId());
  const other = await createClusterCA(newObjectId());
  return {
    caPem: ca.RootCA.CACert,
    worker: await issueNodeIdentity(ca.RootCA, newObjectId(), 'worker'),
    manager: await issueNodeIdentity(ca.RootCA, newObjectId(), 'manager'),
    foreign: await issueNodeIdentity(other.RootCA, newObjectId(), 'manager'),
  };
}

describe('peerIdentity', () => {
  it('returns the node ID and role of a certificate issued by our CA', async () => {
    const { caPem, worker } = await identities();
    const info = parseNodeCertificate(worker.certPem);
    assert.deepEqual(peerIdentity(callPresenting(worker.certPem), caPem),
      { nodeId: info.nodeId, role: 'worker', clusterId: info.clusterId, fingerprint: info.fingerprint });
  });

  it('rejects a certificate from a foreign CA, even one claiming the manager role', async () => {
    const { caPem, foreign } = await identities();
    assert.equal(peerIdentity(callPresenting(foreign.certPem), caPem), null);
  });

  it('rejects a certificate outside its validity period', async () => {
    const { caPem, worker } = await identities();
    const { notBefore, notAfter } = parseNodeCertificate(worker.certPem);
    assert.equal(peerIdentity(callPresenting(worker.certPem), caPem, new Date(notAfter.getTime() + 1000)), null);
    assert.equal(peerIdentity(callPresenting(worker.certPem), caPem, new Date(notBefore.getTime() - 1000)), null);
    assert.ok(peerIdentity(callPresenting(worker.certPem), caPem, new Date(notAfter.getTime() - DAY_MS)));
  });

  it('rejects no certificate, garbage, and the CA certificate itself', async () => {
    const { caPem } = await identities();
    assert.equal(peerIdentity(callPresenting(), caPem), null);
    assert.equal(peerIdentity({ getAuthContext: () => null }, caPem), null);
    assert.equal(peerIdentity({ getAuthContext: () => ({ sslPeerCertificate: { raw: Buffer.from('not DER') } }) }, caPem), null);
    assert.equal(peerIdentity(callPresenting(caPem), caPem), null, 'the self-signed root verifies but is no node certificate');
  });
});

describe('requireRole', () => {
  it('denies a worker a manager-only call, naming the role needed', async () => {
    const { caPem, worker } = await identities();
    const denied = requireRole(callPresenting(worker.certPem), caPem, 'manager');
    assert.ok(denied instanceof StatusError);
    assert.equal(denied.code, grpc.status.PERMISSION_DENIED);
    assert.match(denied.message, /needs the manager role; node [0-9a-z]{25} has the worker role/);
  });

  it('grants managers the worker role too (every manager runs a worker agent)', async () => {
    const { caPem, manager } = await identities();
    const peer = requireRole(callPresenting(manager.certPem), caPem, 'worker');
    assert.ok(!(peer instanceof StatusError));
    assert.equal(peer.role, 'manager');
  });

  it('answers UNAUTHENTICATED without a verified certificate', async () => {
    const { caPem, foreign } = await identities();
    const denied = requireRole(callPresenting(foreign.certPem), caPem, 'worker');
    assert.ok(denied instanceof StatusError);
    assert.equal(denied.code, grpc.status.UNAUTHENTICATED);
  });
});

describe('clusterServerCredentials', () => {
  it('lets a worker call member methods but denies it a manager-only method', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const worker = await joinCluster({ managerAddr: cluster.leader.addr, token: cluster.ca.JoinTokens.Worker });
    const credentials = clusterClientCredentials(worker);
    assert.equal((await callRaw(cluster.leader.addr, credentials, PROBE_METHODS.anyMember)).toString(), worker.nodeId);
    await assert.rejects(callRaw(cluster.leader.addr, credentials, PROBE_METHODS.managerOnly), (error: grpc.ServiceError) => {
      assert.equal(error.code, grpc.status.PERMISSION_DENIED);
      assert.match(error.details, /needs the manager role/);
      return true;
    });
  });

  it('refuses member methods to a client certificate from a foreign CA', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const other = await createClusterCA(newObjectId());
    const foreign = await issueNodeIdentity(other.RootCA, newObjectId(), 'manager');
    // The client trusts our CA (so the handshake completes) but presents the foreign certificate.
    const credentials = grpc.credentials.createSsl(Buffer.from(cluster.ca.RootCA.CACert), Buffer.from(foreign.keyPem), Buffer.from(foreign.certPem));
    await assert.rejects(callRaw(cluster.leader.addr, credentials, PROBE_METHODS.managerOnly), (error: grpc.ServiceError) => {
      assert.equal(error.code, grpc.status.UNAUTHENTICATED);
      assert.match(error.details, /needs a client certificate issued by the cluster CA/);
      return true;
    });
  });

  it('without a client certificate, allows only the joining calls', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    const noCert = grpc.credentials.createSsl(Buffer.from(cluster.ca.RootCA.CACert));
    await assert.rejects(callRaw(cluster.leader.addr, noCert, PROBE_METHODS.anyMember),
      (error: grpc.ServiceError) => error.code === grpc.status.UNAUTHENTICATED && /may only call GetRootCA and IssueNodeCertificate/.test(error.details));
    // GetRootCA's empty request is zero bytes on the wire.
    const answer = await callRaw(cluster.leader.addr, noCert, NODE_CA_METHODS.getRootCA);
    assert.ok(answer.toString('latin1').includes('BEGIN CERTIFICATE'));
  });

  it('serves a replaced identity on new connections without a restart', async () => {
    const cluster = await startCaCluster({ followers: 0 });
    /** The fingerprint of the certificate a fresh TLS handshake with the server sees. */
    const served = (): Promise<string> => new Promise((resolve, reject) => {
      const [host, port] = cluster.leader.addr.split(':');
      const socket = connect({ host, port: Number(port), ca: cluster.ca.RootCA.CACert, servername: 'swarm-manager', ALPNProtocols: ['h2'] }, () => {
        const raw = socket.getPeerCertificate().raw;
        socket.destroy();
        resolve(parseNodeCertificate(raw).fingerprint);
      });
      socket.on('error', reject);
    });
    const original = cluster.leader.provider.identity;
    assert.equal(await served(), parseNodeCertificate(original.certPem).fingerprint);

    const renewed = await issueNodeIdentity(cluster.ca.RootCA, cluster.leader.nodeId, 'manager');
    cluster.leader.provider.replace(renewed);
    assert.equal(await served(), parseNodeCertificate(renewed.certPem).fingerprint);
    // And gRPC clients keep working against the renewed server.
    const member = await joinCluster({ managerAddr: cluster.leader.addr, token: cluster.ca.JoinTokens.Manager });
    assert.equal((await callRaw(cluster.leader.addr, clusterClientCredentials(member), PROBE_METHODS.managerOnly)).toString(), member.nodeId);
  });
});
