/**
 * perp-core's risk numbers (risk.json, written by perp-core at each Rust run) reproduced by the
 * TypeScript port: every case's PnL, notional, requirements, health, liquidation and bankruptcy
 * prices, and every ADL quantile.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
    adlQuantile,
    bankruptcyPrice,
    Health,
    liquidationPrice,
    notional,
    requirement,
    upnl,
    type PositionState,
    type Result,
    type Tier,
} from '../src/risk.js';
import { rustFixture } from './fixtures.js';

/** A result as the Rust vectors print it: the value's JSON, or {"error": Debug}. */
function json<T>(r: Result<T>, f: (v: T) => unknown): unknown {
    return r.ok ? f(r.value) : { error: r.error };
}
const str = (v: bigint) => v.toString();

function riskCase(tiers: Tier[], c: any): unknown {
    const pos: PositionState = { base: BigInt(c.base), quoteEntry: BigInt(c.quoteEntry) };
    const collateral = BigInt(c.collateral);
    const mark = BigInt(c.mark);
    const n = notional(pos, mark);
    const health = new Health(collateral);
    const added = health.addPosition(pos, mark, 0n, tiers);
    return {
        table: c.table,
        base: c.base,
        quoteEntry: c.quoteEntry,
        collateral: c.collateral,
        mark: c.mark,
        upnl: json(upnl(pos, mark), str),
        notional: json(n, str),
        initial: n.ok ? json(requirement(tiers, n.value, 'initial'), str) : { error: n.error },
        maintenance: n.ok ? json(requirement(tiers, n.value, 'maintenance'), str) : { error: n.error },
        health: added.ok
            ? {
                  equity: str(health.equity),
                  initial: str(health.initial),
                  maintenance: str(health.maintenance),
                  liquidatable: health.isLiquidatable(),
                  freeCollateral: json(health.freeCollateral(), str),
                  marginRatio: json(health.marginRatio(), (r) => (r === null ? null : str(r))),
              }
            : { error: added.error },
        liquidationPrice:
            pos.base === 0n
                ? null
                : json(liquidationPrice(pos, collateral, tiers), (l) =>
                      l === null ? null : { price: str(l.price), tier: l.tier },
                  ),
        bankruptcyPrice: pos.base === 0n ? null : json(bankruptcyPrice(pos, collateral), str),
    };
}

test('risk vectors: every case of perp-core matches', () => {
    const risk = rustFixture('risk.json');
    const tables: Tier[][] = risk.tables.map((t: string[][]) =>
        t.map(([cap, imr, mmr]) => ({ cap: BigInt(cap), imr: BigInt(imr), mmr: BigInt(mmr) })),
    );
    assert.ok(risk.cases.length > 0, 'risk.json has no cases');
    const started = Date.now();
    let matched = 0;
    const failures: string[] = [];
    for (const [i, c] of risk.cases.entries()) {
        const got = riskCase(tables[c.table], c);
        try {
            assert.deepStrictEqual(got, c);
            matched++;
        } catch {
            if (failures.length < 5) failures.push(`case ${i}: expected ${JSON.stringify(c)}\n  got ${JSON.stringify(got)}`);
            else if (failures.length === 5) failures.push('...');
        }
    }
    const errors = risk.cases.filter((c: any) => JSON.stringify(c).includes('"error"')).length;
    console.log(
        `risk: ${matched}/${risk.cases.length} cases matched (${errors} with an error value) in ${Date.now() - started} ms`,
    );
    assert.equal(failures.length, 0, `risk mismatches:\n${failures.join('\n')}`);
});

test('risk vectors: every ADL quantile matches', () => {
    const risk = rustFixture('risk.json');
    assert.ok(risk.adlQuantile.length > 0);
    let matched = 0;
    for (const [rank, candidates, expected] of risk.adlQuantile) {
        assert.equal(adlQuantile(rank, candidates), expected, `adlQuantile(${rank}, ${candidates})`);
        matched++;
    }
    console.log(`risk: ${matched}/${risk.adlQuantile.length} ADL quantiles matched`);
});
