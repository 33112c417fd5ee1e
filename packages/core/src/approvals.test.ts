import { describe, expect, it } from 'vitest';
import { ApprovalDesk, type ApprovalRequest, type ApprovalResolution } from './approvals';
import { SimulatedClock } from './clock';

describe('ApprovalDesk', () => {
  it('resolves on approval, rejection or expiry on the engine clock, and reports each step', async () => {
    const clock = new SimulatedClock(1000);
    const events: ({ requested: ApprovalRequest } | { resolved: ApprovalResolution })[] = [];
    const desk = new ApprovalDesk(clock, (event) => events.push(event));
    const approved = desk.request({ source: 'gate:confirmation', summary: 'buy 10 BTC', timeoutMs: 60_000 });
    const rejected = desk.request({ source: 'gate:confirmation', summary: 'sell 5 ETH', timeoutMs: 60_000 });
    const expired = desk.request({ source: 'gate:confirmation', summary: 'buy 1 SOL', timeoutMs: 30_000 });
    expect(desk.pending().map((request) => request.summary)).toEqual([
      'buy 10 BTC',
      'sell 5 ETH',
      'buy 1 SOL',
    ]);
    expect(desk.approve(approved.id, 'cli')).toBe(true);
    expect(desk.approve(approved.id, 'cli')).toBe(false); // once only
    desk.reject(rejected.id, 'dashboard:ops', 'too large');
    clock.advance(29_999);
    await Promise.resolve();
    expect(desk.pending()).toHaveLength(1);
    clock.advance(1);
    expect(await approved.decision).toMatchObject({ outcome: 'approved', by: 'cli' });
    expect(await rejected.decision).toMatchObject({
      outcome: 'rejected',
      by: 'dashboard:ops',
      reason: 'too large',
    });
    expect(await expired.decision).toMatchObject({ outcome: 'expired', at: 31_000 });
    expect(desk.pending()).toEqual([]);
    expect(events.filter((event) => 'resolved' in event)).toHaveLength(3);
    expect(desk.approve(expired.id, 'cli')).toBe(false);
  });
});
