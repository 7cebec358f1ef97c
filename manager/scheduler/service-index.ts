// Which nodes hold tasks of each service: service → (slot → tasks), where a slot is a node's
// position in the node list the index was built for (see NodeInfo.serviceIndexFor).
//
// Why it exists. Spreading a group needs, for every candidate node, how many tasks of the group's
// service it already holds. Asking each node is one string-keyed map lookup per node per group:
// 5,000 nodes × 1,000 groups per 100,000 tasks, most of them answering "none". Here a group reads
// one small map that names only the nodes holding the service, and every other node counts 0.
//
// NodeInfos keep it exact: once a node is attached (NodeInfo.serviceIndexFor), its addTask and
// removeTask update the index as well as the node, whoever calls them.

export class ServiceTaskIndex {
  private readonly byService = new Map<string, Map<number, number>>();
  /** Nodes attached; NodeInfo.serviceIndexFor uses it to tell whether a node list is exactly ours. */
  members = 0;

  /** Slot → tasks of the service (positive), for the nodes holding any; undefined when none does. */
  nodesHolding(serviceId: string): ReadonlyMap<number, number> | undefined {
    return this.byService.get(serviceId);
  }

  /** Adds `delta` (may be negative) to the tasks of the service on the node in `slot`. */
  add(serviceId: string, slot: number, delta: number): void {
    let counts = this.byService.get(serviceId);
    if (!counts) {
      if (delta <= 0) return;
      counts = new Map();
      this.byService.set(serviceId, counts);
    }
    const count = (counts.get(slot) ?? 0) + delta;
    if (count > 0) {
      counts.set(slot, count);
      return;
    }
    // Forget empty entries, so a map lists only nodes that hold the service.
    counts.delete(slot);
    if (counts.size === 0) this.byService.delete(serviceId);
  }
}
