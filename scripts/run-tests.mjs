#!/usr/bin/env node
// Finds the compiled test files under dist/test and hands them to node's own test runner.
// Node 20's `--test` takes no globs, so the list is built here. `--only unit` skips the
// integration tests (real processes) for a quick inner loop.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const onlyUnit = process.argv.includes('--only') && process.argv[process.argv.indexOf('--only') + 1] === 'unit';
const root = new URL('../dist/test', import.meta.url).pathname;

function collect(dir) {
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...collect(path));
    else if (name.endsWith('.test.js')) found.push(path);
  }
  return found;
}

const files = collect(root).filter((f) => !(onlyUnit && f.includes('/integration/')));
if (files.length === 0) {
  console.error('no test files found under dist/test (did the build run?)');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
