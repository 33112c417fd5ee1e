import type { ClosedTrade } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import type { BacktestResult } from '../src/backtest';
import { attribute, type TradeRecord } from '../src/metrics';
import { resultJsonChunks, TradeSpool } from '../src/output';
import { renderHtmlReport } from '../src/report';

const HOUR = 3_600_000;

function tradeAt(index: number): TradeRecord {
  const won = index % 3 !== 0;
  const closed: ClosedTrade = {
    id: `T${index}`,
    exchange: 'sim',
    account: 'main',
    symbol: 'BTC',
    direction: 'long',
    strategyId: 's',
    openedAt: index * HOUR,
    closedAt: index * HOUR + HOUR / 2,
    quantity: 1,
    entryPrice: 100,
    exitPrice: won ? 101 : 99,
    pricePnl: won ? 1 : -1,
    fees: 0.1,
    slippage: 0,
    funding: 0,
    netPnl: won ? 0.9 : -1.1,
    entryReasons: ['IN'],
    exitReasons: ['OUT'],
    ...(index % 2 === 0 ? { regime: 'even' } : {}),
  };
  return attribute(closed);
}

function resultWith(trades: TradeRecord[]): BacktestResult {
  const end = trades.length * HOUR;
  return {
    summary: {
      bars: trades.length,
      steps: trades.length,
      start: 0,
      end,
      trades: trades.length,
      startingEquity: 1000,
      finalEquity: 1000,
      totalReturn: 0,
      annualReturn: 0,
      maxDrawdown: 0,
      maxDrawdownAmount: 0,
      sharpe: null,
      sortino: null,
      calmar: null,
      winRate: 0.5,
      fees: 0,
      slippage: 0,
      fundingPnl: 0,
      exposure: 0.5,
      turnover: 1,
      engineMs: 1,
      barsPerSecond: 1,
      tradeListHash: 'x',
      signals: 0,
      denials: 0,
    },
    trades,
    equityCurve: [
      [0, 1000],
      [end / 2, 1010],
      [end, 1000],
    ],
    openPositions: [],
    breakdowns: {
      byReason: [],
      byExitReason: [],
      byRegime: [],
      byStrategy: [],
      signalsByReason: {},
      denialsByCode: {},
    },
    data: { candles: [], funding: [], marks: [] },
  };
}

describe('streamed outputs', () => {
  it('the chunked JSON is exactly JSON.stringify of the whole result', () => {
    const trades = Array.from({ length: 25 }, (_, index) => tradeAt(index));
    const result = resultWith(trades);
    const head = { title: 't', config: { file: 'f.yaml', hash: 'h' } };
    const text = [...resultJsonChunks(result, head)].join('');
    expect(text).toBe(`${JSON.stringify({ ...head, ...result }, null, 2)}\n`);
    expect([...resultJsonChunks(resultWith([]), head)].join('')).toBe(
      `${JSON.stringify({ ...head, ...resultWith([]) }, null, 2)}\n`,
    );
  });

  it('a trade spool gives back every trade in order, as often as asked, then removes its file', () => {
    const spool = new TradeSpool();
    const trades = Array.from({ length: 5000 }, (_, index) => tradeAt(index));
    for (const trade of trades) spool.add(trade);
    const expected = JSON.parse(JSON.stringify(trades));
    expect([...spool.read()]).toEqual(expected);
    expect([...spool.read()]).toEqual(expected);
    expect(spool.trades).toBe(5000);
    const result = resultWith([]);
    const fromSpool = [...resultJsonChunks(result, {}, spool.read())].join('');
    expect(JSON.parse(fromSpool).trades).toEqual(expected);
    spool.dispose();
    expect(() => [...spool.read()]).toThrow();
  });
});

describe('the HTML report', () => {
  it('marks every trade: with tooltips up to 2000, merged paths above, and says which', () => {
    const few = renderHtmlReport(resultWith(Array.from({ length: 300 }, (_, index) => tradeAt(index))));
    expect(few.match(/<g class="trade-marker">/g)).toHaveLength(300);
    expect(few).toContain('300 of 300 trades marked');

    const many = renderHtmlReport(resultWith(Array.from({ length: 2500 }, (_, index) => tradeAt(index))));
    expect(many).not.toContain('<g class="trade-marker">');
    const paths = [...many.matchAll(/<path class="trade-markers" d="([^"]*)" fill="([^"]+)"\/>/g)];
    expect(paths.map((match) => match[2])).toEqual(['#0969da', '#1a7f37', '#cf222e']);
    const count = (d: string) => (d.match(/M/g) ?? []).length;
    expect(count(paths[0]?.[1] as string)).toBe(2500); // entries
    expect(count(paths[1]?.[1] as string) + count(paths[2]?.[1] as string)).toBe(2500); // exits
    expect(count(paths[2]?.[1] as string)).toBe(834); // losers: every third trade
    expect(many).toContain(
      '2500 of 2500 trades marked. Markers for all 2500 trades are drawn without tooltips',
    );
  });
});
