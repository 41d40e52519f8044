import fc from 'fast-check';

// Every property runs at least 10,000 times, locally and in CI. LANCHAT_PROPERTY_RUNS raises it
// for a longer soak (it cannot lower it below 10,000). A failure prints its seed and path;
// replay it with fc.assert(..., { seed, path }). Properties that simulate a whole run of several
// machines (a file transfer over a lossy link, a queue under thousands of operations) set their
// own, smaller count in the test, where it says so.
const requested = Number(process.env['LANCHAT_PROPERTY_RUNS'] ?? '0');
fc.configureGlobal({ numRuns: Math.max(10_000, Number.isFinite(requested) ? requested : 0) });
