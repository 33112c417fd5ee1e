import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CORE_VERSION, satisfies } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import { builtinPlugins } from '../src/builtins';
import { REPO } from './helpers';

/*
 * Core and the first-party plugins are released together. A core release that leaves a plugin's
 * declared range must update that plugin in the same release: these fail until it does.
 */
describe('first-party plugins and the core they declare', () => {
  it("every built-in plugin's meta.core range includes the running core", () => {
    for (const [name, plugins] of builtinPlugins())
      for (const plugin of plugins)
        expect(satisfies(CORE_VERSION, plugin.meta.core), `${name}: ${plugin.meta.core}`).toBe(true);
  });

  it("every package's peer range on @perpkit/core includes the workspace's core", () => {
    for (const group of ['packages', 'apps', 'examples']) {
      for (const name of readdirSync(path.join(REPO, group))) {
        let manifest: { name: string; peerDependencies?: Record<string, string> };
        try {
          manifest = JSON.parse(readFileSync(path.join(REPO, group, name, 'package.json'), 'utf8'));
        } catch {
          continue;
        }
        const range = manifest.peerDependencies?.['@perpkit/core'];
        if (range !== undefined)
          expect(satisfies(CORE_VERSION, range), `${manifest.name}: ${range}`).toBe(true);
      }
    }
  });
});
