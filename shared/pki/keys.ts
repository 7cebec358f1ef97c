// Node and CA keys: ECDSA on P-256, kept as PEM (private keys PKCS#8, public keys SPKI). P-256 is
// what SwarmKit issues and what every TLS stack accepts; it signs fast and keeps certificates
// small. Keys are generated with Node's crypto and converted to WebCrypto keys only for the
// moment @peculiar/x509 signs with them.
import { createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto } from 'node:crypto';

/** WebCrypto's name for the curve; `prime256v1` is OpenSSL's name for the same curve. */
const CURVE = 'P-256';
const OPENSSL_CURVE = 'prime256v1';
const ECDSA_IMPORT = { name: 'ECDSA', namedCurve: CURVE } as const;

/** ECDSA with SHA-256: the signature matching a P-256 key's strength, for everything the CA signs. */
export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface KeyPairPem {
  /** PKCS#8, `-----BEGIN PRIVATE KEY-----`. */
  readonly privateKeyPem: string;
  /** SPKI, `-----BEGIN PUBLIC KEY-----`. */
  readonly publicKeyPem: string;
}

export function generateKeyPair(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: OPENSSL_CURVE });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

/** The SPKI DER of a private key's public half: what a certificate carries for it. */
export function publicKeyDerOf(privateKeyPem: string): Buffer {
  return createPublicKey(privateKeyPem).export({ type: 'spki', format: 'der' });
}

/** Throws unless `der` is an SPKI for a P-256 ECDSA key, the only kind Berth certifies. */
export function assertP256PublicKey(spkiDer: Uint8Array, what: string): void {
  let details;
  try {
    details = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' }).asymmetricKeyDetails;
  } catch (error) {
    throw new Error(`${what} has an unreadable public key: ${(error as Error).message}`, { cause: error });
  }
  if (details?.namedCurve !== OPENSSL_CURVE) {
    throw new Error(`${what} has a ${details?.namedCurve ?? 'non-EC'} key; Berth certifies ECDSA P-256 keys only`);
  }
}

/** The WebCrypto key pair @peculiar/x509 signs with; the private key is not extractable. */
export async function importKeyPair(privateKeyPem: string): Promise<webcrypto.CryptoKeyPair> {
  const pkcs8 = createPrivateKey(privateKeyPem).export({ type: 'pkcs8', format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, ECDSA_IMPORT, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', publicKeyDerOf(privateKeyPem), ECDSA_IMPORT, true, ['verify']);
  return { privateKey, publicKey };
}
