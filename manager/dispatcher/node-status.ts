// The dispatcher's only writes: a registering node becomes ready with its description, and nodes
// that went silent become down. Each is one store update; heartbeats never write.

import { isIP } from 'node:net';
import type { Frozen, Node, Store, Transaction } from '../store/index.js';
import { NotFoundError, VersionConflictError, thaw } from '../store/index.js';
import type { NodeDescription } from '../../worker/node-description.js';

/** Message a node marked down carries in Status.Message, as in Docker. */
export const HEARTBEAT_FAILURE = 'heartbeat failure';

/**
 * Attempts at a registration write. A conflict means another writer (the API changing the node's
 * spec, a mark-down in flight) changed the node between read and apply; a re-read fixes that, and
 * three conflicts in a row mean something is rewriting the node constantly, which retrying more
 * would not cure.
 */
const READY_WRITE_ATTEMPTS = 3;

/**
 * The IP in a grpc-js peer string ("10.0.0.5:51234", "::ffff:10.0.0.5:51234", "::1:51234"), or
 * '' when it names none. IPv4-mapped IPv6 addresses are given as IPv4, as Docker shows them.
 */
export function ipOfPeer(peer: string): string {
  const colon = peer.lastIndexOf(':');
  let host = colon > 0 && /^\d+$/.test(peer.slice(colon + 1)) ? peer.slice(0, colon) : peer;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.toLowerCase().startsWith('::ffff:') && isIP(host.slice(7)) === 4) host = host.slice(7);
  return isIP(host) === 0 ? '' : host;
}

type Description = NonNullable<Node['Description']>;

/** The stored Description with the agent's report written over it; fields others own (TLSInfo) are kept. */
function describedAs(current: Description | undefined, d: NodeDescription): Description {
  const sub = (field: string): Record<string, unknown> => ({ ...(current?.[field] as Record<string, unknown> | undefined) });
  const engine = sub('Engine');
  return {
    ...current,
    Hostname: d.hostname,
    Platform: { ...sub('Platform'), Architecture: d.arch, OS: d.os },
    Resources: { ...sub('Resources'), NanoCPUs: d.nanoCpus, MemoryBytes: d.memoryBytes },
    Engine: { ...engine, EngineVersion: d.engineVersion, Labels: { ...d.engineLabels }, Plugins: engine.Plugins ?? [] },
  };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Writes the node's description and Status { State: 'ready', Addr } in one update, or nothing
 * when both already read so (an agent reconnecting after a leader change costs no write). Reads
 * linearizably first, so the node is seen as of every committed write, including a mark-down
 * committed by a previous leader. Throws the store's errors; NotFoundError when the node has no
 * object.
 */
export async function markReady(store: Store, nodeId: string, description: NodeDescription, addr: string): Promise<void> {
  await store.readLinearizable();
  for (let attempt = 1; ; attempt++) {
    try {
      await store.update((tx) => {
        const node = tx.get('node', nodeId);
        if (!node) throw new NotFoundError('node', nodeId);
        const next = thaw(node);
        next.Description = describedAs(next.Description, description);
        next.Status = { State: 'ready', Addr: addr || (node.Status?.Addr ?? '') };
        if (sameJson(next.Description, node.Description) && sameJson(next.Status, node.Status)) return;
        tx.update('node', next);
      });
      return;
    } catch (error) {
      if (!(error instanceof VersionConflictError) || attempt >= READY_WRITE_ATTEMPTS) throw error;
    }
  }
}

export interface MarkDownOutcome {
  /** Nodes now down (written by this update, or already down). */
  readonly down: string[];
  /** Nodes that no longer exist (removed from the cluster). */
  readonly missing: string[];
}

/**
 * Marks down, in one store update, the nodes `pick` names. `pick` runs inside the transaction,
 * when the write is proposed, so a node heard from between the caller's check and the proposal is
 * left alone; entries are proposed in order, so a registration proposed later wins.
 */
export async function markDown(store: Store, pick: () => string[]): Promise<MarkDownOutcome> {
  const down: string[] = [];
  const missing: string[] = [];
  await store.update((tx: Transaction) => {
    for (const nodeId of pick()) {
      const node: Frozen<Node> | undefined = tx.get('node', nodeId);
      if (!node) {
        missing.push(nodeId);
        continue;
      }
      down.push(nodeId);
      if (node.Status?.State === 'down') continue;
      const next = thaw(node);
      next.Status = { ...next.Status, State: 'down', Message: HEARTBEAT_FAILURE };
      tx.update('node', next);
    }
  });
  return { down, missing };
}
