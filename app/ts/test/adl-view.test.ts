/**
 * Pro-rata ADL in the account view (adl.json, written by the Rust test from a bank run of a
 * pro-rata crash after the round's step, before any winner is touched): the haircut each winner
 * owes, its equity with the haircut settled, and its expected share of a deficit, as the Rust SDK
 * (the program's own function for the haircut) computes them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Address } from '@solana/kit';
import { decodeMarginAccount, decodeMarket } from '../src/accounts.js';
import { accountView, adlShare, haircutOwed, type MarketLive } from '../src/account-view.js';
import { rustFixture } from './fixtures.js';

const v = rustFixture('adl.json');
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

test('pro-rata haircuts, equity and shares as the Rust SDK computes them', () => {
    const market = decodeMarket(hex(v.market));
    assert.equal(market.adlPolicy, 1);
    const ml: MarketLive = { market, index: BigInt(v.index), mark: BigInt(v.mark) };
    const markets = new Map([[0, ml]]);
    const accounts = v.accounts.map((a: any) => ({ address: a.address as Address, account: decodeMarginAccount(hex(a.data)) }));
    let owing = 0;
    for (const [i, a] of v.accounts.entries()) {
        const acct = accounts[i].account;
        const p = acct.positions.find((q: { marketIndex: number; flags: number }) => q.marketIndex === 0 && (q.flags & 1) !== 0);
        const owed = p ? haircutOwed(market, p) : 0n;
        assert.equal(owed.toString(), a.haircutOwed, `${a.name} haircut owed`);
        if (owed > 0n) owing++;
        const view = accountView(acct, markets, new Map(), BigInt(v.now));
        assert.equal(view.cross.equity.toString(), a.equity, `${a.name} equity`);
        const s = adlShare(a.address as Address, ml, accounts);
        assert.equal(s?.share.toString() ?? null, a.share, `${a.name} share`);
        assert.equal(s?.winners ?? null, a.winners, `${a.name} winners`);
    }
    assert.equal(owing, 3);
});
