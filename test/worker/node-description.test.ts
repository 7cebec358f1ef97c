import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { test } from 'node:test';
import { berthVersion, describeNode, dockerArchitecture, dockerOs } from '../../worker/node-description.js';

test('architectures are spelled as Docker reports them (uname -m)', () => {
  assert.equal(dockerArchitecture('x64'), 'x86_64');
  assert.equal(dockerArchitecture('arm64'), 'aarch64');
  assert.equal(dockerArchitecture('arm'), 'armv7l');
  assert.equal(dockerArchitecture('s390x'), 's390x');
  assert.equal(dockerOs('linux'), 'linux');
  assert.equal(dockerOs('win32'), 'windows');
});

test('describeNode reports this host: CPUs in nano-CPUs, total memory, berth\'s version', () => {
  const d = describeNode();
  assert.equal(d.hostname, os.hostname());
  assert.equal(d.os, 'linux');
  assert.equal(d.arch, dockerArchitecture(process.arch));
  assert.equal(d.nanoCpus, os.availableParallelism() * 1e9);
  assert.equal(d.memoryBytes, os.totalmem());
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(d.engineVersion, pkg.version);
  assert.equal(berthVersion(), pkg.version);
  assert.deepEqual(d.engineLabels, {});
});

test('the hostname and engine labels can be set', () => {
  const labels = { rack: 'r1' };
  const d = describeNode({ hostname: 'node-7', labels });
  assert.equal(d.hostname, 'node-7');
  assert.deepEqual(d.engineLabels, { rack: 'r1' });
  labels.rack = 'changed';
  assert.equal(d.engineLabels.rack, 'r1', 'the description keeps its own copy');
});
