// The SSRF guard: webhook URLs are typed by strangers, so a delivery must never become a way
// into the operator's network. Addresses are judged twice: at creation (literal addresses and
// names like `localhost`) and at every connect, on the addresses DNS gave, before the socket
// opens, so a name that rebinds to 127.0.0.1 later is still refused.
//
// ipaddr.js parses every IPv6 spelling (compressed, mapped, hex) the same way, which is where
// hand-written checks usually leak.
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

/** Ranges no delivery may reach unless HOOKLINE_ALLOWED_TARGETS opens them. First match names the reason. */
export const BLOCKED_RANGES: readonly { cidr: string; what: string }[] = [
  { cidr: '0.0.0.0/8', what: 'unspecified ("this network")' },
  { cidr: '10.0.0.0/8', what: 'private' },
  { cidr: '100.64.0.0/10', what: 'carrier-grade NAT' },
  { cidr: '127.0.0.0/8', what: 'loopback' },
  { cidr: '169.254.0.0/16', what: 'link-local (cloud metadata)' },
  { cidr: '172.16.0.0/12', what: 'private' },
  { cidr: '192.0.0.0/24', what: 'IETF protocol assignments' },
  { cidr: '192.0.2.0/24', what: 'documentation' },
  { cidr: '192.88.99.0/24', what: '6to4 relay' },
  { cidr: '192.168.0.0/16', what: 'private' },
  { cidr: '198.18.0.0/15', what: 'benchmarking' },
  { cidr: '198.51.100.0/24', what: 'documentation' },
  { cidr: '203.0.113.0/24', what: 'documentation' },
  { cidr: '224.0.0.0/4', what: 'multicast' },
  { cidr: '240.0.0.0/4', what: 'reserved (and broadcast)' },
  { cidr: '::/128', what: 'unspecified' },
  { cidr: '::1/128', what: 'loopback' },
  { cidr: '::/96', what: 'IPv4-compatible (deprecated)' },
  { cidr: '::ffff:0:0:0/96', what: 'IPv4-translated' },
  { cidr: '64:ff9b:1::/48', what: 'local-use NAT64' },
  { cidr: '100::/64', what: 'discard-only' },
  { cidr: '2001::/23', what: 'IETF protocol assignments (Teredo included)' },
  { cidr: '2001:db8::/32', what: 'documentation' },
  { cidr: '3fff::/20', what: 'documentation' },
  { cidr: 'fc00::/7', what: 'unique-local' },
  { cidr: 'fe80::/10', what: 'link-local' },
  { cidr: 'fec0::/10', what: 'site-local (deprecated)' },
  { cidr: 'ff00::/8', what: 'multicast' },
];

const BLOCKED: readonly { range: Cidr; cidr: string; what: string }[] = BLOCKED_RANGES.map((r) => ({ ...r, range: ipaddr.parseCIDR(r.cidr) }));
const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');
const SIXTO4 = ipaddr.parseCIDR('2002::/16');

/** Names that mean this machine without asking DNS (RFC 6761 and Debian's /etc/hosts). */
const LOCAL_NAMES = /^(localhost|localhost\.localdomain|ip6-localhost|ip6-loopback)\.?$|\.localhost\.?$/i;

const inRange = (a: Address, [net, bits]: Cidr) => a.kind() === net.kind() && a.match(net, bits);

/** The IPv4 address an IPv6 one stands for (mapped, NAT64, 6to4), if any. */
function embeddedIpv4(a: Address): ipaddr.IPv4 | undefined {
  if (a.kind() !== 'ipv6') return undefined;
  const v6 = a as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  const bytes = v6.toByteArray();
  if (inRange(v6, NAT64)) return new ipaddr.IPv4(bytes.slice(12, 16));
  if (inRange(v6, SIXTO4)) return new ipaddr.IPv4(bytes.slice(2, 6));
  return undefined;
}

function parseAddress(raw: string): Address | undefined {
  const bare = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  // Zone ids (fe80::1%eth0) name an interface: the address before them decides.
  const unzoned = bare.replace(/%.*$/, '');
  const kind = isIP(unzoned);
  if (kind === 4) return ipaddr.parse(unzoned);
  // The URL parser spells IPv6 canonically first: ipaddr.js reads "::127.0.0.1" (IPv4-compatible)
  // as if it were "::ffff:127.0.0.1" (mapped).
  if (kind === 6) return ipaddr.parse(new URL(`http://[${unzoned}]/`).hostname.slice(1, -1));
  return undefined;
}

export interface AllowList {
  cidrs: Cidr[];
  /** Lower-case names; "*.corp.example" opens every name under corp.example. */
  hosts: string[];
}

const HOST_NAME = /^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.?$/i;

/** Parses HOOKLINE_ALLOWED_TARGETS entries: CIDRs, single addresses and host names. */
export function parseAllowList(entries: readonly string[]): AllowList {
  const list: AllowList = { cidrs: [], hosts: [] };
  for (const raw of entries.map((e) => e.trim()).filter(Boolean)) {
    if (raw.includes('/')) {
      try {
        list.cidrs.push(ipaddr.parseCIDR(raw));
      } catch {
        throw new Error(`"${raw}" is not a CIDR range like 10.1.0.0/16 or fd00::/8`);
      }
    } else if (parseAddress(raw)) {
      const a = parseAddress(raw)!;
      list.cidrs.push([a, a.kind() === 'ipv4' ? 32 : 128]);
    } else if (HOST_NAME.test(raw)) {
      list.hosts.push(raw.toLowerCase().replace(/\.$/, ''));
    } else {
      throw new Error(`"${raw}" is neither a CIDR range, an address nor a host name`);
    }
  }
  return list;
}

export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

const systemResolve: Resolve = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Raised instead of connecting; its message is what the attempt log shows. */
export class TargetRefused extends Error {
  readonly code = 'ETARGETREFUSED';
}

export interface GuardOptions {
  /** Development mode: everything allowed. */
  allowAll?: boolean;
  allowed?: AllowList;
  /** Where names are resolved; tests inject answers here. */
  resolve?: Resolve;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

export class TargetGuard {
  private readonly allowAll: boolean;
  private readonly allowed: AllowList;
  private readonly resolve: Resolve;

  constructor(options: GuardOptions = {}) {
    this.allowAll = options.allowAll ?? false;
    this.allowed = options.allowed ?? { cidrs: [], hosts: [] };
    this.resolve = options.resolve ?? systemResolve;
  }

  /** Why an address may not be reached, or undefined when it may. */
  addressRefusal(raw: string): string | undefined {
    if (this.allowAll) return undefined;
    const a = parseAddress(raw);
    if (!a) return `${raw} is not an IP address`;
    const candidates = [a, embeddedIpv4(a)].filter((x): x is Address => x !== undefined);
    if (candidates.some((c) => this.allowed.cidrs.some((cidr) => inRange(c, cidr)))) return undefined;
    for (const c of candidates) {
      const hit = BLOCKED.find((b) => inRange(c, b.range));
      if (hit) {
        const shown = c === a ? raw : `${raw} (${c.toString()})`;
        return `${shown} is in a blocked range: ${hit.what} ${hit.cidr}`;
      }
    }
    return undefined;
  }

  hostAllowed(hostname: string): boolean {
    if (this.allowAll) return true;
    const name = hostname.toLowerCase().replace(/\.$/, '');
    return this.allowed.hosts.some((h) => (h.startsWith('*.') ? name.endsWith(h.slice(1)) : name === h));
  }

  /**
   * The check made when a webhook URL is saved, without DNS: a literal address in a blocked
   * range, or a name that always means this machine. Names are judged again at every connect.
   */
  urlRefusal(url: URL): string | undefined {
    if (this.allowAll) return undefined;
    const host = url.hostname;
    if (this.hostAllowed(host)) return undefined;
    if (parseAddress(host)) return this.addressRefusal(host);
    if (LOCAL_NAMES.test(host)) {
      // These resolve to loopback; the allow-list may open loopback.
      const refusals = ['127.0.0.1', '::1'].map((a) => this.addressRefusal(a));
      return refusals.every(Boolean) ? `${host} names this machine (loopback)` : undefined;
    }
    return undefined;
  }

  /** The addresses of `hostname` that may be reached; throws TargetRefused when none may. */
  async resolveAllowed(hostname: string): Promise<LookupAddress[]> {
    const found = await this.resolve(hostname);
    if (this.hostAllowed(hostname)) return found;
    const refusals: string[] = [];
    const allowed = found.filter((entry) => {
      const why = this.addressRefusal(entry.address);
      if (why) refusals.push(why);
      return !why;
    });
    if (allowed.length === 0) {
      throw new TargetRefused(`refused to connect to ${hostname}: ${refusals.join('; ') || 'no address'} (HOOKLINE_ALLOWED_TARGETS can open it)`);
    }
    return allowed;
  }

  /** A `lookup` for net.connect / tls.connect that only ever yields allowed addresses. */
  readonly lookup = (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback): void => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : Number(options.family ?? 0);
    this.resolveAllowed(hostname).then(
      (addresses) => {
        const usable = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
        if (usable.length === 0) {
          const err: NodeJS.ErrnoException = new Error(`${hostname} has no allowed IPv${family} address`);
          err.code = 'ENOTFOUND';
          return callback(err, []);
        }
        if (options.all) callback(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  };

  /** Refuses a connection to a literal address (net.connect skips `lookup` for those). */
  connectRefusal(hostname: string): string | undefined {
    if (this.allowAll || !parseAddress(hostname) || this.hostAllowed(hostname)) return undefined;
    const why = this.addressRefusal(hostname);
    return why && `refused to connect to ${why} (HOOKLINE_ALLOWED_TARGETS can open it)`;
  }
}
