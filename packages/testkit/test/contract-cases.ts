import { readFileSync } from 'node:fs';
import { EXCHANGE_CONTRACT_CASES } from '../src/exchange-contract';

/** Every contract case id with its title: the exchange cases, and those of the plugin suites. */
export function currentContractCases(): Record<string, string> {
  const cases: Record<string, string> = {};
  for (const entry of EXCHANGE_CONTRACT_CASES) cases[entry.id] = entry.title;
  const source = readFileSync(new URL('../src/plugin-contracts.ts', import.meta.url), 'utf8');
  // The shared basics are written once with a prefix for every plugin kind.
  for (const match of source.matchAll(/it\(`\$\{prefix\}-(\d{3}) ([^`]+)`/g))
    for (const prefix of ['ST', 'RG', 'ER', 'MO']) cases[`${prefix}-${match[1]}`] = match[2] as string;
  for (const match of source.matchAll(/it\(\s*'((?:ST|RG|ER|MO)-\d{3}) ([^']+)'/g))
    cases[match[1] as string] = match[2] as string;
  return cases;
}
