// The type-level half of the client test (vitest's typecheck, test/tsconfig.json): the client's
// answers are the OpenAPI document's named shapes, not `unknown`, and wrong calls do not compile.
import { describe, expectTypeOf, it } from 'vitest';
import { createClient, type Schemas } from '../../src/client/index.js';

const client = createClient({ baseUrl: 'http://127.0.0.1:8000', apiKey: 'key' });

describe('hookline/client types', () => {
  it('types each answer and refusal by the document', async () => {
    const created = await client.POST('/v2/webhooks/', {
      body: { metadata: { name: 'n', webhook_url: 'https://example.test/', events: ['media_available'], site_ids: ['Site0001'] } },
    });
    expectTypeOf(created.data).not.toBeUnknown();
    expectTypeOf(created.data!).toExtend<Schemas['Webhook']>();
    expectTypeOf(created.data!.id).toEqualTypeOf<string>();
    expectTypeOf(created.data!.secret).toEqualTypeOf<string | undefined>();
    expectTypeOf(created.data!.status).toEqualTypeOf<'active' | 'disabled'>();
    expectTypeOf(created.data!.rate_limit).toEqualTypeOf<number | null>();
    expectTypeOf(created.error!.errors[0]!.code).toEqualTypeOf<string>();

    const deliveries = await client.GET('/v2/webhooks/{webhook_id}/deliveries/', { params: { path: { webhook_id: 'Hook0001' } } });
    expectTypeOf(deliveries.data!.deliveries[0]!.attempts).toEqualTypeOf<number>();
    expectTypeOf(deliveries.data!.deliveries[0]!.status).toEqualTypeOf<'pending' | 'succeeded' | 'failed'>();
    const detail = await client.GET('/v2/deliveries/{delivery_id}/', { params: { path: { delivery_id: 'msg_0' } } });
    expectTypeOf(detail.data!.attempts[0]!.status_code).toEqualTypeOf<number | null>();

    const health = await client.GET('/healthz');
    expectTypeOf(health.data!.status).toEqualTypeOf<'ok'>();
  });

  it('refuses calls the API does not take', () => {
    // @ts-expect-error no such path
    void client.GET('/v2/nothing/');
    // @ts-expect-error a webhook is created with its metadata
    void client.POST('/v2/webhooks/', { body: { rate_limit: 1 } });
    // @ts-expect-error the path parameter is required
    void client.GET('/v2/webhooks/{webhook_id}/');
  });
});
