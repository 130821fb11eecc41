// A TCP proxy on loopback between a node and its PostgreSQL, that a test can break in three ways:
// cut() drops every connection and refuses new ones (a database that is gone, and says so);
// silence() keeps every socket open but passes no byte either way (a dropped NAT entry, a
// failover without a reset: a database that is gone, and says nothing); cutAt() drops the one
// connection on which the client sends given bytes, just before or just after they pass (a
// connection lost around COMMIT).
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** Where cutAt() cuts a connection: at the client's bytes `marker`, on a connection that sent `following` first (if given). */
export interface ProxyTrap {
  marker: Buffer;
  /** 'before': the marker never reaches the server; 'after': it does, and its answer never comes back. */
  when: 'before' | 'after';
  following?: Buffer;
}

export interface TcpProxy {
  port: number;
  /** Drops every connection and stops listening. */
  cut(): Promise<void>;
  /** Listens again, on the same port. */
  restore(): Promise<void>;
  /**
   * From now on no byte passes on the connections open now, ever, nor on those opened until
   * speak(): they stay open, silent both ways. Nothing is closed, refused or reset.
   */
  silence(): void;
  /** New connections pass bytes again; those silenced stay silent (their flow is gone for good). */
  speak(): void;
  /** Cuts the next connection on which the client sends the trap's marker; resolves once it has. */
  cutAt(trap: ProxyTrap): Promise<void>;
  close(): Promise<void>;
}

export async function tcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  /** The connection pairs opened while the proxy spoke, and not silenced since. */
  const speaking = new Set<{ silent: boolean }>();
  let silent = false;
  let trap: (ProxyTrap & { sprung(): void }) | undefined;
  let server: Server | undefined;
  let listenPort = 0;
  const listen = () => new Promise<void>((resolve, reject) => {
    // Half-open allowed: a silenced connection does not even pass on the end of the other side.
    server = createServer({ allowHalfOpen: true }, (client) => {
      const upstream = createConnection({ port, host, allowHalfOpen: true });
      const pair = { silent };
      if (!silent) speaking.add(pair);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => {
          sockets.delete(s);
          speaking.delete(pair);
        });
        s.on('error', () => s.destroy());
      }
      // The client's bytes go through one read at a time, watched for the trap: the end of the
      // last read is kept so that a marker split over two reads is seen too. Not pipe(): a
      // silenced pair drops what arrives rather than buffering it for later.
      let tail = Buffer.alloc(0);
      let followed: ProxyTrap | undefined; // the trap whose `following` this connection sent
      client.on('data', (chunk: Buffer) => {
        if (pair.silent) return;
        const t = trap;
        const seen = Buffer.concat([tail, chunk]);
        if (t && (!t.following || followed === t) && seen.includes(t.marker)) {
          trap = undefined;
          const drop = () => {
            client.destroy();
            upstream.destroy();
            t.sprung();
          };
          if (t.when === 'after') upstream.write(chunk, drop);
          else drop();
          return;
        }
        if (t?.following && seen.includes(t.following)) followed = t;
        tail = t ? seen.subarray(-(t.marker.length - 1)) : Buffer.alloc(0);
        upstream.write(chunk);
      });
      upstream.on('data', (data: Buffer) => void (pair.silent || client.write(data)));
      client.on('end', () => void (pair.silent || upstream.end()));
      upstream.on('end', () => void (pair.silent || client.end()));
    });
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => {
      listenPort = (server!.address() as AddressInfo).port;
      resolve();
    });
  });
  const cut = () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server!.close(() => resolve());
  });
  await listen();
  return {
    port: listenPort,
    cut,
    restore: listen,
    silence: () => {
      silent = true;
      for (const pair of speaking) pair.silent = true;
      speaking.clear();
    },
    speak: () => {
      silent = false;
    },
    cutAt: (t) => new Promise<void>((resolve) => (trap = { ...t, sprung: resolve })),
    close: async () => {
      if (server!.listening) await cut();
      else for (const s of sockets) s.destroy();
    },
  };
}
