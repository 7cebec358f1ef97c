import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CA_DIGEST_LENGTH, JOIN_TOKEN_PATTERN, JoinTokenFormatError, caDigest, caMatchesToken, createRootCA, generateJoinToken, joinTokensEqual,
  parseJoinToken,
} from '../../../shared/pki/index.js';
import { base36Width, toBase36 } from '../../../shared/pki/base36.js';

describe('caDigest', () => {
  it('is 50 base-36 characters, the same for the same certificate however its PEM is wrapped', async () => {
    const root = await createRootCA('cluster1');
    const digest = caDigest(root.certPem);
    assert.equal(CA_DIGEST_LENGTH, 50);
    assert.match(digest, /^[0-9a-z]{50}$/);
    assert.equal(caDigest(root.certPem.replace(/\n/g, '\r\n')), digest);
    assert.notEqual(caDigest((await createRootCA('cluster1')).certPem), digest);
  });
});

describe('base-36 encoding', () => {
  it('pads to the width of the largest value', () => {
    assert.equal(base36Width(32), 50);
    assert.equal(base36Width(16), 25);
    assert.equal(toBase36(new Uint8Array(16)), '0'.repeat(25));
    assert.equal(toBase36(new Uint8Array(16).fill(0xff)), (2n ** 128n - 1n).toString(36));
    assert.equal(toBase36(Uint8Array.of(1, 0)), '0074', '256 = 7·36 + 4');
  });
});

describe('join tokens', () => {
  it('have Docker\'s format and pin the CA', async () => {
    const root = await createRootCA('cluster1');
    const token = generateJoinToken(root.certPem);
    assert.match(token, JOIN_TOKEN_PATTERN);
    assert.match(token, /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
    const parsed = parseJoinToken(token);
    assert.equal(parsed.version, 1);
    assert.equal(parsed.caDigest, caDigest(root.certPem));
    assert.equal(parsed.secret.length, 25);
  });

  it('carry fresh secrets each time', async () => {
    const root = await createRootCA('cluster1');
    const secrets = new Set(Array.from({ length: 50 }, () => parseJoinToken(generateJoinToken(root.certPem)).secret));
    assert.equal(secrets.size, 50);
  });

  it('match their own CA and no other', async () => {
    const root = await createRootCA('cluster1');
    const other = await createRootCA('cluster1');
    const token = generateJoinToken(root.certPem);
    assert.equal(caMatchesToken(root.certPem, token), true);
    assert.equal(caMatchesToken(other.certPem, token), false);
  });

  it('compare exactly, tolerating only surrounding whitespace', async () => {
    const token = generateJoinToken((await createRootCA('cluster1')).certPem);
    assert.ok(joinTokensEqual(`  ${token}\n`, token));
    assert.ok(!joinTokensEqual(token.slice(0, -1) + (token.endsWith('0') ? '1' : '0'), token));
    assert.ok(!joinTokensEqual(token.slice(0, -1), token));
  });

  it('that are malformed are refused with a message saying what is wrong, never echoing the secret', () => {
    const digest = 'a'.repeat(50);
    const secret = 'b'.repeat(25);
    const cases: [string, RegExp][] = [
      ['', /it is empty/],
      [`XXXTKN-1-${digest}-${secret}`, /must start with "SWMTKN-"/],
      [`SWMTKN-1-${digest}`, /4 dash-separated parts; it has 3/],
      [`SWMTKN-1-${digest}-${secret}-extra`, /it has 5/],
      [`SWMTKN-2-${digest}-${secret}`, /version "2" is not supported/],
      [`SWMTKN-1-${digest.slice(1)}-${secret}`, /the CA digest must be 50 characters, not 49/],
      [`SWMTKN-1-${digest}-${secret}c`, /the secret must be 25 characters, not 26/],
      [`SWMTKN-1-${'A'.repeat(50)}-${secret}`, /the CA digest may contain only digits and lowercase letters/],
      [`SWMTKN-1-${digest}-${'_'.repeat(25)}`, /the secret may contain only/],
    ];
    for (const [token, message] of cases) {
      assert.throws(() => parseJoinToken(token), (error: Error) => {
        assert.ok(error instanceof JoinTokenFormatError, token);
        assert.match(error.message, /^malformed join token: /);
        assert.match(error.message, message, token);
        assert.ok(!error.message.includes(secret), 'the secret is not echoed');
        return true;
      });
    }
  });
});
