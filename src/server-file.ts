// The data dir's note of the server running on it: server.json, with the URL it can be reached
// at from this machine and its pid. The server holds the embedded database exclusively, so a
// command that needs the database while it runs (`hookline backup`) asks it, and this note is how
// the command finds it. Written once the server listens, removed when it stops. A server killed
// leaves its note behind: what says a server runs is the database's lock, and the note is read
// only when the lock is held.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SERVER_FILE = 'server.json';

export interface ServerNote {
  url: string;
  pid: number;
}

/** Where a server listening on `host` is reached from this machine: the loopback for a wildcard address. */
export function localUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** Written whole or not at all (a rename), readable by the service user only. */
export function writeServerNote(dataDir: string, note: ServerNote): void {
  const path = join(dataDir, SERVER_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(note) + '\n', { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

/** Removes the note if it is this process's (a newer server's note stays). */
export function removeServerNote(dataDir: string): void {
  if (readServerNote(dataDir)?.pid === process.pid) rmSync(join(dataDir, SERVER_FILE), { force: true });
}

export function readServerNote(dataDir: string): ServerNote | undefined {
  try {
    const note = JSON.parse(readFileSync(join(dataDir, SERVER_FILE), 'utf8')) as Partial<ServerNote>;
    return typeof note.url === 'string' && typeof note.pid === 'number' ? { url: note.url, pid: note.pid } : undefined;
  } catch {
    return undefined;
  }
}
