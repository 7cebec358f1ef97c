// Majority arithmetic: the commit index a quorum holds and the outcome of an election.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VoteResult, committedIndex, majority, voteResult } from '../../../manager/raft/quorum.js';

const matches = (m: Record<number, number>) => (id: number) => m[id] ?? 0;

test('a majority of n voters is floor(n/2) + 1', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(majority), [1, 2, 2, 3, 3, 4, 4]);
});

test('the committed index is the highest index a majority of the voters hold', () => {
  assert.equal(committedIndex([1], matches({ 1: 7 })), 7, 'a single voter commits alone');
  assert.equal(committedIndex([1, 2, 3], matches({ 1: 5, 2: 3, 3: 1 })), 3);
  assert.equal(committedIndex([1, 2, 3], matches({ 1: 5, 2: 5, 3: 1 })), 5);
  assert.equal(committedIndex([1, 2, 3, 4, 5], matches({ 1: 10, 2: 9, 3: 8, 4: 2, 5: 1 })), 8);
  // With four voters three are needed: the third-highest match.
  assert.equal(committedIndex([1, 2, 3, 4], matches({ 1: 5, 2: 5, 3: 3, 4: 3 })), 3);
  assert.equal(committedIndex([1, 2, 3], matches({ 1: 4 })), 0, 'unknown peers count as 0');
  assert.equal(committedIndex([], matches({})), 0, 'no voters, nothing committed');
});

test('matches of non-voters (learners) do not count toward the committed index', () => {
  const m = matches({ 1: 9, 2: 1, 3: 1, 4: 9, 5: 9 }); // 4 and 5 are learners
  assert.equal(committedIndex([1, 2, 3], m), 1);
});

test('an election is won with a majority of grants, lost once a majority is out of reach, pending otherwise', () => {
  const votes = (v: Record<number, boolean>) => new Map(Object.entries(v).map(([k, b]) => [Number(k), b]));
  const voters3 = [1, 2, 3];
  assert.equal(voteResult(voters3, votes({ 1: true })), VoteResult.Pending);
  assert.equal(voteResult(voters3, votes({ 1: true, 2: true })), VoteResult.Won);
  assert.equal(voteResult(voters3, votes({ 1: true, 2: false })), VoteResult.Pending);
  assert.equal(voteResult(voters3, votes({ 1: true, 2: false, 3: false })), VoteResult.Lost);

  const voters4 = [1, 2, 3, 4];
  assert.equal(voteResult(voters4, votes({ 1: true, 2: true })), VoteResult.Pending, 'half is not a majority');
  assert.equal(voteResult(voters4, votes({ 1: true, 2: true, 3: false, 4: false })), VoteResult.Lost);
  assert.equal(voteResult(voters4, votes({ 1: true, 2: false, 3: false })), VoteResult.Lost, 'lost before everyone answered');

  assert.equal(voteResult([1], votes({ 1: true })), VoteResult.Won);
});

test('votes from non-voters are ignored', () => {
  const votes = new Map([[1, true], [4, true], [5, true]]);
  assert.equal(voteResult([1, 2, 3], votes), VoteResult.Pending);
});
