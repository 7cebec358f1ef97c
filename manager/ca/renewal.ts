// Renewing this node's certificate before it expires, as SwarmKit does: at a random point between
// 50% and 80% of the certificate's lifetime, retrying with backoff until it works, then again
// for the new certificate. The caller's renew() does the work (renewNodeCertificate, saving the
// files, provider.replace); this module only decides when.
import pino from 'pino';
import { parseNodeCertificate } from '../../shared/pki/index.js';
import type { NodeIdentity } from '../../shared/pki/index.js';

/**
 * Earliest renewal, as a fraction of the lifetime: renewing sooner only multiplies CA work, and
 * from the halfway point half the lifetime (45 days by default) is left for retries through an
 * outage.
 */
export const RENEW_AFTER_MIN_FRACTION = 0.5;
/**
 * Latest renewal: at 80% a fifth of the lifetime (18 days by default) still separates the first
 * attempt from expiry. The spread between the two spreads out renewals of nodes that joined
 * together, so they do not all ask the leader at once.
 */
export const RENEW_AFTER_MAX_FRACTION = 0.8;
/** First retry after a failed renewal; doubles per failure. Soon enough to ride out a leader election. */
export const RENEW_RETRY_MIN_MS = 1_000;
/** Retries never wait longer than this: a node whose certificate is running out keeps trying every few minutes. */
export const RENEW_RETRY_MAX_MS = 5 * 60_000;
/** setTimeout's limit (2^31 - 1 ms, about 24.8 days); longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface RenewalClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: RenewalClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    // Renewal alone must not keep a process alive that has nothing else to do.
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface RenewalOptions {
  logger?: pino.Logger;
  /** Uniform in [0, 1): picks the point between the two fractions (tests pin it). */
  random?: () => number;
  clock?: RenewalClock;
}

export interface RenewalHandle {
  /** The latest identity: the one given, or the last one renew() returned. */
  readonly identity: NodeIdentity;
  /** When the next attempt is due (ms since epoch), or null once stopped. */
  readonly nextAttemptAt: number | null;
  /** Cancels pending attempts; an attempt already running finishes but schedules nothing. */
  stop(): void;
}

/** When to renew a certificate valid over [notBefore, notAfter] (ms since epoch), given `random` in [0, 1). */
export function renewalTime(notBefore: number, notAfter: number, random: number): number {
  const fraction = RENEW_AFTER_MIN_FRACTION + (RENEW_AFTER_MAX_FRACTION - RENEW_AFTER_MIN_FRACTION) * random;
  return notBefore + (notAfter - notBefore) * fraction;
}

export function scheduleRenewal(
  identity: NodeIdentity,
  renew: () => Promise<NodeIdentity>,
  options: RenewalOptions = {},
): RenewalHandle {
  const clock = options.clock ?? realClock;
  const random = options.random ?? Math.random;
  const logger = (options.logger ?? pino({ level: 'warn' })).child({ component: 'cert-renewal' });
  let current = identity;
  let timer: unknown;
  let dueAt: number | null = null;
  let stopped = false;
  let retryMs = RENEW_RETRY_MIN_MS;

  const waitUntil = (at: number): void => {
    dueAt = at;
    const step = (): void => {
      if (stopped) return;
      const remaining = at - clock.now();
      if (remaining <= 0) {
        void attempt();
        return;
      }
      timer = clock.setTimeout(step, Math.min(remaining, MAX_TIMER_MS));
    };
    step();
  };

  /** When `next` is due for renewal; throws when its certificate cannot be read. */
  const dueTimeOf = (next: NodeIdentity): number => {
    const info = parseNodeCertificate(next.certPem);
    const at = renewalTime(info.notBefore.getTime(), info.notAfter.getTime(), random());
    logger.info({ nodeId: info.nodeId, notAfter: info.notAfter.toISOString(), renewAt: new Date(at).toISOString() }, 'certificate renewal scheduled');
    return at;
  };

  const retryLater = (): void => {
    const at = clock.now() + retryMs;
    retryMs = Math.min(retryMs * 2, RENEW_RETRY_MAX_MS);
    waitUntil(at);
  };

  const attempt = async (): Promise<void> => {
    timer = undefined;
    dueAt = null;
    let renewed: NodeIdentity;
    let at: number;
    try {
      renewed = await renew();
      at = dueTimeOf(renewed);
    } catch (error) {
      if (stopped) return;
      logger.warn({ err: error, retryInMs: retryMs, notAfter: parseNodeCertificate(current.certPem).notAfter.toISOString() },
        'certificate renewal failed; retrying');
      retryLater();
      return;
    }
    current = renewed;
    if (stopped) return;
    if (at <= clock.now()) {
      // A new certificate already due (the CA capped it near its own expiry, or the clock jumped)
      // must not make renewal spin: pace it like a failure.
      logger.warn({ retryInMs: retryMs }, 'the renewed certificate is already due for renewal; renewing again after a pause');
      retryLater();
      return;
    }
    retryMs = RENEW_RETRY_MIN_MS;
    waitUntil(at);
  };

  // An identity already overdue (a node back from a long downtime) renews at once.
  waitUntil(dueTimeOf(identity));
  return {
    get identity() {
      return current;
    },
    get nextAttemptAt() {
      return stopped ? null : dueAt;
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}
