// The platform reports its live channels, shaped after JWP's v2 channels resource. A new channel
// is idle; channel_active and channel_idle follow real changes of its state only.
import type { FastifyInstance } from 'fastify';
import { randomId } from '../../ids.js';
import type { ChannelState } from '../../platform/channel.js';
import type { FactResult } from '../../platform/lifecycle.js';
import { requireOperator } from '../auth.js';
import { notFound } from '../errors.js';
import { ref, type ApiTypeProvider } from '../components.js';
import { INTAKE_ROUTE, factParams, factRequest, factSchema, newId, noBodyIsEmpty } from '../facts.js';
import type { ApiContext } from '../context.js';

const channelJson = (id: string, state: ChannelState, events: FactResult<ChannelState>['events'] = []) =>
  ({ id, type: 'channel' as const, status: state.status, events });

export default async function channels(fastify: FastifyInstance, { lifecycle, simulator, store }: ApiContext) {
  const app = fastify.withTypeProvider<ApiTypeProvider>();
  const tags = ['platform facts']; // the GET routes' (factSchema sets it on the facts)

  app.post('/v2/sites/:site_id/channels/', {
    preValidation: noBodyIsEmpty,
    schema: factSchema(
      'A live channel was created (idle): yields channel_created. With "simulate": true it then goes active, and later idle, by itself.',
      factParams(),
      { 201: ref('Channel') },
      {
        type: 'object',
        additionalProperties: false,
        properties: {
          id: newId('channel'),
          simulate: { type: 'boolean' },
        },
      },
    ),
    config: INTAKE_ROUTE,
  }, async (request, reply) => {
    const fact = factRequest(request);
    const { site_id } = request.params;
    const body = request.body;
    const result = await lifecycle.channel(site_id, body.id ?? randomId(), { kind: 'create' }, fact);
    if (body.simulate && !result.repeat) simulator.channel(site_id, result.id);
    return reply.code(201).send(channelJson(result.id, result.state, result.events));
  });

  app.get('/v2/sites/:site_id/channels/:channel_id/', {
    schema: { tags, params: factParams('channel_id'), response: { 200: ref('Channel') } },
  }, async (request) => {
    requireOperator(request);
    const { site_id, channel_id } = request.params;
    const found = await store.getPlatformObject(site_id, 'channel', channel_id);
    if (!found) throw notFound(`channel ${channel_id}`);
    return channelJson(channel_id, found.state as ChannelState);
  });

  app.patch('/v2/sites/:site_id/channels/:channel_id/', {
    schema: factSchema(
      'A live channel changed state: yields channel_active or channel_idle, only if the state really changed.',
      factParams('channel_id'),
      { 200: ref('Channel') },
      { type: 'object', required: ['status'], additionalProperties: false, properties: { status: { type: 'string', enum: ['active', 'idle'] } } },
    ),
    config: INTAKE_ROUTE,
  }, async (request) => {
    const fact = factRequest(request);
    const { site_id, channel_id } = request.params;
    const { status } = request.body;
    const result = await lifecycle.channel(site_id, channel_id, { kind: 'status', status }, fact);
    return channelJson(result.id, result.state, result.events);
  });
}
