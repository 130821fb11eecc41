// Every call to Hookline goes through here: same-origin fetch with the session cookie, the
// session's CSRF token on unsafe methods, and JWP's error format turned into ApiError.

export interface ApiErrorItem {
  code: string;
  description: string;
}

export class ApiError extends Error {
  /**
   * @param retryAfterMs how long the server asked to wait (Retry-After, on a 429 or a 503);
   *   undefined when it did not say.
   */
  constructor(readonly status: number, readonly errors: ApiErrorItem[], readonly retryAfterMs?: number) {
    super(errors.map((e) => e.description).join('; ') || `The server answered ${status}`);
  }
}

/** Retry-After in seconds (what Hookline sends) or as an HTTP date, in ms from now. */
function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

let csrfToken: string | undefined;
let sessionLost: () => void = () => {};

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called when an API call finds the session gone (expired, or signed out in another tab). */
export function onSessionLost(handler: () => void): void {
  sessionLost = handler;
}

export async function call<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, [{ code: 'network', description: 'Hookline cannot be reached. Check that the server is running.' }]);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const errors = (json as { errors?: ApiErrorItem[] } | null)?.errors ?? [{ code: `http_${res.status}`, description: text || res.statusText }];
    if (res.status === 401 && path.startsWith('/v2/')) sessionLost();
    throw new ApiError(res.status, errors, retryAfter(res.headers.get('retry-after')));
  }
  return json as T;
}

export const api = {
  get: <T>(path: string) => call<T>('GET', path),
  post: <T>(path: string, body?: unknown) => call<T>('POST', path, body),
  patch: <T>(path: string, body: unknown) => call<T>('PATCH', path, body),
  delete: (path: string) => call<null>('DELETE', path),
};

export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Splits an API refusal into messages for the form's fields and the rest. The API names the
 * field at fault first ("metadata.webhook_url must be …"); that prefix says where to show it.
 */
export function fieldErrors<F extends string>(err: unknown, fields: readonly F[], prefix = ''): { byField: Partial<Record<F, string>>; other: string[] } {
  const byField: Partial<Record<F, string>> = {};
  const other: string[] = [];
  const items = err instanceof ApiError ? err.errors : [{ code: 'error', description: messageOf(err) }];
  for (const { description } of items) {
    const field = fields.find((f) => description.startsWith(prefix + f + ' ') || description.startsWith(prefix + f + ':') || description.startsWith(prefix + f + '['));
    if (field) byField[field] = readable(description.slice((prefix + field).length));
    else other.push(description);
  }
  return { byField, other };
}

/**
 * After a refusal: scrolls to the form's first field at fault (its `data-field`, in the form's
 * order, which is the resource's) with its label, and focuses it; or the general error when no
 * field is named, once the messages are drawn.
 */
export function focusFirstError<F extends string>(form: HTMLFormElement | null, fields: readonly F[], byField: Partial<Record<F, string>>): void {
  const first = fields.find((f) => byField[f]);
  requestAnimationFrame(() => {
    const target = first
      ? form?.querySelector<HTMLElement>(`[data-field="${first}"]`)
      : form?.querySelector<HTMLElement>('.callout-error');
    if (!target) return;
    (target.closest('.field') ?? target).scrollIntoView({ block: 'start' });
    target.focus({ preventScroll: true });
  });
}

/** "[0] must be one of …" / ": property X does not exist" / " must NOT have fewer than 1 items" → a sentence. */
function readable(rest: string): string {
  const text = rest.replace(/^(\[\d+\])?[:\s]+/, '').trim();
  if (/^must NOT have fewer than 1 characters$/.test(text)) return 'This field is required.';
  if (/^must NOT have fewer than 1 items$/.test(text)) return 'Select at least one.';
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : sentence + '.';
}
