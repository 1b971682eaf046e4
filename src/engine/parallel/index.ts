// Batch-parallel session runs over a worker pool: browser-safe core (see ./pool.ts).
export { planBatch, analyseSplit, splitRanges, type BatchPlan, type PlanResult } from './batch.js';
export { SessionPool, type Endpoint, type SessionPoolOptions } from './pool.js';
export { serveSessionWorker, type WorkerScope, type ToWorker, type FromWorker } from './protocol.js';
export { createWebSessionPool, webWorkerEndpoint, type WebWorkerLike, type WebSessionPoolOptions } from './web.js';
