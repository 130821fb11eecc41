// The live-channel lifecycle: channel_created on creation (a new channel is idle), then
// channel_active / channel_idle only when the state really changes. Pure.
import { accept, refuse, type Decision } from './decision.js';

export type ChannelStatus = 'idle' | 'active';

export interface ChannelState {
  status: ChannelStatus;
}

export type ChannelFact = { kind: 'create' } | { kind: 'status'; status: ChannelStatus };

export function applyChannelFact(channelId: string, state: ChannelState | undefined, fact: ChannelFact): Decision<ChannelState> {
  if (fact.kind === 'create') {
    if (state) return refuse(409, 'already_exists', `channel ${channelId} already exists`);
    return accept({ status: 'idle' }, [{ event: 'channel_created', ids: { channel_id: channelId } }]);
  }
  if (!state) return refuse(404, 'not_found', `channel ${channelId} not found`);
  if (state.status === fact.status) return accept(state);
  return accept({ status: fact.status }, [{ event: `channel_${fact.status}`, ids: { channel_id: channelId } }]);
}
