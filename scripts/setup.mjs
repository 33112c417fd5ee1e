#!/usr/bin/env node
// Sets up a fresh clone: pnpm (if missing), the workspace's dependencies, and a build of every
// package. Safe to run again. Only needs Node 20.19+ and npm on the PATH.
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const wanted = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).packageManager.split('@')[1];

function run(command, args) {
  console.log(`\n> ${command} ${args.join(' ')}`);
  execFileSync(command, args, { cwd: root, stdio: 'inherit' });
}

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`perpkit needs Node 20.19 or newer (this is ${process.version}).`);
  process.exit(1);
}

let pnpm;
try {
  pnpm = execSync('pnpm --version', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {}
if (!pnpm || Number(pnpm.split('.')[0]) < 10) {
  try {
    run('npm', ['install', '--global', `pnpm@${wanted}`]);
  } catch {
    // Usually npm's global prefix is not writable without root: say how to get pnpm instead.
    console.error(`
Could not install pnpm ${wanted} with "npm install --global" (npm's global prefix may need root).
Get pnpm 10 onto the PATH one of these ways, then run "npm run setup" again:
  - as an administrator:            npm install --global pnpm@${wanted}
  - in your home directory:         npm config set prefix ~/.local && npm install --global pnpm@${wanted}
                                    (and add ~/.local/bin to PATH)
  - with Node's corepack (admin):   corepack enable pnpm`);
    process.exit(1);
  }
}

// System packages the test suite drives: Debian's Chromium for the dashboard's browser test, and
// Debian's Redis for the optimizer's distributed queue (the tests start it on 127.0.0.1 and stop
// it). Installed only where apt is there and we may use it; anywhere else those tests are skipped.
const systemPackages = [
  { binary: '/usr/bin/chromium', apt: 'chromium' },
  { binary: '/usr/bin/redis-server', apt: 'redis-server' },
].filter(({ binary }) => !existsSync(binary));
if (systemPackages.length > 0) {
  const canApt = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  if (canApt) {
    run('apt-get', ['update', '-qq']);
    run('apt-get', [
      'install',
      '-y',
      '-qq',
      '--no-install-recommends',
      ...systemPackages.map(({ apt }) => apt),
    ]);
  } else {
    console.warn(
      `\nNot installing ${systemPackages.map(({ apt }) => apt).join(', ')} (needs root and apt-get); the tests that use them will be skipped.`,
    );
  }
}

run('pnpm', ['install', '--frozen-lockfile']);
run('pnpm', ['build']);
console.log('\nperpkit is set up. Run the tests with: npm test');
