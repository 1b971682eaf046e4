import type { DisputeAnswer, DisputeQuery } from '../proof/bisection.js';
import type { Responder } from '../proof/dispute.js';
import { VerinferError, type ErrorCode } from '../errors.js';

/**
 * Small HTTP helpers for talking to other nodes (announcements, gossip, the
 * challenger's side of a dispute). Errors come back as typed errors: the
 * remote node's `{"error": {...}}` keeps its code; network failures and
 * timeouts are PEER_UNREACHABLE.
 */

export interface PostOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  fetch?: typeof globalThis.fetch;
}

export async function requestJson<T>(method: 'GET' | 'POST', url: string, body?: unknown, o: PostOptions = {}): Promise<T> {
  const signal = o.signal ?? AbortSignal.timeout(o.timeoutMs ?? 10_000);
  let res: Response;
  try {
    res = await (o.fetch ?? fetch)(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (e) {
    throw new VerinferError('PEER_UNREACHABLE', `${method} ${url} failed: ${(e as Error)?.message ?? String(e)}`, { url });
  }
  const text = await res.text().catch(() => '');
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string; details?: Record<string, unknown> } })?.error;
    if (err?.code) throw new VerinferError(err.code as ErrorCode, err.message ?? `HTTP ${res.status}`, { ...err.details, status: res.status, url });
    throw new VerinferError('PEER_UNREACHABLE', `${method} ${url}: HTTP ${res.status}`, { url, status: res.status });
  }
  return json as T;
}

export const postJson = <T>(url: string, body: unknown, o?: PostOptions) => requestJson<T>('POST', url, body, o);
export const getJson = <T>(url: string, o?: PostOptions) => requestJson<T>('GET', url, undefined, o);

/** The executor's side of the bisection game over HTTP: POST <endpoint>/v1/disputes/<requestId> per question. */
export function disputeResponder(endpoint: string, requestId: string, o: PostOptions = {}): Responder {
  const url = `${endpoint.replace(/\/+$/, '')}/v1/disputes/${requestId}`;
  return (q: DisputeQuery) => postJson<DisputeAnswer>(url, q, o);
}
