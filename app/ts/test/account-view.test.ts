/**
 * The account view (views.json, written by the Rust test at each run from accounts of a bank run:
 * cross positions in two markets, an isolated position, SOL collateral, wBTC collateral that
 * follows the BTC market, funding accrued; at three sets of prices) reproduced by
 * `accountView`: health, and per position the liquidation price, PnL, notional, funding owed, entry.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCollateral, decodeMarginAccount, decodeMarket } from '../src/accounts.js';
import { accountView, type MarketLive } from '../src/account-view.js';
import type { Collateral } from '../src/generated/accounts/index.js';
import { rustFixture } from './fixtures.js';

const v = rustFixture('views.json');
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

test('account health and liquidation prices as the Rust SDK computes them', () => {
    let positions = 0;
    let withLiq = 0;
    for (const c of v.cases) {
        const markets = new Map<number, MarketLive>();
        for (const m of c.markets) {
            const market = decodeMarket(hex(m.data));
            markets.set(market.marketIndex, { market, index: BigInt(m.index), mark: BigInt(m.mark) });
        }
        const collaterals = new Map<number, Collateral>();
        for (const x of c.collaterals) collaterals.set(x.index, decodeCollateral(hex(x.data)));
        for (const a of c.accounts) {
            const label = `${c.label}: ${a.name}`;
            const got = accountView(decodeMarginAccount(hex(a.data)), markets, collaterals, BigInt(c.now));
            assert.equal(got.cross.equity.toString(), a.equity, `${label} equity`);
            assert.equal(got.cross.initial.toString(), a.initial, `${label} initial`);
            assert.equal(got.cross.maintenance.toString(), a.maintenance, `${label} maintenance`);
            for (const [slot, eq, mm] of a.isolated) {
                assert.equal(got.isolated.get(slot)?.equity.toString(), eq, `${label} isolated equity`);
                assert.equal(got.isolated.get(slot)?.maintenance.toString(), mm, `${label} isolated maintenance`);
            }
            assert.equal(got.positions.length, a.positions.length, label);
            for (const p of a.positions) {
                const q = got.positions.find((x) => x.slot === p.slot)!;
                const l = `${label} slot ${p.slot}`;
                assert.equal(q.liquidationPrice?.toString() ?? null, p.liquidationPrice, `${l} liquidation price`);
                assert.equal(q.upnl.toString(), p.upnl, `${l} upnl`);
                assert.equal(q.notional.toString(), p.notional, `${l} notional`);
                assert.equal(q.fundingOwed.toString(), p.fundingOwed, `${l} funding owed`);
                assert.equal(q.entryPrice?.toString() ?? null, p.entry, `${l} entry`);
                assert.equal(q.maintenance.toString(), p.maintenance, `${l} maintenance`);
                positions++;
                if (p.liquidationPrice !== null) withLiq++;
            }
        }
    }
    assert.ok(positions >= 18 && withLiq >= 12, `${positions} positions, ${withLiq} with a liquidation price`);
});
