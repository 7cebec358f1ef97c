// Join tokens in Docker's format, so operators recognise and handle them the same way:
//
//   SWMTKN-1-<CA digest: 50 base-36 chars>-<secret: 25 base-36 chars>
//
// The digest (ca-digest.ts) lets a joining node check that the manager it reached serves the
// cluster's real CA before trusting anything it says; the secret is what the manager checks.
// The secret is 128 random bits from crypto.randomBytes, read as one big-endian integer and
// written in base 36 left-padded to 25 characters, as Docker does. One cluster has two tokens,
// one per role; the token presented decides the role a new node gets.
import { randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { BASE36_PATTERN, base36Width, toBase36 } from './base36.js';
import { CA_DIGEST_LENGTH, caDigest } from './ca-digest.js';

export const JOIN_TOKEN_PREFIX = 'SWMTKN';
export const JOIN_TOKEN_VERSION = '1';
/** 128 bits: unguessable, and still short enough to paste into a command line. */
const SECRET_ENTROPY_BYTES = 16;
export const JOIN_TOKEN_SECRET_LENGTH = base36Width(SECRET_ENTROPY_BYTES);
export const JOIN_TOKEN_PATTERN = /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/;

export interface JoinToken {
  readonly version: 1;
  /** base 36, CA_DIGEST_LENGTH characters */
  readonly caDigest: string;
  /** base 36, JOIN_TOKEN_SECRET_LENGTH characters */
  readonly secret: string;
}

/** The token is not one: wrong shape, prefix, version or part length. Never echoes the secret. */
export class JoinTokenFormatError extends Error {
  constructor(reason: string) {
    super(`malformed join token: ${reason}`);
    this.name = 'JoinTokenFormatError';
  }
}

export function generateJoinToken(caPem: string | X509Certificate): string {
  const secret = toBase36(randomBytes(SECRET_ENTROPY_BYTES), JOIN_TOKEN_SECRET_LENGTH);
  return `${JOIN_TOKEN_PREFIX}-${JOIN_TOKEN_VERSION}-${caDigest(caPem)}-${secret}`;
}

export function parseJoinToken(token: string): JoinToken {
  if (typeof token !== 'string' || token.trim() === '') throw new JoinTokenFormatError('it is empty');
  const parts = token.trim().split('-');
  if (parts[0] !== JOIN_TOKEN_PREFIX) {
    throw new JoinTokenFormatError(`it must start with "${JOIN_TOKEN_PREFIX}-" (as tokens from "swarm join-token" do)`);
  }
  if (parts.length !== 4) {
    throw new JoinTokenFormatError(`expected ${JOIN_TOKEN_PREFIX}-${JOIN_TOKEN_VERSION}-<CA digest>-<secret>, which is 4 dash-separated parts; it has ${parts.length}`);
  }
  const [, version, digest, secret] = parts;
  if (version !== JOIN_TOKEN_VERSION) {
    throw new JoinTokenFormatError(`version ${JSON.stringify(version)} is not supported (this node understands version ${JOIN_TOKEN_VERSION})`);
  }
  checkPart('CA digest', digest, CA_DIGEST_LENGTH);
  checkPart('secret', secret, JOIN_TOKEN_SECRET_LENGTH);
  return { version: 1, caDigest: digest, secret };
}

/** True when the token pins this CA certificate. Throws JoinTokenFormatError for a malformed token. */
export function caMatchesToken(caPem: string | X509Certificate, token: string): boolean {
  return sameText(parseJoinToken(token).caDigest, caDigest(caPem));
}

/** Compares two tokens without leaking through timing how much of a guess was right. */
export function joinTokensEqual(presented: string, expected: string): boolean {
  return sameText(presented.trim(), expected);
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  // timingSafeEqual needs equal lengths; the lengths of well-formed tokens are public anyway.
  return left.length === right.length && timingSafeEqual(left, right);
}

function checkPart(name: string, value: string, length: number): void {
  if (value.length !== length) {
    throw new JoinTokenFormatError(`the ${name} must be ${length} characters, not ${value.length}`);
  }
  if (!BASE36_PATTERN.test(value)) {
    throw new JoinTokenFormatError(`the ${name} may contain only digits and lowercase letters`);
  }
}
