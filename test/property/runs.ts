// How many cases each property test tries: 2 000 by default so `npm test` stays fast;
// FC_RUNS=200000 npm test (or node --test on one file) for a deeper search.
export const RUNS = Number(process.env.FC_RUNS ?? 2000)
