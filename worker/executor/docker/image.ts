// Makes a task's image present on the engine: the local image when there is one, otherwise a pull
// followed to its end. Unlike Swarm, which pulls on every prepare so mutable tags move, a present
// image is used as is: a pull costs a registry round trip per task start, and a node without
// registry access could not restart any task. Pin digests for updates to take effect (documented).
//
// Registry credentials (ContainerSpec.PullOptions.RegistryAuth, the X-Registry-Auth header's
// base64url JSON) go to the engine in that header only: never into a log line or an error message.

import type Docker from 'dockerode';
import type { ExecutorError } from '../executor.js';
import type { EngineHealthcheck } from './container-config.js';
import { executorError } from '../executor.js';
import type { ExecutorLogger } from './engine.js';
import { engineError, isNotFound } from './engine.js';

/** `busybox` → `busybox:latest`; a reference with a tag or digest is kept (the engine would pull every tag of an untagged name). */
export function withDefaultTag(image: string): string {
  if (image.includes('@')) return image;
  const lastComponent = image.slice(image.lastIndexOf('/') + 1);
  return lastComponent.includes(':') ? image : `${image}:latest`;
}

/** The secret parts of an X-Registry-Auth value, to be cut from any text that might echo them. */
function secretsOf(registryAuth: string): string[] {
  const secrets = [registryAuth];
  try {
    const json = JSON.parse(Buffer.from(registryAuth, 'base64url').toString('utf8')) as Record<string, unknown>;
    for (const key of ['password', 'identitytoken', 'registrytoken', 'auth']) {
      const value = json[key];
      if (typeof value === 'string' && value.length >= 4) secrets.push(value);
    }
  } catch {
    // not JSON: the raw value is the only secret we know
  }
  return secrets;
}

export function redact(text: string, registryAuth: string | undefined): string {
  if (!registryAuth) return text;
  let out = text;
  for (const secret of secretsOf(registryAuth)) out = out.split(secret).join('<redacted>');
  return out;
}

/**
 * The header as dockerd decodes it: Go's padded URL-safe base64. Clients that leave the padding
 * off (Node's 'base64url' does) would otherwise have their credentials silently dropped by the
 * engine, which reads an undecodable header as "no credentials".
 */
export function registryAuthHeader(registryAuth: string): string {
  const bytes = Buffer.from(registryAuth, 'base64url');
  try {
    JSON.parse(bytes.toString('utf8'));
  } catch {
    return registryAuth;
  }
  const unpadded = bytes.toString('base64url');
  return unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4);
}

interface PullMessage {
  error?: string;
  errorDetail?: { message?: string };
}

/** Reads a pull's progress stream to its end; the first `error` message in it is the pull's failure. */
function followPull(stream: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let failure: string | undefined;
    const take = (line: string): void => {
      if (line.trim() === '') return;
      try {
        const message = JSON.parse(line) as PullMessage;
        failure ??= message.errorDetail?.message || message.error || undefined;
      } catch {
        // a progress line we cannot read says nothing about success
      }
    };
    stream.on('data', (chunk: Buffer | string) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        take(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
      }
    });
    stream.once('end', () => {
      take(buffered);
      resolve(failure);
    });
    stream.once('error', reject);
  });
}

/** What a container made from an image inherits that the executor must know: its healthcheck. */
export interface ImageFacts {
  healthcheck?: EngineHealthcheck;
}

/**
 * How long an image the engine showed us is taken as present without asking again. Replicas of a
 * service arrive on a node in bursts (tens at once when a service is created or scaled): one
 * inspect serves the burst instead of one per container. Short, so an image re-tagged or removed
 * on the engine is seen soon; a create that finds the image gone anyway forgets it (forget()).
 */
export const IMAGE_FACTS_TTL_MS = 10_000;

export class ImageStore {
  /** One pull per image (and credentials) at a time: replicas of a service on one node share it. */
  private readonly pulls = new Map<string, Promise<void>>();
  /** Recent inspects (or inspects under way) per image reference. */
  private readonly facts = new Map<string, { at: number; facts: Promise<ImageFacts | undefined> }>();

  constructor(private readonly docker: Docker, private readonly host: string, private readonly logger: ExecutorLogger) {}

  /**
   * Resolves once `image` is on the engine, with what containers inherit from it; rejects with
   * IMAGE_NOT_FOUND (task rejected) if the pull fails.
   */
  async ensure(image: string, registryAuth?: string): Promise<ImageFacts> {
    const present = await this.inspect(image);
    if (present) return present;
    const key = `${image}\0${registryAuth ?? ''}`;
    let pull = this.pulls.get(key);
    if (!pull) {
      pull = this.pull(image, registryAuth).finally(() => this.pulls.delete(key));
      this.pulls.set(key, pull);
    }
    await pull;
    this.forget(image);
    return (await this.inspect(image)) ?? {};
  }

  /** The engine no longer has `image` (a create said so): the next ensure() asks again. */
  forget(image: string): void {
    this.facts.delete(image);
  }

  /** The image's facts, undefined when the engine does not have it; shared by concurrent callers and cached briefly. */
  private inspect(image: string): Promise<ImageFacts | undefined> {
    const now = Date.now();
    const cached = this.facts.get(image);
    if (cached && now - cached.at < IMAGE_FACTS_TTL_MS) return cached.facts;
    const facts = this.docker.getImage(image).inspect().then(
      (info) => ({ healthcheck: (info.Config as { Healthcheck?: EngineHealthcheck } | undefined)?.Healthcheck ?? undefined }),
      (error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw engineError(error, { host: this.host, operation: `image inspect ${image}` });
      },
    );
    const entry = { at: now, facts };
    this.facts.set(image, entry);
    // Only a present image is remembered: an absent one is pulled, a failure is asked again.
    facts.then((found) => { if (!found && this.facts.get(image) === entry) this.facts.delete(image); }, () => {
      if (this.facts.get(image) === entry) this.facts.delete(image);
    });
    return facts;
  }

  private async pull(image: string, registryAuth: string | undefined): Promise<void> {
    const reference = withDefaultTag(image);
    const started = Date.now();
    this.logger.info({ image: reference, authenticated: registryAuth !== undefined }, 'pulling image');
    const fail = (reason: string): ExecutorError => {
      const clean = redact(reason, registryAuth);
      this.logger.warn({ image: reference, err: clean }, 'pulling image failed');
      return executorError('IMAGE_NOT_FOUND', { image, reason: clean });
    };
    let failure: string | undefined;
    try {
      // `key` is sent verbatim as X-Registry-Auth; dockerode keeps it out of the query string.
      const auth = registryAuth ? ({ key: registryAuthHeader(registryAuth) } as unknown as Docker.AuthConfig) : undefined;
      const stream = await this.docker.createImage(auth as Docker.AuthConfig, { fromImage: reference });
      failure = await followPull(stream);
    } catch (error) {
      throw engineError(error, { host: this.host, operation: 'pull' }, (reason) => fail(reason));
    }
    if (failure !== undefined) throw fail(failure);
    this.logger.info({ image: reference, ms: Date.now() - started }, 'pulled image');
  }
}
