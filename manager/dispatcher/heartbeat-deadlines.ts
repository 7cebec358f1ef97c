// When each node must next be heard from, kept in memory only: a heartbeat moves a deadline
// without touching raft, so thousands of nodes heartbeating every second cost no writes. After a
// leader change the new leader starts over (every node gets a fresh grace period), which is why
// nothing here needs to be replicated.

/**
 * One node's deadline (ms, on the dispatcher's clock). Every change makes a new object, so code
 * that decided something from a deadline can tell afterwards whether that deadline still stands.
 */
export interface Deadline {
  readonly at: number;
}

export class HeartbeatDeadlines {
  private readonly byNode = new Map<string, Deadline>();

  get size(): number {
    return this.byNode.size;
  }

  get(nodeId: string): Deadline | undefined {
    return this.byNode.get(nodeId);
  }

  /** Starts tracking the node or replaces its deadline (registration, heartbeat, new leader). */
  set(nodeId: string, at: number): void {
    this.byNode.set(nodeId, { at });
  }

  /** Moves a tracked node's deadline earlier, never later (its stream broke). */
  shorten(nodeId: string, at: number): void {
    const current = this.byNode.get(nodeId);
    if (current && at < current.at) this.byNode.set(nodeId, { at });
  }

  /** Moves a tracked node's deadline later, never earlier (its heartbeat period grew). */
  extend(nodeId: string, at: number): void {
    const current = this.byNode.get(nodeId);
    if (current && at > current.at) this.byNode.set(nodeId, { at });
  }

  /** Nodes whose deadline has passed, with the deadline each was judged by. */
  expired(now: number): Array<[nodeId: string, deadline: Deadline]> {
    const expired: Array<[string, Deadline]> = [];
    for (const [nodeId, deadline] of this.byNode) if (deadline.at <= now) expired.push([nodeId, deadline]);
    return expired;
  }

  /**
   * Stops tracking the node; with `onlyIf`, only if that is still its deadline (nothing heard
   * since). Returns whether it was forgotten.
   */
  forget(nodeId: string, onlyIf?: Deadline): boolean {
    if (onlyIf !== undefined && this.byNode.get(nodeId) !== onlyIf) return false;
    return this.byNode.delete(nodeId);
  }

  clear(): void {
    this.byNode.clear();
  }
}
