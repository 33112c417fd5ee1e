import type { Clock } from './clock';

export type ApprovalOutcome = 'approved' | 'rejected' | 'expired';

export interface ApprovalRequest {
  readonly id: string;
  /** Who asks: `gate:confirmation`, ... */
  readonly source: string;
  /** One line a human can decide on. */
  readonly summary: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly requestedAt: number;
  readonly expiresAt: number;
}

export interface ApprovalResolution {
  readonly id: string;
  readonly outcome: ApprovalOutcome;
  /** Who decided (`cli`, `dashboard:<user>`), absent on expiry. */
  readonly by?: string;
  readonly reason?: string;
  readonly at: number;
}

/** What plugins get: they can ask, not decide. */
export interface ApprovalRequester {
  request(input: {
    readonly source: string;
    readonly summary: string;
    readonly details?: Readonly<Record<string, unknown>>;
    readonly timeoutMs: number;
  }): { readonly id: string; readonly decision: Promise<ApprovalResolution> };
}

interface Pending {
  readonly request: ApprovalRequest;
  readonly resolve: (resolution: ApprovalResolution) => void;
  readonly abort: AbortController;
}

/**
 * Human confirmations. A gate asks; the operator answers through the runner (its console or the
 * dashboard); an unanswered request expires on the engine's clock. Every request and its outcome is
 * reported through `onEvent` for the audit log.
 */
export class ApprovalDesk implements ApprovalRequester {
  private readonly open = new Map<string, Pending>();
  private sequence = 0;

  constructor(
    private readonly clock: Clock,
    private readonly onEvent: (
      event: { requested: ApprovalRequest } | { resolved: ApprovalResolution },
    ) => void = () => {},
  ) {}

  request(input: {
    source: string;
    summary: string;
    details?: Readonly<Record<string, unknown>>;
    timeoutMs: number;
  }) {
    this.sequence += 1;
    const now = this.clock.now();
    const id = `AP${this.sequence}`;
    const request: ApprovalRequest = {
      id,
      source: input.source,
      summary: input.summary,
      details: input.details,
      requestedAt: now,
      expiresAt: now + input.timeoutMs,
    };
    let resolve!: (resolution: ApprovalResolution) => void;
    const decision = new Promise<ApprovalResolution>((done) => {
      resolve = done;
    });
    const abort = new AbortController();
    this.open.set(id, { request, resolve, abort });
    this.onEvent({ requested: request });
    void this.clock.sleep(input.timeoutMs, abort.signal).then(() => {
      if (!abort.signal.aborted) this.finish(id, 'expired', undefined, 'no answer in time');
    });
    return { id, decision };
  }

  pending(): readonly ApprovalRequest[] {
    return [...this.open.values()].map((entry) => entry.request);
  }

  approve(id: string, by: string): boolean {
    return this.finish(id, 'approved', by);
  }

  reject(id: string, by: string, reason?: string): boolean {
    return this.finish(id, 'rejected', by, reason);
  }

  /** Expires every open request (shutdown). */
  expireAll(reason: string): void {
    for (const id of [...this.open.keys()]) this.finish(id, 'expired', undefined, reason);
  }

  private finish(id: string, outcome: ApprovalOutcome, by?: string, reason?: string): boolean {
    const entry = this.open.get(id);
    if (!entry) return false;
    this.open.delete(id);
    entry.abort.abort();
    const resolution: ApprovalResolution = { id, outcome, by, reason, at: this.clock.now() };
    this.onEvent({ resolved: resolution });
    entry.resolve(resolution);
    return true;
  }
}
