// Worker thread of the session pool (src/platform/session-pool.ts). Plain JavaScript, so
// it starts without a TypeScript loader (workers do not reliably inherit the parent's
// tsx hooks); it loads the browser-safe TypeScript worker body with tsx's tsImport and
// serves the pool's messages over parentPort, adapted to the Web Worker shape the body
// expects ({ postMessage, addEventListener('message', e => e.data) }).
//
// workerData.replyPort (optional): a MessagePort for the answers, which the pool can
// poll synchronously.
// workerData.shared (optional): { ctl, port, spinMs }: once the model is loaded, the
// thread serves slice jobs through shared memory (src/engine/parallel/shared.ts) in a
// blocking loop, spinning up to spinMs for the next job after each one; `port` is read
// synchronously (receiveMessageOnPort) for buffer handovers. The loop ends when the pool
// sets the quit word (before it terminates the thread).
// workerData.spinMs (default 0, message mode only): after each message, keep polling
// parentPort for that many ms before going back to sleep.
import { parentPort, workerData, receiveMessageOnPort } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

const { serveSessionWorker } = await tsImport('../engine/parallel/protocol.ts', import.meta.url);
const shared = workerData?.shared;
const { serveSharedJobs } = shared ? await tsImport('../engine/parallel/shared.ts', import.meta.url) : {};
const spinMs = Number(workerData?.spinMs ?? 0);
// answers go over workerData.replyPort when the pool gave one (it can poll that port), else parentPort
const out = workerData?.replyPort ?? parentPort;
let listener = () => {};
serveSessionWorker(
  {
    postMessage: (msg, transfer) => out.postMessage(msg, transfer),
    addEventListener: (_type, l) => (listener = l),
  },
  shared &&
    ((sessions) =>
      // after this message's handler returns; blocks this thread until the pool quits it
      setImmediate(() => {
        const port = { post: (m) => shared.port.postMessage(m), take: () => receiveMessageOnPort(shared.port)?.message };
        serveSharedJobs(new Int32Array(shared.ctl), port, sessions, Number(shared.spinMs ?? 0));
        shared.port.close();
      })),
);
parentPort.on('message', (data) => {
  listener({ data });
  if (!(spinMs > 0)) return;
  for (let end = performance.now() + spinMs; performance.now() < end; ) {
    const m = receiveMessageOnPort(parentPort);
    if (m) {
      listener({ data: m.message });
      end = performance.now() + spinMs;
    }
  }
});
