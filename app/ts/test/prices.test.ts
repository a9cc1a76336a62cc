/**
 * The index and mark (prices.json, written by the Rust test at each run from real market and
 * oracle account bytes, computed by `perp_client::preview`) reproduced by the TypeScript port:
 * which sources are unusable, the index, whether it is live, and the mark.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { address, type Address } from '@solana/kit';
import { decodeMarket } from '../src/accounts.js';
import { indexView, marketPrices } from '../src/prices.js';
import { rustFixture } from './fixtures.js';

const v = rustFixture('prices.json');
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

test('index and mark from real account bytes', () => {
    const legacy = address(v.pythLegacy);
    const receiver = address(v.pythReceiver);
    for (const c of v.cases) {
        const m = decodeMarket(hex(c.market));
        const oracles = c.oracles.map((o: { owner: string; data: string } | null) =>
            o ? { owner: o.owner as Address, data: hex(o.data) } : null,
        );
        const now = BigInt(c.now);
        const view = indexView(m, oracles, now, legacy, receiver);
        assert.deepEqual(view.issues.map((i) => i !== null), c.issues, c.label);
        assert.equal(view.report?.price?.toString() ?? null, c.index, c.label);
        if (c.valid !== null) assert.equal(view.report?.valid, c.valid, c.label);
        const s = marketPrices(m, view, now);
        if (c.state === null) assert.equal(s, null, c.label);
        else {
            assert.ok(s, c.label);
            assert.equal(s.index.toString(), c.state.index, c.label);
            assert.equal(s.live, c.state.live, c.label);
            assert.equal(s.mark.toString(), c.state.mark, c.label);
        }
    }
    assert.ok(v.cases.length >= 400);
});
