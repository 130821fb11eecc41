// The CLI's way to the running server's API: clear words when it cannot be reached or refuses.
export const DEFAULT_URL = 'http://127.0.0.1:8000';

/** Why a fetch failed, in a word or two: ECONNREFUSED, bad port, … */
export function fetchFailure(err: unknown): string {
  const { cause, message } = err as { cause?: { code?: string; message?: string }; message?: string };
  return cause?.code ?? cause?.message ?? message ?? String(err);
}

export class ApiClient {
  constructor(readonly baseUrl: string, private readonly key: string, private readonly keyName: string) {}

  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: { authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new Error(`cannot reach Hookline at ${this.baseUrl} (${fetchFailure(err)}): is \`hookline start\` running there? Point --url or HOOKLINE_URL at it.`);
    }
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const description = json?.errors?.[0]?.description ?? (text || res.statusText);
      const hint = res.status === 401 ? ` (check --key or ${this.keyName})` : '';
      throw new Error(`${method} ${path} answered ${res.status}: ${description}${hint}`);
    }
    return json as T;
  }
}
