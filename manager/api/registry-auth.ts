// Registry credentials for pulling a service's image (`docker service create --with-registry-auth`
// sends them base64url-encoded in the X-Registry-Auth header). As in dockerd, they are kept in the
// task template (ContainerSpec.PullOptions.RegistryAuth), so they travel with each task to the node
// that pulls, and are never shown: every service and task the API renders has them removed.

type Loose = Record<string, unknown>;

function isRecord(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const REGISTRY_AUTH_HEADER = 'x-registry-auth';

/** Where an update takes credentials from when it sends none (`registryAuthFrom`), as in dockerd. */
export type RegistryAuthSource = 'spec' | 'previous-spec';

function containerSpecOf(serviceSpec: unknown): Loose | undefined {
  if (!isRecord(serviceSpec) || !isRecord(serviceSpec.TaskTemplate)) return undefined;
  const container = serviceSpec.TaskTemplate.ContainerSpec;
  return isRecord(container) ? container : undefined;
}

/** The stored credentials of a service spec, if any. */
export function registryAuthOf(serviceSpec: unknown): string | undefined {
  const pull = containerSpecOf(serviceSpec)?.PullOptions;
  return isRecord(pull) && typeof pull.RegistryAuth === 'string' && pull.RegistryAuth !== '' ? pull.RegistryAuth : undefined;
}

/** Stores `encoded` in the spec (in place); no-op without credentials or without a ContainerSpec. */
export function setRegistryAuth(serviceSpec: unknown, encoded: string | undefined): void {
  const container = containerSpecOf(serviceSpec);
  if (!container || !encoded) return;
  container.PullOptions = { ...(isRecord(container.PullOptions) ? container.PullOptions : {}), RegistryAuth: encoded };
}

/** Removes credentials from a task or service spec about to be rendered (in place; pass a copy). */
export function hideRegistryAuth(taskSpec: unknown): void {
  if (!isRecord(taskSpec) || !isRecord(taskSpec.ContainerSpec)) return;
  const container = taskSpec.ContainerSpec;
  if (!isRecord(container.PullOptions)) return;
  delete container.PullOptions.RegistryAuth;
  if (Object.keys(container.PullOptions).length === 0) delete container.PullOptions;
}

/** A header value as fastify hands it over: the first when repeated, undefined when empty. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first && first.trim() !== '' ? first.trim() : undefined;
}
