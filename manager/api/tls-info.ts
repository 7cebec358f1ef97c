// TLSInfo as dockerd shows it (Swarm.Cluster.TLSInfo, a node's Description.TLSInfo): the root
// CA's PEM, plus the base64 DER of its subject and of its public key, which `docker node
// inspect --pretty` prints as "Issuer Subject" / "Issuer Public Key". Derived from the root
// certificate the CA stores, so nothing else has to keep a copy in step with it.
import { X509Certificate } from 'node:crypto';
import type { TLSInfo } from '../../shared/engine-types.js';

interface Der {
  tag: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just past the content. */
  end: number;
}

/** One DER tag-length-value at `offset`; definite lengths only, as DER requires. */
function readDer(bytes: Uint8Array, offset: number): Der {
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) throw new Error('unsupported DER length');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + bytes[start + i];
    start += octets;
  }
  if (tag === undefined || start + length > bytes.length) throw new Error('truncated DER');
  return { tag, start, end: start + length };
}

/** The subject Name of an X.509 certificate, as the DER it was signed with. */
function subjectDer(certificate: Uint8Array): Uint8Array {
  const tbs = readDer(certificate, readDer(certificate, 0).start);
  let offset = tbs.start;
  // [0] version (optional), serialNumber, signature, issuer, validity, then the subject.
  if (readDer(certificate, offset).tag === 0xa0) offset = readDer(certificate, offset).end;
  for (let skip = 0; skip < 4; skip++) offset = readDer(certificate, offset).end;
  return certificate.subarray(offset, readDer(certificate, offset).end);
}

let cached: { pem: string; info: TLSInfo } | undefined;

/** TLSInfo for a root CA certificate; a PEM that does not parse still shows as TrustRoot. */
export function tlsInfoOfRootCertificate(pem: string): TLSInfo {
  if (cached?.pem === pem) return { ...cached.info };
  let info: TLSInfo;
  try {
    const certificate = new X509Certificate(pem);
    info = {
      TrustRoot: pem,
      CertIssuerSubject: Buffer.from(subjectDer(certificate.raw)).toString('base64'),
      CertIssuerPublicKey: certificate.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    };
  } catch {
    info = { TrustRoot: pem, CertIssuerSubject: '', CertIssuerPublicKey: '' };
  }
  cached = { pem, info };
  return { ...info };
}
