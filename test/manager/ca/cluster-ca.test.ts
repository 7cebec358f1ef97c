// The CA material in the cluster object: created at init, read back from the store, tokens
// rotated through a real replicated store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClusterCAMissingError, createClusterCA, findClusterCA, issueNodeIdentity, newClusterObject, readClusterCA, roleForJoinToken,
  rotateJoinToken, withRotatedJoinToken,
} from '../../../manager/ca/cluster-ca.js';
import { newObjectId } from '../../../manager/store/index.js';
import type { Cluster, Frozen } from '../../../manager/store/index.js';
import {
  JOIN_TOKEN_PATTERN, caMatchesToken, checkNodeIdentity, clusterIdOfRootCA, generateJoinToken,
} from '../../../shared/pki/index.js';
import { startCaCluster } from './ca-cluster.js';

describe('createClusterCA', () => {
  it('makes a root CA for the cluster and two distinct tokens pinning it', async () => {
    const clusterId = newObjectId();
    const ca = await createClusterCA(clusterId);
    assert.equal(clusterIdOfRootCA(ca.RootCA.CACert), clusterId);
    assert.match(ca.RootCA.CAKey, /^-----BEGIN PRIVATE KEY-----/);
    assert.match(ca.RootCA.CACertHash, /^sha256:[0-9a-f]{64}$/);
    for (const token of [ca.JoinTokens.Worker, ca.JoinTokens.Manager]) {
      assert.match(token, JOIN_TOKEN_PATTERN);
      assert.ok(caMatchesToken(ca.RootCA.CACert, token));
    }
    assert.notEqual(ca.JoinTokens.Worker, ca.JoinTokens.Manager);
  });
});

describe('roleForJoinToken', () => {
  it('maps each token to its role and anything else to null', async () => {
    const ca = await createClusterCA(newObjectId());
    assert.equal(roleForJoinToken(ca, ca.JoinTokens.Worker), 'worker');
    assert.equal(roleForJoinToken(ca, ca.JoinTokens.Manager), 'manager');
    assert.equal(roleForJoinToken(ca, ` ${ca.JoinTokens.Manager}\n`), 'manager', 'pasted with whitespace');
    assert.equal(roleForJoinToken(ca, generateJoinToken(ca.RootCA.CACert)), null);
    assert.equal(roleForJoinToken(ca, ca.JoinTokens.Worker.slice(0, -1)), null);
  });
});

describe('the cluster object', () => {
  it('carries the CA through the store, readable on every manager', async () => {
    const cluster = await startCaCluster();
    for (const manager of cluster.managers) {
      const found = findClusterCA(manager.store);
      assert.equal(found.cluster.ID, cluster.clusterId);
      assert.equal(found.cluster.Spec.Name, 'default');
      assert.deepEqual(found.ca, cluster.ca);
    }
  });

  it('without CA material is reported as such', () => {
    const bare = { ID: newObjectId(), Spec: { Name: 'default' }, Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '' } as Frozen<Cluster>;
    assert.throws(() => readClusterCA(bare), ClusterCAMissingError);
    assert.throws(() => readClusterCA(bare), /has no RootCA.CACert and RootCA.CAKey/);
  });

  it('names the cluster after the CA', async () => {
    const ca = await createClusterCA('abc');
    assert.equal(newClusterObject(ca).ID, 'abc');
  });
});

describe('join token rotation', () => {
  it('replaces only the rotated role\'s token, with one pinning the same CA', async () => {
    const ca = await createClusterCA(newObjectId());
    const stored = { ...newClusterObject(ca), Version: { Index: 3 }, CreatedAt: '', UpdatedAt: '' } as Frozen<Cluster>;
    const rotated = readClusterCA(withRotatedJoinToken(stored, 'worker'));
    assert.notEqual(rotated.JoinTokens.Worker, ca.JoinTokens.Worker);
    assert.equal(rotated.JoinTokens.Manager, ca.JoinTokens.Manager);
    assert.ok(caMatchesToken(ca.RootCA.CACert, rotated.JoinTokens.Worker));
    assert.deepEqual(rotated.RootCA, ca.RootCA, 'rotation leaves the CA alone');
  });

  it('commits through raft: every manager refuses the old token and knows the new one', async () => {
    const cluster = await startCaCluster();
    const fresh = await rotateJoinToken(cluster.leader.store, 'manager');
    await cluster.settle();
    for (const manager of cluster.managers) {
      const { ca } = findClusterCA(manager.store);
      assert.equal(ca.JoinTokens.Manager, fresh);
      assert.equal(roleForJoinToken(ca, cluster.ca.JoinTokens.Manager), null);
      assert.equal(roleForJoinToken(ca, cluster.ca.JoinTokens.Worker), 'worker');
    }
  });
});

describe('issueNodeIdentity', () => {
  it('makes a consistent identity for a node of the cluster', async () => {
    const ca = await createClusterCA(newObjectId());
    const nodeId = newObjectId();
    const identity = await issueNodeIdentity(ca.RootCA, nodeId, 'manager');
    const info = checkNodeIdentity(identity);
    assert.deepEqual([info.nodeId, info.role], [nodeId, 'manager']);
  });
});
