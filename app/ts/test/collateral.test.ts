/**
 * Listed collateral without fixtures: the hand-computed cases of perp-core's collateral tests
 * (crates/perp-core/src/collateral.rs, exact numbers), the program's holding valuation by price
 * need, the collateral PDAs (against the IDL's seeds) and the builders' accounts (against the
 * IDL's account order and flags and the generated data encoders).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import {
    AccountRole,
    getAddressDecoder,
    isSignerRole,
    isWritableRole,
    type AccountMeta,
    type Address,
} from '@solana/kit';
import * as client from '../src/index.js';
import { pda, risk, type PerpInstruction } from '../src/index.js';
import type { Collateral, MarginAccount } from '../src/generated/accounts/index.js';
import { COLLATERAL_DISCRIMINATOR, getCollateralSize } from '../src/generated/accounts/index.js';
import * as gen from '../src/generated/instructions/index.js';
import { findCollateralPda, findVaultPda } from '../src/generated/pdas/index.js';
import type { CollateralPricing, SaleTerms } from '../src/collateral-risk.js';
import { readJson, REPO_DIR } from './fixtures.js';

const USD = 1_000_000n;
const R = 1_000_000_000n;
const U64_MAX = (1n << 64n) - 1n;
const I64_MAX = (1n << 63n) - 1n;

function ok<T>(r: risk.Result<T>): T {
    if (!r.ok) assert.fail(`unexpected error ${r.error}`);
    return r.value;
}
function err<T>(r: risk.Result<T>): string {
    if (r.ok) assert.fail(`expected an error, got ${String(r.value)}`);
    return r.error;
}

// ---- perp-core's hand-computed tests -----------------------------------------------------

test('values across decimals by hand', () => {
    // 1.5 SOL (9 decimals) at 150.25 = 225.375 USD
    assert.equal(ok(risk.tokenValue(1_500_000_000n, 9, 150_250_000n, 'down')), 225_375_000n);
    // 0.01 BTC (8 decimals) at 60,000 = 600 USD
    assert.equal(ok(risk.tokenValue(1_000_000n, 8, 60_000n * USD, 'down')), 600n * USD);
    // 3 raw USDC (6 decimals) at 0.87 = 2.61 raw
    assert.equal(ok(risk.tokenValue(3n, 6, 870_000n, 'down')), 2n);
    assert.equal(ok(risk.tokenValue(3n, 6, 870_000n, 'up')), 3n);
    assert.equal(ok(risk.tokensForValue(600n * USD, 8, 60_000n * USD, 'down')), 1_000_000n);
    assert.equal(err(risk.tokenValue(1n, 13, 1n, 'down')), 'InvalidParameter("collateral decimals above 12")');
    assert.equal(ok(risk.tokenValue(1n, 12, 1n, 'up')), 1n);
    // the errors of tokens_for_value, in Rust's order
    assert.equal(err(risk.tokensForValue(-1n, 13, 0n, 'down')), 'InvalidParameter("negative value")');
    assert.equal(err(risk.tokensForValue(1n, 13, 0n, 'down')), 'DivisionByZero');
    assert.equal(err(risk.tokensForValue(1n, 13, 1n, 'down')), 'InvalidParameter("collateral decimals above 12")');
    assert.equal(err(risk.tokensForValue(I64_MAX, 12, 1n, 'down')), 'Overflow');
    assert.equal(err(risk.tokenValue(U64_MAX, 0, U64_MAX, 'down')), 'Overflow');
    assert.throws(() => risk.tokenValue(-1n, 6, 1n, 'down'), RangeError);
    assert.throws(() => risk.tokenValue(1n, 256, 1n, 'down'), RangeError);
});

test('ceil_sqrt is exact', () => {
    for (const n of [0n, 1n, 2n, 3n, 4n, 15n, 16n, 17n, 1n << 40n, (1n << 40n) + 1n, U64_MAX, U64_MAX - 1n]) {
        const s = risk.ceilSqrt(n);
        assert.ok(s * s >= n, `${n}`);
        assert.ok(s === 0n || (s - 1n) * (s - 1n) < n, `${n}`);
    }
    assert.equal(risk.ceilSqrt(U64_MAX), 1n << 32n);
    assert.equal(risk.ceilSqrt(1_000_000_000n), 31_623n);
});

test('size weight by hand', () => {
    // imf 0.001 per sqrt(USD); 1,000,000 USD -> sqrt 1,000 -> 1.1 / (1 + 1) = 0.55
    assert.equal(ok(risk.sizeWeight(800_000_000n, 1_000_000n, 1_000_000n * USD)), 550_000_000n);
    // small holdings keep their weight: 10,000 USD -> 1.1 / 1.1 = 1 > 0.8
    assert.equal(ok(risk.sizeWeight(800_000_000n, 1_000_000n, 10_000n * USD)), 800_000_000n);
    assert.equal(ok(risk.sizeWeight(800_000_000n, 0n, I64_MAX)), 800_000_000n);
    // never increases with size
    let last = R;
    for (const v of [1n, 1_000n, 1_000_000n, 1n << 40n, 1n << 55n, I64_MAX]) {
        const w = ok(risk.sizeWeight(R, 1_000_000n, v));
        assert.ok(w <= last);
        last = w;
    }
});

test('collateral value prices initial strictly', () => {
    const r = { decimals: 9, initialWeight: 800_000_000n, maintenanceWeight: 900_000_000n, imf: 0n };
    // 10 SOL, index 100, time-weighted 110: maintenance 1,000 x 0.9; initial 1,000 x 0.8
    assert.deepStrictEqual(ok(risk.collateralValue(10_000_000_000n, r, 100n * USD, 110n * USD, true)), {
        maintenance: 900n * USD,
        initial: 800n * USD,
    });
    // time-weighted 90 (a spike up): initial at 90
    assert.equal(ok(risk.collateralValue(10_000_000_000n, r, 100n * USD, 90n * USD, true)).initial, 720n * USD);
    assert.equal(ok(risk.collateralValue(10_000_000_000n, r, 100n * USD, 90n * USD, false)).initial, 0n);
    // the initial value never exceeds the maintenance value
    const even = { ...r, initialWeight: R, maintenanceWeight: 500_000_000n };
    const v = ok(risk.collateralValue(10_000_000_000n, even, 100n * USD, 100n * USD, true));
    assert.equal(v.initial, v.maintenance);
});

const terms = (): SaleTerms => ({
    price: 100n * USD,
    valuePrice: 100n * USD,
    decimals: 9,
    maintenanceWeight: 900_000_000n,
    discount: 50_000_000n,
    liquidatorShare: 500_000_000n,
});

test('sale amounts by hand', () => {
    // 1 SOL at 100: account gets 95, liquidator pays 97.5, insurance 2.5
    const s = ok(risk.saleOf(1_000_000_000n, terms()));
    assert.equal(s.toAccount, 95n * USD);
    assert.equal(s.fromLiquidator, 97_500_000n);
    assert.equal(s.toInsurance, 2_500_000n);
    // one raw unit: 10^-7 USD -> account 0, liquidator pays 1 raw (rounded up)
    const one = ok(risk.saleOf(1n, terms()));
    assert.deepStrictEqual([one.toAccount, one.fromLiquidator], [0n, 1n]);
    // a discount above 1 makes the account's rate negative: u128 wrap, then Overflow, as in Rust
    assert.equal(err(risk.saleOf(1n, { ...terms(), discount: 1_500_000_000n })), 'Overflow');
    assert.equal(ok(risk.saleOf(0n, { ...terms(), discount: 1_500_000_000n })).toAccount, 0n);
});

test('liquidation sells just enough', () => {
    // each SOL adds 100 x (1 - 0.05 - 0.9) = 5 to equity - target: 12 short -> 2.4 SOL
    let s = ok(risk.collateralLiquidation(12n * USD, 1_000n * USD, 10_000_000_000n, U64_MAX, terms()));
    assert.equal(s.tokens, 2_400_000_000n);
    assert.equal(s.toAccount, 228n * USD);
    // the gain in equity covers the shortfall: credit - maintenance value given up
    const lost = (ok(risk.tokenValue(s.tokens, 9, 100n * USD, 'up')) * 900_000_000n + R - 1n) / R;
    assert.ok(s.toAccount - lost >= 12n * USD);
    // bounded by what the account owes: 50 owed -> ceil(50 / 95) SOL
    s = ok(risk.collateralLiquidation(12n * USD, 50n * USD, 10_000_000_000n, U64_MAX, terms()));
    assert.equal(s.tokens, 526_315_790n);
    assert.ok(s.toAccount >= 50n * USD && s.toAccount < 50n * USD + 100n);
    // by the balance and the liquidator's bound
    assert.equal(ok(risk.collateralLiquidation(12n * USD, 1_000n * USD, 1_000_000_000n, U64_MAX, terms())).tokens, 1_000_000_000n);
    assert.equal(ok(risk.collateralLiquidation(12n * USD, 1_000n * USD, 10_000_000_000n, 7n, terms())).tokens, 7n);
    // nothing when nothing is short or owed
    assert.equal(ok(risk.collateralLiquidation(0n, 5n, 10n, 10n, terms())).tokens, 0n);
    assert.equal(ok(risk.collateralLiquidation(5n, 0n, 10n, 10n, terms())).tokens, 0n);
    assert.equal(
        err(risk.collateralLiquidation(5n, 5n, 10n, 10n, { ...terms(), discount: 100_000_000n })),
        'InvalidParameter("discount + maintenance weight must be below 1")',
    );
    assert.ok(!risk.collateralLiquidation(5n, 5n, 10n, 10n, { ...terms(), discount: -1n }).ok);
    assert.ok(!risk.collateralLiquidation(5n, 5n, 10n, 10n, { ...terms(), price: 0n, valuePrice: 0n }).ok);
    // a shortfall too large for the u128 product
    assert.equal(err(risk.collateralLiquidation(I64_MAX, 5n, 10n, 10n, { ...terms(), decimals: 12 })), 'Overflow');
});

test('liquidation after a fall below the time-weighted value', () => {
    // valued at 104 (time-weighted), sold at 100: a token adds 95 - 93.6 = 1.4 -> 12 / 1.4
    const t = { ...terms(), valuePrice: 104n * USD };
    assert.equal(ok(risk.collateralLiquidation(12n * USD, 1_000n * USD, 100n * R, U64_MAX, t)).tokens, 8_571_428_572n);
    // valued at 110: a token adds nothing toward the target; only what is owed bounds the sale
    t.valuePrice = 110n * USD;
    assert.equal(ok(risk.collateralLiquidation(12n * USD, 95n * USD, 100n * R, U64_MAX, t)).tokens, 1_000_000_000n);
    // a valuation below the sale price is refused
    t.valuePrice = 99n * USD;
    assert.ok(!risk.collateralLiquidation(12n * USD, 95n * USD, 10n, 10n, t).ok);
});

test('liquidation never pays the liquidator less than the account gets', () => {
    for (const tokens of [0n, 1n, 2n, 3n, 999n, 1_000_000_007n, (1n << 32n) - 1n]) {
        for (const decimals of [6, 8, 9]) {
            const t = { ...terms(), decimals };
            const s = ok(risk.saleOf(tokens, t));
            assert.ok(s.toInsurance >= 0n);
            assert.ok(s.toAccount <= ok(risk.tokenValue(tokens, decimals, t.price, 'down')));
        }
    }
});

// ---- health ------------------------------------------------------------------------------

test('a holding counts its maintenance value as equity and the gap as initial requirement', () => {
    const v = { maintenance: 900n * USD, initial: 800n * USD };
    const part = ok(risk.collateralPart(v));
    assert.deepStrictEqual(
        [part.equity, part.equityWithoutProfit, part.initial, part.maintenance, part.notional],
        [900n * USD, 900n * USD, 100n * USD, 0n, 0n],
    );
    const h = new risk.Health(1_000n * USD);
    ok(h.addCollateral(v));
    assert.equal(h.equity, 1_900n * USD);
    assert.equal(ok(h.freeCollateral()), 1_800n * USD); // 1,000 + the initial value 800
    assert.equal(ok(h.withdrawable(1_000n * USD)), 1_000n * USD);
    // a position merged in as a part gives the same health as adding it
    const tiers = [{ cap: I64_MAX, imr: 100_000_000n, mmr: 50_000_000n }];
    const pos = { base: 1_000_000_000n, quoteEntry: -20_000n * USD };
    const a = new risk.Health(0n);
    ok(a.addPosition(pos, 19_000n * USD, 0n, tiers));
    const b = new risk.Health(1_000n * USD);
    ok(b.merge(a));
    const c = new risk.Health(1_000n * USD);
    ok(c.addPosition(pos, 19_000n * USD, 0n, tiers));
    assert.deepStrictEqual({ ...b }, { ...c });
    const big = new risk.Health(I64_MAX);
    assert.equal(err(big.merge(new risk.Health(1n))), 'Overflow');
});

// ---- the program's valuation by price need ------------------------------------------------

const listed = (over: Partial<CollateralPricing> = {}): CollateralPricing => ({
    decimals: 9,
    initialWeight: 800_000_000n,
    maintenanceWeight: 900_000_000n,
    imf: 1_000_000n,
    liquidationDiscount: 50_000_000n,
    liquidatorShare: 500_000_000n,
    status: 0,
    maxAge: 60n,
    samplePeriod: 600n,
    lastPrice: 100n * USD,
    lastPriceTime: 1_000n,
    lastPriceSlot: 500n,
    priceTwap: 110n * USD,
    priceTwapTime: 1_000n,
    ...over,
});
const SOL10 = 10_000_000_000n;

test('holding value by price need', () => {
    const c = listed();
    // new risk: maintenance at the index, initial at min(index, twap) with the weight 0.8 (the
    // size weight of 1,000 USD is 1.1 / (1 + 0.001 x 31.623) > 0.8)
    assert.deepStrictEqual(ok(risk.holdingValue(c, SOL10, 'adding', 1_000n, 500n)), { maintenance: 900n * USD, initial: 800n * USD });
    // a liquidation values maintenance at the account-favourable time-weighted 110
    assert.deepStrictEqual(ok(risk.holdingValue(c, SOL10, 'liquidation', 1_000n, 504n)), { maintenance: 990n * USD, initial: 800n * USD });
    assert.equal(err(risk.holdingValue(c, SOL10, 'withdraw', 1_000n, 505n)), 'IndexNotRefreshed');
    assert.equal(ok(risk.holdingValue(c, SOL10, 'lenient', 1_000n, 505n)).maintenance, 990n * USD);
    assert.equal(err(risk.holdingValue(c, SOL10, 'adding', 1_061n, 500n)), 'StaleCollateralPrice');
    assert.equal(err(risk.holdingValue(c, SOL10, 'liquidation', 1_061n, 500n)), 'StaleCollateralPrice');
    // reducing and a stop's check never fail on a late price; a dead price (more than 15 min past
    // max_age) counts nothing
    assert.equal(ok(risk.holdingValue(c, SOL10, 'tolerant', 1_061n, 9_999n)).maintenance, 900n * USD);
    assert.ok(ok(risk.holdingValue(c, SOL10, 'lenient', 1_061n, 9_999n)).maintenance >= 900n * USD);
    assert.equal(err(risk.holdingValue(c, SOL10, 'liquidation', 1_000n + 960n, 500n)), 'StaleCollateralPrice');
    assert.deepStrictEqual(ok(risk.holdingValue(c, SOL10, 'tolerant', 1_000n + 961n, 500n)), { maintenance: 0n, initial: 0n });
    assert.deepStrictEqual(ok(risk.holdingValue(c, SOL10, 'liquidation', 1_000n + 961n, 500n)), { maintenance: 0n, initial: 0n });
    // withdraw-only: nothing for initial margin
    assert.equal(ok(risk.holdingValue(listed({ status: 2 }), SOL10, 'adding', 1_000n, 500n)).initial, 0n);
    // perp-core's errors become the program's
    assert.equal(err(risk.holdingValue(listed({ decimals: 13 }), SOL10, 'adding', 1_000n, 500n)), 'InvalidMarketParams');
    const huge = listed({ lastPrice: U64_MAX / 2n, priceTwap: U64_MAX / 2n });
    assert.equal(err(risk.holdingValue(huge, U64_MAX, 'adding', 1_000n, 500n)), 'MathOverflow');
    // the time-weighted price moves half way in half the window
    assert.equal(ok(risk.collateralTwapNow(c, 1_300n)), 105n * USD);
    assert.equal(ok(risk.collateralTwapNow(c, 999n)), 110n * USD);
    assert.equal(ok(risk.collateralTwapNow(listed({ priceTwap: 0n }), 1_300n)), 100n * USD);
    assert.deepStrictEqual(risk.saleTerms(c, 100n * USD, 110n * USD), { ...terms(), valuePrice: 110n * USD });
});

// ---- PDAs --------------------------------------------------------------------------------

const key = (n: number): Address => getAddressDecoder().decode(new Uint8Array(32).fill(n));

test('collateral PDAs: deterministic, distinct, and the IDL seeds', async () => {
    assert.equal(pda.COLLATERAL_SEED, 'collateral');
    assert.equal(pda.MINT_VAULT_SEED, 'mint_vault');
    assert.equal(await pda.collateral(1), await pda.collateral(1));
    assert.equal(await pda.mintVault(key(30)), await pda.mintVault(key(30)));
    const all = [
        ...(await Promise.all([0, 1, 2, 8, 256, 65535].map((i) => pda.collateral(i)))),
        await pda.mintVault(key(30)),
        await pda.mintVault(key(31)),
        await pda.market(1),
        await pda.collateralVault(),
    ];
    assert.equal(new Set(all).size, all.length);
    for (const i of [0, 1, 2, 8, 256, 65535]) assert.equal(await pda.collateral(i), (await findCollateralPda({ collateralIndex: i }))[0]);
    for (const m of [key(30), key(31)]) assert.equal(await pda.mintVault(m), (await findVaultPda({ mint: m }))[0]);
    await assert.rejects(() => pda.collateral(70_000));
    await assert.rejects(() => pda.collateral(-1));
});

// ---- builders ----------------------------------------------------------------------------

const idl = readJson(join(REPO_DIR, 'idl/perp.json'));
const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Checks `ix` against the IDL's instruction `name`: its accounts in the IDL's order with the
 * IDL's signer and writable flags and the `expected` addresses, then `remaining` read-only.
 */
function checkAccounts(ix: PerpInstruction, name: string, expected: Record<string, Address>, remaining: Address[]) {
    const def = idl.instructions.find((i: any) => i.name === name);
    assert.ok(def, `no instruction ${name} in the IDL`);
    assert.deepStrictEqual([...ix.data.slice(0, 8)], def.discriminator, `${name}: discriminator`);
    const want = def.accounts.map((a: any) => [expected[camel(a.name)], !!a.signer, !!a.writable]);
    for (const [i, w] of want.entries()) assert.ok(w[0], `${name}: no expected address for ${def.accounts[i].name}`);
    const got = ix.accounts.map((m: AccountMeta) => [m.address, isSignerRole(m.role), isWritableRole(m.role)]);
    assert.deepStrictEqual(got, [...want, ...remaining.map((a) => [a, false, false])], `${name}: accounts`);
}

test('collateral builders: the IDL account order, the data encoders, remaining accounts last', async () => {
    const [owner, token, liquidator, admin, proposer, mint] = [key(1), key(3), key(4), key(9), key(8), key(30)];
    const acct = await pda.marginAccount(owner, 0);
    const liqAcct = await pda.marginAccount(liquidator, 7);
    const oracles = [key(10), key(11)];
    const exchange = await pda.exchange();
    const tokenProgram = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA' as Address;
    const systemProgram = '11111111111111111111111111111111' as Address;

    let ix = await client.executeListCollateral({ payer: admin, id: 7n, proposer, mint, collateralIndex: 1 });
    checkAccounts(ix, 'execute_list_collateral', {
        payer: admin, exchange, proposal: await pda.proposal(7), proposer, mint,
        collateral: await pda.collateral(1), vault: await pda.mintVault(mint), tokenProgram, systemProgram,
    }, []);
    assert.deepStrictEqual(ix.data, gen.getExecuteListCollateralInstructionDataEncoder().encode({ collateralIndex: 1 }));

    ix = await client.executeUpdateCollateral({ executor: admin, id: 8, proposer, collateralIndex: 3 });
    checkAccounts(ix, 'execute_update_collateral', {
        executor: admin, exchange, proposal: await pda.proposal(8), proposer, collateral: await pda.collateral(3),
    }, []);

    const tightening = { initialWeight: 700_000_000n, imf: 1_000_000n, depositCap: U64_MAX, status: 1 };
    ix = await client.tightenCollateral({ admin, collateralIndex: 2, tightening });
    checkAccounts(ix, 'tighten_collateral', { admin, exchange, collateral: await pda.collateral(2) }, []);
    assert.deepStrictEqual(ix.data, gen.getTightenCollateralInstructionDataEncoder().encode(tightening));

    ix = await client.refreshCollateral({ collateralIndex: 1, oracles });
    checkAccounts(ix, 'refresh_collateral', { exchange, collateral: await pda.collateral(1) }, oracles);

    ix = await client.depositCollateral({ authority: owner, marginAccount: acct, collateralIndex: 1, mint, userToken: token, amount: 1_500_000_000n });
    checkAccounts(ix, 'deposit_collateral', {
        authority: owner, exchange, marginAccount: acct, collateral: await pda.collateral(1), userToken: token,
        vault: await pda.mintVault(mint), tokenProgram,
    }, []);
    assert.deepStrictEqual(ix.data, gen.getDepositCollateralInstructionDataEncoder().encode({ amount: 1_500_000_000n }));

    ix = await client.withdrawCollateral({
        owner, marginAccount: acct, collateralIndex: 2, mint, userToken: token, amount: U64_MAX, crossMarkets: [0, 2], otherCollateral: [1, 3],
    });
    checkAccounts(ix, 'withdraw_collateral', {
        owner, exchange, marginAccount: acct, collateral: await pda.collateral(2), userToken: token,
        vault: await pda.mintVault(mint), tokenProgram,
    }, [await pda.market(0), await pda.market(2), await pda.collateral(1), await pda.collateral(3)]);
    assert.deepStrictEqual(ix.data, gen.getWithdrawCollateralInstructionDataEncoder().encode({ amount: U64_MAX }));

    ix = await client.liquidateCollateral({
        liquidator, marginAccount: acct, liquidatorAccount: liqAcct, collateralIndex: 2, mint, liquidatorToken: token,
        marketIndex: 1, maxTokens: 12_345n, markets: [0, 1], otherCollateral: [1],
    });
    checkAccounts(ix, 'liquidate_collateral', {
        liquidator, exchange, marginAccount: acct, liquidatorAccount: liqAcct, collateral: await pda.collateral(2),
        market: await pda.market(1), vault: await pda.mintVault(mint), liquidatorToken: token, tokenProgram,
    }, [await pda.market(0), await pda.market(1), await pda.collateral(1)]);
    assert.deepStrictEqual(ix.data, gen.getLiquidateCollateralInstructionDataEncoder().encode({ maxTokens: 12_345n }));
});

const holding = (collateralIndex: number, amount: bigint) => ({ amount, collateralIndex, pad: new Uint8Array(6) });

test('held collateral and the remaining accounts of margin checks', async () => {
    const a = { collaterals: [holding(2, 5n), holding(0, 9n), holding(3, 0n), holding(1, 1n)] } as unknown as MarginAccount;
    assert.deepStrictEqual(client.heldCollateral(a), [2, 1]);
    assert.deepStrictEqual(client.heldCollateral(a, 2), [1]);
    const l = { collaterals: [holding(4, 1n), holding(1, 7n), holding(2, 3n), holding(0, 0n)] } as unknown as MarginAccount;
    assert.deepStrictEqual(client.liquidationCollateral(a, l, 2), [1, 4]);
    assert.deepStrictEqual(await client.collateralMetas([2, 1]), [
        { address: await pda.collateral(2), role: AccountRole.READONLY },
        { address: await pda.collateral(1), role: AccountRole.READONLY },
    ]);
    // a margin-checked instruction: the collateral accounts after its markets
    const owner = key(1);
    const w = await client.withdraw({ owner, marginAccount: key(2), userToken: key(3), amount: 1n, positionMarkets: [0] });
    const ww = await client.withCollateral(w, client.heldCollateral(a));
    assert.deepStrictEqual(ww.accounts.slice(0, w.accounts.length), w.accounts);
    assert.deepStrictEqual(ww.accounts.slice(w.accounts.length).map((m) => [m.address, m.role]), [
        [await pda.collateral(2), AccountRole.READONLY],
        [await pda.collateral(1), AccountRole.READONLY],
    ]);
    assert.deepStrictEqual(ww.data, w.data);
    assert.ok(Object.isFrozen(ww));
});

test('Collateral accounts decode with the discriminator and size checked', () => {
    const data = new Uint8Array(getCollateralSize());
    data.set(COLLATERAL_DISCRIMINATOR);
    data[8] = 7; // first byte of the mint
    const c: Collateral = client.decodeCollateral(data);
    assert.equal(c.mint, getAddressDecoder().decode(data.slice(8, 40)));
    assert.equal(client.identifyAccount(data), 'Collateral');
    assert.equal(client.decodeAnyAccount(data).kind, 'Collateral');
    assert.throws(() => client.decodeCollateral(data.slice(0, 100)), client.AccountDecodeError);
    assert.deepStrictEqual(client.collateralOracles({ ...c, numOracles: 0 }), []);
    assert.equal(getCollateralSize(), 8 + 976); // the discriminator and COLLATERAL_SIZE
});
