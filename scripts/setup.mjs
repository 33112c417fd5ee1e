#!/usr/bin/env node
// Sets up a fresh clone: pnpm (if missing), the workspace's dependencies, and a build of every
// package. Safe to run again. Only needs Node 20.19+ and npm on the PATH.
import { execFileSync, execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
  run('npm', ['install', '--global', `pnpm@${wanted}`]);
}

run('pnpm', ['install', '--frozen-lockfile']);
run('pnpm', ['build']);
console.log('\nperpkit is set up. Run the tests with: npm test');
