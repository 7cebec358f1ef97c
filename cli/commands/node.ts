// `berth node …`: the docker CLI's node commands, sending the requests it sends (catalog §4).
// Node references are passed to the daemon as typed (it resolves ID, hostname or ID prefix);
// only `self` is resolved here, through GET /info, as docker does.

import { Argument, Command, Option } from 'commander';
import type { EngineClient } from '../client.js';
import type { Info, Node, NodeSpec, Task } from '../engine-types.js';
import { AlreadyReported, describeError, isNotFound } from '../errors.js';
import { bytesSize, capitalize, field, goTime, json, naturalCompare, table } from '../format.js';
import { clientOf, collect, encodeFilters, filterOption, formatOption, type OutputFormat } from '../options.js';
import { printTasks } from '../tasks.js';

export function nodeCommand(): Command {
  const node = new Command('node').description('Manage the nodes of the swarm (run on a manager)');

  node
    .command('ls')
    .alias('list')
    .description('List the nodes of the swarm by hostname; * marks the node this daemon runs on')
    .option('-q, --quiet', 'only print node IDs')
    .addOption(filterOption('filter nodes: id, label, node.label, membership, name, role (repeatable)'))
    .addOption(formatOption())
    .action(async (opts: { quiet?: boolean; filter?: string[]; format: OutputFormat }, cmd: Command) => {
      const client = clientOf(cmd);
      const nodes = await client.get<Node[]>('/nodes', { filters: encodeFilters(opts.filter) });
      nodes.sort((a, b) => naturalCompare(hostname(a), hostname(b)) || naturalCompare(a.ID, b.ID));
      if (opts.quiet) {
        process.stdout.write(nodes.map((n) => `${n.ID}\n`).join(''));
        return;
      }
      if (opts.format === 'json') {
        process.stdout.write(json(nodes));
        return;
      }
      // Like docker, ask /info who we are only when there is a row to mark.
      const self = nodes.length > 0 ? ((await client.get<Info>('/info')).Swarm?.NodeID ?? '') : '';
      process.stdout.write(
        table(
          ['ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE VERSION'],
          nodes.map((n) => [
            `${n.ID} ${n.ID === self ? '*' : ' '}`,
            hostname(n),
            capitalize(n.Status?.State),
            capitalize(n.Spec.Availability),
            managerStatus(n),
            n.Description?.Engine?.EngineVersion ?? '',
          ]),
        ),
      );
    });

  node
    .command('inspect')
    .description('Show nodes in detail: JSON by default, --pretty for people ("self" is this node)')
    .argument('<node...>', 'node ID, ID prefix, hostname, or "self"')
    .option('--pretty', 'print in a human-friendly format')
    .addOption(new Option('--format <format>', 'output format (JSON is the default)').choices(['json']))
    .action(async (refs: string[], opts: { pretty?: boolean; format?: string }, cmd: Command) => {
      if (opts.pretty && opts.format) cmd.error('--format is incompatible with the --pretty format', { exitCode: 2 });
      const client = clientOf(cmd);
      const found: Node[] = [];
      const missing: unknown[] = [];
      for (const ref of refs) {
        try {
          found.push(await inspectNode(client, await resolveSelf(client, ref)));
        } catch (err) {
          // As docker: nodes that do not exist are reported after the ones that do; other errors stop.
          if (!isNotFound(err)) throw err;
          missing.push(err);
        }
      }
      if (!opts.pretty) process.stdout.write(json(found));
      else if (found.length > 0) process.stdout.write(`${found.map(prettyNode).join('\n\n')}\n`);
      reportAll(missing);
    });

  node
    .command('update')
    .description('Change a node: availability, role, labels')
    .argument('<node>', 'node ID, ID prefix, hostname, or "self"')
    .addOption(new Option('--availability <availability>', 'availability of the node').choices(['active', 'pause', 'drain']))
    .addOption(new Option('--role <role>', 'role of the node').choices(['worker', 'manager']))
    .option('--label-add <key=value>', 'add or update a node label (repeatable)', collect)
    .option('--label-rm <key>', 'remove a node label if it exists (repeatable)', collect)
    .action(async (ref: string, opts: UpdateFlags, cmd: Command) => {
      const client = clientOf(cmd);
      await updateNode(client, await resolveSelf(client, ref), (spec) => mergeUpdate(spec, opts));
      process.stdout.write(`${ref}\n`);
    });

  node
    .command('promote')
    .description('Make worker nodes managers')
    .argument('<node...>', 'node ID, ID prefix, hostname, or "self"')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      await changeRole(clientOf(cmd), refs, 'manager');
    });

  node
    .command('demote')
    .description('Make manager nodes workers')
    .argument('<node...>', 'node ID, ID prefix, hostname, or "self"')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      await changeRole(clientOf(cmd), refs, 'worker');
    });

  node
    .command('rm')
    .alias('remove')
    .description('Remove nodes from the swarm (a manager must be demoted first)')
    .argument('<node...>', 'node ID, ID prefix, or hostname')
    .option('-f, --force', 'remove the node even if it is not down')
    .action(async (refs: string[], opts: { force?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const errors: unknown[] = [];
      for (const ref of refs) {
        try {
          await client.delete(`/nodes/${encodeURIComponent(ref)}`, { force: opts.force ? '1' : undefined });
          process.stdout.write(`${ref}\n`);
        } catch (err) {
          errors.push(err);
        }
      }
      reportAll(errors);
    });

  node
    .command('ps')
    .description('List the tasks running on nodes (default: this node)')
    .addArgument(new Argument('[node...]', 'node ID, ID prefix, hostname, or "self"').default(['self']))
    .addOption(filterOption('filter tasks: desired-state, id, label, name (repeatable)'))
    .option('-q, --quiet', 'only print task IDs')
    .option('--no-trunc', 'do not truncate IDs, images and errors')
    .option('--no-resolve', 'show service and node IDs instead of names')
    .addOption(formatOption())
    .action(async (refs: string[], opts: PsFlags, cmd: Command) => {
      const client = clientOf(cmd);
      const tasks: Task[] = [];
      const errors: unknown[] = [];
      for (const ref of refs) {
        try {
          const n = await inspectNode(client, await resolveSelf(client, ref));
          const filters = encodeFilters([...(opts.filter ?? []), `node=${n.ID}`]);
          tasks.push(...(await client.get<Task[]>('/tasks', { filters })));
        } catch (err) {
          errors.push(err);
        }
      }
      await printTasks(client, tasks, { format: opts.format, quiet: Boolean(opts.quiet), trunc: opts.trunc, resolve: opts.resolve });
      reportAll(errors);
    });

  return node;
}

interface UpdateFlags {
  availability?: 'active' | 'pause' | 'drain';
  role?: 'worker' | 'manager';
  labelAdd?: string[];
  labelRm?: string[];
}

interface PsFlags {
  filter?: string[];
  quiet?: boolean;
  trunc: boolean;
  resolve: boolean;
  format: OutputFormat;
}

/** `self` means the node this daemon runs on; anything else goes to the daemon as typed. */
function resolveSelf(client: EngineClient, ref: string): Promise<string> {
  return ref === 'self' ? selfNodeId(client) : Promise.resolve(ref);
}

/** The ID of the node the daemon we talk to runs on. */
export async function selfNodeId(client: EngineClient): Promise<string> {
  const nodeId = (await client.get<Info>('/info')).Swarm?.NodeID;
  if (!nodeId) throw new Error('this node is not part of a swarm: /info reports no node ID');
  return nodeId;
}

function inspectNode(client: EngineClient, ref: string): Promise<Node> {
  return client.get<Node>(`/nodes/${encodeURIComponent(ref)}`);
}

/**
 * Read the node, change its spec, write the whole spec back at the version just read (the daemon
 * refuses a stale version, so a concurrent change is never overwritten). `change` returns false
 * to skip the write; the result says whether it happened.
 */
async function updateNode(client: EngineClient, ref: string, change: (spec: NodeSpec, node: Node) => boolean | void): Promise<boolean> {
  const node = await inspectNode(client, ref);
  const spec = structuredClone(node.Spec);
  if (change(spec, node) === false) return false;
  await client.post(`/nodes/${encodeURIComponent(node.ID)}/update`, spec, { version: String(node.Version.Index) });
  return true;
}

/** docker's mergeNodeUpdate: role, availability, then labels added, then labels removed. */
function mergeUpdate(spec: NodeSpec, flags: UpdateFlags): void {
  const labels = (spec.Labels ??= {});
  if (flags.role) spec.Role = flags.role;
  if (flags.availability) spec.Availability = flags.availability;
  for (const label of flags.labelAdd ?? []) {
    const at = label.indexOf('=');
    if (at < 0) labels[label] = '';
    else labels[label.slice(0, at)] = label.slice(at + 1);
  }
  for (const key of flags.labelRm ?? []) {
    // A typo should not pass for a successful removal.
    if (!(key in labels)) throw new Error(`key ${key} doesn't exist in node's labels`);
    delete labels[key];
  }
}

async function changeRole(client: EngineClient, refs: string[], role: 'manager' | 'worker'): Promise<void> {
  for (const ref of refs) {
    const written = await updateNode(client, ref, (spec, node) => {
      if (spec.Role === role) {
        process.stdout.write(`Node ${node.ID} is already a ${role}.\n`);
        return false;
      }
      spec.Role = role;
    });
    if (written) {
      process.stdout.write(role === 'manager' ? `Node ${ref} promoted to a manager in the swarm.\n` : `Manager ${ref} demoted in the swarm.\n`);
    }
  }
}

/** Prints each collected error; the command then fails with status 1. */
function reportAll(errors: unknown[]): void {
  if (errors.length === 0) return;
  for (const err of errors) process.stderr.write(`${describeError(err)}\n`);
  throw new AlreadyReported();
}

function hostname(node: Node): string {
  return node.Description?.Hostname ?? '';
}

/** "Leader", else the reachability ("Reachable"/"Unreachable"); workers have none. */
function managerStatus(node: Node): string {
  if (!node.ManagerStatus) return '';
  return node.ManagerStatus.Leader ? 'Leader' : capitalize(node.ManagerStatus.Reachability);
}

/** docker's nodeInspectPrettyTemplate, line for line. */
function prettyNode(node: Node): string {
  const d = node.Description ?? {};
  const lines = [field('ID', node.ID)];
  if (node.Spec.Name) lines.push(field('Name', node.Spec.Name));
  lines.push(...labelLines('Labels', node.Spec.Labels));
  lines.push(field('Hostname', d.Hostname ?? ''));
  // Go prints the time and PrettyPrint lower-cases all but its first letter: "+0000 utc".
  lines.push(field('Joined at', capitalize(goTime(node.CreatedAt ?? ''))));
  lines.push('Status:', field(' State', capitalize(node.Status?.State)));
  if (node.Status?.Message) lines.push(field(' Message', capitalize(node.Status.Message)));
  lines.push(field(' Availability', capitalize(node.Spec.Availability)));
  if (node.Status?.Addr) lines.push(field(' Address', node.Status.Addr));
  if (node.ManagerStatus) {
    lines.push(
      'Manager Status:',
      field(' Address', node.ManagerStatus.Addr ?? ''),
      field(' Raft Status', capitalize(node.ManagerStatus.Reachability)),
      field(' Leader', node.ManagerStatus.Leader ? 'Yes' : 'No'),
    );
  }
  lines.push('Platform:', field(' Operating System', d.Platform?.OS ?? ''), field(' Architecture', d.Platform?.Architecture ?? ''));
  lines.push(
    'Resources:',
    field(' CPUs', Math.floor((d.Resources?.NanoCPUs ?? 0) / 1e9)),
    field(' Memory', bytesSize(d.Resources?.MemoryBytes ?? 0)),
  );
  const plugins = new Map<string, string[]>();
  for (const p of d.Engine?.Plugins ?? []) plugins.set(p.Type, [...(plugins.get(p.Type) ?? []), p.Name]);
  if (plugins.size > 0) {
    lines.push('Plugins:');
    for (const type of [...plugins.keys()].sort()) lines.push(field(` ${type}`, plugins.get(type)!.sort().join(', ')));
  }
  lines.push(field('Engine Version', d.Engine?.EngineVersion ?? ''));
  lines.push(...labelLines('Engine Labels', d.Engine?.Labels));
  const tls = d.TLSInfo;
  if (tls?.TrustRoot) {
    lines.push(
      'TLS Info:',
      ' TrustRoot:',
      tls.TrustRoot,
      field(' Issuer Subject', tls.CertIssuerSubject ?? ''),
      field(' Issuer Public Key', tls.CertIssuerPublicKey ?? ''),
    );
  }
  return lines.join('\n');
}

function labelLines(title: string, labels: Record<string, string> | null | undefined): string[] {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return [];
  return [`${title}:`, ...keys.map((k) => ` - ${k}${labels![k] ? `=${labels![k]}` : ''}`)];
}
