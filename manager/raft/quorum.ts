// Majority arithmetic over the voters. Learners never count.

export enum VoteResult {
  Pending = 'pending',
  Won = 'won',
  Lost = 'lost',
}

export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/** The highest index that a majority of voters have (the k-th largest match, k = majority). */
export function committedIndex(voters: Iterable<number>, matchOf: (id: number) => number): number {
  const matches: number[] = [];
  for (const id of voters) matches.push(matchOf(id));
  if (matches.length === 0) return 0;
  matches.sort((a, b) => b - a);
  return matches[majority(matches.length) - 1];
}

export function voteResult(voters: Iterable<number>, votes: Map<number, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  let total = 0;
  for (const id of voters) {
    total++;
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const need = majority(total);
  if (granted >= need) return VoteResult.Won;
  if (total - rejected < need) return VoteResult.Lost;
  return VoteResult.Pending;
}
