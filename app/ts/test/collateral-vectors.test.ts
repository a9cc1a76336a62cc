/**
 * perp-core's collateral numbers (collateral.json, written by the Rust test at each run)
 * reproduced by the TypeScript port: every token value, tokens-for-value, square root, size
 * weight, holding value (and its part of health), sale, liquidation size and error, and the
 * program's `holding_value` by price need.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
    ceilSqrt,
    collateralLiquidation,
    collateralPart,
    collateralValue,
    holdingValue,
    saleOf,
    sizeWeight,
    tokensForValue,
    tokenValue,
    type CollateralPricing,
    type CollateralSale,
    type PriceNeed,
    type Result,
    type SaleTerms,
} from '../src/risk.js';
import { rustFixture } from './fixtures.js';

let cached: any;
/** Read at the first test, so a missing fixture fails these tests and not the whole run. */
const vectors = () => (cached ??= rustFixture('collateral.json'));

const str = (v: bigint) => v.toString();
function json<T>(r: Result<T>, f: (v: T) => unknown): unknown {
    return r.ok ? f(r.value) : { error: r.error };
}
const sale = (s: CollateralSale) => ({
    tokens: str(s.tokens),
    toAccount: str(s.toAccount),
    fromLiquidator: str(s.fromLiquidator),
    toInsurance: str(s.toInsurance),
});
const value = (v: { maintenance: bigint; initial: bigint }) => ({ maintenance: str(v.maintenance), initial: str(v.initial) });
const terms = (t: any): SaleTerms => ({
    price: BigInt(t.price),
    valuePrice: BigInt(t.valuePrice),
    decimals: t.decimals,
    maintenanceWeight: BigInt(t.maintenanceWeight),
    discount: BigInt(t.discount),
    liquidatorShare: BigInt(t.liquidatorShare),
});
const pricing = (c: any): CollateralPricing => ({
    decimals: c.decimals,
    initialWeight: BigInt(c.initialWeight),
    maintenanceWeight: BigInt(c.maintenanceWeight),
    imf: BigInt(c.imf),
    liquidationDiscount: BigInt(c.liquidationDiscount),
    liquidatorShare: BigInt(c.liquidatorShare),
    status: c.status,
    maxAge: BigInt(c.maxAge),
    samplePeriod: BigInt(c.samplePeriod),
    lastPrice: BigInt(c.lastPrice),
    lastPriceTime: BigInt(c.lastPriceTime),
    lastPriceSlot: BigInt(c.lastPriceSlot),
    priceTwap: BigInt(c.priceTwap),
    priceTwapTime: BigInt(c.priceTwapTime),
});

/** Compares every case of `name` with what `f` computes from it; reports the first mismatches. */
function reproduce(name: string, f: (c: any) => unknown, min: number): void {
    const cases: any[] = vectors()[name];
    assert.ok(Array.isArray(cases) && cases.length >= min, `collateral.json: ${name} has ${cases?.length} cases`);
    const failures: string[] = [];
    for (const [i, c] of cases.entries()) {
        let got: unknown;
        try {
            got = f(c);
            assert.deepStrictEqual(got, c);
        } catch (e) {
            if (failures.length < 5) failures.push(`${name}[${i}]: expected ${JSON.stringify(c)}\n  got ${got === undefined ? e : JSON.stringify(got)}`);
        }
    }
    const errors = cases.filter((c) => JSON.stringify(c).includes('"error"')).length;
    console.log(`collateral: ${name} ${cases.length - failures.length}/${cases.length} matched (${errors} with an error value)`);
    assert.equal(failures.length, 0, failures.join('\n'));
}

test('collateral vectors: token values', () => {
    reproduce('tokenValue', (c) => ({
        ...c,
        value: json(tokenValue(BigInt(c.amount), c.decimals, BigInt(c.price), c.round), str),
    }), 500);
});

test('collateral vectors: tokens for a value', () => {
    reproduce('tokensForValue', (c) => ({
        ...c,
        tokens: json(tokensForValue(BigInt(c.value), c.decimals, BigInt(c.price), c.round), str),
    }), 300);
});

test('collateral vectors: square roots rounded up', () => {
    const cases: [string, string][] = vectors().ceilSqrt;
    assert.ok(cases.length >= 100);
    for (const [n, s] of cases) assert.equal(str(ceilSqrt(BigInt(n))), s, `ceilSqrt(${n})`);
    console.log(`collateral: ceilSqrt ${cases.length}/${cases.length} matched`);
});

test('collateral vectors: size weights', () => {
    reproduce('sizeWeight', (c) => ({
        ...c,
        result: json(sizeWeight(BigInt(c.weight), BigInt(c.imf), BigInt(c.value)), str),
    }), 100);
});

test('collateral vectors: holding values and their part of health', () => {
    reproduce('collateralValue', (c) => {
        const risk = {
            decimals: c.risk.decimals,
            initialWeight: BigInt(c.risk.initialWeight),
            maintenanceWeight: BigInt(c.risk.maintenanceWeight),
            imf: BigInt(c.risk.imf),
        };
        const v = collateralValue(BigInt(c.amount), risk, BigInt(c.index), BigInt(c.strict), c.initialAllowed);
        const part = v.ok ? collateralPart(v.value) : null;
        return {
            ...c,
            result: json(v, value),
            part:
                part && part.ok
                    ? {
                          equity: str(part.value.equity),
                          equityWithoutProfit: str(part.value.equityWithoutProfit),
                          initial: str(part.value.initial),
                          maintenance: str(part.value.maintenance),
                          notional: str(part.value.notional),
                      }
                    : null,
        };
    }, 1000);
});

test('collateral vectors: sales', () => {
    reproduce('saleOf', (c) => ({ ...c, sale: json(saleOf(BigInt(c.tokens), terms(c.terms)), sale) }), 150);
});

test('collateral vectors: liquidation sizes', () => {
    reproduce('liquidation', (c) => ({
        ...c,
        sale: json(
            collateralLiquidation(BigInt(c.shortfall), BigInt(c.owed), BigInt(c.balance), BigInt(c.maxTokens), terms(c.terms)),
            sale,
        ),
    }), 1000);
});

test('collateral vectors: the program\'s holding value by price need', () => {
    reproduce('holding', (c) => ({
        ...c,
        result: json(holdingValue(pricing(c.collateral), BigInt(c.amount), c.need as PriceNeed, BigInt(c.now), BigInt(c.slot)), value),
    }), 1000);
});
