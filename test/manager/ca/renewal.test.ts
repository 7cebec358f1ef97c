// When renewal happens, on a clock the test controls: between 50% and 80% of the lifetime,
// retries with doubling backoff, again for each new certificate, and nothing after stop().
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { createClusterCA, issueNodeIdentity } from '../../../manager/ca/cluster-ca.js';
import type { ClusterRootCA } from '../../../manager/ca/cluster-ca.js';
import {
  RENEW_RETRY_MAX_MS, RENEW_RETRY_MIN_MS, renewalTime, scheduleRenewal,
} from '../../../manager/ca/renewal.js';
import type { RenewalClock } from '../../../manager/ca/renewal.js';
import { newObjectId } from '../../../manager/store/index.js';
import { DAY_MS, parseNodeCertificate } from '../../../shared/pki/index.js';
import type { NodeIdentity } from '../../../shared/pki/index.js';

const START = Date.parse('2030-01-01T00:00:00Z');
/** Failed attempts log warnings; the tests check behaviour, not log lines. */
const logger = pino({ level: 'silent' });

/** Virtual time: timers fire only when the test advances the clock. */
class FakeClock implements RenewalClock {
  private time = START;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();
  /** Every delay ever asked for. */
  readonly requestedDelays: number[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    this.requestedDelays.push(ms);
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Moves time to `at`, firing due timers in order and letting the promises they start settle. */
  async advanceTo(at: number): Promise<void> {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= at).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].callback();
    }
    this.time = at;
  }
}

async function identityAt(root: ClusterRootCA, nodeId: string, at: number): Promise<NodeIdentity> {
  return issueNodeIdentity(root, nodeId, 'worker', { now: new Date(at) });
}

describe('renewalTime', () => {
  it('falls between 50% and 80% of the lifetime', () => {
    assert.equal(renewalTime(0, 1000, 0), 500);
    assert.equal(renewalTime(0, 1000, 0.5), 650);
    assert.ok(Math.abs(renewalTime(0, 1000, 0.999999) - 800) < 0.01);
    assert.equal(renewalTime(1000, 2000, 0), 1500);
  });
});

describe('scheduleRenewal', () => {
  it('renews at the drawn point of a 90-day certificate, waiting in timer-sized steps', async () => {
    const { RootCA } = await createClusterCA(newObjectId());
    const nodeId = newObjectId();
    const first = await identityAt(RootCA, nodeId, START);
    const { notBefore, notAfter } = parseNodeCertificate(first.certPem);
    const due = renewalTime(notBefore.getTime(), notAfter.getTime(), 0);
    // Signed ahead of time: renew() must settle within the fake clock's step, and WebCrypto
    // signing runs on the thread pool.
    const second = await identityAt(RootCA, nodeId, due);
    const clock = new FakeClock();
    const renewedAt: number[] = [];
    const handle = scheduleRenewal(first, async () => {
      renewedAt.push(clock.now());
      return second;
    }, { clock, random: () => 0, logger });

    assert.equal(handle.nextAttemptAt, due);
    await clock.advanceTo(due - 1);
    assert.deepEqual(renewedAt, []);
    await clock.advanceTo(due);
    assert.deepEqual(renewedAt, [due]);
    assert.ok(clock.requestedDelays.every((ms) => ms <= 2 ** 31 - 1), '45 days is past setTimeout\'s limit, so the wait is split');
    assert.equal(handle.identity, second, 'the handle holds the renewed identity');
    // The next renewal is scheduled from the new certificate.
    const renewed = parseNodeCertificate(second.certPem);
    assert.equal(handle.nextAttemptAt, renewalTime(renewed.notBefore.getTime(), renewed.notAfter.getTime(), 0));
    handle.stop();
  });

  it('retries a failed renewal with doubling backoff, capped, until it succeeds', async () => {
    const { RootCA } = await createClusterCA(newObjectId());
    const nodeId = newObjectId();
    const first = await identityAt(RootCA, nodeId, START);
    // Issued around when the retries end, so it is not itself due yet.
    const second = await identityAt(RootCA, nodeId, START + 60 * DAY_MS);
    const clock = new FakeClock();
    const attempts: number[] = [];
    const failures = 12;
    const handle = scheduleRenewal(first, async () => {
      attempts.push(clock.now());
      if (attempts.length <= failures) throw new Error('no leader');
      return second;
    }, { clock, random: () => 0.5, logger });

    await clock.advanceTo(handle.nextAttemptAt!);
    let expectedGap = RENEW_RETRY_MIN_MS;
    for (let i = 1; i <= failures; i++) {
      await clock.advanceTo(handle.nextAttemptAt!);
      assert.equal(attempts[i] - attempts[i - 1], expectedGap, `gap before attempt ${i + 1}`);
      expectedGap = Math.min(expectedGap * 2, RENEW_RETRY_MAX_MS);
    }
    assert.equal(attempts.length, failures + 1);
    await clock.advanceTo(clock.now());
    assert.equal(handle.identity, second, 'renewed in the end');
    handle.stop();
  });

  it('does nothing after stop()', async () => {
    const { RootCA } = await createClusterCA(newObjectId());
    const first = await identityAt(RootCA, newObjectId(), START);
    const clock = new FakeClock();
    let calls = 0;
    const handle = scheduleRenewal(first, async () => {
      calls++;
      return first;
    }, { clock, logger });
    handle.stop();
    assert.equal(handle.nextAttemptAt, null);
    assert.equal(clock.pending, 0);
    await clock.advanceTo(START + 365 * 24 * 3600 * 1000);
    assert.equal(calls, 0);
  });

  it('paces renewals that return a certificate already due, instead of spinning', async () => {
    const { RootCA } = await createClusterCA(newObjectId());
    const first = await identityAt(RootCA, newObjectId(), START);
    const clock = new FakeClock();
    const attempts: number[] = [];
    const handle = scheduleRenewal(first, async () => {
      attempts.push(clock.now());
      return first;
    }, { clock, logger, random: () => 0 });
    await clock.advanceTo(handle.nextAttemptAt!);
    await clock.advanceTo(clock.now() + 3 * RENEW_RETRY_MIN_MS);
    assert.equal(attempts.length, 3);
    assert.deepEqual([attempts[1] - attempts[0], attempts[2] - attempts[1]], [RENEW_RETRY_MIN_MS, 2 * RENEW_RETRY_MIN_MS]);
    handle.stop();
  });

  it('treats an unreadable renewed certificate as a failure and keeps the old identity', async () => {
    const { RootCA } = await createClusterCA(newObjectId());
    const first = await identityAt(RootCA, newObjectId(), START);
    const clock = new FakeClock();
    let calls = 0;
    const handle = scheduleRenewal(first, async () => {
      calls++;
      return { ...first, certPem: 'garbage' };
    }, { clock, logger });
    await clock.advanceTo(handle.nextAttemptAt!);
    assert.equal(calls, 1);
    assert.equal(handle.identity, first);
    assert.equal(handle.nextAttemptAt, clock.now() + RENEW_RETRY_MIN_MS);
    handle.stop();
  });
});
