// The connection to dockerd: a dockerode client for `unix:///path` or `tcp://host:port`, and the
// translation of everything dockerode rejects with into an ExecutorError that carries the engine's
// own sentence. Nothing outside this folder sees a dockerode error.

import Docker from 'dockerode';
import type { ExecutorError } from '../executor.js';
import { executorError } from '../executor.js';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** The pino subset the executor logs through; a pino.Logger fits. */
export interface ExecutorLogger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

export const silentLogger: ExecutorLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The engine address as a person would write it, for messages. */
export function dockerHostLabel(dockerHost?: string): string {
  return dockerHost ?? process.env.DOCKER_HOST ?? DEFAULT_DOCKER_HOST;
}

/**
 * A client for `dockerHost` (`unix:///path`, `tcp://host:port`, `http(s)://host:port`); without
 * one, dockerode reads DOCKER_HOST (and DOCKER_TLS_VERIFY / DOCKER_CERT_PATH) as the docker CLI does.
 * No API version is pinned: requests go to the engine's own version (1.41 for engine 20.10).
 */
export function dockerClient(dockerHost?: string, timeoutMs?: number): Docker {
  const common = timeoutMs === undefined ? {} : { timeout: timeoutMs };
  if (dockerHost === undefined || dockerHost === '') return new Docker(common);
  if (dockerHost.startsWith('unix://')) return new Docker({ ...common, socketPath: dockerHost.slice('unix://'.length) || '/var/run/docker.sock' });
  if (dockerHost.startsWith('/')) return new Docker({ ...common, socketPath: dockerHost });
  let url: URL;
  try {
    url = new URL(dockerHost.includes('://') ? dockerHost : `tcp://${dockerHost}`);
  } catch {
    throw new Error(`invalid Docker host ${JSON.stringify(dockerHost)}: expected unix:///path or tcp://host:port`);
  }
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  if (!['tcp:', 'http:', 'https:'].includes(url.protocol)) {
    throw new Error(`invalid Docker host ${JSON.stringify(dockerHost)}: expected unix:///path or tcp://host:port`);
  }
  return new Docker({ ...common, host: url.hostname, port: url.port || (protocol === 'https' ? 2376 : 2375), protocol });
}

/** Pings the engine: true when it answers within `timeoutMs`. For the daemon's `--runtime auto`. */
export async function dockerAvailable(dockerHost?: string, timeoutMs = 1000): Promise<boolean> {
  let docker: Docker;
  try {
    docker = dockerClient(dockerHost, timeoutMs);
  } catch {
    return false;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      docker.ping().then(() => true, () => false),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface DockerodeError extends Error {
  statusCode?: number;
  json?: { message?: string } | null;
  code?: string;
}

/** Errors from the socket rather than from the engine: nobody answered. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'ABORT_ERR']);

/** The HTTP status of an engine answer, undefined when the engine did not answer. */
export function engineStatus(error: unknown): number | undefined {
  return (error as DockerodeError | undefined)?.statusCode;
}

export function isNotFound(error: unknown): boolean {
  return engineStatus(error) === 404;
}

export function isConnectionError(error: unknown): boolean {
  const e = error as DockerodeError | undefined;
  if (!e || e.statusCode !== undefined) return false;
  return (e.code !== undefined && CONNECTION_ERRORS.has(e.code)) || /socket hang up|timeout|ECONNREFUSED|ENOENT/i.test(e.message ?? '');
}

/**
 * The engine's own sentence: dockerode wraps it as `(HTTP code 404) no such container - No such
 * container: x `; the JSON body's message is the part a user should read.
 */
export function engineMessage(error: unknown): string {
  const e = error as DockerodeError | undefined;
  if (!e) return 'unknown error';
  if (typeof e.json?.message === 'string' && e.json.message !== '') return e.json.message.trim();
  const message = String(e.message ?? e);
  const wrapped = /^\(HTTP code \d+\) [^-]*- ([\s\S]*)$/.exec(message);
  return (wrapped ? wrapped[1] : message).trim();
}

/**
 * An ExecutorError for a failed engine call: ENGINE_UNAVAILABLE when nobody answered, otherwise
 * what `otherwise` makes of the engine's message (ENGINE_ERROR by default).
 */
export function engineError(
  error: unknown,
  context: { host: string; operation: string },
  otherwise?: (reason: string) => ExecutorError,
): ExecutorError {
  if (isConnectionError(error)) {
    return executorError('ENGINE_UNAVAILABLE', { host: context.host, reason: engineMessage(error) }, { cause: error });
  }
  const reason = engineMessage(error);
  return otherwise ? otherwise(reason) : executorError('ENGINE_ERROR', { operation: context.operation, reason }, { cause: error });
}
