// Runs a range of simulation seeds across worker threads (one per core) and gathers the results.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { runSeed, SimOptions, SimResult } from './raft-sim.js';

export interface SeedRangeResult {
  passed: number;
  failed: number;
  failures: string[];
  totals: Record<string, number>;
}

interface Job {
  seeds: number[];
  options: SimOptions;
}

export async function runSeeds(from: number, count: number, options: SimOptions = {}, workers = availableParallelism()): Promise<SeedRangeResult> {
  const shards: number[][] = Array.from({ length: Math.max(1, Math.min(workers, count)) }, () => []);
  for (let i = 0; i < count; i++) shards[i % shards.length].push(from + i);
  const results = await Promise.all(shards.map((seeds) => runShard({ seeds, options })));
  const merged: SeedRangeResult = { passed: 0, failed: 0, failures: [], totals: {} };
  for (const shard of results) {
    for (const r of shard) {
      if (r.ok) merged.passed++;
      else {
        merged.failed++;
        merged.failures.push(r.failure!);
      }
      for (const [k, v] of Object.entries(r.stats)) if (k !== 'size') merged.totals[k] = (merged.totals[k] ?? 0) + v;
    }
  }
  merged.failures.sort();
  return merged;
}

function runShard(job: Job): Promise<SimResult[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: job });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`simulation worker exited with code ${code}`));
    });
  });
}

if (!isMainThread && parentPort) {
  const job = workerData as Job;
  parentPort.postMessage(job.seeds.map((seed) => runSeed(seed, job.options)));
}
