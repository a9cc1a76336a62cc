/**
 * perp-core's order rules (orders.json, written by the Rust test at each run) reproduced by the
 * TypeScript port: every trigger, every bound (or its error), the vAMM's largest fill within a
 * bound on 400 seeded curves, and every fill size.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fillBound, fillSize, maxSizeWithin, orderFillSize, triggerMet, type OrderSpec } from '../src/orders.js';
import { rustFixture } from './fixtures.js';

const v = rustFixture('orders.json');

test('triggers', () => {
    for (const c of v.triggers) {
        const o: OrderSpec = { kind: c.kind, side: c.side, limit: 0n, trigger: BigInt(c.trigger), slippage: 0n };
        assert.equal(triggerMet(o, BigInt(c.index)), c.met, JSON.stringify(c));
    }
    assert.ok(v.triggers.length >= 60);
});

test('fill bounds', () => {
    let errors = 0;
    for (const c of v.bounds) {
        const o: OrderSpec = { kind: c.kind, side: c.side, limit: BigInt(c.limit), trigger: 20_000_000_000n, slippage: BigInt(c.slippage) };
        let got: string | null;
        try {
            got = fillBound(o, BigInt(c.index), BigInt(c.band)).toString();
        } catch {
            got = null;
            errors++;
        }
        assert.equal(got, c.bound, JSON.stringify(c));
    }
    assert.ok(errors > 100 && errors < v.bounds.length - 100, `${errors} errors of ${v.bounds.length}`);
});

test('largest fill within a bound', () => {
    let nonzero = 0;
    for (const c of v.maxSize) {
        const vamm = { baseReserve: BigInt(c.baseReserve), k: BigInt(c.k), peg: BigInt(c.peg) };
        const d = maxSizeWithin(vamm, c.side, BigInt(c.bound), BigInt(c.cap));
        assert.equal(d.toString(), c.size, JSON.stringify(c));
        if (d > 0n) nonzero++;
    }
    assert.ok(nonzero > 100, `${nonzero} non-zero sizes`);
});

test('fill sizes', () => {
    for (const c of v.fillSize) {
        const r = fillSize(BigInt(c.remaining), BigInt(c.available), BigInt(c.min));
        assert.equal(r === null ? null : r.toString(), c.size, JSON.stringify(c));
    }
});

test('order fill sizes leave no dust', () => {
    assert.ok(v.orderFillSize.length >= 4000);
    for (const c of v.orderFillSize) {
        const r = orderFillSize(BigInt(c.left), BigInt(c.available), BigInt(c.min), BigInt(c.against), c.reduceOnly);
        assert.equal(r === null ? null : r.toString(), c.size, JSON.stringify(c));
    }
});
