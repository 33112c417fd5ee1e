import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.ts';

export default defineConfig(
  packageBuild({ index: 'src/index.ts', signer: 'src/signer/index.ts', sim: 'src/sim/index.ts' }),
);
