// Placement constraints. One filter per constraint expression, so an explanation names the
// constraint a node failed ("constraint node.labels.zone==a not met") rather than "constraints".
// `constraintsFilter` checks them all at once, for callers that need only a yes or no.
import type { Constraint } from '../constraints.js';
import { constraintMatcher, matchConstraint } from '../constraints.js';
import type { Filter } from './filter.js';
import { defineFilter } from './filter.js';

export function constraintFilter(constraint: Constraint): Filter {
  const matches = constraintMatcher(constraint);
  return defineFilter({
    name: `constraint ${constraint.text}`,
    reason: `constraint ${constraint.text} not met`,
    check: (_task, node) => matches(node),
  });
}

export const constraintsFilter = defineFilter({
  name: 'constraints',
  reason: 'scheduling constraints not met',
  enabled: (task) => task.constraints.length > 0,
  check: (task, node) => task.constraints.every((c) => matchConstraint(c, node)),
});
