/**
 * Static assets: the front door serves an app's `assets` without starting the app. The only file
 * other folders import (STYLE §1). Not a platform-API `Capability`: apps do not call it, the front
 * door does, so it exports a server for the app proxy and the manifest's `cache` schema.
 */
export { createAssetServer, type AssetDeployment, type AssetServer, type AssetServerDeps } from './serve.js';
export { cacheRulesSchema, type CacheRule } from './config.js';
export { precompressAssets, type PrecompressRoom } from './precompress.js';
export { mergeSlashes } from './request-path.js';
export type { AssetsErrorCode } from './errors.js';
