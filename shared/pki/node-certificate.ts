// Node certificates, in SwarmKit's layout so the identity a peer presents says everything the
// cluster needs to know about it:
//   Subject  CN = node ID, OU = swarm-manager | swarm-worker, O = cluster ID
//   SAN      DNS: node ID, DNS: role name (clients check a manager by the name "swarm-manager")
//   usage    digitalSignature + keyEncipherment; extKeyUsage serverAuth + clientAuth (every node
//            is a TLS client, managers are servers too)
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { parseCsr } from './csr.js';
import { SIGNING_ALGORITHM, importKeyPair, publicKeyDerOf } from './keys.js';
import { clusterIdOfRootCA } from './root-ca.js';
import { singleSubjectField } from './subject.js';
import { DAY_MS, validityWindow } from './validity.js';
import { x509 } from './x509-library.js';

export type NodeRole = 'manager' | 'worker';

/** The OU (and SAN) for each role: SwarmKit's names, so certificates read the same as Docker's. */
export const ROLE_NAMES: { readonly [R in NodeRole]: string } = {
  manager: 'swarm-manager',
  worker: 'swarm-worker',
};

/**
 * 90 days, SwarmKit's default. Short enough that the certificate of a removed or demoted node, or
 * a stolen one, stops working within a season without any revocation list; long enough that a
 * node powered off for weeks still holds a valid certificate to renew with when it returns.
 */
export const NODE_CERT_VALIDITY_MS = 90 * DAY_MS;

/** Node IDs go into DNS names (SAN) as well as the subject: keep them to a DNS label. */
const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface SignNodeCertificateParams {
  readonly csrPem: string;
  readonly caCertPem: string;
  readonly caKeyPem: string;
  readonly nodeId: string;
  readonly role: NodeRole;
  /** NODE_CERT_VALIDITY_MS unless given; never beyond the CA's own expiry. */
  readonly validityMs?: number;
  readonly now?: Date;
}

/**
 * Signs the CSR's key into a node certificate (PEM). The cluster ID (O) is the CA's own, so a
 * certificate can only ever name the cluster its CA was made for. Throws InvalidCsrError for a
 * bad CSR.
 */
export async function signNodeCertificate(params: SignNodeCertificateParams): Promise<string> {
  const { nodeId, role } = params;
  if (!ID_PATTERN.test(nodeId)) throw new Error(`node ID ${JSON.stringify(nodeId)} is not a lowercase DNS label`);
  const clusterId = clusterIdOfRootCA(params.caCertPem);
  if (!Object.hasOwn(ROLE_NAMES, role)) throw new Error(`unknown node role ${JSON.stringify(role)}`);
  if (!certificateMatchesKey(params.caCertPem, params.caKeyPem)) {
    throw new Error('the CA key does not belong to the CA certificate');
  }
  const csr = await parseCsr(params.csrPem);
  const ca = new x509.X509Certificate(params.caCertPem);
  const caKeys = await importKeyPair(params.caKeyPem);
  const { notBefore, notAfter } = validityWindow(params.now ?? new Date(), params.validityMs ?? NODE_CERT_VALIDITY_MS, ca.notAfter);
  const roleName = ROLE_NAMES[role];
  const cert = await x509.X509CertificateGenerator.create({
    subject: [{ O: [clusterId] }, { OU: [roleName] }, { CN: [nodeId] }],
    issuer: ca.subjectName,
    publicKey: csr.publicKeyDer,
    signingKey: caKeys.privateKey,
    notBefore,
    notAfter,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: nodeId }, { type: 'dns', value: roleName }]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(csr.publicKeyDer),
    ],
  });
  return cert.toString('pem');
}

export interface NodeCertificateInfo {
  readonly nodeId: string;
  readonly role: NodeRole;
  readonly clusterId: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 of the DER, lowercase hex: names this exact certificate in logs. */
  readonly fingerprint: string;
}

/**
 * Reads a node certificate's identity (PEM, or DER as TLS hands it over). Checks the layout only,
 * not who signed it: see verifyIssuedBy. Synchronous, so TLS code paths can call it.
 */
export function parseNodeCertificate(cert: string | Uint8Array | X509Certificate): NodeCertificateInfo {
  const x = toX509(cert);
  const nodeId = singleSubjectField(x, 'CN', 'a node certificate');
  const roleName = singleSubjectField(x, 'OU', 'a node certificate');
  const clusterId = singleSubjectField(x, 'O', 'a node certificate');
  const role = (Object.keys(ROLE_NAMES) as NodeRole[]).find((r) => ROLE_NAMES[r] === roleName);
  if (!role) throw new Error(`certificate OU ${JSON.stringify(roleName)} is not a node role (expected ${Object.values(ROLE_NAMES).join(' or ')})`);
  return {
    nodeId,
    role,
    clusterId,
    notBefore: parseX509Date(x.validFrom),
    notAfter: parseX509Date(x.validTo),
    fingerprint: createHash('sha256').update(x.raw).digest('hex'),
  };
}

/** True when `cert` names `ca` as issuer and carries a valid signature by the CA's key. */
export function verifyIssuedBy(cert: string | Uint8Array | X509Certificate, caPem: string | X509Certificate): boolean {
  const x = toX509(cert);
  const ca = toX509(caPem);
  return x.checkIssued(ca) && x.verify(ca.publicKey);
}

/** True when the certificate certifies the public half of `keyPem`. */
export function certificateMatchesKey(certPem: string, keyPem: string): boolean {
  const certKey = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return certKey.equals(publicKeyDerOf(keyPem));
}

/** The SPKI DER of a certificate's key. */
export function certificatePublicKeyDer(certPem: string): Buffer {
  return createPublicKey(new X509Certificate(certPem).publicKey).export({ type: 'spki', format: 'der' });
}

export function toX509(cert: string | Uint8Array | X509Certificate): X509Certificate {
  if (cert instanceof X509Certificate) return cert;
  try {
    return new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
  } catch (error) {
    throw new Error(`not an X.509 certificate: ${(error as Error).message}`, { cause: error });
  }
}

/** Node renders X.509 times as OpenSSL does, e.g. "May  1 12:00:00 2024 GMT", which Date parses. */
function parseX509Date(text: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new Error(`unreadable certificate date ${JSON.stringify(text)}`);
  return date;
}
