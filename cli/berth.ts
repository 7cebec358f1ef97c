#!/usr/bin/env node
// The `berth` command: the docker CLI's swarm and node verbs spoken to a berth daemon over the
// Engine API, plus `berth daemon` to run one. Global flags go before the verb, as with docker
// (`berth -H tcp://… node ls`), so `berth daemon -H …` can mean a listen address.
//
// Exit status: 0 on success, 1 when the daemon or the system says no, 2 when the command line is
// wrong (commander's usage errors and flag checks).

import { Command, CommanderError } from 'commander';
import { CLIENT_VERSION } from './client.js';
import { daemonCommand } from './commands/daemon.js';
import { nodeCommand } from './commands/node.js';
import { serviceCommand } from './commands/service.js';
import { initCommand, joinCommand, joinTokenCommand, leaveCommand } from './commands/swarm.js';
import { infoCommand, versionCommand } from './commands/system.js';
import { AlreadyReported, describeError } from './errors.js';

function buildProgram(): Command {
  const program = new Command('berth')
    .description('Run and manage a berth cluster: a Docker-Swarm-compatible cluster manager')
    .usage('[global options] <command> [options]')
    .version(`berth version ${CLIENT_VERSION}`, '-v, --version', 'print the client version')
    .option('-H, --host <url>', 'daemon to talk to, unix:///path or tcp://host:port (default: $BERTH_HOST, else unix:///run/berth/berth.sock)')
    .option('--tls', 'use TLS for tcp:// without checking the daemon certificate (implied by the flags below)')
    .option('--tlsverify', "use TLS and check the daemon's certificate against --tlscacert")
    .option('--tlscacert <file>', 'CA certificate to trust for the daemon')
    .option('--tlscert <file>', 'client certificate to present')
    .option('--tlskey <file>', 'client private key')
    .enablePositionalOptions()
    .addCommand(initCommand())
    .addCommand(joinCommand())
    .addCommand(leaveCommand())
    .addCommand(joinTokenCommand())
    .addCommand(nodeCommand())
    .addCommand(serviceCommand())
    .addCommand(infoCommand())
    .addCommand(versionCommand())
    .addCommand(daemonCommand());
  configureErrors(program, 'berth');
  return program;
}

/**
 * Every command reports usage errors as docker does ("berth: unknown option '--x'" then
 * "See 'berth node ls --help'.") and throws instead of exiting, so the exit status is set in one place.
 */
function configureErrors(command: Command, path: string): void {
  command
    .exitOverride()
    .showHelpAfterError(`See '${path} --help'.`)
    .configureOutput({ outputError: (text, write) => write(`berth: ${text.replace(/^error: /, '')}`) });
  for (const sub of command.commands) configureErrors(sub, `${path} ${sub.name()}`);
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed the help, version or usage error; only the status is left to set.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (!(err instanceof AlreadyReported)) process.stderr.write(`${describeError(err)}\n`);
    process.exitCode = 1;
  }
}

await main();
