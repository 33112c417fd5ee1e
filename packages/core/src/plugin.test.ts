import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, PluginError } from './errors';
import { defineStrategy, PluginRegistry, parsePluginOptions, validatePlugin } from './plugin';

const good = defineStrategy({
  meta: { name: 'sma-cross', kind: 'strategy', core: '^0.1.0' },
  options: z.object({ fast: z.number().int().positive(), slow: z.number().int().positive() }).strict(),
  setup: () => ({ onCycle: () => [] }),
});

describe('validatePlugin', () => {
  it('accepts a well-formed plugin', () => {
    expect(validatePlugin(good, 'test')).toBe(good);
  });

  it.each([
    [null, /not a plugin object/],
    [{ ...good, meta: undefined }, /no `meta`/],
    [{ ...good, meta: { ...good.meta, name: 'SMA Cross' } }, /kebab-case/],
    [{ ...good, meta: { ...good.meta, kind: 'indicator' } }, /meta.kind/],
    [{ ...good, meta: { ...good.meta, core: 'latest' } }, /semver range/],
    [{ ...good, options: {} }, /zod schema/],
    [{ ...good, setup: undefined }, /needs a `setup`/],
  ])('rejects a malformed plugin with PLUGIN_INVALID (%#)', (candidate, message) => {
    const attempt = () => validatePlugin(candidate, 'my-plugin.js');
    expect(attempt).toThrow(PluginError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(/^my-plugin\.js: /);
  });

  it('rejects a plugin built for another core with PLUGIN_INCOMPATIBLE', () => {
    try {
      validatePlugin({ ...good, meta: { ...good.meta, core: '^2.0.0' } }, 'old-plugin');
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'PLUGIN_INCOMPATIBLE' });
      expect((error as Error).message).toMatch(
        /requires @perpkit\/core \^2\.0\.0, but the running core is 0\.1\.0/,
      );
    }
  });

  it('checks the expected kind', () => {
    expect(() => validatePlugin(good, 'x', { expectedKind: 'exchange' })).toThrow(
      /is a strategy plugin, expected a exchange/,
    );
  });
});

describe('parsePluginOptions', () => {
  it('returns parsed options', () => {
    expect(parsePluginOptions(good, { fast: 10, slow: 30 })).toEqual({ fast: 10, slow: 30 });
  });

  it('names the file, the full path and the problem', () => {
    try {
      parsePluginOptions(
        good,
        { fast: 'ten', slow: 30, slwo: 1 },
        { file: 'bot.yaml', pathPrefix: 'strategies[0].options' },
      );
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const configError = error as ConfigError;
      expect(configError.file).toBe('bot.yaml');
      expect(configError.issues.map((issue) => issue.path).sort()).toEqual([
        'strategies[0].options',
        'strategies[0].options.fast',
      ]);
      expect(configError.message).toMatch(/^bot\.yaml: invalid options for strategy "sma-cross"/);
      expect(configError.message).toMatch(/slwo/);
    }
  });
});

describe('PluginRegistry', () => {
  it('registers, looks up and lists by kind', () => {
    const registry = new PluginRegistry();
    registry.register(good, 'built-in');
    registry.register(good, 'built-in'); // the same object twice is harmless
    expect(registry.get('strategy', 'sma-cross')).toBe(good);
    expect(registry.get('exchange', 'sma-cross')).toBeUndefined();
    expect(registry.list()).toEqual([
      { plugin: good, source: 'built-in', kind: 'strategy', name: 'sma-cross' },
    ]);
  });

  it('refuses two different plugins under one name', () => {
    const registry = new PluginRegistry();
    registry.register(good, 'built-in');
    expect(() => registry.register({ ...good }, './my-sma.js')).toThrow(/already registered from built-in/);
  });

  it('require() lists what is loaded on a miss', () => {
    const registry = new PluginRegistry();
    registry.register(good, 'built-in');
    expect(() => registry.require('strategy', 'sma-crosss')).toThrow(
      /no strategy plugin named "sma-crosss" is loaded \(loaded: sma-cross\)/,
    );
  });
});
