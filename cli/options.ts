// Flag handling shared by the verbs: repeatable flags, docker's `--filter key=value`, the
// `--format table|json` choice, and the client built from the global connection flags.

import { type Command, InvalidArgumentError, Option } from 'commander';
import { connect, type ConnectionOptions, type EngineClient } from './client.js';

/** For flags that may be given several times (`--filter`, `--label-add`, `-H`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `--filter role=manager`, repeatable; validated as docker's FilterOpt does. */
export function filterOption(description: string): Option {
  return new Option('-f, --filter <key=value>', description).argParser((value: string, previous: string[] | undefined) => {
    if (!value.includes('=')) throw new InvalidArgumentError('bad format of filter (expected name=value)');
    return collect(value, previous);
  });
}

/** The Engine API's filters query: {"key":{"value":true}}; several values of one key are ORed. */
export function encodeFilters(filters: string[] | undefined): string | undefined {
  if (!filters?.length) return undefined;
  const encoded: Record<string, Record<string, boolean>> = {};
  for (const filter of filters) {
    const at = filter.indexOf('=');
    const key = filter.slice(0, at).trim().toLowerCase();
    (encoded[key] ??= {})[filter.slice(at + 1).trim()] = true;
  }
  return JSON.stringify(encoded);
}

export type OutputFormat = 'table' | 'json';

export function formatOption(): Option {
  return new Option('--format <format>', 'output format: "table" for people, "json" for scripts (the raw API objects)')
    .choices(['table', 'json'])
    .default('table');
}

/** The client for the daemon named by the global flags (-H, --tls…) or BERTH_HOST. */
export function clientOf(command: Command): EngineClient {
  return connect(command.optsWithGlobals<ConnectionOptions>());
}
