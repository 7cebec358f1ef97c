// Runs the compiled CLI as a user would: a separate `node dist/cli/berth.js …` process, its
// output and exit status captured. Asynchronous, so a replay server in this process can answer it.

import { execFile } from 'node:child_process';
import { ReplayServer, type Exchange } from './replay-server.js';

const BERTH = new URL('../../cli/berth.js', import.meta.url).pathname;

export interface BerthResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function berth(args: string[], env: Record<string, string | undefined> = {}): Promise<BerthResult> {
  const childEnv = { ...process.env, BERTH_HOST: undefined, ...env };
  return new Promise((resolve) => {
    execFile(process.execPath, [BERTH, ...args], { env: childEnv, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The CLI against a replay server answering `exchanges`; the server comes back to ask what was sent. */
export async function berthAgainst(
  exchanges: Exchange[],
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<BerthResult & { server: ReplayServer }> {
  const server = await ReplayServer.start(exchanges);
  try {
    return { ...(await berth(['-H', server.host, ...args], env)), server };
  } finally {
    await server.close();
  }
}
