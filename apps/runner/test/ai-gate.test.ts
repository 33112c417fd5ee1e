import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinPlugins } from '../src/builtins';
import { loadPlugins, planComposition, searchDirsFor } from '../src/compose';
import { loadConfig } from '../src/config';
import { REPO, writeConfig } from './helpers';
import { count, readDb, startRunner, waitUntil } from './process';

const EXAMPLE = 'examples/ai-gate.paper.yaml';
/** A made-up key for tests: never a real credential. */
const TEST_API_KEY = 'test-only-ollama-key-7c0ffee';

describe('the ai-gate example', () => {
  it('resolves the built-in ai-gate and its options validate', async () => {
    const file = path.join(REPO, EXAMPLE);
    const loaded = loadConfig(file, {});
    const plugins = await loadPlugins(loaded.config.plugins, {
      builtins: builtinPlugins(),
      searchDirs: searchDirsFor(file, REPO),
    });
    const plan = await planComposition(loaded, plugins);
    expect(plan.riskGates.map((spec) => spec.id)).toEqual(['pacing', 'exposure', 'staleness', 'ai-gate']);
    expect(plugins.registry.list()).toContainEqual(
      expect.objectContaining({ kind: 'risk-gate', name: 'ai-gate', source: 'built-in' }),
    );
  });

  it('paper trading asks the model about entries and keeps its answers in plugin_records, key redacted', async () => {
    // A minimal Ollama: every chat question gets a confident allow.
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((request, response) => {
      seen.push(request.headers);
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        response.end(
          JSON.stringify({
            model: 'qwen2.5:7b-instruct',
            created_at: '2025-01-01T00:00:00Z',
            message: {
              role: 'assistant',
              content: '{"decision":"allow","confidence":0.9,"rationale":"the cross is clean"}',
            },
            done: true,
            done_reason: 'stop',
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const directory = mkdtempSync(path.join(tmpdir(), 'perpkit-ai-gate-'));
      const config = writeConfig(
        readFileSync(path.join(REPO, EXAMPLE), 'utf8')
          .replaceAll('../../shared/data', path.resolve(REPO, '../shared/data'))
          .replace('host: http://127.0.0.1:11434', `host: ${host}`)
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a config's ${NAME} reference, written literally
          .replace('# apiKey: ${OLLAMA_API_KEY}', 'apiKey: ${OLLAMA_API_KEY} #')
          // The replay runs at 30000×: a day of engine time is about 3 s of real time.
          .replace('timeout: 5m', 'timeout: 1d'),
        'ai-gate.yaml',
      );
      const db = path.join(directory, 'ai-gate.db');
      const runner = startRunner(['--config', config, '--db', db, '--speed', '30000'], {
        OLLAMA_API_KEY: TEST_API_KEY,
      });
      await waitUntil(() => count(db, 'fills') >= 1, 60_000, `a fill\n${runner.stderr()}`);
      runner.child.kill('SIGTERM');
      expect(await runner.exited()).toBe(0);

      expect(seen.length).toBeGreaterThan(0);
      expect(seen[0]?.authorization).toBe(`Bearer ${TEST_API_KEY}`);
      const rows = readDb(db, (database) =>
        database
          .prepare("SELECT component, kind, data FROM plugin_records WHERE kind = 'ai-gate:decision'")
          .all(),
      ) as { component: string; kind: string; data: string }[];
      expect(rows.length).toBeGreaterThan(0);
      const first = JSON.parse(rows[0]?.data as string) as Record<string, unknown>;
      expect(first).toMatchObject({
        source: 'model',
        model: 'qwen2.5:7b-instruct',
        strategyId: 'sma-cross',
        decision: 'allow',
        code: 'AI_CONFIRMED',
        confidence: 0.9,
        status: 200,
      });
      expect(first.prompt).toContain('- SMA_CROSS_UP: SMA10 crossed above SMA30');
      expect(typeof first.signalId).toBe('string');
      const confirmed = readDb(db, (database) =>
        database
          .prepare(
            "SELECT COUNT(*) AS n FROM risk_decisions WHERE gate = 'ai-gate' AND code = 'AI_CONFIRMED'",
          )
          .get(),
      ) as { n: number };
      expect(confirmed.n).toBe(rows.filter((row) => JSON.parse(row.data).code === 'AI_CONFIRMED').length);
      for (const name of readdirSync(directory))
        expect(readFileSync(path.join(directory, name)).includes(TEST_API_KEY), name).toBe(false);
      expect(runner.stderr()).not.toContain(TEST_API_KEY);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 90_000);
});
