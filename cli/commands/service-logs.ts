// `berth service logs`: docker's `service logs` (docker/cli v28 cli/command/service/logs.go):
// the service (or, failing that, the task) is looked up first, then its logs are streamed and each
// line printed as `name.slot.task@node    | line`, stdout lines to stdout and stderr lines to
// stderr. The stream is the Engine API's multiplexed framing (shared/log-frames.ts); `details=1`
// is always asked for (unless --raw), because the prefix is built from the
// com.docker.swarm.{node,service,task}.id details, resolved to names once each.

import { Command, Option } from 'commander';
import type { EngineClient, Query } from '../client.js';
import { isNotFound } from '../errors.js';
import { shortId } from '../format.js';
import { clientOf } from '../options.js';
import { parseGoDuration } from '../service-flags.js';
import { FrameDecoder } from '../../shared/log-frames.js';

interface LogsFlags {
  follow?: boolean;
  since?: string;
  tail: string;
  timestamps?: boolean;
  details?: boolean;
  raw?: boolean;
  taskIds: boolean;
  trunc: boolean;
  resolve: boolean;
}

interface ServiceInfo {
  ID: string;
  Spec?: { Name?: string; Mode?: { Replicated?: { Replicas?: number } }; TaskTemplate?: { ContainerSpec?: { TTY?: boolean } } };
}

interface TaskInfo {
  ID: string;
  Slot?: number;
  Spec?: { ContainerSpec?: { TTY?: boolean } };
}

interface NodeInfo {
  ID: string;
  Spec?: { Name?: string };
  Description?: { Hostname?: string };
}

const CONTEXT_KEYS = ['com.docker.swarm.node.id', 'com.docker.swarm.service.id', 'com.docker.swarm.task.id'] as const;

/**
 * docker's GetTimestamp: a Go duration ("42m") is that long before now, in whole seconds; unix
 * seconds pass as they are; a date or RFC 3339 time (local when it names no zone) becomes
 * seconds.nanoseconds.
 */
export function sinceTimestamp(value: string, now: number = Date.now()): string {
  if (value !== '0') {
    try {
      const ns = parseGoDuration(value);
      return String(Math.floor((now - ns / 1e6) / 1000));
    } catch {
      // not a duration
    }
  }
  if (/^-?\d+(\.\d+)?$/.test(value)) return value;
  let text = value;
  if (/^\d{4}-\d\d-\d\d$/.test(text)) text += 'T00:00:00';
  const fraction = /\.(\d+)/.exec(text)?.[1] ?? '';
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new Error(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
  const seconds = Math.floor(ms / 1000);
  return `${seconds}.${fraction.padEnd(9, '0').slice(0, 9)}`;
}

/** Go's url.ParseQuery unescaping of one detail key or value. */
function queryUnescape(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** docker's ParseLogDetails: `k=v,k=v` (each part URL-query-escaped). */
export function parseLogDetails(text: string): Map<string, string> {
  const details = new Map<string, string>();
  if (text === '') return details;
  for (const pair of text.split(',')) {
    const at = pair.indexOf('=');
    if (at < 0) throw new Error('invalid details format');
    details.set(queryUnescape(pair.slice(0, at)), queryUnescape(pair.slice(at + 1)));
  }
  return details;
}

/** Builds each context's `name.slot.task@node<padding>` once, as docker's taskFormatter. */
class TaskFormatter {
  private readonly cache = new Map<string, Promise<string>>();
  private readonly names = new Map<string, Promise<string>>();

  constructor(
    private readonly client: EngineClient,
    private readonly flags: LogsFlags,
    /** Digits of the replica count: shorter slots are padded to line the bars up. */
    private readonly padding: number,
  ) {}

  format(nodeId: string, serviceId: string, taskId: string): Promise<string> {
    const key = `${nodeId}/${serviceId}/${taskId}`;
    let formatted = this.cache.get(key);
    if (!formatted) {
      formatted = this.build(nodeId, serviceId, taskId);
      this.cache.set(key, formatted);
    }
    return formatted;
  }

  private async build(nodeId: string, serviceId: string, taskId: string): Promise<string> {
    const [nodeName, serviceName, task] = await Promise.all([
      this.name(`node/${nodeId}`, nodeId, async () => {
        const node = await this.client.get<NodeInfo>(`/nodes/${encodeURIComponent(nodeId)}`);
        return node.Spec?.Name || node.Description?.Hostname || nodeId;
      }),
      this.name(`service/${serviceId}`, serviceId, async () => {
        const service = await this.client.get<ServiceInfo>(`/services/${encodeURIComponent(serviceId)}`, { insertDefaults: 'false' });
        return service.Spec?.Name || serviceId;
      }),
      this.client.get<TaskInfo>(`/tasks/${encodeURIComponent(taskId)}`),
    ]);
    const slot = task.Slot ?? 0;
    let name = `${serviceName}.${slot}`;
    if (this.flags.taskIds) name += `.${this.flags.trunc ? shortId(task.ID) : task.ID}`;
    return `${name}@${nodeName}${' '.repeat(Math.max(0, this.padding - String(slot).length))}`;
  }

  private name(key: string, id: string, fetch: () => Promise<string>): Promise<string> {
    if (!this.flags.resolve) return Promise.resolve(id);
    let name = this.names.get(key);
    if (!name) {
      name = fetch();
      this.names.set(key, name);
    }
    return name;
  }
}

/** One framed line as docker prints it: [time ]prefix    | [details ]message. */
async function prettyLine(payload: Buffer, flags: LogsFlags, formatter: TaskFormatter): Promise<string> {
  const text = payload.toString('utf8');
  const parts: string[] = [];
  let rest = text;
  for (let i = 0; i < (flags.timestamps ? 2 : 1); i++) {
    const space = rest.indexOf(' ');
    if (space < 0) throw new Error(`invalid context in log message: ${text}`);
    parts.push(rest.slice(0, space));
    rest = rest.slice(space + 1);
  }
  const details = parseLogDetails(parts[parts.length - 1]);
  const ids = CONTEXT_KEYS.map((key) => {
    const value = details.get(key);
    if (value === undefined) throw new Error(`missing ${key.split('.')[3]} id in details`);
    details.delete(key);
    return value;
  });
  let output = flags.timestamps ? `${parts[0]} ` : '';
  output += `${await formatter.format(ids[0], ids[1], ids[2])}    | `;
  if (flags.details) output += `${[...details].map(([k, v]) => `${k}=${v}`).sort().join(',')} `;
  return output + rest;
}

async function runLogs(client: EngineClient, ref: string, flags: LogsFlags): Promise<void> {
  let path: string;
  let tty: boolean;
  let padding = 1;
  try {
    const service = await client.get<ServiceInfo>(`/services/${encodeURIComponent(ref)}`, { insertDefaults: 'false' });
    path = `/services/${encodeURIComponent(ref)}/logs`;
    tty = service.Spec?.TaskTemplate?.ContainerSpec?.TTY === true;
    const replicas = service.Spec?.Mode?.Replicated?.Replicas;
    if (replicas !== undefined) padding = String(replicas).length;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    let task: TaskInfo;
    try {
      task = await client.get<TaskInfo>(`/tasks/${encodeURIComponent(ref)}`);
    } catch (taskErr) {
      if (isNotFound(taskErr)) throw new Error(`no such task or service: ${ref}`);
      throw taskErr;
    }
    path = `/tasks/${encodeURIComponent(ref)}/logs`;
    tty = task.Spec?.ContainerSpec?.TTY === true;
    padding = String(task.Slot ?? 0).length;
  }
  if (tty && !flags.raw) throw new Error('tty service logs only supported with --raw');

  const query: Query = {
    details: flags.details || !flags.raw ? '1' : undefined,
    follow: flags.follow ? '1' : undefined,
    since: flags.since !== undefined ? sinceTimestamp(flags.since) : undefined,
    stderr: '1',
    stdout: '1',
    tail: flags.tail,
    timestamps: flags.timestamps ? '1' : undefined,
  };
  const res = await client.stream(path, query);
  if (tty) {
    for await (const chunk of res) process.stdout.write(chunk as Buffer);
    return;
  }
  const decoder = new FrameDecoder();
  const formatter = new TaskFormatter(client, flags, padding);
  for await (const chunk of res) {
    for (const frame of decoder.push(chunk as Buffer)) {
      if (frame.stream === 'system') throw new Error(`error from daemon in stream: ${frame.payload.toString('utf8')}`);
      const out = frame.stream === 'stderr' ? process.stderr : process.stdout;
      out.write(flags.raw ? frame.payload : await prettyLine(frame.payload, flags, formatter));
    }
  }
}

export function logsCommand(): Command {
  return new Command('logs')
    .description('Fetch the logs of a service or task; -f keeps following them')
    .argument('<service|task>', 'service ID, name or ID prefix, or a task ID')
    .option('-f, --follow', 'follow log output (new lines, and tasks that start later)')
    .option('--since <time>', 'show logs since a time (2013-01-02T13:23:37Z) or relative (42m for 42 minutes)')
    .addOption(new Option('-n, --tail <lines>', 'number of lines to show from the end of the logs of each task').default('all'))
    .option('-t, --timestamps', 'show timestamps')
    .option('--details', 'show extra details provided to logs')
    .option('--raw', 'do not neatly format logs')
    .option('--no-task-ids', 'do not include task IDs in output')
    .option('--no-trunc', 'do not truncate output')
    .option('--no-resolve', 'do not map IDs to names in output')
    .action(async (ref: string, flags: LogsFlags, cmd: Command) => {
      await runLogs(clientOf(cmd), ref, flags);
    });
}
