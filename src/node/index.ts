// The node layer (Node only: HTTP server, files, processes). See README.md.
export * from './byzantine.js';
export * from './config.js';
export * from './http-errors.js';
export * from './identity.js';
export * from './inference.js';
export * from './limits.js';
export * from './metrics.js';
export * from './models.js';
export * from './node.js';
export * from './peers.js';
export * from './records.js';
export * from './remote.js';
export * from './schemas.js';
