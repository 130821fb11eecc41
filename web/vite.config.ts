// Builds the dashboard into dist/web, where the server serves it (src/api/routes/dashboard.ts).
// `npm run dev:web` serves it with live reload and sends API calls to a Hookline on :8000.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const backend = process.env.HOOKLINE_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Everything stays a file under /assets/: the Content-Security-Policy allows no data: URLs.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: { proxy: { '/v2': backend, '/ui': backend } },
});
