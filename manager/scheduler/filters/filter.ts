// The shape every filter has. A filter answers one question about one node for one task, and
// can say in a few words why a node failed it; those words reach the user in the task's
// Status.Err ("no suitable node (2 nodes: insufficient memory)") and in the placement verdicts.
import type { NodeInfo } from '../node-info.js';
import type { TaskRequirements } from '../requirements.js';

export interface Filter {
  /** Stable identifier, for logs and tests. */
  readonly name: string;
  /** Why a node fails this filter, as the user reads it: "insufficient memory". */
  readonly reason: string;
  /** False when the task asks nothing this filter checks (no reservation, no ports…): skipped. */
  enabled(task: TaskRequirements): boolean;
  check(task: TaskRequirements, node: NodeInfo): boolean;
  /** `count` nodes failed this filter, Docker style: "2 nodes: insufficient memory". */
  explain(count: number): string;
}

export function nodesPhrase(count: number): string {
  return `${count} node${count === 1 ? '' : 's'}`;
}

export function defineFilter(fields: {
  name: string;
  reason: string;
  enabled?: (task: TaskRequirements) => boolean;
  check: (task: TaskRequirements, node: NodeInfo) => boolean;
}): Filter {
  const { name, reason, check } = fields;
  return {
    name,
    reason,
    enabled: fields.enabled ?? (() => true),
    check,
    explain: (count) => `${nodesPhrase(count)}: ${reason}`,
  };
}
