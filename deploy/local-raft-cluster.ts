// npm start: brings up a three-member Raft cluster of real processes on loopback (data on disk,
// gRPC with mutual TLS), prints one line per member, writes through the leader, kills the leader
// with SIGKILL, shows the new leader taking over and the restarted member catching up, then
// stops everything. `--keep` leaves the cluster running until Ctrl-C.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRaftCluster } from './raft-cluster.js';

const keep = process.argv.includes('--keep');
const size = Number(process.argv[process.argv.indexOf('--size') + 1]) || 3;

async function put(api: string, key: string, value: string): Promise<Response> {
  return fetch(`http://${api}/kv/${key}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value }) });
}

async function show(cluster: LocalRaftCluster): Promise<void> {
  for (const m of cluster.members.values()) {
    const s = await cluster.status(m.id);
    const state = s ? `${s.role.padEnd(9)} term ${s.term}  commit ${s.commit}` : 'down';
    console.log(`  member ${m.id}  ${state.padEnd(32)} raft ${m.raft}  api http://${m.api}  pid ${m.child?.pid ?? '-'}`);
  }
}

const baseDir = mkdtempSync(join(tmpdir(), 'berth-raft-'));
console.log(`starting ${size} raft members (data in ${baseDir})`);
const cluster = await LocalRaftCluster.start({ size, baseDir, tls: true });
try {
  const leader = await cluster.leader();
  console.log(`member ${leader.id} was elected leader:`);
  await show(cluster);

  for (let i = 1; i <= 100; i++) {
    const res = await put(leader.api, `greeting-${i}`, `hello ${i}`);
    if (res.status !== 200) throw new Error(`write ${i} failed: ${res.status} ${await res.text()}`);
  }
  console.log('wrote 100 keys through the leader');

  const killedAt = Date.now();
  await cluster.kill(leader.id);
  console.log(`killed the leader (member ${leader.id}) with SIGKILL`);
  const next = await cluster.leader();
  for (;;) {
    const res = await put(next.api, 'after-failover', 'yes');
    if (res.status === 200) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  console.log(`member ${next.id} took over; first write committed ${Date.now() - killedAt} ms after the kill`);

  await cluster.startMember(leader.id);
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`http://${leader.api}/kv/after-failover`);
    if (res.status === 200) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const check = await (await fetch(`http://${leader.api}/kv/greeting-100?consistent=1`)).json() as { value: string };
  console.log(`restarted member ${leader.id} caught up: greeting-100 = "${check.value}"`);
  await show(cluster);

  if (keep) {
    console.log('cluster is running; press Ctrl-C to stop it');
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  }
} finally {
  await cluster.stop({ removeData: true });
}
