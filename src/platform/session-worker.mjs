// Worker thread of the session pool (src/platform/session-pool.ts). Plain JavaScript, so
// it starts without a TypeScript loader (workers do not reliably inherit the parent's
// tsx hooks); it loads the browser-safe TypeScript worker body with tsx's tsImport and
// serves the pool's messages over parentPort, adapted to the Web Worker shape the body
// expects ({ postMessage, addEventListener('message', e => e.data) }).
//
// workerData.replyPort (optional): a MessagePort for the answers, which the pool can
// poll synchronously. workerData.spinMs (default 0): after each message, keep polling the port for that many
// ms before going back to sleep. A sleeping thread takes ~0.05-0.2 ms to wake (more in a
// VM); back-to-back runs then find the worker awake, at the cost of that much CPU time.
import { parentPort, workerData, receiveMessageOnPort } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

const { serveSessionWorker } = await tsImport('../engine/parallel/protocol.ts', import.meta.url);
const spinMs = Number(workerData?.spinMs ?? 0);
// answers go over workerData.replyPort when the pool gave one (it can poll that port), else parentPort
const out = workerData?.replyPort ?? parentPort;
let listener = () => {};
serveSessionWorker({
  postMessage: (msg, transfer) => out.postMessage(msg, transfer),
  addEventListener: (_type, l) => (listener = l),
});
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
