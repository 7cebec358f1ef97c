// The cluster's CA material as it lives in the store's cluster object, in Docker's field names:
//
//   RootCA:     { CACert, CAKey, CACertHash }   the root certificate and its key (PEM)
//   JoinTokens: { Worker, Manager }             SWMTKN-1-… tokens; the one presented picks the role
//
// The CA key is replicated with the rest of the store, as SwarmKit does when autolock is off:
// any manager that becomes leader can then sign. (The API must never return RootCA.CAKey.)
// Created once at `swarm init`; only the join tokens change afterwards (rotation), and rotating
// a token stops NEW joins with the old one while every certificate already issued stays valid.
import { createHash, X509Certificate } from 'node:crypto';
import {
  clusterIdOfRootCA, createCsr, createRootCA, generateJoinToken, generateKeyPair, joinTokensEqual, signNodeCertificate,
} from '../../shared/pki/index.js';
import type { NodeIdentity, NodeRole } from '../../shared/pki/index.js';
import { thaw } from '../store/index.js';
import type { Cluster, Frozen, NewObject, Store, StoreReader } from '../store/index.js';

/** Docker names the cluster object "default"; there is exactly one. */
export const CLUSTER_OBJECT_NAME = 'default';

export interface ClusterRootCA {
  readonly CACert: string;
  /** PKCS#8 PEM. Secret: never leaves the managers. */
  readonly CAKey: string;
  /** "sha256:" + hex SHA-256 of the certificate's DER. */
  readonly CACertHash: string;
}

export interface ClusterJoinTokens {
  readonly Worker: string;
  readonly Manager: string;
}

export interface ClusterCA {
  readonly RootCA: ClusterRootCA;
  readonly JoinTokens: ClusterJoinTokens;
}

/** The store has no cluster object with CA material: swarm init has not happened or not reached this manager. */
export class ClusterCAMissingError extends Error {
  constructor(reason: string) {
    super(`the cluster CA is not available: ${reason}`);
    this.name = 'ClusterCAMissingError';
  }
}

/** New CA material for `swarm init`: a root CA for `clusterId` and one join token per role. */
export async function createClusterCA(clusterId: string, options: { now?: Date } = {}): Promise<ClusterCA> {
  const root = await createRootCA(clusterId, options);
  return {
    RootCA: { CACert: root.certPem, CAKey: root.keyPem, CACertHash: certHash(root.certPem) },
    JoinTokens: { Worker: generateJoinToken(root.certPem), Manager: generateJoinToken(root.certPem) },
  };
}

/** The cluster object `swarm init` creates, carrying the CA (its ID is the CA's cluster ID). */
export function newClusterObject(ca: ClusterCA, spec: Cluster['Spec'] = { Name: CLUSTER_OBJECT_NAME }): NewObject<'cluster'> {
  // RootCA is not among the store's typed Cluster fields (the store never reads it); the object
  // is stored as JSON, so the extra field travels with it.
  const object: NewObject<'cluster'> & { RootCA: ClusterRootCA } = {
    ID: clusterIdOfRootCA(ca.RootCA.CACert),
    Spec: spec,
    RootCA: { ...ca.RootCA },
    JoinTokens: { Worker: ca.JoinTokens.Worker, Manager: ca.JoinTokens.Manager },
  };
  return object;
}

/** The CA material of a stored cluster object; throws ClusterCAMissingError when absent or malformed. */
export function readClusterCA(cluster: Frozen<Cluster>): ClusterCA {
  const root = (cluster as { RootCA?: Partial<Record<keyof ClusterRootCA, unknown>> }).RootCA;
  const tokens = cluster.JoinTokens as Partial<Record<keyof ClusterJoinTokens, unknown>> | undefined;
  if (typeof root?.CACert !== 'string' || typeof root.CAKey !== 'string') {
    throw new ClusterCAMissingError(`cluster object ${cluster.ID} has no RootCA.CACert and RootCA.CAKey`);
  }
  if (typeof tokens?.Worker !== 'string' || typeof tokens.Manager !== 'string') {
    throw new ClusterCAMissingError(`cluster object ${cluster.ID} has no JoinTokens.Worker and JoinTokens.Manager`);
  }
  return {
    RootCA: { CACert: root.CACert, CAKey: root.CAKey, CACertHash: typeof root.CACertHash === 'string' ? root.CACertHash : certHash(root.CACert) },
    JoinTokens: { Worker: tokens.Worker, Manager: tokens.Manager },
  };
}

/** The one cluster object and its CA, from local (possibly slightly stale) state. */
export function findClusterCA(reader: StoreReader): { cluster: Frozen<Cluster>; ca: ClusterCA } {
  const clusters = reader.find('cluster');
  if (clusters.length === 0) throw new ClusterCAMissingError('the store has no cluster object yet (swarm init has not finished, or this manager has not caught up)');
  if (clusters.length > 1) throw new ClusterCAMissingError(`the store has ${clusters.length} cluster objects; there must be exactly one`);
  return { cluster: clusters[0], ca: readClusterCA(clusters[0]) };
}

/** The role a presented token grants, or null; both tokens are always compared, in constant time. */
export function roleForJoinToken(ca: ClusterCA, token: string): NodeRole | null {
  const worker = joinTokensEqual(token, ca.JoinTokens.Worker);
  const manager = joinTokensEqual(token, ca.JoinTokens.Manager);
  return manager ? 'manager' : worker ? 'worker' : null;
}

/** A copy of the cluster object with a new token for `role`, for tx.update(). */
export function withRotatedJoinToken(cluster: Frozen<Cluster>, role: NodeRole): Frozen<Cluster> {
  const ca = readClusterCA(cluster);
  const editable = thaw(cluster);
  editable.JoinTokens = { ...ca.JoinTokens, [role === 'manager' ? 'Manager' : 'Worker']: generateJoinToken(ca.RootCA.CACert) };
  return editable;
}

/**
 * Rotates the join token for `role` (the API's `swarm update --rotate-worker-token`) and returns
 * the new token. Nodes already in the cluster are unaffected: their certificates stay valid.
 */
export async function rotateJoinToken(store: Store, role: NodeRole): Promise<string> {
  let rotated = '';
  await store.update((tx) => {
    const { cluster } = findClusterCA(tx);
    const updated = withRotatedJoinToken(cluster, role);
    tx.update('cluster', updated);
    rotated = readClusterCA(updated).JoinTokens[role === 'manager' ? 'Manager' : 'Worker'];
  });
  return rotated;
}

/**
 * A complete identity for a node of this cluster, key generated here: how `swarm init` makes the
 * first manager's certificate (there is nobody to send a CSR to yet).
 */
export async function issueNodeIdentity(root: ClusterRootCA, nodeId: string, role: NodeRole, options: { now?: Date } = {}): Promise<NodeIdentity> {
  const { privateKeyPem } = generateKeyPair();
  const certPem = await signNodeCertificate({
    csrPem: await createCsr(privateKeyPem, nodeId), caCertPem: root.CACert, caKeyPem: root.CAKey, nodeId, role, now: options.now,
  });
  return { caPem: root.CACert, certPem, keyPem: privateKeyPem };
}

function certHash(caPem: string): string {
  return 'sha256:' + createHash('sha256').update(new X509Certificate(caPem).raw).digest('hex');
}
