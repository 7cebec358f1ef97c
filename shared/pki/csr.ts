// Certificate signing requests: how a node hands its public key to the CA without the private
// key ever leaving the node. The CSR's signature proves the requester holds the key. The subject
// CN carries the node ID when the node has one (renewals); a joining node has none yet, since
// the CA assigns it.
import { SIGNING_ALGORITHM, assertP256PublicKey, importKeyPair } from './keys.js';
import { x509 } from './x509-library.js';

/**
 * A P-256 CSR is about 400 bytes of PEM; 16 KiB leaves room for any extension a client might add
 * while keeping the CA from parsing arbitrarily large ASN.1 sent by an unauthenticated caller.
 */
export const MAX_CSR_BYTES = 16 * 1024;

/** The CSR cannot be used: unreadable, badly signed, or for a key Berth does not certify. */
export class InvalidCsrError extends Error {
  constructor(reason: string, options?: ErrorOptions) {
    super(`invalid certificate signing request: ${reason}`, options);
    this.name = 'InvalidCsrError';
  }
}

export interface CsrInfo {
  /** The subject CN, or null when the requester did not name itself. */
  readonly nodeId: string | null;
  /** SPKI DER of the key to certify. */
  readonly publicKeyDer: Uint8Array;
}

export async function createCsr(privateKeyPem: string, nodeId?: string): Promise<string> {
  const keys = await importKeyPair(privateKeyPem);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    ...(nodeId ? { name: [{ CN: [nodeId] }] } : {}),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
  });
  return csr.toString('pem');
}

/** Parses and checks a CSR (signature, key type); throws InvalidCsrError saying what is wrong. */
export async function parseCsr(csrPem: string): Promise<CsrInfo> {
  if (typeof csrPem !== 'string' || csrPem.trim() === '') throw new InvalidCsrError('it is empty');
  if (Buffer.byteLength(csrPem) > MAX_CSR_BYTES) throw new InvalidCsrError(`it is larger than ${MAX_CSR_BYTES} bytes`);
  if (!csrPem.includes('-----BEGIN CERTIFICATE REQUEST-----')) {
    throw new InvalidCsrError('it is not PEM with a "CERTIFICATE REQUEST" block');
  }
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (error) {
    throw new InvalidCsrError(`it cannot be parsed (${(error as Error).message})`, { cause: error });
  }
  const publicKeyDer = new Uint8Array(csr.publicKey.rawData);
  try {
    assertP256PublicKey(publicKeyDer, 'the request');
  } catch (error) {
    throw new InvalidCsrError((error as Error).message, { cause: error });
  }
  let signed: boolean;
  try {
    signed = await csr.verify();
  } catch (error) {
    throw new InvalidCsrError(`its signature cannot be checked (${(error as Error).message})`, { cause: error });
  }
  if (!signed) throw new InvalidCsrError('its signature does not match its public key');
  const names = csr.subjectName.getField('CN');
  if (names.length > 1) throw new InvalidCsrError('its subject has more than one CN');
  return { nodeId: names[0] ?? null, publicKeyDer };
}
