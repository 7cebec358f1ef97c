// Swarm's service templates: `{{.Task.Slot}}` and friends in a ContainerSpec's Hostname, Env and
// mount sources, expanded per task on the node (so `--hostname "web-{{.Task.Slot}}"` names each
// replica). Swarm runs Go's text/template; we accept only the plain placeholders below, which is
// what services use in practice, and reject anything else rather than pass `{{` through.

import { executorError } from '../executor.js';

export interface TemplateContext {
  service: { id: string; name: string };
  task: { id: string; name: string; slot: string };
  node: { id: string; hostname: string };
}

const PLACEHOLDERS: Record<string, (c: TemplateContext) => string> = {
  '.Service.ID': (c) => c.service.id,
  '.Service.Name': (c) => c.service.name,
  '.Task.ID': (c) => c.task.id,
  '.Task.Name': (c) => c.task.name,
  '.Task.Slot': (c) => c.task.slot,
  '.Node.ID': (c) => c.node.id,
  '.Node.Hostname': (c) => c.node.hostname,
};

export const KNOWN_PLACEHOLDERS = Object.keys(PLACEHOLDERS).map((p) => `{{${p}}}`);

/**
 * `text` with every `{{.X.Y}}` (spaces inside the braces allowed) replaced. An unknown
 * placeholder, or a `{{` that does not close, is an INVALID_SPEC naming `field`.
 */
export function expandTemplate(text: string, context: TemplateContext, field: string): string {
  if (!text.includes('{{')) return text;
  let out = '';
  let rest = text;
  for (;;) {
    const open = rest.indexOf('{{');
    if (open < 0) return out + rest;
    const close = rest.indexOf('}}', open + 2);
    if (close < 0) throw executorError('INVALID_SPEC', { field, reason: `template ${JSON.stringify(rest.slice(open))} is not closed with }}` });
    const name = rest.slice(open + 2, close).trim();
    const value = PLACEHOLDERS[name];
    if (!value) {
      throw executorError('INVALID_SPEC', {
        field,
        reason: `unknown template placeholder {{${name}}} (known: ${KNOWN_PLACEHOLDERS.join(', ')})`,
      });
    }
    out += rest.slice(0, open) + value(context);
    rest = rest.slice(close + 2);
  }
}
