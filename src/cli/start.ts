// hookline start: runs a node (API and dispatcher) until SIGTERM or SIGINT. Its flags are the
// settings table (src/config.ts), and so is its --help.
import { configFrom, SETTING_FLAGS } from '../config.js';
import { out } from './args.js';
import { defineCommand } from './command.js';

export const start = defineCommand({
  summary: 'run the API and the dispatcher (or one of them: --role)',
  synopsis: ['[options]'],
  description: `Runs a Hookline node (the API, the dispatcher, or both) until SIGTERM or SIGINT. Each setting
is a flag or an environment variable: a flag wins over the variable, the variable over the default.`,
  flags: SETTING_FLAGS,
  async run({ values }) {
    const config = configFrom(values);
    // Loaded here, so that `hookline --help` and the other commands do not load the server.
    const { startHookline } = await import('../server.js');
    const node = await startHookline(config);
    if (config.dev) {
      out('!! DEVELOPMENT MODE: http:// and local webhook URLs are allowed, the SSRF guard is off. Do not expose this server. !!');
    } else {
      const opened = config.allowedTargets.length > 0 ? `; opened by HOOKLINE_ALLOWED_TARGETS: ${config.allowedTargets.join(', ')}` : '';
      out(`Production mode: https webhook URLs only, private and local addresses refused${opened}`);
    }
    const where = config.databaseUrl ? 'data in PostgreSQL' : `data in ${config.dataDir}`;
    if (config.role === 'worker') {
      out(`Hookline worker listening on ${node.url} (/healthz and /readyz only; ${where})`);
    } else {
      out(`Hookline${config.role === 'api' ? ' API node' : ''} listening on ${node.url} (${where})`);
      out(`Dashboard: ${node.url}/`);
    }
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
  },
});
