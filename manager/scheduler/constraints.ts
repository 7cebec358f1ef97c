// The constraint grammar lives in shared/placement-constraints.ts, so the orchestrators judge
// "does this node still fit" exactly as the scheduler judged "may this node take it".
export * from '../../shared/placement-constraints.js';
