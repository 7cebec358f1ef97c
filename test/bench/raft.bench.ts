// npm run bench:raft [-- --seconds S --failovers N]
// Three raft-member processes on loopback (level with fsync, gRPC with mutual TLS). Proposes
// 256-byte entries through the leader's HTTP API from 1, 64 and 256 concurrent clients, then
// kills the leader repeatedly. Prints `name value unit` lines:
//   raft_commits_per_sec_c{N}, raft_commit_p50_ms_c{N}, raft_commit_p99_ms_c{N}, raft_failover_ms_median, …

import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalRaftCluster, MemberInfo } from '../../deploy/raft-cluster.js';

const ENTRY_BYTES = 256;
const CONCURRENCIES = [1, 64, 256];

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, failovers: { type: 'string', default: '5' } },
});
const seconds = Number(values.seconds);
const failovers = Number(values.failovers);

function propose(agent: http.Agent, api: string, body: Buffer): Promise<number> {
  const [host, port] = [api.slice(0, api.lastIndexOf(':')), Number(api.slice(api.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const req = http.request({ host, port, method: 'POST', path: '/propose', agent, headers: { 'content-type': 'application/octet-stream', 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function load(leader: MemberInfo, concurrency: number, durationMs: number): Promise<{ commits: number; latencies: number[]; errors: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const body = Buffer.alloc(ENTRY_BYTES, 0x61);
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + durationMs;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      const status = await propose(agent, leader.api, body);
      if (status === 200) latencies.push(performance.now() - t);
      else errors++;
    }
  }));
  agent.destroy();
  return { commits: latencies.length, latencies, errors };
}

async function measureFailover(cluster: LocalRaftCluster): Promise<number> {
  const leader = await cluster.leader();
  const agent = new http.Agent({ keepAlive: false });
  const body = Buffer.alloc(ENTRY_BYTES, 0x62);
  const killedAt = performance.now();
  await cluster.kill(leader.id);
  // Keep trying every live member until one commits a write.
  for (;;) {
    for (const m of cluster.members.values()) {
      if (!m.child) continue;
      if ((await propose(agent, m.api, body)) === 200) {
        const ms = performance.now() - killedAt;
        await cluster.startMember(leader.id);
        return ms;
      }
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

const cluster = await LocalRaftCluster.start({ size: 3, baseDir: mkdtempSync(join(tmpdir(), 'berth-bench-raft-')), tls: true });
try {
  const leader = await cluster.leader();
  await load(leader, 16, 1000); // warm up JIT and connections
  for (const c of CONCURRENCIES) {
    const r = await load(await cluster.leader(), c, seconds * 1000);
    r.latencies.sort((a, b) => a - b);
    console.log(`raft_commits_per_sec_c${c} ${(r.commits / seconds).toFixed(0)} commits/s`);
    console.log(`raft_commit_p50_ms_c${c} ${percentile(r.latencies, 50).toFixed(2)} ms`);
    console.log(`raft_commit_p99_ms_c${c} ${percentile(r.latencies, 99).toFixed(2)} ms`);
    if (r.errors > 0) console.log(`raft_errors_c${c} ${r.errors} requests`);
  }
  const times: number[] = [];
  for (let i = 0; i < failovers; i++) {
    await new Promise((r) => setTimeout(r, 1500)); // let the restarted member catch up
    times.push(await measureFailover(cluster));
  }
  times.sort((a, b) => a - b);
  console.log(`raft_failover_ms_median ${percentile(times, 50).toFixed(0)} ms`);
  console.log(`raft_failover_ms_max ${times[times.length - 1].toFixed(0)} ms`);
} finally {
  await cluster.stop({ removeData: true });
}
