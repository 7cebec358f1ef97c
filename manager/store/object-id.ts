// Object IDs in Docker's format: 128 random bits written in base 36, left-padded to 25
// characters (36^25 > 2^128, so 25 always suffices), e.g. "0d8qf4nr1jmwv3g3o7q1v6k2b".
// Random rather than derived from the raft index so the proposer knows the ID before commit.
import { randomBytes } from 'node:crypto';

export const OBJECT_ID_LENGTH = 25;

const OBJECT_ID_PATTERN = /^[a-z0-9]{25}$/;

export function newObjectId(): string {
  const value = BigInt('0x' + randomBytes(16).toString('hex'));
  return value.toString(36).padStart(OBJECT_ID_LENGTH, '0');
}

export function isObjectId(value: unknown): value is string {
  return typeof value === 'string' && OBJECT_ID_PATTERN.test(value);
}
