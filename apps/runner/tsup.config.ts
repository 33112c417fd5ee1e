import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.ts';

export default defineConfig([
  packageBuild({ index: 'src/index.ts' }),
  packageBuild(
    { cli: 'src/cli.ts', 'optimize-thread': 'src/optimize/thread.ts' },
    { format: ['esm'], dts: false, clean: false },
  ),
]);
