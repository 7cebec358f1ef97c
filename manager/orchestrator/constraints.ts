// Whether a node may (still) run a service's tasks, by its Placement.Constraints. The grammar and
// its semantics are the scheduler's (shared/placement-constraints.ts): one parser, so a node the
// scheduler chose is never judged unfit here (a mismatch would replace tasks in a loop). An
// expression that does not parse is treated as unmet (the API refuses such specs anyway).
import { ConstraintParseError, matchConstraint, parseConstraint } from '../../shared/placement-constraints.js';
import type { ConstraintTarget } from '../../shared/placement-constraints.js';
import type { Frozen, Node } from '../store/index.js';

/** The `Placement.Constraints` of a task spec or TaskTemplate. */
export function constraintsOf(spec: Frozen<Record<string, unknown>> | undefined): readonly string[] {
  const placement = spec?.Placement as { Constraints?: unknown } | undefined;
  const list = placement?.Constraints;
  return Array.isArray(list) ? list.filter((c): c is string => typeof c === 'string') : [];
}

function targetOf(node: Frozen<Node>): ConstraintTarget {
  const description = node.Description as {
    Hostname?: string; Platform?: { OS?: string; Architecture?: string }; Engine?: { Labels?: Record<string, string> };
  } | undefined;
  return {
    id: node.ID,
    hostname: description?.Hostname ?? '',
    role: node.Spec.Role ?? '',
    os: description?.Platform?.OS ?? '',
    arch: description?.Platform?.Architecture ?? '',
    labels: node.Spec.Labels ?? {},
    engineLabels: description?.Engine?.Labels ?? {},
  };
}

/** Whether `node` satisfies one constraint expression. */
export function meetsConstraint(node: Frozen<Node>, expression: string): boolean {
  try {
    return matchConstraint(parseConstraint(expression), targetOf(node));
  } catch (error) {
    if (error instanceof ConstraintParseError) return false;
    throw error;
  }
}

export function meetsConstraints(node: Frozen<Node>, constraints: readonly string[]): boolean {
  return constraints.every((c) => meetsConstraint(node, c));
}
