import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isExecutorError } from '../../../../worker/executor/executor.js';
import { expandTemplate } from '../../../../worker/executor/docker/templates.js';

const context = {
  service: { id: 'svc1', name: 'web' },
  task: { id: 'task1', name: 'web.3.task1', slot: '3' },
  node: { id: 'node1', hostname: 'host-a' },
};

test('every placeholder Swarm services use is expanded, spaces inside the braces allowed', () => {
  assert.equal(
    expandTemplate('{{.Service.Name}}|{{.Service.ID}}|{{.Task.ID}}|{{.Task.Name}}|{{.Task.Slot}}|{{.Node.ID}}|{{ .Node.Hostname }}', context, 'f'),
    'web|svc1|task1|web.3.task1|3|node1|host-a',
  );
  assert.equal(expandTemplate('no templates here', context, 'f'), 'no templates here');
  assert.equal(expandTemplate('a-{{.Task.Slot}}-b-{{.Task.Slot}}', context, 'f'), 'a-3-b-3');
});

test('an unknown placeholder or an unclosed one rejects the spec, naming the field', () => {
  assert.throws(() => expandTemplate('{{.Task.Nope}}', context, 'ContainerSpec.Hostname'), (error: unknown) => {
    assert.ok(isExecutorError(error, 'INVALID_SPEC'));
    assert.equal(error.taskState, 'rejected');
    assert.match(error.message, /^invalid ContainerSpec\.Hostname: unknown template placeholder \{\{\.Task\.Nope\}\} \(known: \{\{\.Service\.ID\}\}/);
    return true;
  });
  assert.throws(() => expandTemplate('x-{{.Task.Slot', context, 'f'), /invalid f: template "\{\{\.Task\.Slot" is not closed/);
  assert.throws(() => expandTemplate('{{ if .Task.Slot }}x{{ end }}', context, 'f'), /unknown template placeholder/);
});
