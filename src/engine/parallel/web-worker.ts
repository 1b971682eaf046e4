// Web Worker entry of the session pool (see ./web.ts): serves the pool's messages with
// the same body as the Node worker thread.
import { serveSessionWorker, type WorkerScope } from './protocol.js';

serveSessionWorker(self as unknown as WorkerScope);
