// POST /v2/admin/backup/ (operator key): a consistent copy of the embedded database, streamed
// back. The server holds its database exclusively, so while it runs this is the only way to a
// copy; `hookline backup` (src/cli/backup.ts) calls it when it finds a server on the data dir.
// On PostgreSQL the database is backed up with its own tools (pg_dump).
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { ApiError } from '../errors.js';

/** SQLite's registered media type. */
export const SQLITE_MEDIA_TYPE = 'application/vnd.sqlite3';
/** The answer's header naming the database copied (its file's real path), so that the caller can check it asked the right server. */
export const SOURCE_HEADER = 'hookline-database';

export default async function admin(app: FastifyInstance, { store }: Pick<ApiContext, 'store'>) {
  app.post('/v2/admin/backup/', {
    schema: {
      tags: ['operator'],
      description: 'A consistent copy of the embedded SQLite database, made while the server keeps serving, as one self-contained file. '
        + 'Keep the sealing key (secret.key or HOOKLINE_SECRET_KEY) with it. On PostgreSQL: 409, use pg_dump.',
      response: {
        200: { description: 'The copy: a SQLite database file.', content: { [SQLITE_MEDIA_TYPE]: { schema: { type: 'string', format: 'binary' } } } },
      },
    },
    config: { audit: 'database.backed_up', operatorOnly: true },
  }, async (_request, reply) => {
    if (!store.backup) {
      throw new ApiError(409, 'not_supported', 'the database is PostgreSQL: back it up with pg_dump (the README says how, under "Backup and restore")');
    }
    const copy = await store.backup();
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, 'Z');
    return reply
      .type(SQLITE_MEDIA_TYPE)
      .header('content-length', copy.size)
      .header('content-disposition', `attachment; filename="hookline-${stamp}.db"`)
      .header(SOURCE_HEADER, encodeURIComponent(copy.source))
      .send(copy.handle.createReadStream());
  });
}
