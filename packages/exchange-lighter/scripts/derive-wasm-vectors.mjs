// Regenerates test/fixtures/official-wasm-vectors.ts from the official lighter-go signer, offline.
//
//   node scripts/derive-wasm-vectors.mjs <lighter-go git dir> <steps.json>
//
// It takes the prebuilt web-wasm/main.wasm.gz and the Go wasm runtime shim embedded in
// react-native/src/wasm-template.html from that repository (nothing of it is vendored here), freezes
// the clock at FROZEN_MS (default 1700000000000) so ExpiredAt and deadlines are reproducible, and
// calls the WASM's exported functions listed in steps.json, e.g.
//   [["_createClientByPrv", "0x<40-byte key>", 304, 281474976710000, 0, 4],
//    ["_signCreateOrder", 281474976710000, 0, 123456789, "1000", "3000000", 0, 0, 1, 0, "0", 1702419200000, 42]]
// printing each step with its result as JSON.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

const [repository, stepsFile] = process.argv.slice(2);
if (!repository || !stepsFile) {
  console.error('usage: derive-wasm-vectors.mjs <lighter-go git dir> <steps.json>');
  process.exit(2);
}
const show = (file) =>
  execFileSync('git', ['--git-dir', repository, 'show', `HEAD:${file}`], { maxBuffer: 1 << 30 });

const template = show('react-native/src/wasm-template.html').toString('utf8');
const scripts = [...template.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1]);
const runtime = scripts.find((script) => script.includes('globalThis.Go = class'));
if (!runtime) throw new Error('the Go wasm runtime was not found in the template');
// The template wraps the runtime in try { ... } catch for React Native; keep the body only.
const body = runtime.slice(runtime.indexOf('try {') + 5, runtime.lastIndexOf('} catch'));
const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'lighter-wasm-'));
fs.writeFileSync(path.join(directory, 'go-runtime.mjs'), `export function installGo() {${body}}\n`);

const frozen = Number(process.env.FROZEN_MS ?? 1_700_000_000_000);
performance.now = () => 0;
const RealDate = Date;
globalThis.Date = class extends RealDate {
  constructor(...values) {
    if (values.length === 0) super(frozen);
    else super(...values);
  }
  static now() {
    return frozen;
  }
};

const { installGo } = await import(path.join(directory, 'go-runtime.mjs'));
installGo();
const go = new globalThis.Go();
const { instance } = await WebAssembly.instantiate(
  gunzipSync(show('web-wasm/main.wasm.gz')),
  go.importObject,
);
go.run(instance);

const steps = JSON.parse(fs.readFileSync(stepsFile, 'utf8'));
const results = [];
for (const [name, ...values] of steps) {
  const returned = globalThis[name](...values);
  results.push({
    step: [name, ...values],
    result: typeof returned === 'function' ? await returned() : returned,
  });
}
console.log(JSON.stringify(results, null, 1));
process.exit(0);
