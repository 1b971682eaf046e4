import * as CarBufferWriter from '@ipld/car/buffer-writer';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { varint } from 'multiformats';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { VerinferError } from '../errors.js';
import { toCid } from './blockstore.js';
import type { ModelStore } from './store.js';

/**
 * The read side of model hosting: an IPFS **trustless gateway**
 * (https://specs.ipfs.tech/http-gateways/trustless-gateway/) over a local
 * `ModelStore`, so any IPFS client (and `fetchModel`) can download models from
 * a Verinfer node and verify every byte itself.
 *
 * Supported subset:
 *
 * - `GET|HEAD /ipfs/<cid>` (no sub-path: 400), CIDv0 accepted (served as CIDv1).
 * - Response format: the `format` query parameter wins (`raw` | `car`; any other
 *   value is 400), then the first acceptable `Accept` media type by q-value:
 *   - `application/vnd.ipld.raw` → the single block, verified on read.
 *   - `application/vnd.ipld.car` (`version=1` or unspecified; `order`/`dups`
 *     requests are accepted and always answered `order=dfs; dups=n`) → a
 *     streamed CARv1 whose header root is the CID, blocks depth-first in link
 *     order, each once. `dag-scope=all` (default) and `entity` send the whole
 *     DAG (a UnixFS file is one entity); `block` sends the root block only.
 *     `entity-bytes` is not supported (400).
 *   - `application/octet-stream` (convenience, not part of the trustless
 *     subset) → the reassembled file, only for pinned roots.
 *   - No `Accept`, only wildcards, or only unsupported types → 406 (the spec
 *     suggests 400 for a missing Accept in strict mode; we use 406 throughout).
 * - Which blocks are served: **any block present in the store**, pinned or
 *   not, like a public IPFS gateway (content addressing makes any block safe to
 *   share; a partial download's blocks are just as valid). A CAR is only
 *   started if the DAG is complete (every dag-pb node present and verified,
 *   every leaf present): otherwise 404 naming the missing block, never a
 *   truncated 200. The reassembled file needs a pinned root.
 * - Errors are JSON `{"error":{"code","message","details"}}`: 400 INVALID_CID
 *   (or INVALID_ARGUMENT), 404 BLOCK_NOT_FOUND / MODEL_NOT_FOUND, 405, 406,
 *   500 BLOCK_CORRUPT when a block on disk no longer hashes to its CID (corrupt
 *   bytes are never sent). A leaf that turns out corrupt *while* a CAR streams
 *   aborts the stream (the status is already sent): the client sees a
 *   truncated CAR, which a verifying client rejects anyway.
 * - Identity CIDs (the spec's probe `bafkqaaa`) are answered from the CID
 *   itself: raw → its digest bytes, CAR → a header with no blocks.
 * - `If-None-Match` matching the Etag → 304.
 */

export const RAW_CONTENT_TYPE = 'application/vnd.ipld.raw';
export const CAR_CONTENT_TYPE = 'application/vnd.ipld.car; version=1; order=dfs; dups=n';
const IMMUTABLE = 'public, max-age=29030400, immutable';
const IDENTITY = 0x00;

export type HeaderValue = string | string[] | undefined;

export interface GatewayRequest {
  method: string;
  /** The URL path, e.g. `/ipfs/bafy…` (a query string here is ignored; pass it as `query`). */
  path: string;
  query?: URLSearchParams | Record<string, HeaderValue>;
  /** Request headers, names in any case. */
  headers?: Record<string, HeaderValue>;
}

export interface GatewayResponse {
  status: number;
  headers: Record<string, string>;
  /** Absent for HEAD, 304 and 405; a stream for CAR and file responses. */
  body?: Uint8Array | AsyncIterable<Uint8Array>;
}

export type GatewayFormat = 'raw' | 'car' | 'file';

function header(headers: GatewayRequest['headers'], name: string): string | undefined {
  if (!headers) return undefined;
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== want || v === undefined) continue;
    return Array.isArray(v) ? v.join(', ') : v;
  }
  return undefined;
}

function param(query: GatewayRequest['query'], name: string): string | undefined {
  if (!query) return undefined;
  if (query instanceof URLSearchParams) return query.get(name) ?? undefined;
  const v = query[name];
  return Array.isArray(v) ? v[0] : v;
}

interface MediaRange {
  type: string;
  params: Record<string, string>;
  q: number;
}

/** Parses an Accept header into media ranges, highest q first (ties keep their order). */
export function parseAccept(accept: string | undefined): MediaRange[] {
  if (!accept) return [];
  const out: MediaRange[] = [];
  for (const part of accept.split(',')) {
    const [type, ...ps] = part.split(';').map((s) => s.trim());
    if (!type) continue;
    const params: Record<string, string> = {};
    for (const p of ps) {
      const eq = p.indexOf('=');
      if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    }
    const q = params.q === undefined ? 1 : Number(params.q);
    out.push({ type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 0 });
  }
  return out.map((m, i) => ({ m, i })).sort((a, b) => b.m.q - a.m.q || a.i - b.i).map((x) => x.m);
}

/** The response format for a request: `format` wins, then Accept; undefined → 406. Throws INVALID_ARGUMENT for an unknown `format`. */
export function negotiate(query: GatewayRequest['query'], accept: string | undefined): GatewayFormat | undefined {
  const format = param(query, 'format');
  if (format !== undefined && format !== '') {
    if (format === 'raw' || format === 'car') return format;
    throw new VerinferError('INVALID_ARGUMENT', `unsupported format=${format}: this trustless gateway serves format=raw and format=car`, { format });
  }
  for (const m of parseAccept(accept)) {
    if (m.q <= 0) continue;
    if (m.type === RAW_CONTENT_TYPE) return 'raw';
    if (m.type === 'application/vnd.ipld.car') {
      if (m.params.version === undefined || m.params.version === '1') return 'car';
      continue;
    }
    if (m.type === 'application/octet-stream') return 'file';
  }
  return undefined;
}

function jsonError(status: number, code: string, message: string, details: Record<string, unknown> = {}, extra: Record<string, string> = {}): GatewayResponse {
  const body = new TextEncoder().encode(JSON.stringify({ error: { code, message, details } }) + '\n');
  return {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(body.length), 'Cache-Control': 'no-store', ...extra },
    body,
  };
}

/** Maps a store error to a response; never leaks local paths. */
function errorResponse(e: unknown): GatewayResponse {
  if (e instanceof VerinferError) {
    const cid = typeof e.details.cid === 'string' ? { cid: e.details.cid } : {};
    switch (e.code) {
      case 'INVALID_CID':
      case 'INVALID_ARGUMENT':
        return jsonError(400, e.code, e.message, e.details);
      case 'BLOCK_NOT_FOUND':
      case 'MODEL_NOT_FOUND':
        return jsonError(404, e.code, e.message, cid);
      case 'BLOCK_CORRUPT':
        return jsonError(500, e.code, `block ${e.details.cid ?? ''} is corrupt in this gateway's store; refusing to serve it`, cid);
      case 'MODEL_INVALID':
        return jsonError(500, e.code, e.message, cid);
      default:
        return jsonError(500, e.code, 'internal error reading the store', cid);
    }
  }
  return jsonError(500, 'INTERNAL_ERROR', 'internal error');
}

/** The CARv1 header for one root. */
function carHeader(root: CID): Uint8Array {
  const len = CarBufferWriter.headerLength({ roots: [root] });
  const w = CarBufferWriter.createWriter(new ArrayBuffer(len), { roots: [root] });
  return CarBufferWriter.close(w);
}

/** One CARv1 section's prefix: varint(len(cid) + len(bytes)) ‖ cid. */
function carSectionPrefix(cid: CID, size: number): Uint8Array {
  const total = cid.bytes.length + size;
  const n = varint.encodingLength(total);
  const out = new Uint8Array(n + cid.bytes.length);
  varint.encodeTo(total, out, 0);
  out.set(cid.bytes, n);
  return out;
}

/** Streams a CARv1 of the DAG (or just its root block) depth-first; every block is verified as it is read. */
async function* carStream(store: ModelStore, root: CID, scope: 'all' | 'block', identity: boolean): AsyncGenerator<Uint8Array> {
  yield carHeader(root);
  if (identity) return;
  if (scope === 'block') {
    const bytes = await store.get(root);
    yield carSectionPrefix(root, bytes.length);
    yield bytes;
    return;
  }
  for await (const b of store.blocks.walk(root)) {
    yield carSectionPrefix(b.cid, b.bytes!.length);
    yield b.bytes!;
  }
}

/** Checks a DAG is complete before a CAR response commits to 200 (dag-pb nodes read and verified, leaves present). */
async function checkComplete(store: ModelStore, root: CID): Promise<void> {
  for await (const _ of store.blocks.walk(root, { readLeaves: false })) void _;
}

/** The total file size of a UnixFS file root (raw leaf: its length). */
function fileSize(cid: CID, rootBytes: Uint8Array): number | undefined {
  if (cid.code === raw.code) return rootBytes.length;
  try {
    const node = dagPb.decode(rootBytes);
    if (!node.Data) return undefined;
    return Number(UnixFS.unmarshal(node.Data).fileSize());
  } catch {
    return undefined;
  }
}

function parseCid(s: string): CID {
  let c: CID;
  try {
    c = CID.parse(s);
  } catch (e) {
    throw new VerinferError('INVALID_CID', `not a CID: ${s} (${(e as Error).message})`, { cid: s });
  }
  if (c.multihash.code === IDENTITY) return c.version === 1 ? c : c.toV1();
  return toCid(c);
}

/**
 * Answers one trustless-gateway request from `store`. Framework-agnostic:
 * `registerGateway` mounts it on fastify; anything that can pass method,
 * path, query and headers can use it.
 */
export async function gatewayResponse(store: ModelStore, req: GatewayRequest): Promise<GatewayResponse> {
  const method = req.method.toUpperCase();
  const path = req.path.split('?')[0]!;
  if (!path.startsWith('/ipfs/')) return jsonError(404, 'NOT_FOUND', `no such route: ${path} (this gateway serves /ipfs/<cid>)`);
  if (method !== 'GET' && method !== 'HEAD') {
    return jsonError(405, 'METHOD_NOT_ALLOWED', `${method} is not supported; use GET or HEAD`, {}, { Allow: 'GET, HEAD' });
  }
  const head = method === 'HEAD';
  const rest = path.slice('/ipfs/'.length).replace(/\/+$/, '');
  const slash = rest.indexOf('/');
  const cidText = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
  try {
    if (!cidText) throw new VerinferError('INVALID_CID', 'no CID in the path: use /ipfs/<cid>', { path });
    const cid = parseCid(cidText);
    if (slash >= 0) {
      throw new VerinferError('INVALID_ARGUMENT', `paths under a CID are not supported (${path}); request /ipfs/<cid> of the block or file`, { path });
    }
    const format = negotiate(req.query, header(req.headers, 'accept'));
    if (!format) {
      return jsonError(406, 'NOT_ACCEPTABLE', `send Accept: ${RAW_CONTENT_TYPE} (one block) or application/vnd.ipld.car (the DAG), or ?format=raw|car`, {
        accept: header(req.headers, 'accept') ?? null,
      });
    }
    const key = cid.toString();
    const identity = cid.multihash.code === IDENTITY;
    const common: Record<string, string> = {
      'Cache-Control': IMMUTABLE,
      'X-Content-Type-Options': 'nosniff',
      'X-Ipfs-Path': `/ipfs/${cidText}`,
      'X-Ipfs-Roots': key,
      Vary: 'Accept',
    };
    const ifNoneMatch = header(req.headers, 'if-none-match');
    const notModified = (etag: string) =>
      ifNoneMatch !== undefined && ifNoneMatch.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}` || t.trim() === '*');

    if (format === 'raw') {
      const etag = `"${key}.raw"`;
      const headers: Record<string, string> = { ...common, 'Content-Type': RAW_CONTENT_TYPE, Etag: etag, 'Content-Disposition': `attachment; filename="${key}.bin"` };
      if (notModified(etag) && (identity || (await store.has(cid)))) return { status: 304, headers };
      const bytes = identity ? cid.multihash.digest : await store.get(cid);
      headers['Content-Length'] = String(bytes.length);
      return head ? { status: 200, headers } : { status: 200, headers, body: bytes };
    }

    if (format === 'car') {
      if (param(req.query, 'entity-bytes') !== undefined) {
        throw new VerinferError('INVALID_ARGUMENT', 'entity-bytes is not supported by this gateway; request the whole DAG (dag-scope=all)', {});
      }
      const scopeParam = param(req.query, 'dag-scope') ?? 'all';
      if (scopeParam !== 'all' && scopeParam !== 'entity' && scopeParam !== 'block') {
        throw new VerinferError('INVALID_ARGUMENT', `dag-scope must be all, entity or block, got ${scopeParam}`, { 'dag-scope': scopeParam });
      }
      const carVersion = param(req.query, 'car-version');
      if (carVersion !== undefined && carVersion !== '1') {
        return jsonError(406, 'NOT_ACCEPTABLE', `only CAR version 1 is served (car-version=${carVersion})`, {});
      }
      // A UnixFS file is one entity: `entity` is the whole DAG, like `all`.
      const scope = scopeParam === 'block' ? 'block' : 'all';
      const etag = `"${key}.car.${scope}.dfs.n"`;
      const headers: Record<string, string> = { ...common, 'Content-Type': CAR_CONTENT_TYPE, Etag: etag, 'Content-Disposition': `attachment; filename="${key}.car"` };
      if (!identity) {
        if (scope === 'block') await store.get(cid);
        else await checkComplete(store, cid);
      }
      if (notModified(etag)) return { status: 304, headers };
      return head ? { status: 200, headers } : { status: 200, headers, body: carStream(store, cid, scope, identity) };
    }

    // format === 'file': the reassembled bytes of a pinned model.
    const etag = `"${key}"`;
    if (!identity && !(await store.isPinned(cid))) {
      throw new VerinferError('MODEL_NOT_FOUND', `${key} is not pinned here; the file form needs a pinned model (blocks are served with Accept: ${RAW_CONTENT_TYPE})`, {
        cid: key,
      });
    }
    const headers: Record<string, string> = { ...common, 'Content-Type': 'application/octet-stream', Etag: etag, 'Content-Disposition': `attachment; filename="${key}.onnx"` };
    if (identity) {
      headers['Content-Length'] = String(cid.multihash.digest.length);
      return head ? { status: 200, headers } : { status: 200, headers, body: cid.multihash.digest };
    }
    const size = fileSize(cid, await store.get(cid));
    if (size !== undefined) headers['Content-Length'] = String(size);
    if (notModified(etag)) return { status: 304, headers };
    return head ? { status: 200, headers } : { status: 200, headers, body: store.cat(cid) };
  } catch (e) {
    return errorResponse(e);
  }
}

export interface RegisterGatewayOptions {
  /** Route prefix (default none: the gateway answers `/ipfs/*`). */
  prefix?: string;
}

/**
 * Mounts the gateway on a fastify instance: `GET|HEAD <prefix>/ipfs/*`.
 * A stream that fails mid-way (a block found corrupt while a CAR streams) is
 * logged and the connection is cut, so the client never gets a CAR that
 * looks complete.
 */
export function registerGateway(fastify: FastifyInstance, store: ModelStore, options: RegisterGatewayOptions = {}): void {
  const prefix = (options.prefix ?? '').replace(/\/+$/, '');
  fastify.route({
    method: ['GET', 'HEAD'],
    url: `${prefix}/ipfs/*`,
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      const url = request.url;
      const q = url.indexOf('?');
      const fullPath = q < 0 ? url : url.slice(0, q);
      const r = await gatewayResponse(store, {
        method: request.method,
        path: fullPath.slice(prefix.length),
        query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
        headers: request.headers,
      });
      reply.code(r.status).headers(r.headers);
      if (r.body === undefined) return reply.send();
      if (r.body instanceof Uint8Array) return reply.send(Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength));
      const body = r.body;
      const log = request.log;
      const stream = Readable.from(
        (async function* () {
          try {
            for await (const chunk of body) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          } catch (e) {
            log.error({ err: e, url }, 'gateway stream aborted');
            throw e;
          }
        })(),
        { objectMode: false },
      );
      return reply.send(stream);
    },
  });
}
