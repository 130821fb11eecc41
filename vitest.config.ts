// Two projects: every suite on the embedded SQLite store, and the suites that concern the store
// and the cluster on PostgreSQL too. PostgreSQL is HOOKLINE_TEST_DATABASE_URL or the local
// server; when none answers its half is skipped, and says so, except under CI=true, where a
// missing PostgreSQL fails the run.
import pg from 'pg';
import { defineConfig } from 'vitest/config';

const DATABASE_URL = process.env.HOOKLINE_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** The suites that run on PostgreSQL as well: the store, the delivery path, the cluster. */
const POSTGRES_SUITES = [
  'test/store/**/*.test.ts',
  'test/store/postgres.test.ts',
  'test/engine/store.test.ts',
  'test/engine/ordering.test.ts',
  'test/cluster/**/*.test.ts',
  'test/foundation/delivery.test.ts',
  'test/foundation/alerts.test.ts',
  'test/foundation/intake.test.ts',
  'test/foundation/edge-input.test.ts',
  'test/foundation/intake-commit.test.ts',
  'test/foundation/webhooks-api.test.ts',
  'test/foundation/webhook-headers.test.ts',
  'test/platform/facts-api.test.ts',
  'test/secrets/rotation.test.ts',
  'test/feed/**/*.test.ts',
  'test/search/**/*.test.ts',
];
/** These need PostgreSQL and mean nothing on the embedded store. */
const POSTGRES_ONLY = ['test/cluster/**/*.test.ts', 'test/foundation/intake-commit.test.ts', 'test/store/postgres.test.ts'];

async function postgresAnswers(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

export default defineConfig(async () => {
  const unavailable = await postgresAnswers();
  if (unavailable) {
    const why = `no PostgreSQL answers at ${DATABASE_URL} (${unavailable})`;
    if (process.env.CI === 'true') throw new Error(`${why}: CI=true needs the PostgreSQL half of the tests`);
    // The summary reporter repeats it at the end, where it is read.
    process.env.HOOKLINE_TEST_POSTGRES_SKIPPED = `PostgreSQL half of the tests SKIPPED: ${why}; set HOOKLINE_TEST_DATABASE_URL or start PostgreSQL`;
    console.warn(process.env.HOOKLINE_TEST_POSTGRES_SKIPPED);
  }
  return {
    test: {
      testTimeout: 30_000,
      hookTimeout: 30_000,
      reporters: ['default', './test/summary-reporter.ts'],
      projects: [
        {
          extends: true,
          test: {
            name: 'sqlite',
            include: ['test/**/*.test.ts'],
            exclude: POSTGRES_ONLY,
            env: { HOOKLINE_TEST_STORE: 'sqlite' },
            // Type-level tests (the typed client's) run through tsc.
            typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: 'test/tsconfig.json' },
          },
        },
        ...(unavailable ? [] : [{
          extends: true,
          test: { name: 'postgres', include: POSTGRES_SUITES, env: { HOOKLINE_TEST_STORE: 'postgres', HOOKLINE_TEST_DATABASE_URL: DATABASE_URL } },
        }]),
      ],
    },
  };
});
