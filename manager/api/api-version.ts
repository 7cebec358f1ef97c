// API version negotiation. The docker CLI reads `Api-Version` from `HEAD /_ping` and then
// prefixes every path with `/v<min(its own, ours)>`; older clients, and DOCKER_API_VERSION,
// pin lower versions. Routes are registered once, unversioned; the prefix is stripped before
// routing and checked against the supported range in an onRequest hook.
import type { IncomingMessage } from 'node:http';
import { apiError } from '../../shared/errors.js';

/** What was recorded against dockerd 20.10 and what the CLI handles best (catalog §1.1). */
export const API_VERSION = '1.41';
/** The oldest version whose swarm commands the CLI allows (`swarm`/`node`/`service` need 1.24). */
export const MIN_API_VERSION = '1.24';

/** dockerd's router: `/v{version:[0-9.]+}/…`. */
const VERSION_PREFIX = /^\/v([0-9.]+)(\/.*)$/;

const requestedVersions = new WeakMap<IncomingMessage, string>();

/** fastify's rewriteUrl: strips the version prefix and remembers it for checkApiVersion. */
export function stripVersionPrefix(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const match = VERSION_PREFIX.exec(url);
  if (!match) return url;
  requestedVersions.set(req, match[1]);
  return match[2];
}

/** The version the client asked for in the path, or undefined for an unversioned path. */
export function requestedApiVersion(req: IncomingMessage): string | undefined {
  return requestedVersions.get(req);
}

/** Compares dotted versions numerically, missing parts as 0 (dockerd's versions.compare). */
export function compareApiVersions(a: string, b: string): number {
  const left = a.split('.');
  const right = b.split('.');
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const l = Number.parseInt(left[i] ?? '0', 10) || 0;
    const r = Number.parseInt(right[i] ?? '0', 10) || 0;
    if (l !== r) return l < r ? -1 : 1;
  }
  return 0;
}

/** Throws the catalogued 400 for a version outside [MIN_API_VERSION, API_VERSION]. */
export function checkApiVersion(requested: string | undefined): void {
  if (requested === undefined) return;
  if (compareApiVersions(requested, API_VERSION) > 0) {
    throw apiError('API_VERSION_TOO_NEW', { requested, maximum: API_VERSION });
  }
  if (compareApiVersions(requested, MIN_API_VERSION) < 0) {
    throw apiError('API_VERSION_TOO_OLD', { requested, minimum: MIN_API_VERSION });
  }
}
