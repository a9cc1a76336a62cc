/**
 * The committed instruction vectors (test/fixtures/instructions.json, written by the Rust SDK's
 * builders): each TypeScript builder, given the case's `inputs`, produces exactly the same data
 * and account metas; the PDAs and the program id are the Rust SDK's.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { getAddressDecoder, getProgramDerivedAddress, isSignerRole, isWritableRole } from '@solana/kit';
import * as client from '../src/index.js';
import { PERP_PROGRAM_ADDRESS, pda } from '../src/index.js';
import { hex, instructionVectors, readJson, REPO_DIR } from './fixtures.js';

/** Fields the vectors write as decimal strings (u64 / i64). */
const BIGINT_FIELDS = new Set([
    'amount',
    'maxBase',
    'limitPrice',
    'id',
    'size',
    'isolatedCollateral',
    'maxIndexDeviation',
    'triggerPrice',
    'maxSlippage',
    'expiry',
    'clientOrderId',
    'orderId',
    'byId',
    'byClientId',
    'maxTokens',
    'initialWeight',
    'imf',
    'depositCap',
]);

function toInputs(v: any): any {
    if (Array.isArray(v) || v === null || typeof v !== 'object') return v;
    return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [k, BIGINT_FIELDS.has(k) && typeof x === 'string' ? BigInt(x) : toInputs(x)]),
    );
}

const vectors = instructionVectors();

test('program id is the Rust SDK\'s', () => {
    assert.equal(PERP_PROGRAM_ADDRESS, vectors.programId);
});

test('instruction vectors: data and account metas byte for byte', async () => {
    const cases: any[] = vectors.instructions;
    assert.ok(cases.length >= 20, `only ${cases.length} instruction vectors`);
    let matched = 0;
    for (const c of cases) {
        const builder = (client as Record<string, unknown>)[c.builder];
        assert.equal(typeof builder, 'function', `no builder named ${c.builder} (case ${c.name})`);
        const ix = await (builder as (i: unknown) => Promise<client.PerpInstruction>)(toInputs(c.inputs));
        assert.equal(ix.programAddress, vectors.programId, `${c.name}: program`);
        assert.equal(hex(ix.data as Uint8Array), c.data, `${c.name}: data`);
        const metas = ix.accounts.map((m) => [m.address, isSignerRole(m.role), isWritableRole(m.role)]);
        assert.deepStrictEqual(metas, c.accounts, `${c.name}: accounts`);
        matched++;
    }
    const builders = new Set(cases.map((c) => c.builder));
    console.log(`instructions: ${matched}/${cases.length} vectors matched (${builders.size} builders)`);
});

test('PDAs equal the Rust SDK\'s', async () => {
    const p = vectors.pdas;
    assert.equal(await pda.exchange(), p.exchange);
    assert.equal(await pda.collateralVault(), p.collateralVault);
    assert.equal(await pda.insuranceVault(), p.insuranceVault);
    let n = 3;
    for (const [i, key] of p.market) assert.equal(await pda.market(i), key, `market ${i}`), n++;
    for (const [owner, id, key] of p.marginAccount)
        assert.equal(await pda.marginAccount(owner, id), key, `margin ${owner} ${id}`), n++;
    for (const [i, key] of p.adlRound) assert.equal(await pda.adlRound(i), key, `adl round ${i}`), n++;
    for (const [id, key] of p.proposal) assert.equal(await pda.proposal(BigInt(id)), key, `proposal ${id}`), n++;
    console.log(`pdas: ${n} matched`);
});

test('collateral PDAs and builders are in the Rust vectors', async (t) => {
    const p = vectors.pdas;
    if (!p.collateral || !p.mintVault) {
        t.skip('instructions.json predates the collateral vectors: rewrite it with PERP_TS_WRITE=1');
        return;
    }
    for (const [i, key] of p.collateral) assert.equal(await pda.collateral(i), key, `collateral ${i}`);
    for (const [mint, key] of p.mintVault) assert.equal(await pda.mintVault(mint), key, `mint vault ${mint}`);
    const builders = new Set(vectors.instructions.map((c: any) => c.builder));
    for (const b of [
        'executeListCollateral',
        'executeUpdateCollateral',
        'tightenCollateral',
        'refreshCollateral',
        'depositCollateral',
        'withdrawCollateral',
        'liquidateCollateral',
    ])
        assert.ok(builders.has(b), `no vector for ${b}`);
    console.log(`pdas: ${p.collateral.length + p.mintVault.length} collateral PDAs matched`);
});

test('PDAs agree with the IDL: the exchange address and the program-data seeds', async () => {
    const idl = readJson(join(REPO_DIR, 'idl/perp.json'));
    assert.equal(idl.address, PERP_PROGRAM_ADDRESS);
    const init = idl.instructions.find((i: any) => i.name === 'initialize_exchange');
    const pd = init.accounts.find((a: any) => a.name === 'program_data').pda;
    const [expected] = await getProgramDerivedAddress({
        programAddress: getAddressDecoder().decode(new Uint8Array(pd.program.value)),
        seeds: pd.seeds.map((s: any) => new Uint8Array(s.value)),
    });
    assert.equal(await pda.programData(), expected);
    const fixed = idl.instructions
        .flatMap((i: any) => i.accounts)
        .filter((a: any) => a.name === 'exchange' && a.address)
        .map((a: any) => a.address);
    assert.ok(fixed.length > 0);
    for (const a of fixed) assert.equal(a, await pda.exchange());
});

test('builders reject malformed inputs instead of encoding them', async () => {
    await assert.rejects(() => pda.market(70_000));
    await assert.rejects(() => pda.proposal(-1n));
    await assert.rejects(() =>
        client.placeMarketOrder({
            authority: vectors.instructions[0].inputs.owner,
            marginAccount: vectors.instructions[0].inputs.owner,
            marketIndex: 0,
            oracles: [],
            otherMarkets: [],
            params: { side: 'sideways' as 'long', size: 1n, limitPrice: 0n, reduceOnly: false, isolated: false, isolatedCollateral: 0n, maxIndexDeviation: 0n },
        }),
    );
});
