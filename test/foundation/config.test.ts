import { describe, expect, it } from 'vitest';
import { accountMaxInFlight, ConfigError, defaultConfig, loadConfig } from '../../src/config.js';
import { nextAttemptAt, parseSchedule } from '../../src/delivery/schedule.js';

describe('settings', () => {
  it('has the documented defaults', () => {
    const c = loadConfig([], {});
    expect(c).toMatchObject({ host: '127.0.0.1', port: 8000, dataDir: './data', dev: false, retryJitter: 0.2, requestTimeoutMs: 15_000 });
    expect(c.retrySchedule).toEqual([0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(c).toEqual(defaultConfig());
  });

  it('reads flags before HOOKLINE_* variables before the conventional PORT', () => {
    expect(loadConfig([], { PORT: '9001' }).port).toBe(9001);
    expect(loadConfig([], { PORT: '9001', HOOKLINE_PORT: '9002' }).port).toBe(9002);
    expect(loadConfig(['--port', '9003'], { HOOKLINE_PORT: '9002' }).port).toBe(9003);
    expect(loadConfig(['--port=9004', '--dev'], {})).toMatchObject({ port: 9004, dev: true });
    expect(loadConfig([], { HOOKLINE_RETRY_SCHEDULE: '0,1s,2s', HOOKLINE_RETRY_JITTER: '0' })).toMatchObject({ retrySchedule: [0, 1000, 2000], retryJitter: 0 });
  });

  it('refuses bad values with a message naming the setting', () => {
    expect(() => loadConfig(['--port', 'eighty'], {})).toThrow(/--port: expected a whole number/);
    expect(() => loadConfig([], { HOOKLINE_RETRY_SCHEDULE: '0,5 parsecs' })).toThrow(/HOOKLINE_RETRY_SCHEDULE: "5 parsecs" is not a duration/);
    expect(() => loadConfig([], { HOOKLINE_RETRY_JITTER: '1.5' })).toThrow(ConfigError);
    expect(() => loadConfig(['--colour'], {})).toThrow(/^unknown flag --colour$/);
    expect(() => loadConfig(['--port'], {})).toThrow(/--port needs a value/);
    expect(() => loadConfig([], { HOOKLINE_NODE_TIMEOUT: 'soon' })).toThrow(/HOOKLINE_NODE_TIMEOUT: "soon" is not a duration/);
    expect(() => loadConfig([], { HOOKLINE_DATABASE_QUERY_TIMEOUT: '0' })).toThrow(/HOOKLINE_DATABASE_QUERY_TIMEOUT: expected a duration from 100ms to 1h/);
  });

  it('partitions PostgreSQL\'s log by day unless set, from an hour to 30 days', () => {
    expect(loadConfig([], {})).toMatchObject({ partitionIntervalMs: 86_400_000 });
    expect(loadConfig(['--partition-interval', '6h'], {})).toMatchObject({ partitionIntervalMs: 21_600_000 });
    expect(() => loadConfig([], { HOOKLINE_PARTITION_INTERVAL: '10m' })).toThrow(/HOOKLINE_PARTITION_INTERVAL: expected a duration from 1h to 30d/);
    expect(() => loadConfig([], { HOOKLINE_PARTITION_INTERVAL: '31d' })).toThrow(ConfigError);
  });

  it('bounds each call to PostgreSQL: 5 s to connect, 5 s per call, unless set', () => {
    expect(loadConfig([], {})).toMatchObject({ databaseConnectTimeoutMs: 5_000, databaseQueryTimeoutMs: 5_000 });
    expect(loadConfig(['--database-connect-timeout', '2s'], { HOOKLINE_DATABASE_QUERY_TIMEOUT: '1500ms' }))
      .toMatchObject({ databaseConnectTimeoutMs: 2_000, databaseQueryTimeoutMs: 1_500 });
  });

  it('reads every flag of the settings table and refuses anything else, naming it', () => {
    expect(loadConfig(['--port', '1', '--port', '2'], {}).port).toBe(2);
    expect(loadConfig(['--retry-jitter=0.5', '--log-level', 'silent', '--dev'], { HOOKLINE_DEV: 'false' }))
      .toMatchObject({ retryJitter: 0.5, logLevel: 'silent', dev: true });
    expect(() => loadConfig(['start'], {})).toThrow(/^unexpected argument "start": this command takes flags only$/);
    expect(() => loadConfig(['-p', '80'], {})).toThrow(/^unknown flag -p$/);
    expect(() => loadConfig(['--dev', '--'], {})).toThrow(/^unknown flag --$/);
    expect(() => loadConfig(['--data-dri', 'x'], {})).toThrow(/^unknown flag --data-dri; did you mean --data-dir\?$/);
    expect(() => loadConfig(['--prot=80'], {})).toThrow(/^unknown flag --prot; did you mean --port\?$/);
    expect(() => loadConfig(['--data-dir'], {})).toThrow(/^--data-dir needs a value$/);
    expect(() => loadConfig(['--port', '--dev'], {})).toThrow(/^--port needs a value \(one that starts with "-" goes after "=": --port=-…\)$/);
    expect(() => loadConfig(['--dev=yes'], {})).toThrow(/^--dev takes no value$/);
    expect(() => loadConfig(['--colour'], {})).toThrow(ConfigError);
  });
});

describe('shares of the delivery places', () => {
  it('gives one account half the node\'s places unless told otherwise, and refuses shares and limits that cannot hold', () => {
    expect(accountMaxInFlight(loadConfig([], {}))).toBe(256);
    expect(accountMaxInFlight(loadConfig([], { HOOKLINE_MAX_IN_FLIGHT: '9' }))).toBe(4);
    expect(accountMaxInFlight(loadConfig([], { HOOKLINE_MAX_IN_FLIGHT: '1' }))).toBe(1);
    expect(accountMaxInFlight(loadConfig([], { HOOKLINE_ACCOUNT_MAX_IN_FLIGHT: '400' }))).toBe(400);
    expect(() => loadConfig([], { HOOKLINE_ACCOUNT_MAX_IN_FLIGHT: '600' })).toThrow(/HOOKLINE_ACCOUNT_MAX_IN_FLIGHT \(600\) must not exceed HOOKLINE_MAX_IN_FLIGHT \(512\)/);
    expect(loadConfig([], {}).webhookMaxInFlightLimit).toBe(100);
    expect(() => loadConfig([], { HOOKLINE_WEBHOOK_MAX_IN_FLIGHT_LIMIT: '5' })).toThrow(/HOOKLINE_ENDPOINT_MAX_IN_FLIGHT \(64\) must not exceed HOOKLINE_WEBHOOK_MAX_IN_FLIGHT_LIMIT \(5\)/);
  });
});

describe('retry schedule', () => {
  it('counts each delay from the previous attempt, with bounded jitter, and ends', () => {
    const schedule = parseSchedule('0,5s,5m');
    expect(nextAttemptAt(schedule, 0, 1, 1_000)).toBe(6_000);
    expect(nextAttemptAt(schedule, 0, 2, 1_000)).toBe(301_000);
    expect(nextAttemptAt(schedule, 0, 3, 1_000)).toBeNull();
    expect(nextAttemptAt(schedule, 0.2, 1, 0, () => 0)).toBe(4_000);
    expect(nextAttemptAt(schedule, 0.2, 1, 0, () => 0.999999)).toBe(6_000);
    expect(parseSchedule('250ms,1.5s,2m,1h')).toEqual([250, 1_500, 120_000, 3_600_000]);
  });
});

describe('the README', () => {
  it('lists every setting in its settings table, with its variables', async () => {
    const { readFileSync } = await import('node:fs');
    const { SETTINGS } = await import('../../src/config.js');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const s of SETTINGS) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${s.flag}\` |`));
      expect(row, `README row for ${s.flag}`).toBeDefined();
      for (const env of s.env) expect(row).toContain(`\`${env}\``);
    }
  });
});
