// Worker thread of the trace hasher (src/platform/trace-hasher.ts). Plain JavaScript, so
// it starts without a TypeScript loader (workers do not reliably inherit the parent's
// tsx hooks); it loads the hasher module with tsx's tsImport (one module graph, so the
// native SHA-256 that module installs is the one tensorDigest uses) and serves jobs
// through shared memory until the main thread sets the quit word.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

const { serveTraceJobs } = await tsImport('./trace-hasher.ts', import.meta.url);
serveTraceJobs(workerData);
