// A Docker Swarm over the engines of deploy/docker-hosts.ts: `swarm init` on the first engine,
// then the other managers and the workers `swarm join` with the tokens, all through the Engine
// API on each engine's socket (what `docker swarm init/join` send). Each engine advertises its
// own namespace address, so Raft, the dispatcher and gossip cross the bridge like separate hosts.
// leave() makes every engine that still answers leave (force), which also removes the swarm's
// task containers there; the engines themselves stay up for the next cluster.

import type { DockerHost } from './docker-hosts.js';
import { engine, sleep } from './docker-hosts.js';

/** Swarm's default cluster port. Each engine has its own address, so they all use it. */
const SWARM_PORT = 2377;
/** A joining manager waits for Raft to add it; 60 s is far above what 5 local engines need. */
const FORM_TIMEOUT_MS = 60_000;

export interface SwarmNode {
  host: DockerHost;
  role: 'manager' | 'worker';
  nodeId: string;
}

export class DockerSwarm {
  private constructor(readonly nodes: SwarmNode[]) {}

  /** The first `managers` hosts become managers, the rest workers; resolves once all are ready. */
  static async form(hosts: DockerHost[], managers: number): Promise<DockerSwarm> {
    const nodes: SwarmNode[] = hosts.map((host, i) => ({ host, role: i < managers ? 'manager' : 'worker', nodeId: '' }));
    const swarm = new DockerSwarm(nodes);
    try {
      await swarm.init();
      await swarm.waitReady();
    } catch (err) {
      await swarm.leave();
      throw err;
    }
    return swarm;
  }

  /** The API socket to send service requests to (the first manager, the Raft leader after init). */
  get socket(): string {
    return this.nodes[0].host.socket;
  }

  private async init(): Promise<void> {
    const [first, ...rest] = this.nodes;
    const listen = `0.0.0.0:${SWARM_PORT}`;
    const init = await engine<string>(first.host.socket, 'POST', '/swarm/init', {
      ListenAddr: listen, AdvertiseAddr: `${first.host.ip}:${SWARM_PORT}`, ForceNewCluster: false, Spec: {},
    });
    if (init.status !== 200) throw new Error(`${first.host.name}: swarm init failed: ${JSON.stringify(init.body)}`);
    first.nodeId = init.body;
    const info = await engine<{ JoinTokens: { Worker: string; Manager: string } }>(first.host.socket, 'GET', '/swarm');
    const join = async (n: SwarmNode): Promise<void> => {
      const res = await engine(n.host.socket, 'POST', '/swarm/join', {
        ListenAddr: listen, AdvertiseAddr: `${n.host.ip}:${SWARM_PORT}`, RemoteAddrs: [`${first.host.ip}:${SWARM_PORT}`],
        JoinToken: n.role === 'manager' ? info.body.JoinTokens.Manager : info.body.JoinTokens.Worker,
      }, FORM_TIMEOUT_MS);
      if (res.status !== 200) throw new Error(`${n.host.name}: swarm join failed: ${JSON.stringify(res.body)}`);
      const self = await engine<{ Swarm: { NodeID: string } }>(n.host.socket, 'GET', '/info');
      n.nodeId = self.body.Swarm.NodeID;
    };
    // Managers one at a time (each is a Raft membership change); workers together.
    for (const n of rest.filter((m) => m.role === 'manager')) await join(n);
    await Promise.all(rest.filter((w) => w.role === 'worker').map(join));
  }

  /** Until every node is ready and every manager reachable, as the first manager sees them. */
  private async waitReady(): Promise<void> {
    const deadline = Date.now() + FORM_TIMEOUT_MS;
    for (;;) {
      const res = await engine<{ ID: string; Status: { State: string }; ManagerStatus?: { Reachability: string } }[]>(this.socket, 'GET', '/nodes');
      if (res.status === 200 && this.nodes.every((n) => res.body.some((m) => m.ID === n.nodeId && m.Status.State === 'ready'
        && (n.role === 'worker' || m.ManagerStatus?.Reachability === 'reachable')))) return;
      if (Date.now() > deadline) throw new Error(`swarm not ready within ${FORM_TIMEOUT_MS} ms: ${JSON.stringify(res.body)}`);
      await sleep(200);
    }
  }

  /**
   * Every engine that answers leaves the swarm (force: managers losing quorum one by one would
   * otherwise refuse). Leaving removes that engine's task containers; docker_gwbridge goes too.
   */
  async leave(): Promise<void> {
    await Promise.all(this.nodes.map(async (n) => {
      const ping = await engine(n.host.socket, 'GET', '/_ping', undefined, 2000).catch(() => null);
      if (ping?.status !== 200) return;
      await engine(n.host.socket, 'POST', '/swarm/leave?force=1', undefined, FORM_TIMEOUT_MS).catch(() => undefined);
      await engine(n.host.socket, 'DELETE', '/networks/docker_gwbridge').catch(() => undefined);
    }));
  }
}
