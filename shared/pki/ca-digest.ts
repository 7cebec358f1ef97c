// The CA digest a join token pins: SHA-256 of the root CA certificate's DER, written in base 36
// (Docker's encoding) as exactly 50 characters. The DER, not the PEM, is hashed so that the same
// certificate always has the same digest however its PEM was wrapped or re-encoded.
import { createHash, X509Certificate } from 'node:crypto';
import { base36Width, toBase36 } from './base36.js';

const SHA256_BYTES = 32;

/** 50: the base-36 width of a 256-bit value. */
export const CA_DIGEST_LENGTH = base36Width(SHA256_BYTES);

export function caDigest(caPem: string | X509Certificate): string {
  const der = (caPem instanceof X509Certificate ? caPem : new X509Certificate(caPem)).raw;
  return toBase36(createHash('sha256').update(der).digest(), CA_DIGEST_LENGTH);
}
