// A minimal placement-constraint check, enough for the orchestrators to tell whether a node may
// (still) run a service's tasks: `node.labels.K==v`, `node.role==manager`, `node.hostname!=h`,
// `node.id==…`, `node.platform.os==linux`, `engine.labels.K==v`. The scheduler owns the full
// grammar and its explanations; this check deliberately does not depend on it. An expression it
// cannot read is treated as unmet, so a task is never placed on a node it may not fit.
import type { Frozen, Node } from '../store/index.js';

const EXPRESSION = /^\s*([A-Za-z0-9_.\-]+)\s*(==|!=)\s*(.*?)\s*$/;

/** The `Placement.Constraints` of a task spec or TaskTemplate. */
export function constraintsOf(spec: Frozen<Record<string, unknown>> | undefined): readonly string[] {
  const placement = spec?.Placement as { Constraints?: unknown } | undefined;
  const list = placement?.Constraints;
  return Array.isArray(list) ? list.filter((c): c is string => typeof c === 'string') : [];
}

function valueOf(node: Frozen<Node>, key: string): { value: string | undefined; caseSensitive: boolean } | null {
  const lower = key.toLowerCase();
  const description = node.Description as { Platform?: { OS?: string; Architecture?: string }; Engine?: { Labels?: Record<string, string> } } | undefined;
  if (lower === 'node.id') return { value: node.ID, caseSensitive: true };
  if (lower === 'node.hostname') return { value: node.Description?.Hostname, caseSensitive: false };
  if (lower === 'node.role') return { value: node.Spec.Role, caseSensitive: false };
  if (lower === 'node.platform.os') return { value: description?.Platform?.OS, caseSensitive: false };
  if (lower === 'node.platform.arch') return { value: description?.Platform?.Architecture, caseSensitive: false };
  if (lower.startsWith('node.labels.')) return { value: node.Spec.Labels?.[key.slice('node.labels.'.length)], caseSensitive: true };
  if (lower.startsWith('engine.labels.')) return { value: description?.Engine?.Labels?.[key.slice('engine.labels.'.length)], caseSensitive: true };
  return null;
}

/** Whether `node` satisfies one constraint expression. */
export function meetsConstraint(node: Frozen<Node>, expression: string): boolean {
  const match = EXPRESSION.exec(expression);
  if (!match) return false;
  const [, key, operator, wanted] = match;
  const found = valueOf(node, key);
  if (!found) return false;
  const equal = found.value !== undefined && (found.caseSensitive
    ? found.value === wanted
    : found.value.toLowerCase() === wanted.toLowerCase());
  return operator === '==' ? equal : !equal;
}

export function meetsConstraints(node: Frozen<Node>, constraints: readonly string[]): boolean {
  return constraints.every((c) => meetsConstraint(node, c));
}
