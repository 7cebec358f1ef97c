// Three real raft-member processes on loopback (level data on disk, gRPC with mutual TLS), a
// client writing continuously, and kill -9 of the leader (three times, restarting it each time).
// Afterwards every acknowledged write is on all three members and no two logs diverge.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRaftCluster } from '../../deploy/raft-cluster.js';

const WRITERS = 8;

interface LogDump {
  first: number;
  last: number;
  commit: number;
  entries: [number, number, number][];
}

async function put(api: string, key: string, value: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${api}/kv/${key}`, {
      method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value }),
      signal: AbortSignal.timeout(3000),
    });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

test('kill -9 of the leader under load loses no acknowledged write and leaves no diverging logs', { timeout: 120_000 }, async () => {
  const cluster = await LocalRaftCluster.start({ size: 3, baseDir: mkdtempSync(join(tmpdir(), 'berth-crash-')), tls: true });
  const acked = new Map<string, string>();
  let attempts = 0;
  let stop = false;
  try {
    // Writers send to every live member in turn; only the leader accepts, as a real client would find.
    const writer = async (w: number): Promise<void> => {
      let seq = 0;
      while (!stop) {
        const key = `w${w}-${seq++}`;
        let done = false;
        for (const m of cluster.members.values()) {
          if (!m.child || done) continue;
          attempts++;
          if (await put(m.api, key, `v${seq}`)) {
            acked.set(key, `v${seq}`);
            done = true;
          }
        }
        if (!done) await new Promise((r) => setTimeout(r, 20));
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));

    for (let round = 0; round < 3; round++) {
      await new Promise((r) => setTimeout(r, 700));
      const leader = await cluster.leader();
      const before = acked.size;
      await cluster.kill(leader.id);
      await new Promise((r) => setTimeout(r, 700));
      assert.ok(acked.size > before, `writes continued after killing leader ${leader.id} (round ${round})`);
      await cluster.startMember(leader.id);
    }
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all(writers);
    assert.ok(acked.size > 100, `enough writes were acknowledged (${acked.size} of ${attempts} attempts)`);

    // Wait until all three have applied the same commit index.
    let statuses;
    for (let i = 0; i < 200; i++) {
      statuses = await Promise.all([1, 2, 3].map((id) => cluster.status(id)));
      const commits = statuses.map((s) => s?.applied);
      if (commits.every((c) => c !== undefined && c === commits[0])) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const applied = statuses!.map((s) => s!.applied);
    assert.ok(applied.every((a) => a === applied[0]), `members converged: ${applied}`);

    for (const m of cluster.members.values()) {
      const res = await fetch(`http://${m.api}/kv`);
      const { kv } = (await res.json()) as { kv: Record<string, { value: string }> };
      for (const [key, value] of acked) {
        assert.equal(kv[key]?.value, value, `member ${m.id} has acknowledged write ${key}`);
      }
    }

    const logs = await Promise.all([...cluster.members.values()].map(async (m) => (await (await fetch(`http://${m.api}/log`)).json()) as LogDump));
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) {
        const byIndex = new Map(logs[b].entries.map(([i, t, crc]) => [i, `${t}:${crc}`]));
        let compared = 0;
        for (const [i, t, crc] of logs[a].entries) {
          if (i > Math.min(logs[a].commit, logs[b].commit)) continue;
          const other = byIndex.get(i);
          if (other === undefined) continue; // compacted on one side
          compared++;
          assert.equal(other, `${t}:${crc}`, `members ${a + 1} and ${b + 1} agree on committed entry ${i}`);
        }
        assert.ok(compared > 0, 'the logs overlap');
      }
    }
  } finally {
    stop = true;
    await cluster.stop({ removeData: true });
  }
});
