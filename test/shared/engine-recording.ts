// The recorded Docker Engine API traffic (../shared/reference/engine-api-recording.jsonl beside
// the repo): a `{"command": …}` line opens each docker command's section, the exchanges follow.
// The CLI's replay server and the API's golden tests read it through this one loader.

import { existsSync, readFileSync } from 'node:fs';

const RECORDING = new URL('../../../../shared/reference/engine-api-recording.jsonl', import.meta.url);

export interface RecordedExchange {
  method: 'GET' | 'HEAD' | 'POST' | 'DELETE';
  url: string;
  status: number;
  reqHeaders: Record<string, string>;
  resHeaders: Record<string, string>;
  reqBody?: string;
  resBody?: string;
}

export interface RecordedCommand {
  name: string;
  exchanges: RecordedExchange[];
}

let commands: RecordedCommand[] | undefined;

/** Every recorded command in recording order (read once); fails clearly when the file is missing. */
export function recordedCommands(): RecordedCommand[] {
  if (!commands) {
    if (!existsSync(RECORDING)) throw new Error(`the recording is missing at ${RECORDING.pathname} (the shared reference lives beside the repo)`);
    commands = [];
    for (const line of readFileSync(RECORDING, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const entry = JSON.parse(line) as { command?: string } & Partial<RecordedExchange>;
      if (entry.command !== undefined) commands.push({ name: entry.command, exchanges: [] });
      else if (entry.method !== undefined) commands.at(-1)?.exchanges.push(entry as RecordedExchange);
    }
  }
  return commands.map((c) => ({ name: c.name, exchanges: c.exchanges.map((e) => ({ ...e })) }));
}
