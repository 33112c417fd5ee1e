import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The recorded Drift User accounts in ../shared/data (see its README). */
export interface UserFixture {
  readonly index: number;
  readonly authority: string;
  readonly subAccountId: number;
  readonly name: string;
  readonly userAccountPda: string;
  readonly totalDeposits: string;
  readonly totalWithdraws: string;
  readonly settledPerpPnl: string;
  readonly cumulativePerpFunding?: string;
  readonly nextOrderId: number;
  readonly lastActiveSlot: string;
  readonly perpPositions: readonly {
    marketIndex: number;
    baseAssetAmount: string;
    quoteAssetAmount: string;
    quoteEntryAmount: string;
    lastCumulativeFundingRate: string;
  }[];
  readonly spotPositions: readonly {
    marketIndex: number;
    balanceType: string;
    scaledBalance: string;
    cumulativeDeposits: string;
  }[];
  readonly openOrders: readonly unknown[];
  readonly dataBase64: string;
}

const FILE = fileURLToPath(
  new URL('../../../../shared/data/drift-protocol-v2-user-fixtures/user-accounts.json', import.meta.url),
);

export const USER_FIXTURES: readonly UserFixture[] = (
  JSON.parse(readFileSync(FILE, 'utf8')) as { fixtures: UserFixture[] }
).fixtures;

export function userFixture(index: number): UserFixture {
  const fixture = USER_FIXTURES.find((candidate) => candidate.index === index);
  if (!fixture) throw new Error(`no user fixture ${index}`);
  return fixture;
}
