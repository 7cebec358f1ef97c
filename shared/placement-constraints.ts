// Docker placement constraints: `node.labels.zone==a`, `node.role != manager`, … Parsed once per
// task group (and by the API, which turns a ConstraintParseError into a 400), matched per node.
// Semantics follow SwarmKit's manager/constraint: values compare case-insensitively, a label the
// node lacks satisfies `!=` and fails `==`. Unlike SwarmKit, an unknown key is a parse error
// rather than a constraint no node ever meets: a typo should be refused, not leave tasks pending.

export type ConstraintOperator = '==' | '!=';

/** What a constraint reads from a node (see NodeInfo). */
export type ConstraintKey =
  | { readonly kind: 'node.id' }
  | { readonly kind: 'node.hostname' }
  | { readonly kind: 'node.role' }
  | { readonly kind: 'node.platform.os' }
  | { readonly kind: 'node.platform.arch' }
  | { readonly kind: 'node.labels'; readonly label: string }
  | { readonly kind: 'engine.labels'; readonly label: string };

export interface Constraint {
  /** The expression as written, trimmed: what explanations quote. */
  readonly text: string;
  readonly key: ConstraintKey;
  readonly operator: ConstraintOperator;
  readonly value: string;
}

/** The node fields constraints read; NodeInfo implements it. */
export interface ConstraintTarget {
  readonly id: string;
  readonly hostname: string;
  readonly role: string;
  readonly os: string;
  readonly arch: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly engineLabels: Readonly<Record<string, string>>;
}

export class ConstraintParseError extends Error {
  constructor(readonly expression: string, reason: string) {
    super(`invalid constraint ${JSON.stringify(expression)}: ${reason}`);
    this.name = 'ConstraintParseError';
  }
}

// SwarmKit's patterns: a key is a dotted identifier; a value may hold the characters of
// hostnames, IDs, versions and simple globs, but no operator characters (= and !).
const KEY_PATTERN = /^[a-z_][a-z0-9\-_.]+$/i;
const VALUE_PATTERN = /^[a-z0-9:\-_\s.*()?+[\]\\^$|/]+$/i;
const SUPPORTED_KEYS = 'node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.<name>, engine.labels.<name>';

function parseKey(expression: string, key: string): ConstraintKey {
  const lower = key.toLowerCase();
  switch (lower) {
    case 'node.id': return { kind: 'node.id' };
    case 'node.hostname': return { kind: 'node.hostname' };
    case 'node.role': return { kind: 'node.role' };
    case 'node.platform.os': return { kind: 'node.platform.os' };
    case 'node.platform.arch': return { kind: 'node.platform.arch' };
  }
  for (const prefix of ['node.labels.', 'engine.labels.'] as const) {
    if (lower.startsWith(prefix)) {
      // The prefix is case-insensitive; the label name keeps its case (labels are case-sensitive).
      const label = key.slice(prefix.length);
      if (label === '') throw new ConstraintParseError(expression, `"${key}" names no label`);
      return prefix === 'node.labels.' ? { kind: 'node.labels', label } : { kind: 'engine.labels', label };
    }
  }
  throw new ConstraintParseError(expression, `key "${key}" is not supported (supported: ${SUPPORTED_KEYS})`);
}

/** Parses one expression; throws ConstraintParseError naming what is wrong. */
export function parseConstraint(expression: string): Constraint {
  if (typeof expression !== 'string') throw new ConstraintParseError(String(expression), 'a constraint must be a string');
  const text = expression.trim();
  const eq = text.indexOf('==');
  const ne = text.indexOf('!=');
  if (eq < 0 && ne < 0) throw new ConstraintParseError(expression, 'expected "key==value" or "key!=value"');
  // The first operator splits; a second one lands in the value and fails the value pattern.
  const at = eq < 0 ? ne : ne < 0 ? eq : Math.min(eq, ne);
  const operator = text.slice(at, at + 2) as ConstraintOperator;
  const key = text.slice(0, at).trim();
  const value = text.slice(at + 2).trim();
  if (key === '') throw new ConstraintParseError(expression, `missing key before "${operator}"`);
  if (!KEY_PATTERN.test(key)) throw new ConstraintParseError(expression, `key "${key}" has characters other than letters, digits, "-", "_" and "."`);
  if (value === '') throw new ConstraintParseError(expression, `missing value after "${operator}"`);
  if (!VALUE_PATTERN.test(value)) throw new ConstraintParseError(expression, `value "${value}" has characters a constraint value may not contain (such as "=" or "!")`);
  return { text: `${key}${operator}${value}`, key: parseKey(expression, key), operator, value };
}

/** Parses every expression; the first bad one throws. */
export function parseConstraints(expressions: readonly string[]): Constraint[] {
  return expressions.map(parseConstraint);
}

function valueOf(key: ConstraintKey, node: ConstraintTarget): string | undefined {
  switch (key.kind) {
    case 'node.id': return node.id;
    case 'node.hostname': return node.hostname;
    case 'node.role': return node.role;
    case 'node.platform.os': return node.os;
    case 'node.platform.arch': return node.arch;
    case 'node.labels': return Object.hasOwn(node.labels, key.label) ? node.labels[key.label] : undefined;
    case 'engine.labels': return Object.hasOwn(node.engineLabels, key.label) ? node.engineLabels[key.label] : undefined;
  }
}

function meets(constraint: Constraint, lowerValue: string, node: ConstraintTarget): boolean {
  const actual = valueOf(constraint.key, node);
  const equal = actual !== undefined && (actual === constraint.value || actual.toLowerCase() === lowerValue);
  return constraint.operator === '==' ? equal : !equal;
}

/** Whether `node` meets the constraint. */
export function matchConstraint(constraint: Constraint, node: ConstraintTarget): boolean {
  return meets(constraint, constraint.value.toLowerCase(), node);
}

/**
 * matchConstraint for one constraint against many nodes (a filter runs once per node per group):
 * the value is lowercased once here rather than once per node.
 */
export function constraintMatcher(constraint: Constraint): (node: ConstraintTarget) => boolean {
  const lowerValue = constraint.value.toLowerCase();
  return (node) => meets(constraint, lowerValue, node);
}
