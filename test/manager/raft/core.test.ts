// The rules of the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable Consensus
// Algorithm", §5–6) and of the thesis' extensions (pre-vote, check-quorum, leader transfer,
// ReadIndex, single-server membership changes, learners), each checked against RaftCore. Every
// test is named after the sentence it checks. The cores run on a deterministic in-memory network
// (core-harness.ts) with random() = 0 unless a test says otherwise, so an election timeout is
// exactly ELECTION_TICKS ticks. Clusters start like RaftNode's bootstrap: a genesis snapshot at
// index 1, term 1, so the first election is for term 2 and the new leader's empty entry is 2@2.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TRANSFER_CONTEXT } from '../../../manager/raft/core.js';
import { ConfChangeError, NotLeaderError, ProposalDroppedError, ProposalTooLargeError } from '../../../manager/raft/errors.js';
import { ProgressState } from '../../../manager/raft/progress.js';
import { ConfChangeType, EMPTY, Message, MessageType, NONE, Role, Snapshot } from '../../../manager/raft/types.js';
import {
  ELECTION_TICKS, Network, between, bytes, entry, isType, logTerms, msg, solo, text,
} from './core-harness.js';

const { Append, AppendResponse, Vote, VoteResponse, PreVote, PreVoteResponse, Heartbeat, HeartbeatResponse } = MessageType;

/** The parts of a message a test usually cares about. */
function brief(m: Message) {
  return { type: MessageType[m.type], from: m.from, to: m.to, term: m.term };
}

function progressOf(net: Network, leader: number, peer: number) {
  const pr = net.core(leader).status().progress.get(peer);
  assert.ok(pr, `leader ${leader} tracks ${peer}`);
  return pr;
}

function leaders(net: Network, ids: number[]): number[] {
  return ids.filter((id) => net.member(id).core?.role === Role.Leader);
}

// ==================================================================== §5.1 terms

describe('§5.1 terms', () => {
  test('a server that receives a request with a stale term rejects it', () => {
    const s = solo(1, { term: 3 });

    // A deposed leader of term 2 tries to append.
    let out = s.step(msg(Append, 2, 1, 2, { index: 1, logTerm: 1, entries: [entry(2, 2, 'stale')], commit: 2 }));
    assert.equal(s.core.log.lastIndex(), 1, 'the stale append is not accepted');
    assert.equal(s.core.log.committed, 1, 'nor its commit index');
    assert.equal(s.core.lead, NONE, 'the sender is not recognised as leader');
    // The reply carries the current term, so the stale leader learns it is out of date.
    assert.deepEqual(out.map(brief), [{ type: 'AppendResponse', from: 1, to: 2, term: 3 }]);

    // A stale candidate gets no vote.
    out = s.step(msg(Vote, 2, 1, 2, { index: 9, logTerm: 2 }));
    assert.equal(s.core.vote, NONE);
    assert.ok(!out.some((m) => m.type === VoteResponse && !m.reject), 'no vote granted');

    // A stale pre-candidate is told no, with our term.
    out = s.step(msg(PreVote, 3, 1, 2, { index: 9, logTerm: 2 }));
    assert.deepEqual(out.map((m) => ({ ...brief(m), reject: m.reject })), [{ type: 'PreVoteResponse', from: 1, to: 3, term: 3, reject: true }]);
    assert.equal(s.core.term, 3, 'term unchanged throughout');
  });

  test('if a candidate or leader discovers its term is out of date, it reverts to follower', () => {
    // Candidate (no pre-vote): an append from a leader of a later term.
    const c = solo(1, {}, { preVote: false });
    c.core.campaign();
    c.out();
    assert.equal(c.core.role, Role.Candidate);
    c.step(msg(Heartbeat, 2, 1, 5, { commit: 1 }));
    assert.deepEqual([c.core.role, c.core.term, c.core.lead], [Role.Follower, 5, 2]);

    // Pre-candidate: a rejection carrying a later term.
    const p = solo(1);
    p.core.campaign();
    p.out();
    assert.equal(p.core.role, Role.PreCandidate);
    p.step(msg(VoteResponse, 2, 1, 4, { reject: true }));
    assert.deepEqual([p.core.role, p.core.term, p.core.lead], [Role.Follower, 4, NONE]);

    // Leader: any message of a later term, here a response from a follower that moved on.
    const net = new Network([1, 2, 3]);
    const leader = net.elect(1);
    assert.equal(leader.term, 2);
    net.inject(msg(AppendResponse, 3, 1, 7, { index: 2 }));
    assert.deepEqual([leader.role, leader.term, leader.lead, leader.vote], [Role.Follower, 7, NONE, NONE]);
  });

  test('a server that sees a larger term adopts it, persisting it before it replies', () => {
    const s = solo(1);
    s.core.step(msg(Heartbeat, 2, 1, 4, { commit: 1 }));
    const readies = s.readies();
    const replying = readies.find((rd) => rd.messages.some((m) => m.type === HeartbeatResponse));
    assert.ok(replying);
    // The Ready that carries the reply also carries the new term, so the driver persists it first.
    assert.deepEqual(replying.hardState, { term: 4, vote: NONE, commit: 1 });
    assert.equal(replying.messages[0].term, 4);
    assert.equal(s.storage.initialState().hardState.term, 4);
  });
});

// ==================================================================== §5.2 leader election

describe('§5.2 leader election', () => {
  test('a follower that receives no communication over the election timeout begins an election', () => {
    const s = solo(1, {}, { preVote: false });
    for (let i = 1; i < ELECTION_TICKS; i++) s.core.tick();
    assert.equal(s.core.role, Role.Follower, 'not before the timeout');
    assert.deepEqual(s.out(), []);
    s.core.tick();
    assert.deepEqual([s.core.role, s.core.term, s.core.vote], [Role.Candidate, 2, 1]);
  });

  test('a follower remains a follower as long as it receives heartbeats from a leader', () => {
    const s = solo(1, {}, { preVote: false });
    for (let round = 0; round < 10; round++) {
      for (let i = 1; i < ELECTION_TICKS; i++) s.core.tick();
      s.step(msg(Heartbeat, 2, 1, 1, { commit: 1 }));
    }
    assert.deepEqual([s.core.role, s.core.term, s.core.lead], [Role.Follower, 1, 2]);
    for (let i = 0; i < ELECTION_TICKS; i++) s.core.tick();
    assert.equal(s.core.role, Role.Candidate, 'once the heartbeats stop, it campaigns');
  });

  test('a candidate votes for itself and issues RequestVote in parallel to every other server', () => {
    const s = solo(1, {}, { preVote: false }, [1, 2, 3, 4, 5]);
    s.core.campaign();
    const readies = s.readies();
    assert.equal(readies.length, 1, 'one batch');
    const [rd] = readies;
    // The incremented term and the self-vote are persisted in the batch that sends the requests.
    assert.deepEqual(rd.hardState, { term: 2, vote: 1, commit: 1 });
    assert.deepEqual(
      rd.messages.map((m) => ({ ...brief(m), index: m.index, logTerm: m.logTerm })),
      [2, 3, 4, 5].map((to) => ({ type: 'Vote', from: 1, to, term: 2, index: 1, logTerm: 1 })),
    );
  });

  test('a candidate wins with votes from a majority, and returns to follower once a majority rejects it', () => {
    const cases: { voters: number; granted: number[]; rejected: number[]; role: Role }[] = [
      { voters: 3, granted: [2], rejected: [], role: Role.Leader },
      { voters: 3, granted: [], rejected: [2, 3], role: Role.Follower },
      { voters: 5, granted: [2], rejected: [], role: Role.Candidate },
      { voters: 5, granted: [2, 3], rejected: [], role: Role.Leader },
      { voters: 5, granted: [2], rejected: [3, 4], role: Role.Candidate },
      { voters: 5, granted: [], rejected: [2, 3, 4], role: Role.Follower },
    ];
    for (const c of cases) {
      const ids = Array.from({ length: c.voters }, (_, i) => i + 1);
      const s = solo(1, {}, { preVote: false }, ids);
      s.core.campaign();
      s.out();
      for (const id of c.granted) s.step(msg(VoteResponse, id, 1, 2));
      for (const id of c.rejected) s.step(msg(VoteResponse, id, 1, 2, { reject: true }));
      assert.equal(s.core.role, c.role, JSON.stringify(c));
      assert.equal(s.core.term, 2);
    }
  });

  test('a new leader sends AppendEntries to every server at once to establish its authority', () => {
    const s = solo(1, {}, { preVote: false });
    s.core.campaign();
    s.out();
    const out = s.step(msg(VoteResponse, 2, 1, 2));
    assert.equal(s.core.role, Role.Leader);
    assert.equal(s.core.lead, 1);
    const appends = out.filter(isType(Append));
    assert.deepEqual(appends.map((m) => m.to), [2, 3]);
    for (const m of appends) {
      // Its first entry is an empty one of its own term (§5.4.2 / §8).
      assert.deepEqual(m.entries.map((e) => [e.index, e.term, e.data.byteLength]), [[2, 2, 0]]);
    }
  });

  test('a leader sends a heartbeat every heartbeat interval, carrying the commit index the follower is known to have', () => {
    const net = new Network([1, 2, 3], { core: { heartbeatTicks: 3 } });
    net.elect(1);
    net.isolate(3);
    net.propose(1, 'x');
    net.deliverAll();
    net.heal();
    assert.equal(net.core(1).log.committed, 3);

    net.tick(1, 2);
    assert.deepEqual(net.take(isType(Heartbeat)), [], 'nothing before the interval');
    net.tick(1);
    const hbs = net.take(isType(Heartbeat));
    // commit = min(leader's commit, follower's match): 3 has only index 2 so far.
    assert.deepEqual(hbs.map((m) => [m.to, m.commit]), [[2, 3], [3, 2]]);
  });

  test('each server votes for at most one candidate in a given term, first-come-first-served', () => {
    const s = solo(1);
    let out = s.step(msg(Vote, 2, 1, 2, { index: 1, logTerm: 1 }));
    assert.deepEqual(out.map((m) => [m.type, m.to, m.reject]), [[VoteResponse, 2, false]], 'first request granted');
    assert.equal(s.storage.initialState().hardState.vote, 2, 'the vote is persisted');

    out = s.step(msg(Vote, 3, 1, 2, { index: 1, logTerm: 1 }));
    assert.deepEqual(out.map((m) => [m.type, m.to, m.reject]), [[VoteResponse, 3, true]], 'second candidate refused');

    out = s.step(msg(Vote, 2, 1, 2, { index: 1, logTerm: 1 }));
    assert.deepEqual(out.map((m) => [m.type, m.to, m.reject]), [[VoteResponse, 2, false]], 'a retry from the same candidate is granted again');
    assert.equal(s.core.vote, 2);

    // A new term frees the vote.
    out = s.step(msg(Vote, 3, 1, 3, { index: 1, logTerm: 1 }));
    assert.deepEqual(out.map((m) => [m.type, m.to, m.reject]), [[VoteResponse, 3, false]]);
    assert.deepEqual([s.core.term, s.core.vote], [3, 3]);
  });

  test('a server that restarts keeps its vote: it cannot vote twice in a term across a crash', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.crash(2);
    const restarted = net.restart(2);
    assert.deepEqual([restarted.term, restarted.vote], [2, 1]);
    net.inject(msg(Vote, 3, 2, 2, { index: 2, logTerm: 2 }));
    const answers = net.take(between(2, 3, VoteResponse));
    assert.deepEqual(answers.map((m) => m.reject), [true]);
  });

  test('election safety: when two candidates split the votes of a term, at most one of them wins it', () => {
    const net = new Network([1, 2, 3], { core: { preVote: false } });
    net.input(1, (c) => c.campaign());
    net.input(2, (c) => c.campaign());
    // Both ask for term 2; 3 hears from 1 first.
    net.deliver((m) => m.type === Vote && m.to === 3 && m.from === 1);
    net.deliverAll();
    assert.deepEqual(leaders(net, [1, 2, 3]), [1]);
    assert.deepEqual([1, 2, 3].map((id) => net.core(id).term), [2, 2, 2]);
    assert.deepEqual([net.core(2).role, net.core(2).lead], [Role.Follower, 1], 'the loser follows the winner');
  });

  test('a candidate that receives AppendEntries from a leader with term >= its own returns to follower', () => {
    for (const term of [2, 3]) {
      const s = solo(1, {}, { preVote: false });
      s.core.campaign();
      s.out();
      assert.deepEqual([s.core.role, s.core.term], [Role.Candidate, 2]);
      const out = s.step(msg(Append, 2, 1, term, { index: 1, logTerm: 1, entries: [entry(2, term, 'x')], commit: 1 }));
      assert.deepEqual([s.core.role, s.core.term, s.core.lead], [Role.Follower, term, 2], `term ${term}`);
      assert.equal(s.core.log.lastIndex(), 2, 'and accepts the entries');
      assert.deepEqual(out.map((m) => [m.type, m.index, m.reject]), [[AppendResponse, 2, false]]);
    }

    // A pre-candidate too, here on a heartbeat of its own term.
    const p = solo(1);
    p.core.campaign();
    p.out();
    p.step(msg(Heartbeat, 2, 1, 1, { commit: 1 }));
    assert.deepEqual([p.core.role, p.core.term, p.core.lead], [Role.Follower, 1, 2]);

    // An append from an older term does not stop the campaign.
    const c = solo(1, { term: 2 }, { preVote: false });
    c.core.campaign();
    c.out();
    const out = c.step(msg(Append, 2, 1, 2, { index: 1, logTerm: 1, entries: [entry(2, 2, 'x')], commit: 1 }));
    assert.deepEqual([c.core.role, c.core.term], [Role.Candidate, 3]);
    assert.deepEqual(out.map(brief), [{ type: 'AppendResponse', from: 1, to: 2, term: 3 }]);
  });

  test('if no candidate wins, candidates time out and start a new election in a new term', () => {
    const s = solo(1, {}, { preVote: false });
    s.core.campaign();
    s.out();
    assert.equal(s.core.term, 2);
    for (let i = 1; i < ELECTION_TICKS; i++) s.core.tick();
    assert.equal(s.core.term, 2);
    s.core.tick();
    assert.deepEqual([s.core.role, s.core.term, s.core.vote], [Role.Candidate, 3, 1]);
    assert.deepEqual(s.out().filter(isType(Vote)).map((m) => [m.to, m.term]), [[2, 3], [3, 3]]);
  });

  test('randomized election timeouts: a server waits electionTicks + floor(random * electionTicks) ticks', () => {
    for (const r of [0, 0.1, 0.35, 0.5, 0.99]) {
      const s = solo(1, {}, { preVote: false, random: () => r });
      let ticks = 0;
      while (s.core.role === Role.Follower) {
        s.core.tick();
        ticks++;
        assert.ok(ticks < 3 * ELECTION_TICKS);
      }
      assert.equal(ticks, ELECTION_TICKS + Math.floor(r * ELECTION_TICKS), `random ${r}`);
    }

    // The timeout is drawn afresh every time the server changes state or term.
    const draws = [0.2, 0.7];
    let n = 0;
    const s = solo(1, {}, { preVote: false, random: () => draws[n++ % draws.length] });
    const ticksUntilTermChanges = () => {
      const term = s.core.term;
      let ticks = 0;
      while (s.core.term === term) {
        s.core.tick();
        ticks++;
        assert.ok(ticks < 3 * ELECTION_TICKS);
      }
      return ticks;
    };
    assert.deepEqual([ticksUntilTermChanges(), ticksUntilTermChanges(), ticksUntilTermChanges()], [12, 17, 12]);
  });

  test('randomized election timeouts: the server that times out first wins before the others time out, so the vote is not split', () => {
    const net = new Network([1, 2, 3], {
      perNode: { 1: { random: () => 0.5 }, 2: { random: () => 0 }, 3: { random: () => 0.9 } },
    });
    net.tickRounds([1, 2, 3], ELECTION_TICKS);
    assert.deepEqual(leaders(net, [1, 2, 3]), [2]);
    for (const id of [1, 2, 3]) assert.equal(net.core(id).term, 2);
    const campaigners = new Set(net.sent.filter(isType(PreVote, Vote)).map((m) => m.from));
    assert.deepEqual([...campaigners], [2], 'no split vote: only one server campaigned');
  });
});

// ==================================================================== §5.3 log replication

/** Figure 7: the leader of term 8 and the possible follower logs (a)–(f), as terms of indices 2, 3, … (index 1 is the genesis, term 1). */
const FIGURE7_LEADER = [1, 1, 4, 4, 5, 5, 6, 6, 6];
const FIGURE7_FOLLOWERS: Record<string, number[]> = {
  a: [1, 1, 4, 4, 5, 5, 6, 6],
  b: [1, 1, 4],
  c: [1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
  d: [1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
  e: [1, 1, 4, 4, 4, 4],
  f: [1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
};

/** Node 1 holds the leader's log at term 7, node 2 the follower's log, node 3 only the genesis (it votes for 1). */
function figure7(follower: number[]): Network {
  return new Network([1, 2, 3], { init: { 1: { logTerms: FIGURE7_LEADER, term: 7 }, 2: { logTerms: follower } } });
}

describe('§5.3 log replication', () => {
  test('the leader appends the command to its log as a new entry and replicates it to the followers', () => {
    const net = new Network([1, 2, 3]);
    const leader = net.elect(1);
    net.propose(1, 'x');
    assert.equal(leader.log.lastIndex(), 3);
    assert.equal(leader.log.term(3), 2, 'the entry carries the leader\'s term');
    const appends = net.pending.filter(isType(Append));
    assert.deepEqual(
      appends.map((m) => ({ to: m.to, prevIndex: m.index, prevTerm: m.logTerm, entries: m.entries.map((e) => [e.index, e.term, text(e.data)]) })),
      [2, 3].map((to) => ({ to, prevIndex: 2, prevTerm: 2, entries: [[3, 2, 'x']] })),
    );
    net.deliverAll();
    for (const id of [1, 2, 3]) {
      assert.equal(net.core(id).log.term(3), 2);
      assert.deepEqual(net.member(id).data, ['x'], `node ${id} applied it`);
    }
  });

  test('a follower persists appended entries in the same batch that acknowledges them', () => {
    const s = solo(2);
    s.core.step(msg(Append, 1, 2, 2, { index: 1, logTerm: 1, entries: [entry(2, 2, 'a'), entry(3, 2, 'b')], commit: 1 }));
    const [rd] = s.readies();
    assert.deepEqual(rd.entries.map((e) => e.index), [2, 3]);
    assert.equal(rd.mustSync, true);
    assert.deepEqual(rd.messages.map((m) => [m.type, m.index]), [[AppendResponse, 3]]);
  });

  test('an entry is committed once the leader has replicated it on a majority of the servers', () => {
    const net = new Network([1, 2, 3, 4, 5]);
    const leader = net.elect(1);
    net.propose(1, 'x');
    const held = net.take(isType(Append));
    assert.equal(held.length, 4);

    net.inject(held.find((m) => m.to === 2)!);
    net.deliverAll();
    assert.equal(leader.log.committed, 2, 'two copies of five are not a majority');
    assert.deepEqual(net.member(1).data, []);

    net.inject(held.find((m) => m.to === 3)!);
    net.deliverAll();
    assert.equal(leader.log.committed, 3, 'three copies of five are');
    assert.deepEqual(net.member(1).data, ['x'], 'the leader applies it');
    // Followers learn the commit index from later appends; 4 and 5 get the entry by retry.
    for (const id of [2, 3, 4, 5]) assert.deepEqual(net.member(id).data, ['x'], `node ${id}`);
  });

  test('a follower sets its commit index to min(leaderCommit, index of last new entry)', () => {
    const s = solo(2);
    s.step(msg(Append, 1, 2, 2, { index: 1, logTerm: 1, entries: [entry(2, 2, 'a')], commit: 5 }));
    assert.equal(s.core.log.committed, 2);
    s.step(msg(Append, 1, 2, 2, { index: 2, logTerm: 2, entries: [entry(3, 2, 'b'), entry(4, 2, 'c')], commit: 3 }));
    assert.equal(s.core.log.committed, 3);
  });

  test('the follower rejects AppendEntries when it has no entry matching prevLogIndex/prevLogTerm', () => {
    // The follower's log: 1@1 (genesis), 2@1, 3@2.
    const cases = [
      { prev: 3, prevTerm: 2, accept: true, index: 4 },
      // An entry at 3, but of another term: the hint is its last entry whose term is <= prevTerm.
      { prev: 3, prevTerm: 3, accept: false, index: 3, hint: 3, hintTerm: 2 },
      // No entry at 4 at all: the hint is its last index.
      { prev: 4, prevTerm: 2, accept: false, index: 4, hint: 3, hintTerm: 2 },
      { prev: 2, prevTerm: 2, accept: false, index: 2, hint: 2, hintTerm: 1 },
    ];
    for (const c of cases) {
      const s = solo(2, { logTerms: [1, 2] });
      const out = s.step(msg(Append, 1, 2, 3, { index: c.prev, logTerm: c.prevTerm, entries: [entry(c.prev + 1, 3, 'new')], commit: 1 }));
      const [resp] = out.filter(isType(AppendResponse));
      assert.equal(resp.reject, !c.accept, JSON.stringify(c));
      assert.equal(resp.index, c.index);
      if (c.accept) {
        assert.deepEqual(logTerms(s.core), [1, 2, 3]);
      } else {
        assert.deepEqual([resp.rejectHint, resp.logTerm], [c.hint, c.hintTerm]);
        assert.deepEqual(logTerms(s.core), [1, 2], 'the log is untouched');
      }
    }
  });

  for (const [name, follower] of Object.entries(FIGURE7_FOLLOWERS)) {
    test(`the follower's log is made consistent: conflicting entries are deleted and the leader's appended (Figure 7 ${name})`, () => {
      const net = figure7(follower);
      const leader = net.elect(1);
      assert.equal(leader.term, 8);
      const wanted = [...FIGURE7_LEADER, 8];
      assert.deepEqual(logTerms(leader), wanted);
      assert.deepEqual(logTerms(net.core(2)), wanted, 'the follower\'s log equals the leader\'s');
      const dataOf = (id: number) => net.core(id).log.slice(2, 12, Infinity).map((e) => text(e.data));
      assert.deepEqual(dataOf(2), dataOf(1));
      assert.equal(net.core(2).log.committed, 11);
    });
  }

  test('the leader decrements nextIndex after a rejection and retries, skipping a whole term per round trip using the hint', () => {
    // (f): the follower's entries 4–11 are of terms 2 and 3, which the leader does not have.
    let net = figure7(FIGURE7_FOLLOWERS.f);
    net.elect(1);
    let appends = net.sent.filter(between(1, 2, Append));
    let rejections = net.sent.filter((m) => between(2, 1, AppendResponse)(m) && m.reject);
    assert.deepEqual([appends[0].index, appends[0].logTerm], [10, 6], 'first try: right after the leader\'s last entry');
    assert.deepEqual(rejections.map((m) => [m.index, m.rejectHint, m.logTerm]), [[10, 10, 3]], 'one rejection');
    // The leader skips every index whose term is above 3: straight to 3@1, not 9, 8, 7…
    assert.deepEqual([appends[1].index, appends[1].logTerm], [3, 1]);
    assert.deepEqual(appends[1].entries.map((e) => e.index), [4, 5, 6, 7, 8, 9, 10, 11]);

    // (b): the follower's log is short; its hint is its last index.
    net = figure7(FIGURE7_FOLLOWERS.b);
    net.elect(1);
    appends = net.sent.filter(between(1, 2, Append));
    rejections = net.sent.filter((m) => between(2, 1, AppendResponse)(m) && m.reject);
    assert.deepEqual(rejections.map((m) => [m.index, m.rejectHint, m.logTerm]), [[10, 4, 4]]);
    assert.deepEqual([appends[1].index, appends[1].logTerm], [4, 4]);
  });

  test('a leader never overwrites or deletes entries in its own log (Leader Append-Only)', () => {
    const net = new Network([1, 2, 3]);
    const leader = net.elect(1);
    net.propose(1, 'x');
    net.deliverAll();
    const before = logTerms(leader);
    // An append from an older term that conflicts with the leader's log.
    net.inject(msg(Append, 2, 1, 1, { index: 1, logTerm: 1, entries: [entry(2, 1, 'other')], commit: 2 }));
    assert.equal(leader.role, Role.Leader);
    assert.deepEqual(logTerms(leader), before);
    assert.equal(text(leader.log.slice(3, 4, Infinity)[0].data), 'x');
  });
});

// ==================================================================== §5.4 safety

describe('§5.4.1 election restriction', () => {
  test('a voter denies its vote if its own log is more up-to-date than the candidate\'s (last term, then last index)', () => {
    // The voter's last entry is 3@2.
    const cases = [
      { lastIndex: 5, lastTerm: 1, granted: false, why: 'an older last term loses even with a longer log' },
      { lastIndex: 2, lastTerm: 2, granted: false, why: 'same last term, shorter log' },
      { lastIndex: 3, lastTerm: 2, granted: true, why: 'same last term, same length' },
      { lastIndex: 4, lastTerm: 2, granted: true, why: 'same last term, longer log' },
      { lastIndex: 2, lastTerm: 3, granted: true, why: 'a newer last term wins even with a shorter log' },
    ];
    for (const type of [Vote, PreVote]) {
      for (const c of cases) {
        const s = solo(1, { logTerms: [1, 2] });
        const out = s.step(msg(type, 2, 1, 3, { index: c.lastIndex, logTerm: c.lastTerm }));
        const label = `${MessageType[type]}: ${c.why}`;
        assert.deepEqual(out.map((m) => [m.type, m.reject]), [[type === Vote ? VoteResponse : PreVoteResponse, !c.granted]], label);
        if (type === Vote) assert.equal(s.core.vote, c.granted ? 2 : NONE, label);
        else assert.deepEqual([s.core.term, s.core.vote], [2, NONE], `${label}: a pre-vote changes neither term nor vote`);
      }
    }
  });

  test('a candidate whose log lacks a committed entry cannot be elected', () => {
    const net = new Network([1, 2, 3], { core: { preVote: false, checkQuorum: false } });
    net.elect(1);
    net.isolate(3);
    net.propose(1, 'x');
    net.deliverAll();
    assert.equal(net.core(1).log.committed, 3, 'committed on 1 and 2');
    net.crash(1);
    net.heal();

    net.campaign(3);
    assert.notEqual(net.core(3).role, Role.Leader, '2 refuses: 3 lacks 3@2');
    net.campaign(2);
    assert.equal(net.core(2).role, Role.Leader);
    assert.deepEqual(net.member(3).data, ['x'], 'and brings 3 up to date');
  });
});

/**
 * Figure 8, adapted: S1 wrote 2@2 while leading term 2 and then crashed; S5 wrote 2@3 while
 * leading term 3 and then crashed. S1 comes back and wins term 4 (S5 refuses: its log is newer),
 * appends its empty entry 3@4 and replicates 2@2 to S2 and S3 — a majority holds 2@2 — while 4
 * and 5 are unreachable. One entry per message, so 2@2 and 3@4 travel separately.
 */
function figure8(): Network {
  const net = new Network([1, 2, 3, 4, 5], {
    core: { preVote: false, checkQuorum: false, maxBytesPerMessage: 1 },
    init: { 1: { logTerms: [2], term: 3 }, 2: { term: 3 }, 3: { term: 3 }, 4: { term: 3 }, 5: { logTerms: [3], term: 3, vote: 5 } },
  });
  net.input(1, (c) => c.campaign());
  net.deliverWhile(isType(Vote, VoteResponse));
  const s1 = net.core(1);
  assert.deepEqual([s1.role, s1.term], [Role.Leader, 4]);
  net.isolate(4);
  net.isolate(5);
  net.take((m) => m.to === 4 || m.to === 5);

  const toTwoAndThree = (type: MessageType) => (m: Message) => m.type === type && (m.to === 2 || m.to === 3);
  const fromTwoAndThree = (m: Message) => m.type === AppendResponse && (m.from === 2 || m.from === 3);
  net.deliver(toTwoAndThree(Append)); // prev 2@2, [3@4]: rejected, they have no index 2
  net.deliver(fromTwoAndThree); // the leader backs up to prev 1@1
  const carried = net.pending.filter(toTwoAndThree(Append)).map((m) => m.entries.map((e) => [e.index, e.term]));
  assert.deepEqual(carried, [[[2, 2]], [[2, 2]]]);
  net.deliver(toTwoAndThree(Append)); // accepted: 2@2 is now on S1, S2 and S3
  net.deliver(fromTwoAndThree); // the leader learns match = 2 for both, and sends 3@4
  return net;
}

describe('§5.4.2 committing entries from previous terms', () => {
  test('a leader never commits an entry from a previous term by counting replicas (Figure 8)', () => {
    const net = figure8();
    const s1 = net.core(1);
    for (const id of [1, 2, 3]) assert.equal(net.core(id).log.term(2), 2, `S${id} holds 2@2`);
    assert.equal(progressOf(net, 1, 2).match, 2);
    assert.equal(progressOf(net, 1, 3).match, 2);
    assert.equal(s1.log.committed, 1, '2@2 is on a majority but is not committed');

    // Why: S1 crashes before 3@4 arrives; S5 can still be elected by S2, S3, S4 (its last
    // entry 2@3 is newer than their 2@2) and overwrite 2@2.
    net.take();
    net.crash(1);
    net.heal();
    net.campaign(5); // S5 saw S1's term-4 request, so it campaigns for term 5
    const s5 = net.core(5);
    assert.deepEqual([s5.role, s5.term], [Role.Leader, 5]);
    for (const id of [2, 3, 4, 5]) assert.equal(net.core(id).log.term(2), 3, `S${id} now holds 2@3`);
    assert.equal(s5.log.committed, 3, 'and S5 commits it with 3@5');
    for (const id of [2, 3, 4, 5]) {
      assert.deepEqual(net.member(id).appliedEntries.map((e) => [e.index, e.term]), [[2, 3], [3, 5]]);
    }
  });

  test('once an entry of the leader\'s current term commits, the earlier entries commit too', () => {
    const net = figure8();
    const s1 = net.core(1);
    assert.equal(s1.log.committed, 1);
    net.deliverAll(); // 3@4 reaches S2 and S3
    assert.equal(s1.log.committed, 3);
    assert.deepEqual(net.member(1).appliedEntries.map((e) => [e.index, e.term]), [[2, 2], [3, 4]]);
    assert.deepEqual(net.member(1).data, ['e2@2']);
  });
});

// ==================================================================== §5.5 follower and candidate crashes

describe('§5.5 follower and candidate crashes', () => {
  test('RPCs are idempotent: a duplicated AppendEntries changes nothing', () => {
    const s = solo(2);
    const first = msg(Append, 1, 2, 2, { index: 1, logTerm: 1, entries: [entry(2, 2, 'a'), entry(3, 2, 'b')], commit: 1 });
    const r1 = s.step(first);
    const log1 = logTerms(s.core);
    const r2 = s.step(first);
    assert.deepEqual(logTerms(s.core), log1);
    assert.deepEqual(r2.map((m) => [m.type, m.index, m.reject]), r1.map((m) => [m.type, m.index, m.reject]));

    // A late duplicate after newer entries arrived must not truncate them.
    s.step(msg(Append, 1, 2, 2, { index: 3, logTerm: 2, entries: [entry(4, 2, 'c')], commit: 1 }));
    const r3 = s.step(first);
    assert.equal(s.core.log.lastIndex(), 4);
    assert.deepEqual(s.core.log.slice(2, 5, Infinity).map((e) => text(e.data)), ['a', 'b', 'c']);
    assert.deepEqual(r3.map((m) => [m.type, m.index, m.reject]), [[AppendResponse, 3, false]]);
  });

  test('a follower that crashes restarts with its persisted term, vote and log', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'x');
    net.deliverAll();
    net.crash(2);
    const restarted = net.restart(2);
    assert.deepEqual([restarted.term, restarted.vote, restarted.log.lastIndex(), restarted.log.committed], [2, 1, 3, 3]);
    assert.deepEqual(net.member(2).data, ['x'], 'the state machine is rebuilt from the log');
  });

  test('the leader retries AppendEntries to a crashed follower until it restarts and catches up', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.crash(3);
    net.propose(1, 'x');
    net.propose(1, 'y');
    net.deliverAll();
    net.tickRounds([1, 2], 3);
    net.restart(3);
    assert.equal(net.core(3).log.lastIndex(), 2);
    net.tickRounds([1, 2, 3], 1);
    assert.equal(net.core(3).log.lastIndex(), 4);
    assert.deepEqual(net.member(3).data, ['x', 'y']);
  });
});

// ==================================================================== pre-vote (thesis §9.6)

describe('pre-vote', () => {
  test('a pre-candidate does not increase its term', () => {
    const s = solo(1);
    for (let i = 0; i < ELECTION_TICKS; i++) s.core.tick();
    assert.deepEqual([s.core.role, s.core.term, s.core.vote], [Role.PreCandidate, 1, NONE]);
    const readies = s.readies();
    assert.ok(readies.every((rd) => rd.hardState === null), 'nothing durable changes');
    const requests = readies.flatMap((rd) => rd.messages);
    // It asks about the term it would campaign in.
    assert.deepEqual(requests.map((m) => ({ ...brief(m), index: m.index, logTerm: m.logTerm })),
      [2, 3].map((to) => ({ type: 'PreVote', from: 1, to, term: 2, index: 1, logTerm: 1 })));
    for (let i = 0; i < 5 * ELECTION_TICKS; i++) s.core.tick();
    assert.deepEqual([s.core.role, s.core.term], [Role.PreCandidate, 1], 'failed pre-elections never raise it');
  });

  test('a pre-candidate that wins the pre-vote becomes a candidate, and only then increments its term', () => {
    const s = solo(1);
    s.core.campaign();
    s.out();
    const out = s.step(msg(PreVoteResponse, 2, 1, 2));
    assert.deepEqual([s.core.role, s.core.term, s.core.vote], [Role.Candidate, 2, 1]);
    assert.deepEqual(out.filter(isType(Vote)).map((m) => [m.to, m.term]), [[2, 2], [3, 2]]);
  });

  test('a partitioned node rejoining with pre-vote does not disrupt the leader', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'x');
    net.deliverAll();

    net.isolate(3);
    net.tick(3, 10 * ELECTION_TICKS);
    assert.deepEqual([net.core(3).role, net.core(3).term], [Role.PreCandidate, 2], 'its term did not grow while cut off');

    net.heal();
    net.input(3, (c) => c.campaign()); // its pre-vote now reaches servers that hear from the leader…
    net.deliverAll();
    assert.deepEqual([net.core(1).role, net.core(1).term], [Role.Leader, 2], '…which ignore it');
    assert.equal(net.core(2).lead, 1);

    net.tick(1);
    net.deliverAll();
    assert.deepEqual([net.core(3).role, net.core(3).term, net.core(3).lead], [Role.Follower, 2, 1]);
    assert.deepEqual(net.member(3).data, ['x']);
  });

  test('without pre-vote (or check-quorum) the same rejoining node deposes the leader', () => {
    const net = new Network([1, 2, 3], { core: { preVote: false, checkQuorum: false } });
    net.elect(1);
    net.isolate(3);
    net.propose(1, 'x'); // committed by 1 and 2 only
    net.deliverAll();
    net.tick(3, 3 * ELECTION_TICKS);
    assert.equal(net.core(3).term, 5, 'its term grew with every timeout');
    net.heal();
    net.tick(3, ELECTION_TICKS);
    net.deliverAll();
    assert.equal(net.core(1).role, Role.Follower, 'the healthy leader was deposed');
    assert.equal(net.core(1).term, 6);
    assert.deepEqual(leaders(net, [1, 2, 3]), [], 'and 3 could not win (it lacks x): no leader at all');
  });
});

// ==================================================================== check-quorum and leases (thesis §6.2, §4.2.3)

describe('check-quorum', () => {
  test('a leader that does not hear from a majority within an election timeout steps down', () => {
    const net = new Network([1, 2, 3]);
    const leader = net.elect(1);
    net.isolate(1);
    // The first check still counts the answers it had before the partition.
    net.tick(1, ELECTION_TICKS);
    assert.equal(leader.role, Role.Leader);
    net.tick(1, ELECTION_TICKS - 1);
    assert.equal(leader.role, Role.Leader);
    // A whole election timeout without a word from anyone.
    net.tick(1);
    assert.deepEqual([leader.role, leader.lead, leader.term], [Role.Follower, NONE, 2]);
  });

  test('a leader that hears from a majority stays leader', () => {
    const net = new Network([1, 2, 3]);
    const leader = net.elect(1);
    net.isolate(3);
    net.tickRounds([1], 10 * ELECTION_TICKS);
    assert.equal(leader.role, Role.Leader);
  });

  test('a follower within its leader lease ignores a vote request', () => {
    const net = new Network([1, 2, 3], { perNode: { 2: { random: () => 0.5 } } }); // 2 times out after 15 ticks
    net.elect(1);
    const two = net.core(2);
    for (const type of [PreVote, Vote]) {
      net.inject(msg(type, 3, 2, 3, { index: 10, logTerm: 5 }));
      assert.deepEqual(net.take((m) => m.from === 2), [], `no answer to a ${MessageType[type]}`);
      assert.deepEqual([two.term, two.vote, two.lead], [2, 1, 1]);
    }

    // After an election timeout without hearing from the leader, the lease is over.
    net.tick(2, ELECTION_TICKS);
    assert.equal(two.role, Role.Follower, 'not campaigning yet');
    net.inject(msg(Vote, 3, 2, 3, { index: 10, logTerm: 5 }));
    assert.deepEqual(net.take((m) => m.from === 2).map((m) => [m.type, m.reject]), [[VoteResponse, false]]);
    assert.deepEqual([two.term, two.vote], [3, 3]);
  });

  test('a vote request from a sanctioned leadership transfer is considered even within the lease', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.inject(msg(Vote, 3, 2, 3, { index: 2, logTerm: 2, context: TRANSFER_CONTEXT }));
    assert.deepEqual(net.take((m) => m.from === 2).map((m) => [m.type, m.reject]), [[VoteResponse, false]]);
    assert.deepEqual([net.core(2).term, net.core(2).vote], [3, 3]);
  });
});

// ==================================================================== leadership transfer (thesis §3.10)

describe('leadership transfer', () => {
  test('leadership transfer to an up-to-date voter makes it leader', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'x');
    net.deliverAll();
    net.input(1, (c) => c.transferLeadership(2));
    assert.deepEqual(net.pending.map(brief), [{ type: 'TimeoutNow', from: 1, to: 2, term: 2 }]);
    net.deliverAll();
    assert.deepEqual([net.core(2).role, net.core(2).term], [Role.Leader, 3]);
    assert.deepEqual([net.core(1).role, net.core(1).lead], [Role.Follower, 2]);
    // The new leader skipped pre-vote and the others' leases: the transfer was sanctioned.
    assert.ok(net.sent.some((m) => m.from === 2 && m.type === Vote));
    assert.ok(!net.sent.some((m) => m.from === 2 && m.type === PreVote));
  });

  test('transfer to a lagging follower first catches it up', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.propose(1, 'x');
    net.propose(1, 'y');
    net.deliverAll();
    net.heal();
    const mark = net.sent.length;

    net.input(1, (c) => c.transferLeadership(3));
    assert.deepEqual(net.pending.map(brief), [{ type: 'Append', from: 1, to: 3, term: 2 }], 'not TimeoutNow yet');
    net.deliverAll();
    assert.deepEqual([net.core(3).role, net.core(3).term], [Role.Leader, 3]);
    assert.deepEqual(net.member(3).data, ['x', 'y']);

    const toThree = net.sent.slice(mark).filter((m) => m.from === 1 && m.to === 3);
    const timeoutAt = toThree.findIndex((m) => m.type === MessageType.TimeoutNow);
    assert.ok(timeoutAt > 0);
    const caughtUp = toThree.slice(0, timeoutAt).filter(isType(Append)).flatMap((m) => m.entries.map((e) => e.index));
    assert.deepEqual(caughtUp, [3, 4], 'the missing entries went first');
  });

  test('proposals are refused during a transfer, and accepted again once it is abandoned after an election timeout', () => {
    const net = new Network([1, 2, 3]);
    const leader = net.elect(1);
    net.isolate(3);
    net.input(1, (c) => c.transferLeadership(3));
    assert.equal(leader.status().leadTransferee, 3);
    assert.throws(() => leader.propose([bytes('x')]), ProposalDroppedError);
    const cc = { type: ConfChangeType.AddLearner, nodeId: 9, context: EMPTY };
    assert.throws(() => leader.proposeConfChange(cc, new Uint8Array(9)), ProposalDroppedError);

    net.tickRounds([1], ELECTION_TICKS);
    assert.equal(leader.role, Role.Leader);
    assert.equal(leader.status().leadTransferee, NONE);
    net.propose(1, 'x');
    net.deliverAll();
    assert.deepEqual(net.member(1).data, ['x']);
  });

  test('leadership can only be transferred by the leader, to a voter', () => {
    const net = new Network([1, 2, 3], { learners: [4] });
    const leader = net.elect(1);
    assert.throws(() => net.core(2).transferLeadership(3), NotLeaderError);
    assert.throws(() => leader.transferLeadership(4), ConfChangeError);
    leader.transferLeadership(1);
    assert.equal(leader.status().leadTransferee, NONE, 'to itself: nothing to do');
  });
});

// ==================================================================== ReadIndex (thesis §6.4)

describe('ReadIndex', () => {
  test('a leader answers a read only after a heartbeat round acknowledged by a majority', () => {
    const net = new Network([1, 2, 3, 4, 5]);
    net.elect(1);
    net.propose(1, 'x');
    net.deliverAll();

    net.readIndex(1, 'r1');
    assert.deepEqual(net.member(1).readStates, []);
    const heartbeats = net.take(isType(Heartbeat));
    assert.deepEqual(heartbeats.map((m) => [m.to, text(m.context)]), [2, 3, 4, 5].map((to) => [to, 'r1']));

    net.inject(heartbeats[0]);
    assert.deepEqual(net.member(1).readStates, [], 'not until the acknowledgement is back');
    net.deliverAll();
    assert.deepEqual(net.member(1).readStates, [], 'the leader and one follower are not a majority of five');
    net.inject(heartbeats[1]);
    net.deliverAll();
    assert.deepEqual(net.member(1).readStates.map((r) => [r.index, text(r.requestCtx), r.rejected ?? false]), [[3, 'r1', false]]);
  });

  test('a leader does not serve reads before it has committed an entry of its term', () => {
    const net = new Network([1, 2, 3]);
    net.input(1, (c) => c.campaign());
    net.deliverWhile(isType(PreVote, PreVoteResponse, Vote, VoteResponse));
    const leader = net.core(1);
    assert.equal(leader.role, Role.Leader);
    assert.equal(leader.log.committed, 1, 'its empty entry 2@2 is not committed yet');

    net.readIndex(1, 'early');
    assert.ok(!net.pending.some((m) => m.type === Heartbeat && text(m.context) === 'early'), 'no confirmation round yet');
    assert.deepEqual(net.member(1).readStates, []);

    net.deliverAll();
    assert.deepEqual(net.member(1).readStates.map((r) => [r.index, text(r.requestCtx)]), [[2, 'early']]);
  });

  test('a follower\'s ReadIndex is forwarded to the leader and answered with the leader\'s commit index', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'x');
    net.deliverAll();
    net.readIndex(2, 'f');
    assert.deepEqual(net.pending.map((m) => [MessageType[m.type], m.from, m.to, text(m.context)]), [['ReadIndex', 2, 1, 'f']]);
    net.deliverAll();
    assert.deepEqual(net.member(2).readStates.map((r) => [r.index, text(r.requestCtx), r.rejected ?? false]), [[3, 'f', false]]);
    assert.deepEqual(net.member(1).readStates, [], 'the leader hands no ReadState to its own driver');
  });

  test('reads fail (rejected ReadState) when there is no leader', () => {
    const s = solo(1);
    s.core.readIndex(bytes('a'));
    assert.deepEqual(s.readies().flatMap((rd) => rd.readStates).map((r) => [text(r.requestCtx), r.rejected]), [['a', true]]);

    s.core.campaign(); // a pre-candidate knows no leader either
    s.core.readIndex(bytes('b'));
    assert.deepEqual(s.readies().flatMap((rd) => rd.readStates).map((r) => [text(r.requestCtx), r.rejected]), [['b', true]]);
  });

  test('a leader that steps down fails the reads it had not confirmed', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(1);
    net.readIndex(1, 'r');
    net.tick(1, 2 * ELECTION_TICKS);
    assert.equal(net.core(1).role, Role.Follower);
    assert.deepEqual(net.member(1).readStates.map((r) => [text(r.requestCtx), r.rejected]), [['r', true]]);
  });
});

// ==================================================================== membership (thesis §4)

describe('membership changes and learners', () => {
  test('a learner receives entries but does not count for commit and never campaigns', () => {
    const net = new Network([1, 2, 3], { learners: [4] });
    const leader = net.elect(1);
    assert.ok(!net.sent.some((m) => m.to === 4 && (m.type === PreVote || m.type === Vote)), 'nobody asks a learner for its vote');
    net.propose(1, 'x');
    net.deliverAll();
    assert.deepEqual(net.member(4).data, ['x']);

    net.isolate(2);
    net.isolate(3);
    net.propose(1, 'y');
    net.deliverAll();
    assert.equal(net.core(4).log.lastIndex(), 4, 'the learner has y');
    assert.equal(progressOf(net, 1, 4).match, 4);
    assert.equal(progressOf(net, 1, 4).isLearner, true);
    assert.equal(leader.log.committed, 3, 'leader + learner are not a majority of the voters');

    net.heal();
    net.isolate(4);
    net.tick(4, 10 * ELECTION_TICKS);
    assert.deepEqual([net.core(4).role, net.core(4).term], [Role.Follower, 2]);
    assert.ok(!net.sent.some((m) => m.from === 4 && (m.type === PreVote || m.type === Vote)), 'it never campaigned');
  });

  test('a learner promoted to voter counts toward the quorum', () => {
    const net = new Network([1, 2], { learners: [3] });
    const leader = net.elect(1);
    net.isolate(2);
    net.propose(1, 'before');
    net.deliverAll();
    assert.equal(leader.log.committed, 2, 'with 2 unreachable, 1 of 2 voters cannot commit');
    net.heal();
    net.tickRounds([1], 1);
    assert.deepEqual(net.member(1).data, ['before']);

    net.proposeConfChange(1, ConfChangeType.AddVoter, 3);
    net.deliverAll();
    for (const id of [1, 2, 3]) assert.deepEqual(net.core(id).confState(), { voters: [1, 2, 3], learners: [] }, `node ${id}`);
    net.isolate(2);
    net.propose(1, 'after');
    net.deliverAll();
    assert.deepEqual(net.member(1).data, ['before', 'after'], '1 and 3 are a majority of three voters');
  });

  test('a conf change cannot be proposed while another is pending', () => {
    const net = new Network([1, 2, 3]);
    const leader = net.elect(1);
    net.proposeConfChange(1, ConfChangeType.AddLearner, 4);
    const second = { type: ConfChangeType.AddLearner, nodeId: 5, context: EMPTY };
    assert.throws(() => leader.proposeConfChange(second, new Uint8Array(9)), ConfChangeError);
    net.deliverAll();
    assert.deepEqual(leader.confState(), { voters: [1, 2, 3], learners: [4] });
    net.proposeConfChange(1, ConfChangeType.AddLearner, 5); // the first one is applied: now allowed
    net.deliverAll();
    assert.deepEqual(leader.confState(), { voters: [1, 2, 3], learners: [4, 5] });
  });

  test('removing a voter shrinks the quorum so commits continue', () => {
    const net = new Network([1, 2, 3, 4, 5]);
    const leader = net.elect(1);
    net.crash(4);
    net.crash(5);
    net.proposeConfChange(1, ConfChangeType.Remove, 5);
    net.deliverAll();
    net.proposeConfChange(1, ConfChangeType.Remove, 4);
    net.deliverAll();
    assert.deepEqual(leader.confState().voters, [1, 2, 3]);
    // 1 and 2 alone were not a majority of five; they are of three.
    net.crash(3);
    net.propose(1, 'x');
    net.deliverAll();
    assert.deepEqual(net.member(1).data, ['x']);
    assert.deepEqual(net.member(2).data, ['x']);
  });

  test('the last voter cannot be removed', () => {
    const net = new Network([1]);
    const leader = net.elect(1);
    const cc = { type: ConfChangeType.Remove, nodeId: 1, context: EMPTY };
    assert.throws(() => leader.proposeConfChange(cc, new Uint8Array(9)), (err: unknown) => {
      assert.ok(err instanceof ConfChangeError);
      assert.match(err.message, /last voter/);
      return true;
    });
    const stranger = { type: ConfChangeType.Remove, nodeId: 7, context: EMPTY };
    assert.throws(() => leader.proposeConfChange(stranger, new Uint8Array(9)), ConfChangeError, 'nor a non-member');
  });

  test('a leader that removes itself steps down and the remaining voters elect a new leader', () => {
    const net = new Network([1, 2, 3], { perNode: { 3: { random: () => 0.5 } } });
    const leader = net.elect(1);
    net.proposeConfChange(1, ConfChangeType.Remove, 1);
    net.deliverAll();
    const mark = net.sent.length;
    assert.equal(leader.role, Role.Follower);
    assert.throws(() => leader.propose([bytes('x')]), NotLeaderError);
    for (const id of [2, 3]) assert.deepEqual(net.core(id).confState().voters, [2, 3]);

    net.tickRounds([1, 2, 3], 3 * ELECTION_TICKS);
    assert.equal(leaders(net, [1, 2, 3]).length, 1);
    assert.notEqual(leaders(net, [1, 2, 3])[0], 1);
    assert.ok(!net.sent.slice(mark).some((m) => m.from === 1 && (m.type === PreVote || m.type === Vote)), 'the removed node never campaigns');
  });
});

// ==================================================================== snapshots (§7)

describe('snapshots', () => {
  test('a follower behind the leader\'s compacted log receives a snapshot', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    for (const p of ['a', 'b', 'c']) net.propose(1, p);
    net.deliverAll();
    assert.equal(net.compact(1), 5);
    assert.equal(net.core(1).log.firstIndex(), 6);

    net.heal();
    net.tickRounds([1], 1);
    const three = net.member(3);
    assert.deepEqual(three.snapshotsInstalled.map((s) => s.metadata.index), [5]);
    assert.deepEqual(three.data, ['a', 'b', 'c']);
    assert.deepEqual([three.raft.log.firstIndex(), three.raft.log.committed], [6, 5]);
    assert.equal(three.storage.snapshot().metadata.index, 5);

    net.propose(1, 'd');
    net.deliverAll();
    assert.equal(three.raft.log.lastIndex(), 6, 'ordinary appends resume after the snapshot');
    net.tickRounds([1], 1); // (3 was still probing when d committed: it learns the commit from the heartbeat)
    assert.deepEqual(three.data, ['a', 'b', 'c', 'd']);
    assert.equal(progressOf(net, 1, 3).state, ProgressState.Replicate);
  });

  const snapshotAt = (index: number, term: number, voters = [1, 2, 3]): Snapshot =>
    ({ metadata: { index, term, confState: { voters, learners: [] } }, data: EMPTY });

  test('a stale snapshot (index <= commit) is ignored', () => {
    const s = solo(1, { logTerms: [2, 2, 2], term: 2, commit: 4 });
    s.core.step(msg(MessageType.Snapshot, 2, 1, 2, { snapshot: snapshotAt(3, 2) }));
    const readies = s.readies();
    assert.ok(readies.every((rd) => rd.snapshot === null));
    assert.deepEqual(readies.flatMap((rd) => rd.messages).map((m) => [m.type, m.index, m.reject]), [[AppendResponse, 4, false]]);
    assert.deepEqual([s.core.log.firstIndex(), s.core.log.lastIndex(), s.core.log.committed], [2, 4, 4]);

    // Also when the follower has compacted its own log past the snapshot: it must not roll back.
    const c = solo(1, { logTerms: [2, 2, 2, 2, 2], term: 2, commit: 6 });
    c.storage.createSnapshot(5, c.core.confState(), EMPTY, 5);
    c.core.step(msg(MessageType.Snapshot, 2, 1, 2, { snapshot: snapshotAt(3, 2) }));
    const after = c.readies();
    assert.ok(after.every((rd) => rd.snapshot === null));
    assert.deepEqual(after.flatMap((rd) => rd.messages).map((m) => [m.type, m.index]), [[AppendResponse, 6]]);
    assert.deepEqual([c.core.log.firstIndex(), c.core.log.lastIndex(), c.core.log.committed], [6, 6, 6]);
  });

  test('a snapshot of an entry the follower already has only advances its commit index, keeping the entries after it', () => {
    const s = solo(1, { logTerms: [2, 2, 2], term: 2, commit: 2 });
    s.core.step(msg(MessageType.Snapshot, 2, 1, 2, { snapshot: snapshotAt(3, 2) }));
    const readies = s.readies();
    assert.ok(readies.every((rd) => rd.snapshot === null));
    assert.deepEqual(readies.flatMap((rd) => rd.messages).map((m) => [m.type, m.index]), [[AppendResponse, 3]]);
    assert.deepEqual([s.core.log.firstIndex(), s.core.log.lastIndex(), s.core.log.committed], [2, 4, 3]);
  });

  test('a newer snapshot replaces the follower\'s log and configuration', () => {
    const s = solo(1, { logTerms: [2, 2, 2], term: 3, commit: 2 });
    s.core.step(msg(MessageType.Snapshot, 2, 1, 3, { snapshot: snapshotAt(6, 3, [1, 2, 3, 4]) }));
    const readies = s.readies();
    assert.deepEqual(readies.map((rd) => rd.snapshot?.metadata.index ?? 0).filter((i) => i > 0), [6]);
    assert.deepEqual(readies.flatMap((rd) => rd.messages).map((m) => [m.type, m.index]), [[AppendResponse, 6]]);
    assert.deepEqual([s.core.log.firstIndex(), s.core.log.lastIndex(), s.core.log.committed, s.core.log.applied], [7, 6, 6, 6]);
    assert.deepEqual(s.core.confState().voters, [1, 2, 3, 4]);
    assert.equal(s.storage.lastIndex(), 6);
  });

  test('after a failed snapshot (reportSnapshot false) the leader resumes probing and sends it again', () => {
    const net = new Network([1, 2, 3]);
    const leader = net.elect(1);
    net.isolate(3);
    for (const p of ['a', 'b', 'c']) net.propose(1, p);
    net.deliverAll();
    net.compact(1);
    net.heal();

    // The heartbeat's answer makes the leader send a snapshot, which is lost.
    net.tick(1);
    net.deliverWhile((m) => m.type !== MessageType.Snapshot);
    assert.equal(net.take(isType(MessageType.Snapshot)).length, 1);
    assert.equal(progressOf(net, 1, 3).state, ProgressState.Snapshot);

    // While it waits for the outcome it sends 3 nothing but heartbeats.
    const mark = net.sent.length;
    net.tickRounds([1], 3);
    assert.deepEqual([...new Set(net.sent.slice(mark).filter((m) => m.from === 1 && m.to === 3).map((m) => MessageType[m.type]))], ['Heartbeat']);

    net.input(1, (c) => c.reportSnapshot(3, false));
    assert.equal(progressOf(net, 1, 3).state, ProgressState.Probe);
    net.tickRounds([1], 1);
    assert.equal(net.member(3).snapshotsInstalled.length, 1, 'sent again and installed');
    assert.deepEqual(net.member(3).data, ['a', 'b', 'c']);
    assert.equal(leader.role, Role.Leader);
  });
});

// ==================================================================== proposals

describe('proposals', () => {
  test('a proposal on a follower throws NotLeaderError naming the leader', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    assert.throws(() => net.core(2).propose([bytes('x')]), (err: unknown) => {
      assert.ok(err instanceof NotLeaderError);
      assert.equal(err.leaderId, 1);
      return true;
    });
    const lonely = solo(1);
    assert.throws(() => lonely.core.propose([bytes('x')]), (err: unknown) => err instanceof NotLeaderError && err.leaderId === NONE);
  });

  test('a proposal larger than the limit throws ProposalTooLargeError, and its batch appends nothing', () => {
    const net = new Network([1], { core: { maxProposalBytes: 16 } });
    const leader = net.elect(1);
    const last = leader.log.lastIndex();
    assert.throws(() => leader.propose([bytes('ok'), new Uint8Array(17)]), ProposalTooLargeError);
    assert.equal(leader.log.lastIndex(), last);
    net.propose(1, 'x'.repeat(16));
    assert.equal(leader.log.lastIndex(), last + 1, 'exactly the limit is fine');
  });

  test('proposals return the index and term where they were appended', () => {
    const net = new Network([1, 2, 3]);
    const leader = net.elect(1);
    assert.deepEqual(leader.propose([bytes('a'), bytes('b')]), [{ index: 3, term: 2 }, { index: 4, term: 2 }]);
  });
});

// ==================================================================== unreachable peers

describe('reportUnreachable', () => {
  test('a follower that loses its leader\'s connection campaigns within a few ticks instead of the full election timeout', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(1);
    net.input(2, (c) => c.reportUnreachable(1));
    net.input(3, (c) => c.reportUnreachable(1));
    assert.equal(net.core(2).lead, NONE);
    net.tickRounds([2, 3], 1);
    assert.deepEqual([net.core(2).role, net.core(2).term], [Role.Leader, 3], 'one tick, not ten');
  });

  test('survivors of a lost leader are staggered by rank so they do not split the vote', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.input(3, (c) => c.reportUnreachable(1)); // 3 ranks behind 2, so it waits longer
    net.tick(3, 2);
    assert.equal(net.core(3).role, Role.Follower);
    net.tick(3);
    assert.equal(net.core(3).role, Role.PreCandidate);
  });

  test('a follower\'s report about a peer other than its leader changes nothing', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.input(2, (c) => c.reportUnreachable(3));
    assert.equal(net.core(2).lead, 1);
    net.tick(2, ELECTION_TICKS - 1);
    assert.equal(net.core(2).role, Role.Follower);
  });

  test('a leader stops pipelining to an unreachable follower and probes it instead', () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    assert.equal(progressOf(net, 1, 2).state, ProgressState.Replicate);
    net.input(1, (c) => c.reportUnreachable(2));
    assert.equal(progressOf(net, 1, 2).state, ProgressState.Probe);
    net.propose(1, 'x');
    net.deliverAll();
    assert.deepEqual(net.member(2).data, ['x'], 'and recovers once it answers');
    assert.equal(progressOf(net, 1, 2).state, ProgressState.Replicate);
  });
});
