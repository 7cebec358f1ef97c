// The cluster's root CA: a self-signed certificate whose key signs every node certificate.
import { X509Certificate } from 'node:crypto';
import { SIGNING_ALGORITHM, generateKeyPair, importKeyPair } from './keys.js';
import { singleSubjectField } from './subject.js';
import { DAY_MS, validityWindow } from './validity.js';
import { x509 } from './x509-library.js';

export const ROOT_CA_COMMON_NAME = 'berth-root-ca';

/**
 * 20 years, SwarmKit's root CA lifetime: the root cannot be renewed in place (every node pins
 * it through the join token), so it should outlive the cluster's hardware.
 */
export const ROOT_CA_VALIDITY_MS = 20 * 365 * DAY_MS;

export interface RootCA {
  readonly certPem: string;
  /** PKCS#8 PEM. Whoever holds it can mint node certificates for the cluster. */
  readonly keyPem: string;
}

export async function createRootCA(clusterId: string, options: { now?: Date } = {}): Promise<RootCA> {
  if (!clusterId) throw new Error('a root CA needs the cluster ID (it becomes the subject O)');
  const { privateKeyPem } = generateKeyPair();
  const keys = await importKeyPair(privateKeyPem);
  const { notBefore, notAfter } = validityWindow(options.now ?? new Date(), ROOT_CA_VALIDITY_MS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [ROOT_CA_COMMON_NAME] }, { O: [clusterId] }],
    keys,
    notBefore,
    notAfter,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: privateKeyPem };
}

/** The cluster ID a root CA certificate names (its subject O); node certificates must carry the same. */
export function clusterIdOfRootCA(caPem: string | X509Certificate): string {
  const ca = caPem instanceof X509Certificate ? caPem : new X509Certificate(caPem);
  return singleSubjectField(ca, 'O', 'the root CA certificate');
}
