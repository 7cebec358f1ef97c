// Task tables as `docker node ps` prints them: tasks named <service>.<slot> (or <service>.<node ID>
// for global services), sorted by name with the newest first, older tasks of the same slot
// indented under it, service and node IDs resolved to names with one lookup per ID.

import type { EngineClient } from './client.js';
import type { Node, Service, Task } from './engine-types.js';
import { ago, capitalize, ellipsis, json, naturalCompare, shortId, table } from './format.js';
import type { OutputFormat } from './options.js';

export interface TaskPrintOptions {
  format: OutputFormat;
  quiet: boolean;
  /** Shorten IDs, images (no digest) and errors, as docker does unless --no-trunc. */
  trunc: boolean;
  /** Show service and node names rather than their IDs. */
  resolve: boolean;
}

/** docker's maxErrLength: longer task errors are cut in tables. */
const MAX_ERROR_LENGTH = 30;
/** Marks an earlier task of the same slot, as in docker's tables. */
const HISTORY_INDENT = ' \\_ ';

export async function printTasks(client: EngineClient, tasks: Task[], options: TaskPrintOptions): Promise<void> {
  if (options.format === 'json') {
    process.stdout.write(json(tasks));
    return;
  }
  if (options.quiet) {
    process.stdout.write(tasks.map((t) => `${options.trunc ? shortId(t.ID) : t.ID}\n`).join(''));
    return;
  }
  const names = new NameResolver(client, options.resolve);
  const named: { task: Task; name: string; node: string }[] = [];
  for (const task of tasks) {
    const service = await names.service(task.ServiceID);
    const node = task.NodeID ? await names.node(task.NodeID) : '';
    named.push({ task, name: `${service}.${task.Slot ? task.Slot : task.NodeID}`, node });
  }
  named.sort((a, b) => naturalCompare(a.name, b.name) || (b.task.CreatedAt ?? '').localeCompare(a.task.CreatedAt ?? ''));
  const rows = named.map(({ task, name, node }, i) => [
    options.trunc ? shortId(task.ID) : task.ID,
    i > 0 && named[i - 1].name === name ? `${HISTORY_INDENT}${name}` : name,
    image(task, options.trunc),
    node,
    capitalize(task.DesiredState),
    `${capitalize(task.Status?.State)} ${ago(task.Status?.Timestamp)}`.trim(),
    taskError(task, options.trunc),
    ports(task),
  ]);
  process.stdout.write(table(['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS'], rows));
}

/** Caches lookups: a node running 50 tasks of one service costs two requests, not 100. */
class NameResolver {
  private readonly cache = new Map<string, Promise<string>>();

  constructor(
    private readonly client: EngineClient,
    private readonly enabled: boolean,
  ) {}

  service(id: string): Promise<string> {
    return this.lookup(`service/${id}`, id, async () => {
      const service = await this.client.get<Service>(`/services/${encodeURIComponent(id)}`, { insertDefaults: 'false' });
      return service.Spec?.Name || id;
    });
  }

  node(id: string): Promise<string> {
    return this.lookup(`node/${id}`, id, async () => {
      const node = await this.client.get<Node>(`/nodes/${encodeURIComponent(id)}`);
      return node.Description?.Hostname || id;
    });
  }

  /** A name that cannot be looked up (the service was removed) is shown as its ID. */
  private lookup(key: string, id: string, fetch: () => Promise<string>): Promise<string> {
    if (!this.enabled) return Promise.resolve(id);
    let name = this.cache.get(key);
    if (!name) {
      name = fetch().catch(() => id);
      this.cache.set(key, name);
    }
    return name;
  }
}

/** With truncation, a digest is dropped when a tag names the image anyway ("nginx:1@sha256:…" → "nginx:1"). */
function image(task: Task, trunc: boolean): string {
  const ref = task.Spec?.ContainerSpec?.Image ?? '';
  if (!trunc) return ref;
  const at = ref.indexOf('@');
  if (at < 0) return ref;
  const named = ref.slice(0, at);
  const hasTag = named.lastIndexOf(':') > named.lastIndexOf('/');
  return hasTag ? named : ref;
}

function taskError(task: Task, trunc: boolean): string {
  const err = task.Status?.Err ?? '';
  if (!err) return '';
  return `"${trunc ? ellipsis(err, MAX_ERROR_LENGTH) : err}"`;
}

function ports(task: Task): string {
  return (task.Status?.PortStatus?.Ports ?? [])
    .map((p) => `*:${p.PublishedPort ?? 0}->${p.TargetPort ?? 0}/${p.Protocol ?? 'tcp'}`)
    .join(',');
}
