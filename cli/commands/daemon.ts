// `berth daemon`: dockerd-style flags parsed and checked into DaemonOptions, then handed to
// runDaemon (cli/daemon/daemon.ts). Mistakes in the flags are reported here, before anything
// starts, with the flag's name in the message.

import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULT_DATA_DIR, DEFAULT_HOST, type DaemonOptions, type DaemonTlsOptions } from '../daemon/options.js';
import { parseHost } from '../host.js';
import { collect } from '../options.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** The flags as commander hands them over. */
export interface DaemonFlags {
  dataDir: string;
  host?: string[];
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  insecureTcp?: boolean;
  logLevel: DaemonOptions['logLevel'];
  hostname?: string;
  runtime: DaemonOptions['runtime'];
  dockerHost?: string;
  label?: string[];
}

export type RunDaemon = (options: DaemonOptions) => Promise<void>;

/** `run` is replaceable so tests can see exactly what the daemon would be started with. */
export function daemonCommand(run: RunDaemon = startDaemon): Command {
  return new Command('daemon')
    .description('Run the berth daemon on this host (serves the Engine API; joins or starts a swarm on request)')
    .option('--data-dir <path>', 'where the daemon keeps its state: raft log, store, certificates', DEFAULT_DATA_DIR)
    .option('-H, --host <url>', `API address to listen on, unix:///path or tcp://host:port (repeatable; default ${DEFAULT_HOST})`, collect)
    .option('--tlscacert <file>', 'CA certificate; with --tlscert and --tlskey, turns on TLS for tcp:// listeners')
    .option('--tlscert <file>', "the daemon's TLS certificate")
    .option('--tlskey <file>', "the daemon's TLS private key")
    .option('--tlsverify', 'require TLS client certificates signed by --tlscacert')
    .option('--insecure-tcp', 'allow tcp:// listeners without TLS (for tests on loopback only)')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .option('--hostname <name>', 'the hostname this node reports (to run several daemons on one machine)')
    .addOption(new Option('--runtime <name>', 'what runs tasks: docker (containers), process (host processes), or auto (docker when an engine answers)')
      .choices(['auto', 'docker', 'process']).default('auto'))
    .option('--docker-host <url>', 'the Docker engine to run containers with (default $DOCKER_HOST, else unix:///var/run/docker.sock)')
    .option('--label <key=value>', 'an engine label this node reports, for placement constraints (repeatable)', collect)
    .action(async (flags: DaemonFlags, cmd: Command) => {
      // With positional options, `berth -H x daemon` sets the client's address, not a listener.
      if (cmd.parent?.getOptionValue('host') !== undefined) {
        cmd.error("-H before 'daemon' names a daemon to talk to; give listen addresses after it: berth daemon -H <url>", { exitCode: 2 });
      }
      let options: DaemonOptions;
      try {
        options = daemonOptions(flags);
      } catch (err) {
        cmd.error((err as Error).message, { exitCode: 2 });
      }
      await run(options);
    });
}

/** Checks the flags together (TLS needs all three files; tcp:// needs TLS) and fills in defaults. */
export function daemonOptions(flags: DaemonFlags): DaemonOptions {
  const tls = tlsOptions(flags);
  const hosts = (flags.host?.length ? flags.host : [DEFAULT_HOST]).map((spec) => parseHost(spec, tls !== undefined));
  const plainTcp = hosts.find((h) => h.kind === 'tcp' && !tls && !flags.insecureTcp);
  if (plainTcp) {
    throw new Error(
      `refusing to serve ${plainTcp.url} without TLS: pass --tlsverify --tlscacert --tlscert --tlskey, or --insecure-tcp for loopback tests`,
    );
  }
  if (flags.hostname !== undefined && flags.hostname.trim() === '') throw new Error('--hostname must not be empty');
  if (flags.dockerHost !== undefined && !/^(unix|tcp):\/\/./.test(flags.dockerHost)) {
    throw new Error(`--docker-host ${JSON.stringify(flags.dockerHost)}: expected unix:///path or tcp://host:port`);
  }
  const labels: Record<string, string> = {};
  for (const label of flags.label ?? []) {
    const eq = label.indexOf('=');
    if (eq <= 0) throw new Error(`--label ${JSON.stringify(label)}: expected key=value`);
    labels[label.slice(0, eq)] = label.slice(eq + 1);
  }
  return {
    // Absolute, so the daemon's idea of it does not depend on where it was started from.
    dataDir: resolve(flags.dataDir),
    hosts: hosts.map((h) => h.url),
    ...(tls ? { tls } : {}),
    insecureTcp: Boolean(flags.insecureTcp),
    logLevel: flags.logLevel,
    ...(flags.hostname !== undefined ? { hostname: flags.hostname } : {}),
    runtime: flags.runtime ?? 'auto',
    ...(flags.dockerHost !== undefined ? { dockerHost: flags.dockerHost } : {}),
    labels,
  };
}

function tlsOptions(flags: DaemonFlags): DaemonTlsOptions | undefined {
  const files = { '--tlscacert': flags.tlscacert, '--tlscert': flags.tlscert, '--tlskey': flags.tlskey };
  if (!flags.tlsverify && Object.values(files).every((f) => f === undefined)) return undefined;
  const missing = Object.entries(files).filter(([, file]) => !file).map(([flag]) => flag);
  if (missing.length) throw new Error(`TLS needs --tlscacert, --tlscert and --tlskey (missing ${missing.join(', ')})`);
  for (const [flag, file] of Object.entries(files)) {
    try {
      accessSync(file!, constants.R_OK);
    } catch (err) {
      throw new Error(`cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return { verify: Boolean(flags.tlsverify), ca: resolve(flags.tlscacert!), cert: resolve(flags.tlscert!), key: resolve(flags.tlskey!) };
}

/**
 * Loaded on use: the client verbs never pay for the daemon's modules (raft, store, gRPC). The
 * specifier is computed because cli/daemon/daemon.ts is being written alongside this command.
 */
async function startDaemon(options: DaemonOptions): Promise<void> {
  const daemonModule = new URL('../daemon/daemon.js', import.meta.url).href;
  const { runDaemon } = (await import(daemonModule)) as { runDaemon: RunDaemon };
  await runDaemon(options);
}
