// Validity windows for everything the cluster CA signs.

export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Certificates start this long before the moment they are signed, so a node whose clock runs a
 * little behind the manager's can use its certificate at once instead of failing the handshake
 * with "certificate is not yet valid". A minute covers NTP-synced hosts with room to spare.
 */
export const CLOCK_SKEW_BACKDATE_MS = 60_000;

export interface ValidityWindow {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** `durationMs` from `now`, starting CLOCK_SKEW_BACKDATE_MS early; ends no later than `cap`. */
export function validityWindow(now: Date, durationMs: number, cap?: Date): ValidityWindow {
  if (!Number.isFinite(durationMs) || durationMs <= 0) throw new RangeError(`certificate validity must be a positive duration, got ${durationMs} ms`);
  const notBefore = new Date(now.getTime() - CLOCK_SKEW_BACKDATE_MS);
  let notAfter = new Date(now.getTime() + durationMs);
  if (cap && notAfter.getTime() > cap.getTime()) notAfter = new Date(cap.getTime());
  // X.509 times have one-second resolution; truncating here makes the dates a caller passed
  // equal to the dates it later parses back out of the certificate.
  return { notBefore: wholeSeconds(notBefore), notAfter: wholeSeconds(notAfter) };
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}
