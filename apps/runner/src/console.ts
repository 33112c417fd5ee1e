import { createInterface } from 'node:readline';
import type { Engine, Logger, TradingPhase } from '@perpkit/core';

export const CONSOLE_HELP = `commands:
  status                      phase, holds, cycles, open positions
  approvals                   pending confirmations
  approve <id>                approve a pending confirmation
  reject <id> [reason]        reject it
  phase <active|reducing|halted> [reason]
                              set the phase by hand (active clears every hold)
  emergency <reason>          halt and close every position
  stop                        orderly shutdown (like SIGTERM)
  help                        this text
`;

/**
 * The operator console: commands read line by line from stdin while the runner trades. It is how
 * confirmations are answered from the terminal (the dashboard is the other way).
 */
export function attachConsole(
  engine: Engine,
  input: NodeJS.ReadableStream,
  output: { write(text: string): unknown },
  logger: Logger,
  onStop: () => void,
): () => void {
  const onRequested = (request: { id: string; summary: string; expiresAt: number }) => {
    output.write(
      `approval ${request.id} requested: ${request.summary} (expires ${new Date(request.expiresAt).toISOString()}); type "approve ${request.id}" or "reject ${request.id}"\n`,
    );
  };
  engine.events.on('approval:requested', onRequested);
  const lines = createInterface({ input, terminal: false });
  lines.on('line', (line) => {
    const [command, ...rest] = line.trim().split(/\s+/);
    const text = rest.join(' ');
    switch (command) {
      case '':
      case undefined:
        return;
      case 'help':
        output.write(CONSOLE_HELP);
        return;
      case 'status': {
        const holds = engine.state.phaseHolds();
        output.write(
          `phase ${engine.phase}${holds.length ? ` (held by ${holds.map((hold) => `${hold.source}: ${hold.phase}, ${hold.reason}`).join('; ')})` : ''}\n`,
        );
        output.write(`cycles ${engine.state.cycle}, consecutive failures ${engine.consecutiveFailures}\n`);
        for (const position of engine.state.positions()) {
          output.write(
            `position ${position.exchange}/${position.account} ${position.symbol} ${position.quantity} @ ${position.entryPrice} (unrealized ${position.unrealizedPnl.toFixed(2)})\n`,
          );
        }
        return;
      }
      case 'approvals': {
        const pending = engine.approvals.pending();
        if (pending.length === 0) output.write('no pending approvals\n');
        for (const request of pending)
          output.write(
            `${request.id} ${request.summary} (expires ${new Date(request.expiresAt).toISOString()})\n`,
          );
        return;
      }
      case 'approve':
      case 'reject': {
        const [id, ...reason] = rest;
        if (!id) {
          output.write(`usage: ${command} <id>\n`);
          return;
        }
        const done =
          command === 'approve'
            ? engine.approvals.approve(id, 'cli')
            : engine.approvals.reject(id, 'cli', reason.join(' ') || undefined);
        output.write(
          done ? `${id} ${command === 'approve' ? 'approved' : 'rejected'}\n` : `no pending approval ${id}\n`,
        );
        logger.info(`approval ${id} ${command === 'approve' ? 'approved' : 'rejected'} from the console`, {
          found: done,
        });
        return;
      }
      case 'phase': {
        const [phase, ...reason] = rest;
        if (phase !== 'active' && phase !== 'reducing' && phase !== 'halted') {
          output.write('usage: phase <active|reducing|halted> [reason]\n');
          return;
        }
        engine.setPhase(phase as TradingPhase, reason.join(' ') || 'set from the console', 'operator');
        output.write(`phase ${engine.phase}\n`);
        return;
      }
      case 'emergency':
        engine.emergency(text || 'requested from the console', 'operator');
        output.write('emergency mode: halted, closing every position next cycle\n');
        return;
      case 'stop':
        output.write('stopping\n');
        onStop();
        return;
      default:
        output.write(`unknown command "${command}"; type help\n`);
    }
  });
  return () => {
    engine.events.off('approval:requested', onRequested);
    lines.close();
    // Stop reading so an idle terminal does not keep the process alive.
    (input as { pause?: () => void }).pause?.();
  };
}

/** Logs the order flow an operator wants to follow. */
export function logOrderFlow(engine: Engine, logger: Logger): void {
  engine.events.on('order:submitted', (event) =>
    logger.info('order submitted', {
      exchange: event.proposal.exchange,
      symbol: event.order.symbol,
      side: event.order.side,
      quantity: event.order.quantity,
      orderId: event.order.id,
      status: event.order.status,
      strategy: event.proposal.signal.strategyId,
    }),
  );
  engine.events.on('order:denied', (event) =>
    logger.info('order denied', {
      gate: event.gate,
      code: event.code,
      message: event.message,
      symbol: event.signal.symbol,
      strategy: event.signal.strategyId,
    }),
  );
  engine.events.on('order:failed', (event) =>
    logger.warn('order failed', { code: event.code, reason: event.reason, message: event.message }),
  );
  engine.events.on('fill', (fill) =>
    logger.info('fill', {
      exchange: fill.exchange,
      symbol: fill.symbol,
      side: fill.side,
      quantity: fill.quantity,
      price: fill.price,
      fee: fill.fee,
      orderId: fill.orderId,
    }),
  );
  engine.events.on('approval:resolved', (resolution) =>
    logger.info(`approval ${resolution.id} ${resolution.outcome}`, {
      by: resolution.by,
      reason: resolution.reason,
    }),
  );
}
