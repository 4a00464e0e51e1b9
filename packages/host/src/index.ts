export { startDaemon, type Daemon } from './main.js';
export { loadConfig, ConfigError, type Config } from './config.js';
export * from './apps/manifest.js';
export * from './apps/package-archive.js';
export * from './support/result.js';
export { RootKeyError } from './keyring/keyring.js';
export { precompressAssets, type PrecompressRoom } from './capabilities/assets/index.js';
