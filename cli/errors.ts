// How failures reach the terminal: the daemon's refusals as the docker CLI prints them
// ("Error response from daemon: …"), everything else as "berth: …". Both exit with status 1;
// status 2 is kept for usage errors, which commander reports itself.

import { ApiError } from './client.js';

/** Thrown after a command printed its own per-item errors (inspect or rm of several nodes). */
export class AlreadyReported extends Error {
  constructor() {
    super('errors were reported above');
    this.name = 'AlreadyReported';
  }
}

export function describeError(err: unknown): string {
  if (err instanceof ApiError) return `Error response from daemon: ${err.message}`;
  return `berth: ${err instanceof Error ? err.message : String(err)}`;
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 404;
}
