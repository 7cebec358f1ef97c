// `berth info` and `berth version`: one GET each (catalog §2), printed the way `docker info` and
// `docker version` print them, or as raw JSON for scripts.

import { Command } from 'commander';
import { API_VERSION, CLIENT_VERSION } from '../client.js';
import type { Info, ServerVersion, VersionComponent } from '../engine-types.js';
import { bytesSize, humanDuration, json, nanosToMillis } from '../format.js';
import { clientOf, formatOption, type OutputFormat } from '../options.js';

export function infoCommand(): Command {
  return new Command('info')
    .description('Show this daemon and, when it is in a swarm, the swarm: its node, cluster and settings')
    .addOption(formatOption())
    .action(async (opts: { format: OutputFormat }, cmd: Command) => {
      const client = clientOf(cmd);
      if (opts.format === 'json') {
        process.stdout.write(json(await client.get<Info>('/info')));
        return;
      }
      process.stdout.write(`Client:\n Version:    ${CLIENT_VERSION}\n Host:       ${client.address.url}\n\n`);
      const info = await client.get<Info>('/info');
      process.stdout.write(`Server:\n${serverInfo(info).join('\n')}\n`);
      for (const warning of info.Warnings ?? []) process.stderr.write(`${warning}\n`);
    });
}

export function versionCommand(): Command {
  return new Command('version')
    .description('Show the versions of this client and of the daemon')
    .addOption(formatOption())
    .action(async (opts: { format: OutputFormat }, cmd: Command) => {
      const client = clientOf(cmd);
      // Like docker, the client's part is printed even when the daemon cannot be reached.
      let server: ServerVersion | undefined;
      let failure: unknown;
      try {
        server = await client.get<ServerVersion>('/version');
      } catch (err) {
        failure = err;
      }
      const apiVersion = server ? await client.apiVersion() : API_VERSION;
      const clientPart = { Version: CLIENT_VERSION, ApiVersion: apiVersion, NodeVersion: process.version, Os: process.platform, Arch: goArch() };
      if (opts.format === 'json') {
        process.stdout.write(json({ Client: clientPart, Server: server ?? null }));
      } else {
        const lines = [
          'Client:',
          versionLine(' Version:', CLIENT_VERSION),
          versionLine(' API version:', apiVersion === API_VERSION ? apiVersion : `${apiVersion} (downgraded from ${API_VERSION})`),
          versionLine(' Node.js version:', process.version),
          versionLine(' OS/Arch:', `${process.platform}/${goArch()}`),
        ];
        if (server) lines.push('', ...serverVersion(server));
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (failure) throw failure;
    });
}

/** docker's printInfo, for the keys a berth daemon reports; absent keys are left out. */
function serverInfo(info: Info): string[] {
  const lines: string[] = [];
  const put = (label: string, value: unknown): void => {
    if (value !== undefined && value !== null) lines.push(`${label}: ${String(value)}`);
  };
  put(' Containers', info.Containers);
  put('  Running', info.ContainersRunning);
  put('  Paused', info.ContainersPaused);
  put('  Stopped', info.ContainersStopped);
  put(' Images', info.Images);
  put(' Server Version', info.ServerVersion);
  lines.push(...swarmInfo(info.Swarm));
  put(' Kernel Version', info.KernelVersion);
  put(' Operating System', info.OperatingSystem);
  put(' OSType', info.OSType);
  put(' Architecture', info.Architecture);
  put(' CPUs', info.NCPU);
  put(' Total Memory', info.MemTotal === undefined ? undefined : bytesSize(info.MemTotal));
  put(' Name', info.Name);
  put(' ID', info.ID);
  put(' Root Dir', info.DockerRootDir);
  put(' Debug Mode', info.Debug);
  if (info.Labels?.length) lines.push(' Labels:', ...info.Labels.map((l) => `  ${l}`));
  put(' Experimental', info.ExperimentalBuild);
  return lines;
}

/** docker's printSwarmInfo: the node's state, and the cluster's settings on a manager. */
function swarmInfo(swarm: Info['Swarm']): string[] {
  if (!swarm) return [];
  const state = swarm.LocalNodeState ?? 'inactive';
  const lines = [` Swarm: ${state}`];
  if (state === 'inactive' || state === 'locked') return lines;
  lines.push(`  NodeID: ${swarm.NodeID ?? ''}`);
  if (swarm.Error) lines.push(`  Error: ${swarm.Error}`);
  lines.push(`  Is Manager: ${Boolean(swarm.ControlAvailable)}`);
  const cluster = swarm.Cluster;
  if (cluster && swarm.ControlAvailable && !swarm.Error && state !== 'error') {
    const spec = cluster.Spec ?? {};
    lines.push(`  ClusterID: ${cluster.ID}`, `  Managers: ${swarm.Managers ?? 0}`, `  Nodes: ${swarm.Nodes ?? 0}`);
    if (cluster.DefaultAddrPool) {
      lines.push(`  Default Address Pool: ${cluster.DefaultAddrPool.map((p) => `${p}  `).join('')}`);
      lines.push(`  SubnetSize: ${cluster.SubnetSize ?? 0}`);
    }
    if (cluster.DataPathPort) lines.push(`  Data Path Port: ${cluster.DataPathPort}`);
    lines.push(
      '  Orchestration:',
      `   Task History Retention Limit: ${spec.Orchestration?.TaskHistoryRetentionLimit ?? 0}`,
      '  Raft:',
      `   Snapshot Interval: ${spec.Raft?.SnapshotInterval ?? 0}`,
    );
    if (spec.Raft?.KeepOldSnapshots !== undefined) lines.push(`   Number of Old Snapshots to Retain: ${spec.Raft.KeepOldSnapshots}`);
    lines.push(
      `   Heartbeat Tick: ${spec.Raft?.HeartbeatTick ?? 0}`,
      `   Election Tick: ${spec.Raft?.ElectionTick ?? 0}`,
      '  Dispatcher:',
      `   Heartbeat Period: ${humanDuration(nanosToMillis(spec.Dispatcher?.HeartbeatPeriod))}`,
      '  CA Configuration:',
      `   Expiry Duration: ${humanDuration(nanosToMillis(spec.CAConfig?.NodeCertExpiry))}`,
      `   Force Rotate: ${spec.CAConfig?.ForceRotate ?? 0}`,
    );
    const signingCert = spec.CAConfig?.SigningCACert?.trim();
    if (signingCert) lines.push('   Signing CA Certificate: ', signingCert, '');
    if (spec.CAConfig?.ExternalCAs?.length) {
      lines.push('   External CAs:', ...spec.CAConfig.ExternalCAs.map((ca) => `     ${ca.Protocol}: ${ca.URL}`));
    }
    lines.push(
      `  Autolock Managers: ${Boolean(spec.EncryptionConfig?.AutoLockManagers)}`,
      `  Root Rotation In Progress: ${Boolean(cluster.RootRotationInProgress)}`,
    );
  }
  lines.push(`  Node Address: ${swarm.NodeAddr ?? ''}`);
  const managers = (swarm.RemoteManagers ?? []).map((m) => m.Addr).sort();
  if (managers.length) lines.push('  Manager Addresses:', ...managers.map((addr) => `   ${addr}`));
  return lines;
}

/** The Engine component's details in docker's order; other components list their details sorted. */
function serverVersion(server: ServerVersion): string[] {
  const lines = [`Server:${server.Platform?.Name ? ` ${server.Platform.Name}` : ''}`];
  for (const component of components(server)) {
    lines.push(` ${component.Name}:`, versionLine('  Version:', component.Version));
    const details = { ...(component.Details ?? {}) };
    const take = (key: string): string | undefined => {
      const value = details[key];
      delete details[key];
      return value;
    };
    if (component.Name === 'Engine') {
      const api = take('ApiVersion');
      const min = take('MinAPIVersion');
      const os = take('Os');
      const arch = take('Arch');
      const known: [string, string | undefined][] = [
        ['  API version:', api && (min ? `${api} (minimum version ${min})` : api)],
        ['  Go version:', take('GoVersion')],
        ['  Git commit:', take('GitCommit')],
        ['  Built:', take('BuildTime')],
        ['  OS/Arch:', os && arch ? `${os}/${arch}` : os ?? arch],
        ['  Experimental:', take('Experimental')],
      ];
      for (const [label, value] of known) if (value !== undefined) lines.push(versionLine(label, value));
    }
    for (const key of Object.keys(details).sort()) lines.push(versionLine(`  ${key}:`, details[key]));
  }
  return lines;
}

/** Daemons older than API 1.35 send no Components: docker builds the Engine entry from the top level. */
function components(server: ServerVersion): VersionComponent[] {
  if (server.Components?.length) return server.Components;
  const details: Record<string, string> = {};
  for (const key of ['ApiVersion', 'MinAPIVersion', 'GitCommit', 'GoVersion', 'Os', 'Arch', 'BuildTime'] as const) {
    if (server[key]) details[key] = server[key]!;
  }
  if (server.Experimental !== undefined) details.Experimental = String(server.Experimental);
  return [{ Name: 'Engine', Version: server.Version ?? '', Details: details }];
}

/** docker version's tabwriter: minimum width 20, padding 1. */
function versionLine(label: string, value: string): string {
  return `${label.padEnd(Math.max(label.length + 1, 20))}${value}`.trimEnd();
}

/** Architectures named as Go (and so docker) names them: x64 → amd64, ia32 → 386. */
function goArch(): string {
  return ({ x64: 'amd64', ia32: '386' } as Record<string, string>)[process.arch] ?? process.arch;
}
