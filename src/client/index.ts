// hookline/client: a typed client of Hookline's API. Its types (./openapi.ts) are generated at
// build time by openapi-typescript from the OpenAPI document the server serves (scripts/openapi.mjs);
// openapi-fetch makes the calls. Every path, parameter, body and answer is typed, refusals included
// (JWP's error envelope). The README shows it in use.
import createFetchClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './openapi.js';

export type { components, paths };

/** The API's named shapes: Schemas['Webhook'], Schemas['DeliveryList'], Schemas['Error'], … */
export type Schemas = components['schemas'];

export type HooklineClient = Client<paths>;

export interface HooklineClientOptions extends ClientOptions {
  /** Where Hookline listens, e.g. http://127.0.0.1:8000. */
  baseUrl: string;
  /** An account API key, or the operator key; sent as `Authorization: Bearer <key>` on every call. */
  apiKey: string;
}

/**
 * A client for one Hookline and one key. Each call answers `{ data, error, response }`: `data`
 * on success, `error` (JWP's envelope) on a refusal; a network failure throws.
 */
export function createClient({ apiKey, ...options }: HooklineClientOptions): HooklineClient {
  const client = createFetchClient<paths>(options);
  client.use({
    onRequest({ request }) {
      request.headers.set('authorization', `Bearer ${apiKey}`);
      return request;
    },
  });
  return client;
}
