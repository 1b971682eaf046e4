import { z } from 'zod';
import type { ChallengerRun } from '../../proof/dispute.js';
import type { Receipt } from '../../proof/receipt.js';
import { inputDigest } from '../../proof/verify.js';
import { toHexBytes, type Hex } from '../../proof/wire.js';
import { tensorToJson } from '../../tensor/json.js';
import { HttpError } from '../http-errors.js';
import type { ExecuteResult, InferResponse, ModeHandler } from '../inference.js';
import type { PeerEntry } from '../peers.js';
import { postJson } from '../remote.js';
import { parse } from '../schemas.js';
import { challengeExecutor, checkReceipt, errMessage, honestRunInSlot, orderKey, randomRequestId, sameResult, type Fault, type ModesHost } from './host.js';

/**
 * Mode `replicated` (README.md in this folder has the exact rules).
 *
 * The node that receives the request (the coordinator) runs it itself and has
 * k-1 peers run it too (POST /v1/infer mode `none`, same request id); the
 * result is `verified` when every receipt commits to the coordinator's output
 * digest and trace root, or when each dissenter lost a dispute against an
 * honest re-execution and at least one other node agrees.
 */

export const DEFAULT_QUORUM = 2;

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an address (0x + 40 hex digits)');
export const replicatedOptions = z.strictObject({
  /** Peers (addresses) to ask first, in this order; others fill the remaining places. */
  replicas: z.array(address).max(64).optional(),
  /** Only the peers named in `replicas` may be used (default false: others fill up and replace proven cheaters). */
  exclusive: z.boolean().optional(),
});

export interface ReplicaReport {
  node: string;
  endpoint: string;
  agrees: boolean;
  receipt: Receipt;
}

interface Candidate {
  entry: PeerEntry;
  endpoint: string;
  preferred: boolean;
}

export function replicatedMode(host: ModesHost): ModeHandler {
  return async (req, ctx) => {
    const k = req.quorum ?? DEFAULT_QUORUM;
    if (k < 2) {
      throw new HttpError('INVALID_REQUEST', `mode replicated needs a quorum of at least 2 nodes (got ${k}); use mode none for one node`, { quorum: k });
    }
    const options = parse(replicatedOptions, req.options ?? {}, 'options');
    const { model, inputs, deadline } = ctx.prepared;
    const requestId = (req.requestId?.toLowerCase() as Hex | undefined) ?? randomRequestId();
    const input = toHexBytes(inputDigest(model.session, inputs));
    const excluded: { node: string; endpoint?: string; reason: string }[] = [];

    // --- candidates: announced, not caught, not this node; preferred first, then hosts of the model, then the rest
    const routable = host.peers.routable().filter((e) => e.announcement.endpoint !== host.url && e.address.toLowerCase() !== host.address.toLowerCase());
    const byAddress = new Map(routable.map((e) => [e.address.toLowerCase(), e]));
    const preferred: string[] = [];
    for (const a of options.replicas ?? []) {
      const key = a.toLowerCase();
      if (preferred.includes(key) || key === host.address.toLowerCase()) continue;
      if (!byAddress.has(key)) {
        excluded.push({ node: a, reason: host.peers.isCaught(a) ? 'caught cheating' : 'not a known peer' });
        continue;
      }
      preferred.push(key);
    }
    const rest = options.exclusive ? [] : routable
      .filter((e) => !preferred.includes(e.address.toLowerCase()))
      .sort((a, b) => {
        const ha = a.announcement.models.includes(model.cid) ? 0 : 1;
        const hb = b.announcement.models.includes(model.cid) ? 0 : 1;
        return ha - hb || orderKey(requestId, a.address).localeCompare(orderKey(requestId, b.address));
      });
    const seen = new Set<string>();
    const queue: Candidate[] = [];
    for (const e of [...preferred.map((a) => byAddress.get(a)!), ...rest]) {
      if (seen.has(e.announcement.endpoint)) continue;
      seen.add(e.announcement.endpoint);
      queue.push({ entry: e, endpoint: e.announcement.endpoint, preferred: preferred.includes(e.address.toLowerCase()) });
    }
    const caught = host.peers.list().filter((p) => p.reputation.caught).length;
    if (queue.length < k - 1) throw quorumUnavailable(k, 1 + queue.length, caught, excluded);

    // --- run it here and on k-1 peers at once
    const body = {
      model: model.cid,
      inputs: Object.fromEntries(Object.entries(inputs).map(([n, t]) => [n, tensorToJson(t)])),
      mode: 'none',
      requestId,
    };
    const ask = async (c: Candidate): Promise<ReplicaReport | undefined> => {
      const timeoutMs = Math.max(1000, deadline - Date.now());
      let res: { receipts?: unknown[] };
      try {
        res = await postJson<{ receipts?: unknown[] }>(`${c.endpoint}/v1/infer`, body, { timeoutMs });
      } catch (e) {
        excluded.push({ node: c.entry.address, endpoint: c.endpoint, reason: errMessage(e) });
        return undefined;
      }
      const check = await checkReceipt(res?.receipts?.[0], { executor: c.entry.address, model, input, requestId, chainId: host.config.chainId });
      if (!check.ok) {
        host.metrics.verifications.inc({ kind: 'replica', outcome: 'invalid' });
        excluded.push({ node: c.entry.address, endpoint: c.endpoint, reason: `unusable receipt: ${check.reason}` });
        return undefined;
      }
      return { node: c.entry.address, endpoint: c.endpoint, agrees: false, receipt: check.receipt };
    };
    const next = async (): Promise<ReplicaReport | undefined> => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const r = await ask(c);
        if (r) return r;
      }
      return undefined;
    };
    const ownP = ctx.service.execute(model, inputs, {
      deadline,
      mode: 'replicated',
      modelRef: req.model,
      requestId,
      status: 'pending',
      extra: { quorum: k },
    });
    const [own, ...first] = await Promise.all([ownP, ...Array.from({ length: k - 1 }, next)]);
    const replicas = first.filter((r): r is ReplicaReport => !!r);

    let finished = false;
    const finish = async (status: 'verified' | 'failed', extra: Record<string, unknown>) => {
      finished = true;
      host.metrics.verificationOutcomes.inc({ mode: 'replicated', role: 'coordinator', status });
      await host.records.update(requestId, (rec) => {
        rec.status = status;
        rec.extra = { ...rec.extra, ...extra };
      });
    };
    try {
      return await compare();
    } catch (e) {
      // the request fails: its record must not stay pending
      if (!finished) await finish('failed', { reason: errMessage(e), ...(excluded.length ? { excluded } : {}) }).catch(() => {});
      throw e;
    }

    async function compare(): Promise<InferResponse> {
      if (replicas.length < k - 1) {
        await finish('failed', { reason: 'quorum unavailable', excluded });
        throw quorumUnavailable(k, 1 + replicas.length, caught, excluded);
      }
  
      // --- compare; dispute every dissenter against an honest re-execution; replace proven cheaters while peers remain
      const faults: Fault[] = [];
      const unresolved: { node: string; reason: string }[] = [];
      let honest: ChallengerRun | undefined;
      const judge = async (r: ReplicaReport) => {
        r.agrees = sameResult(r.receipt, own.receipt);
        host.metrics.verifications.inc({ kind: 'replica', outcome: r.agrees ? 'valid' : 'invalid' });
        if (r.agrees) return;
        honest ??= await honestRunInSlot(host, model.session, inputs, Math.max(deadline, Date.now() + 5000));
        const c = await challengeExecutor(host, { receipt: r.receipt, model, inputs, run: honest, endpoint: r.endpoint, trustedEndpoint: true });
        if (c.outcome === 'fault') faults.push(c.fault!);
        else unresolved.push({ node: r.node, reason: c.outcome === 'agree' ? `its receipt matches an honest re-execution and this node's own does not` : c.reason });
      };
      for (const r of replicas) await judge(r);
      const agreeing = () => replicas.filter((r) => r.agrees).length;
      while (unresolved.length === 0 && faults.length > 0 && 1 + agreeing() < k && queue.length > 0 && Date.now() < deadline) {
        const r = await next();
        if (!r) break;
        replicas.push(r);
        await judge(r);
      }
  
      const agreed = 1 + agreeing();
      const verified = unresolved.length === 0 && agreed >= 2;
      const reason =
        unresolved.length > 0
          ? `no honest result could be established: ${unresolved.map((u) => `${u.node}: ${u.reason}`).join('; ')}`
          : agreed < 2
            ? 'no other node confirmed the result (every replica was proven wrong and no replacement was available)'
            : undefined;
      await finish(verified ? 'verified' : 'failed', {
        agreed,
        replicas: replicas.map((r) => ({ node: r.node, endpoint: r.endpoint, agrees: r.agrees, receipt: r.receipt })),
        faults: faults.map(({ node, endpoint, code, reason, proofId }) => ({ node, endpoint, code, reason, proofId })),
        ...(excluded.length ? { excluded } : {}),
        ...(reason ? { reason } : {}),
      });
      ctx.log.info({ requestId, quorum: k, agreed, faults: faults.length, status: verified ? 'verified' : 'failed' }, 'replicated inference');
      return response(ctx.service.response(verified ? 'verified' : 'failed', own), own, replicas, faults, { quorum: k, agreed, excluded, reason });
    }
  };
}

function response(
  base: InferResponse,
  own: ExecuteResult,
  replicas: ReplicaReport[],
  faults: Fault[],
  extra: { quorum: number; agreed: number; excluded: unknown[]; reason?: string },
): InferResponse {
  return {
    ...base,
    receipts: [own.receipt, ...replicas.filter((r) => r.agrees).map((r) => r.receipt)],
    faults,
    quorum: extra.quorum,
    agreed: extra.agreed,
    ...(extra.excluded.length ? { excluded: extra.excluded } : {}),
    ...(extra.reason ? { reason: extra.reason } : {}),
  };
}

function quorumUnavailable(k: number, found: number, caught: number, excluded: unknown[]): HttpError {
  return new HttpError(
    'QUORUM_UNAVAILABLE',
    `mode replicated needs ${k} nodes but only ${found} usable one${found === 1 ? '' : 's'} (this node and peers not known to cheat that answered) ${found === 1 ? 'was' : 'were'} found` +
      (caught ? `; ${caught} peer${caught === 1 ? ' is' : 's are'} excluded as caught cheating` : ''),
    { quorum: k, found, caught, excluded },
    { 'retry-after': '5' },
  );
}
