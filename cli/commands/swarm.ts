// The swarm verbs: `berth init|join|leave|join-token`, docker's `swarm init|join|leave|join-token`
// with the same requests and bodies (catalog §3), so a berth daemon and dockerd see one client.

import { Argument, Command, Option } from 'commander';
import type { EngineClient } from '../client.js';
import type { Info, Node, Swarm } from '../engine-types.js';
import { clientOf } from '../options.js';
import { selfNodeId } from './node.js';

/** Where managers serve cluster traffic unless told otherwise (docker's default too). */
const DEFAULT_LISTEN_ADDR = '0.0.0.0:2377';
/** docker swarm init's default subnet size for the default address pool. */
const DEFAULT_SUBNET_SIZE = 24;

function availabilityOption(): Option {
  return new Option('--availability <availability>', 'availability of this node').choices(['active', 'pause', 'drain']);
}

export function initCommand(): Command {
  return new Command('init')
    .description('Start a new swarm with this node as its first manager')
    .option('--advertise-addr <addr>', 'address other nodes use to reach this one (ip, ip:port or interface)')
    .option('--listen-addr <addr>', 'address to listen on for cluster traffic', DEFAULT_LISTEN_ADDR)
    .option('--force-new-cluster', "rebuild a one-manager swarm from this manager's state, after quorum is lost")
    .addOption(availabilityOption())
    .action(async (opts: { advertiseAddr?: string; listenAddr: string; forceNewCluster?: boolean; availability?: string }, cmd: Command) => {
      const client = clientOf(cmd);
      // The body docker swarm init sends, field for field: the daemon fills in every zero value.
      const nodeId = await client.post<string>('/swarm/init', {
        ListenAddr: opts.listenAddr,
        AdvertiseAddr: opts.advertiseAddr ?? '',
        DataPathAddr: '',
        DataPathPort: 0,
        ForceNewCluster: Boolean(opts.forceNewCluster),
        Spec: {
          Labels: null,
          Orchestration: {},
          Raft: { ElectionTick: 0, HeartbeatTick: 0 },
          Dispatcher: {},
          CAConfig: {},
          TaskDefaults: {},
          EncryptionConfig: { AutoLockManagers: false },
        },
        AutoLockManagers: false,
        Availability: opts.availability ?? '',
        DefaultAddrPool: [],
        SubnetSize: DEFAULT_SUBNET_SIZE,
      });
      process.stdout.write(`Swarm initialized: current node (${nodeId}) is now a manager.\n\n`);
      await printJoinCommand(client, nodeId, 'worker');
      process.stdout.write("To add a manager to this swarm, run 'berth join-token manager' and follow the instructions.\n\n");
    });
}

export function joinCommand(): Command {
  return new Command('join')
    .description('Join a swarm as a worker or a manager, as the token says')
    .argument('<host:port>', 'address of a manager of the swarm')
    .requiredOption('--token <token>', 'join token (from `berth join-token worker|manager` on a manager)')
    .option('--advertise-addr <addr>', 'address other nodes use to reach this one (ip, ip:port or interface)')
    .option('--listen-addr <addr>', 'address to listen on for cluster traffic', DEFAULT_LISTEN_ADDR)
    .addOption(availabilityOption())
    .action(async (remote: string, opts: { token: string; advertiseAddr?: string; listenAddr: string; availability?: string }, cmd: Command) => {
      const client = clientOf(cmd);
      await client.post('/swarm/join', {
        ListenAddr: opts.listenAddr,
        AdvertiseAddr: opts.advertiseAddr ?? '',
        DataPathAddr: '',
        RemoteAddrs: [remote],
        JoinToken: opts.token,
        Availability: opts.availability ?? '',
      });
      // The token decided the role; /info says which it was.
      const info = await client.get<Info>('/info');
      process.stdout.write(`This node joined a swarm as a ${info.Swarm?.ControlAvailable ? 'manager' : 'worker'}.\n`);
    });
}

export function leaveCommand(): Command {
  return new Command('leave')
    .description('Leave the swarm')
    .option('-f, --force', 'leave even if this is a manager (the swarm may lose quorum)')
    .action(async (opts: { force?: boolean }, cmd: Command) => {
      await clientOf(cmd).post('/swarm/leave', undefined, { force: opts.force ? '1' : undefined });
      process.stdout.write('Node left the swarm.\n');
    });
}

export function joinTokenCommand(): Command {
  return new Command('join-token')
    .description('Print the command (or with -q the token) that adds a worker or a manager; --rotate replaces the token')
    .addArgument(new Argument('<role>', 'worker or manager').choices(['worker', 'manager']))
    .option('-q, --quiet', 'only print the token')
    .option('--rotate', 'replace the token, so the old one no longer admits nodes')
    .action(async (role: 'worker' | 'manager', opts: { quiet?: boolean; rotate?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      if (opts.rotate) {
        const swarm = await client.get<Swarm>('/swarm');
        // The spec goes back unchanged: only the rotate flag changes anything.
        await client.post('/swarm/update', swarm.Spec, {
          rotateManagerToken: String(role === 'manager'),
          rotateManagerUnlockKey: 'false',
          rotateWorkerToken: String(role === 'worker'),
          version: String(swarm.Version.Index),
        });
        if (!opts.quiet) process.stdout.write(`Successfully rotated ${role} join token.\n\n`);
      }
      // Read after any rotation, so the token printed is the one now in force.
      const swarm = await client.get<Swarm>('/swarm');
      if (opts.quiet) {
        process.stdout.write(`${joinToken(swarm, role)}\n`);
        return;
      }
      await printJoinCommand(client, await selfNodeId(client), role);
    });
}

function joinToken(swarm: Swarm, role: 'worker' | 'manager'): string {
  const token = role === 'worker' ? swarm.JoinTokens?.Worker : swarm.JoinTokens?.Manager;
  if (!token) throw new Error('the daemon returned no join tokens: is this node a swarm manager?');
  return token;
}

/** The join command names this manager's own cluster address, as docker's does. */
async function printJoinCommand(client: EngineClient, nodeId: string, role: 'worker' | 'manager'): Promise<void> {
  const node = await client.get<Node>(`/nodes/${encodeURIComponent(nodeId)}`);
  const swarm = await client.get<Swarm>('/swarm');
  if (!node.ManagerStatus?.Addr) return;
  process.stdout.write(
    `To add a ${role} to this swarm, run the following command:\n\n    berth join --token ${joinToken(swarm, role)} ${node.ManagerStatus.Addr}\n\n`,
  );
}
