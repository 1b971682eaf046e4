import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One Prometheus registry per node instance (several nodes can live in one process in tests). */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly inferences: Counter<'mode' | 'outcome'>;
  readonly inferenceSeconds: Histogram<'mode'>;
  readonly verifications: Counter<'kind' | 'outcome'>;
  readonly disputes: Counter<'role' | 'outcome'>;
  readonly fraudProofs: Counter<'verdict'>;
  readonly verificationOutcomes: Counter<'mode' | 'role' | 'status'>;
  readonly refusals: Counter<'code'>;
  readonly inflight: Gauge;
  readonly queued: Gauge;
  readonly peers: Gauge;

  constructor(labels: Record<string, string> = {}) {
    const registers = [this.registry];
    this.registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: this.registry, prefix: 'verinfer_process_' });
    this.httpRequests = new Counter({
      name: 'verinfer_http_requests_total',
      help: 'HTTP requests by method, route (the pattern, not the URL) and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'verinfer_http_request_duration_seconds',
      help: 'HTTP request duration by method and route',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    });
    this.inferences = new Counter({
      name: 'verinfer_inferences_total',
      help: 'inference requests by mode and outcome (ok, or the error code)',
      labelNames: ['mode', 'outcome'],
      registers,
    });
    this.inferenceSeconds = new Histogram({
      name: 'verinfer_inference_duration_seconds',
      help: 'time to execute, sign and durably record one inference (queueing excluded)',
      labelNames: ['mode'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.verifications = new Counter({
      name: 'verinfer_verifications_total',
      help: 'verification outcomes: kind receipt (POST /v1/verify) or a mode\'s checks; outcome valid/invalid',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.disputes = new Counter({
      name: 'verinfer_disputes_total',
      help: 'dispute messages: role executor (bisection queries answered) or challenger; outcome answered/rejected/won/lost',
      labelNames: ['role', 'outcome'],
      registers,
    });
    this.fraudProofs = new Counter({
      name: 'verinfer_fraud_proofs_total',
      help: 'fraud proofs received, by verdict (accepted/rejected)',
      labelNames: ['verdict'],
      registers,
    });
    this.verificationOutcomes = new Counter({
      name: 'verinfer_verification_outcomes_total',
      help: 'verification mode outcomes: mode replicated/optimistic, role coordinator/executor/watcher, status verified/pending/final/failed',
      labelNames: ['mode', 'role', 'status'],
      registers,
    });
    this.refusals = new Counter({
      name: 'verinfer_refusals_total',
      help: 'requests refused by a limit, by error code',
      labelNames: ['code'],
      registers,
    });
    this.inflight = new Gauge({ name: 'verinfer_inferences_running', help: 'inferences holding a slot', registers });
    this.queued = new Gauge({ name: 'verinfer_inferences_queued', help: 'inferences waiting for a slot', registers });
    this.peers = new Gauge({ name: 'verinfer_peers', help: 'peers in the peer table', registers });
  }
}
