#!/usr/bin/env node
// hookline start: runs a node. Later commands (listen, trigger) join here.
import { ConfigError, loadConfig, settingsHelp } from '../config.js';
import { startHookline } from '../server.js';

const USAGE = `Usage: hookline <command> [options]

Commands:
  start      run the API and the dispatcher

Options of start (flag, environment variable, meaning):
${settingsHelp()}
`;

async function start(argv: string[]): Promise<void> {
  const config = loadConfig(argv);
  const node = await startHookline(config);
  const out = (line = '') => process.stdout.write(line + '\n');
  if (config.dev) {
    out('!! DEVELOPMENT MODE: http:// and local webhook URLs are allowed. Do not expose this server. !!');
  }
  out(`Hookline listening on ${node.url} (data in ${config.dataDir})`);
  out(`Dashboard: ${node.url}/ (sign in with an API key)`);
  const first = node.firstStart;
  if (first.operatorKey) {
    out(`\nOperator API key (shown once, keep it): ${first.operatorKey}`);
  }
  if (first.account) {
    out(`\nDefault account ${first.account.id}`);
    out(`  property (site_id): ${first.account.siteId}`);
    out(`  account API key (shown once, keep it): ${first.account.apiKey}`);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    node.app.log.info({ signal }, 'stopping: finishing deliveries in flight');
    await node.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (!command || command === '--help' || command === '-h' || command === 'help' || rest.includes('--help')) {
    process.stdout.write(USAGE);
    return;
  }
  if (command === 'start') return start(rest);
  throw new ConfigError(`unknown command "${command}"`);
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`hookline: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  process.stderr.write(`hookline: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
