/**
 * Real account bytes and event logs from a bank run (accounts.json, written by the Rust test):
 * the TypeScript decoders give the values the Rust types decode them to.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
    AccountDecodeError,
    decodeAnyAccount,
    decodeExchange,
    decodeMarginAccount,
    decodeMarket,
    identifyAccount,
    marketTiers,
    nameString,
    parseEvents,
    pda,
    POSITION_IN_USE,
    wideI128,
    wideU128,
} from '../src/index.js';
import { rustFixture } from './fixtures.js';

const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const s = (v: bigint | number) => v.toString();

test('Exchange decodes to the Rust values', async () => {
    const f = rustFixture('accounts.json').exchange;
    assert.equal(f.address, await pda.exchange());
    const ex = decodeExchange(bytes(f.data));
    assert.deepStrictEqual(
        {
            admin: ex.admin,
            collateralMint: ex.collateralMint,
            feeInsuranceShare: s(ex.feeInsuranceShare),
            marketCount: ex.marketCount,
            bump: ex.bump,
        },
        { admin: f.admin, collateralMint: f.collateralMint, feeInsuranceShare: f.feeInsuranceShare, marketCount: f.marketCount, bump: f.bump },
    );
    assert.equal(ex.collateralVault, await pda.collateralVault());
    assert.equal(ex.insuranceVault, await pda.insuranceVault());
});

test('Market decodes to the Rust values (128-bit fields included)', async () => {
    const f = rustFixture('accounts.json').market;
    assert.equal(f.address, await pda.market(0));
    const m = decodeMarket(bytes(f.data));
    const got = {
        name: nameString(m.name),
        oracle0: m.oracles[0].key,
        peg: s(m.peg),
        baseReserve: s(wideU128(m.baseReserve)),
        k: s(wideU128(m.k)),
        oiLong: s(m.oiLong),
        oiShort: s(m.oiShort),
        feePool: s(m.feePool),
        pnlPool: s(m.pnlPool),
        cumFundingLong: s(wideI128(m.cumFundingLong)),
        cumFundingShort: s(wideI128(m.cumFundingShort)),
        lastFundingRate: s(m.lastFundingRate),
        takerFee: s(m.takerFee),
        tiers: marketTiers(m).map((t) => [s(t.cap), s(t.imr), s(t.mmr)]),
    };
    const { address: _a, data: _d, ...expected } = f;
    assert.deepStrictEqual(got, expected);
    assert.equal(m.marketIndex, 0);
});

test('MarginAccounts decode to the Rust values', async () => {
    const accounts = rustFixture('accounts.json').marginAccounts;
    assert.ok(accounts.length >= 2);
    for (const f of accounts) {
        const a = decodeMarginAccount(bytes(f.data));
        assert.equal(f.address, await pda.marginAccount(a.owner, a.accountId));
        const got = {
            owner: a.owner,
            delegate: a.delegate,
            crossCollateral: s(a.crossCollateral),
            totalDeposits: s(a.totalDeposits),
            realizedPnl: s(a.realizedPnl),
            feesPaid: s(a.feesPaid),
            accountId: a.accountId,
            bump: a.bump,
            positions: a.positions
                .filter((p) => (p.flags & POSITION_IN_USE) !== 0)
                .map((p) => ({
                    marketIndex: p.marketIndex,
                    base: s(p.base),
                    quoteEntry: s(p.quoteEntry),
                    isolatedCollateral: s(p.isolatedCollateral),
                    fundingSnapshot: s(wideI128(p.fundingSnapshot)),
                    flags: p.flags,
                })),
        };
        const { address: _a, data: _d, ...expected } = f;
        assert.deepStrictEqual(got, expected, `margin account ${f.address}`);
    }
});

test('decoding checks the discriminator and the size', () => {
    const f = rustFixture('accounts.json');
    const ex = bytes(f.exchange.data);
    assert.equal(identifyAccount(ex), 'Exchange');
    assert.equal(decodeAnyAccount(bytes(f.market.data)).kind, 'Market');
    assert.throws(() => decodeMarket(ex), (e: unknown) => e instanceof AccountDecodeError && /discriminator mismatch.*Exchange account/.test(e.message));
    assert.throws(() => decodeExchange(ex.slice(0, ex.length - 1)), /size mismatch: expected 376 bytes, found 375/);
    const padded = new Uint8Array(ex.length + 8);
    padded.set(ex);
    assert.throws(() => decodeExchange(padded), /size mismatch/);
    assert.throws(() => decodeAnyAccount(new Uint8Array(16)), /unknown discriminator/);
});

test('the trade event decodes from the transaction logs', () => {
    const f = rustFixture('accounts.json');
    const events = parseEvents(f.tradeLogs);
    const trades = events.filter((e) => e.name === 'TradeExecuted');
    assert.equal(trades.length, 1, `events found: ${events.map((e) => e.name).join(', ')}`);
    const ev = trades[0];
    assert.ok(ev.name === 'TradeExecuted');
    const d = ev.data;
    assert.deepStrictEqual(
        {
            name: ev.name,
            marginAccount: d.marginAccount,
            marketIndex: d.marketIndex,
            base: s(d.base),
            quote: s(d.quote),
            avgPrice: s(d.avgPrice),
            fee: s(d.fee),
            newBase: s(d.newBase),
            newQuoteEntry: s(d.newQuoteEntry),
            isolated: d.isolated,
            byDelegate: d.byDelegate,
        },
        f.tradeEvent,
    );
    console.log(`events: TradeExecuted matched (source: ${f.eventsSource})`);
    // another program's data lines are not taken for this program's
    const foreign = ['Program Other1111111111111111111111111111111111 invoke [1]', ...f.tradeLogs.filter((l: string) => l.startsWith('Program data: ')), 'Program Other1111111111111111111111111111111111 success'];
    assert.equal(parseEvents(foreign).length, 0);
});

test('128-bit fields: two\'s complement little-endian, as WideI128 / WideU128 store them', () => {
    const le = (v: bigint) => {
        const b = new Uint8Array(16);
        const view = new DataView(b.buffer);
        view.setBigUint64(0, BigInt.asUintN(64, v), true);
        view.setBigUint64(8, BigInt.asUintN(64, v >> 64n), true);
        return { bytes: b };
    };
    for (const v of [0n, 1n, -1n, 253_750_000_000_000n, -253_750_000_000_000n, (1n << 127n) - 1n, -(1n << 127n)]) {
        assert.equal(wideI128(le(v)), v, `i128 ${v}`);
    }
    assert.equal(wideI128({ bytes: new Uint8Array(16).fill(0xff) }), -1n);
    assert.equal(wideU128({ bytes: new Uint8Array(16).fill(0xff) }), (1n << 128n) - 1n);
    assert.equal(wideU128(le(1_000n * 10n ** 21n)), 1_000n * 10n ** 21n);
    assert.throws(() => wideU128({ bytes: new Uint8Array(15) }), RangeError);
});
