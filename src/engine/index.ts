export * from './session.js';
export * from './kernel.js';
export * from './trace.js';
export { supportedOps, getKernel } from './registry.js';
export { broadcastShapes } from './broadcast.js';
export * from './parallel/index.js';
