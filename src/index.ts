export { startHookline, type Hookline, type StartOptions } from './server.js';
export { loadConfig, defaultConfig, SETTINGS, type Config } from './config.js';
export { EVENT_TYPES, eventType } from './catalog/events.js';
