import { BulkAccountLoader, DriftClient, Wallet, RetryTxSender, ConfirmationStrategy, BN, PositionDirection, OrderType, MarketType, PlaceAndTakeOrderSuccessCondition, PRICE_PRECISION, calculateBidAskPrice, calculateLongShortFundingRate, parseLogs } from '@drift-labs/sdk';
import { Connection, Keypair, PublicKey } from '@solana/web3.js';
import { it, expect } from 'vitest';
import { startFakeDriftRpc } from '../src/fake-rpc';

it('smoke', async () => {
  const rpc = await startFakeDriftRpc();
  const keypair = Keypair.fromSeed(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'));
  const authority = keypair.publicKey.toBase58();
  const user = rpc.addUser({ authority, usdc: '1000', walletUsdc: '500' });
  const connection = new Connection(rpc.url, 'confirmed');
  const loader = new BulkAccountLoader(connection, 'confirmed', 0);
  const wallet = new Wallet(keypair);
  const perp = [...rpc.program.perpMarkets.values()];
  const spot = [...rpc.program.spotMarkets.values()];
  const client = new DriftClient({ connection, wallet, env: 'mainnet-beta', accountSubscription: { type: 'polling', accountLoader: loader },
    perpMarketIndexes: perp.map(m=>m.marketIndex), spotMarketIndexes: spot.map(m=>m.marketIndex),
    oracleInfos: [...perp.map(m=>({publicKey: m.amm.oracle, source: m.amm.oracleSource})), ...spot.map(m=>({publicKey: m.oracle, source: m.oracleSource}))],
    subAccountIds: [0], activeSubAccountId: 0, marketLookupTables: [],
    txSender: new RetryTxSender({ connection, wallet, confirmationStrategy: ConfirmationStrategy.Polling, timeout: 5000 }) });
  expect(await client.subscribe()).toBe(true);
  await client.addUser(0);
  const u = client.getUser(0);
  console.log('user', u.userAccountPublicKey.toBase58() === user, u.getFreeCollateral().toString(), u.getHealth(), u.getTotalCollateral().toString());
  const market = client.getPerpMarketAccount(0)!;
  const oracle = client.getOracleDataForPerpMarket(0);
  console.log('oracle', oracle.price.toString());
  try { const [b, a] = calculateBidAskPrice(market.amm, client.getMMOracleDataForPerpMarket(0)); console.log('bidask', b.toString(), a.toString()); } catch (e) { console.log('bidask error', (e as Error).message); }
  try { const [l, s] = calculateLongShortFundingRate(market, client.getMMOracleDataForPerpMarket(0), oracle); console.log('funding', l.toString(), s.toString()); } catch (e) { console.log('funding error', (e as Error).message); }
  const sig = await client.placeAndTakePerpOrder({ orderType: OrderType.MARKET, marketType: MarketType.PERP, direction: PositionDirection.LONG, baseAssetAmount: new BN(1e9), price: new BN(151).mul(PRICE_PRECISION), marketIndex: 0 }, undefined, undefined, PlaceAndTakeOrderSuccessCondition.FullFill);
  console.log('sig', sig, rpc.transactionStatus(sig));
  const tx = await connection.getTransaction(sig, { commitment: 'confirmed', maxSupportedTransactionVersion: 0 });
  const events = parseLogs(client.program, tx!.meta!.logMessages!);
  console.log(events.map(e => [e.name, JSON.stringify(e.data).slice(0, 300)]));
  await client.fetchAccounts();
  console.log('pos', u.getPerpPosition(0)?.baseAssetAmount.toString(), u.getPerpPosition(0)?.quoteAssetAmount.toString(), u.getHealth(), u.getLeverage().toString());
  await client.unsubscribe();
  await rpc.stop();
});
