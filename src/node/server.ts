import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { VerinferError } from '../errors.js';
import { registerGateway } from '../store/gateway.js';
import { HttpError, toApiError } from './http-errors.js';
import type { InferRequest } from './inference.js';
import type { VerinferNode } from './node.js';
import { normalizeRequestId } from './records.js';
import { disputeQuery, fraudProofBody, inferBody, listQuery, parse, publishQuery, receiptQuery, verifyBody } from './schemas.js';

/**
 * The HTTP API (docs/node-api.md). Every body and query is validated with zod
 * (unknown fields refused); every error is `{"error": {code, message, details}}`
 * with the status from http-errors.ts.
 */
export function buildRoutes(node: VerinferNode): void {
  const app = node.app;
  const limits = node.config.limits;

  // JSON only (raw bytes only for POST /v1/models, below): other bodies are 415.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err, request, reply) => {
    const { status, body, headers } = toApiError(err, limits);
    if (status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: body.error.code, status }, 'request refused');
    if (status === 413 && body.error.code === 'BODY_TOO_LARGE') node.metrics.refusals.inc({ code: 'BODY_TOO_LARGE' });
    void reply.code(status).headers(headers).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}`, details: { method: request.method } } });
  });

  // While shutting down, every response closes its connection, so keep-alive clients do not hold the close up.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (node.closing) reply.header('connection', 'close');
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    node.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    node.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  // --- health and metrics -------------------------------------------------------------

  app.get('/healthz', async () => ({ ok: true, address: node.address }));

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', node.metrics.registry.contentType);
    return node.metrics.registry.metrics();
  });

  app.get('/v1/info', async () => node.info());

  // --- models ---------------------------------------------------------------------------

  // Raw model uploads get their own (larger) body limit and the octet-stream parser, in their own context.
  void app.register(async (scope: FastifyInstance) => {
    scope.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: limits.maxModelBytes }, (_req, body, done) => done(null, body));
    scope.post('/v1/models', { bodyLimit: limits.maxModelBytes }, async (request, reply) => {
      const q = parse(publishQuery, request.query, 'query');
      const body = request.body;
      if (!Buffer.isBuffer(body)) {
        throw new HttpError('UNSUPPORTED_MEDIA_TYPE', 'send the ONNX model bytes as the body with Content-Type: application/octet-stream', {
          contentType: request.headers['content-type'] ?? null,
        });
      }
      if (body.length === 0) throw new HttpError('INVALID_REQUEST', 'the body is empty: send the ONNX model bytes', {});
      const tags = q.tag === undefined ? [] : (Array.isArray(q.tag) ? q.tag : [q.tag]).flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
      const r = await node.models.publish(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), {
        name: q.name,
        version: q.version,
        description: q.description ?? '',
        task: q.task,
        license: q.license,
        tags,
        account: node.identity.account,
      });
      if (r.created) void node.announceAll();
      reply.code(r.created ? 201 : 200);
      return { cid: r.cid, name: r.name, version: r.version, created: r.created, author: r.metadata.author, blocks: r.blocks, report: r.report };
    });
  });

  app.get('/v1/models', async (request) => {
    const q = parse(listQuery, request.query, 'query');
    return node.models.list(q);
  });

  app.get('/v1/models/*', async (request) => {
    const ref = decodeURIComponent((request.params as { '*': string })['*'] ?? '');
    if (!ref) throw new HttpError('INVALID_REQUEST', 'name a model: /v1/models/<name>, <name>@<version> or <cid>', {});
    return node.models.info(ref);
  });

  registerGateway(app, node.store);

  // --- inference ------------------------------------------------------------------------

  app.post('/v1/infer', async (request: FastifyRequest) => {
    const arrival = Date.now();
    if (node.closing) throw new HttpError('SHUTTING_DOWN', 'the node is shutting down; retry on another node', {});
    const body = parse(inferBody, request.body, 'request body');
    const req: InferRequest = { ...body, requestId: body.requestId as InferRequest['requestId'] };
    try {
      const res = await node.inference.infer(
        req,
        { records: node.records, peers: node.peers, models: node.models, identity: node.identity, config: node.config, metrics: node.metrics, log: request.log },
        arrival,
      );
      node.metrics.inferences.inc({ mode: req.mode, outcome: 'ok' });
      return res;
    } catch (e) {
      node.metrics.inferences.inc({ mode: req.mode, outcome: e instanceof VerinferError ? e.code : 'INTERNAL_ERROR' });
      throw e;
    }
  });

  app.get('/v1/receipts/:id', async (request) => {
    const { id } = request.params as { id: string };
    const q = parse(receiptQuery, request.query, 'query');
    const r = await node.records.require(normalizeRequestId(id));
    const withInputs = q.inputs === '1' || q.inputs === 'true';
    return {
      requestId: r.requestId,
      status: r.status,
      mode: r.mode,
      role: r.role,
      model: r.modelCid,
      modelRef: r.modelRef,
      inputDigest: r.inputDigest,
      receipt: r.receipt,
      traceSize: r.leaves.length,
      ...(r.trace ? { trace: r.trace, committed: !!r.commitment } : {}),
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      ...(r.finalizesAt !== undefined ? { finalizesAt: r.finalizesAt } : {}),
      fraudProof: r.fraudProof ?? null,
      ...(withInputs ? { inputs: r.inputs ?? null } : {}),
      ...(r.extra ? { extra: r.extra } : {}),
    };
  });

  app.post('/v1/verify', async (request) => {
    const body = parse(verifyBody, request.body, 'request body');
    return node.verify(body.receipt, body.inputs);
  });

  // --- disputes and fraud proofs --------------------------------------------------------

  app.post('/v1/disputes/:requestId', async (request) => {
    const { requestId } = request.params as { requestId: string };
    const id = normalizeRequestId(requestId);
    let q;
    try {
      q = parse(disputeQuery, request.body, 'dispute query');
    } catch (e) {
      node.metrics.disputes.inc({ role: 'executor', outcome: 'rejected' });
      throw e;
    }
    return node.answerDispute(id, q);
  });

  app.post('/v1/fraud-proofs', async (request, reply: FastifyReply) => {
    const body = parse(fraudProofBody, request.body, 'fraud proof');
    const r = await node.submitFraudProof(body, 'gossip');
    reply.code(200);
    return r;
  });

  // --- peers ----------------------------------------------------------------------------

  app.get('/v1/peers', async () => ({ self: { address: node.address, endpoint: node.url }, peers: node.peers.list() }));

  app.post('/v1/peers/announce', async (request) => {
    const { accepted } = await node.acceptAnnouncement(request.body);
    return { accepted, self: await node.announcement() };
  });
}
