// A node's identity: the cluster CA it trusts, its own certificate, and the key certified by it.
// This triple is what a node keeps on disk (identity-files.ts), presents on every connection
// and replaces on renewal.
import { X509Certificate } from 'node:crypto';
import { certificateMatchesKey, parseNodeCertificate, verifyIssuedBy } from './node-certificate.js';
import type { NodeCertificateInfo } from './node-certificate.js';
import { clusterIdOfRootCA } from './root-ca.js';

export interface NodeIdentity {
  readonly caPem: string;
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
}

/**
 * Checks that the three parts belong together (certificate issued by the CA, key matching the
 * certificate) and returns what the certificate says; throws naming the first mismatch.
 */
export function checkNodeIdentity(identity: NodeIdentity): NodeCertificateInfo {
  const ca = new X509Certificate(identity.caPem);
  if (!ca.ca) throw new Error('the identity\'s CA certificate is not a CA certificate');
  const info = parseNodeCertificate(identity.certPem);
  if (!verifyIssuedBy(identity.certPem, ca)) throw new Error(`node certificate ${info.fingerprint} was not issued by the identity's CA`);
  const clusterId = clusterIdOfRootCA(ca);
  if (info.clusterId !== clusterId) throw new Error(`node certificate ${info.fingerprint} names cluster ${info.clusterId}, but the CA is cluster ${clusterId}'s`);
  if (!certificateMatchesKey(identity.certPem, identity.keyPem)) {
    throw new Error(`node certificate ${info.fingerprint} does not certify the identity's private key`);
  }
  return info;
}
