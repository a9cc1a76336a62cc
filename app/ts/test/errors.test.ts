/** Error names: every IDL error and Anchor's framework codes round-trip through the tables. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import {
    getSolanaErrorFromTransactionError,
    SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE,
    SolanaError,
} from '@solana/kit';
import { customErrorCode, errorCodeFromName, errorFromCode, errorFromTransactionError } from '../src/index.js';
import { readJson, REPO_DIR } from './fixtures.js';

test('every IDL error maps code <-> name and message', () => {
    const idl = readJson(join(REPO_DIR, 'idl/perp.json'));
    assert.ok(idl.errors.length > 0);
    for (const e of idl.errors) {
        assert.deepStrictEqual(errorFromCode(e.code), { code: e.code, name: e.name, msg: e.msg, source: 'program' });
        assert.equal(errorCodeFromName(e.name), e.code);
    }
    console.log(`errors: ${idl.errors.length} IDL errors round-trip`);
});

test('known program and Anchor codes', () => {
    assert.equal(errorFromCode(6000)?.name, 'MathOverflow');
    assert.equal(errorFromCode(6014)?.name, 'InsufficientMargin');
    const anchor: Array<[number, string]> = [
        [100, 'InstructionMissing'],
        [2000, 'ConstraintMut'],
        [2001, 'ConstraintHasOne'],
        [2002, 'ConstraintSigner'],
        [2003, 'ConstraintRaw'],
        [2004, 'ConstraintOwner'],
        [2005, 'ConstraintRentExempt'],
        [2006, 'ConstraintSeeds'],
        [2012, 'ConstraintAddress'],
        [2500, 'RequireViolated'],
        [3000, 'AccountDiscriminatorAlreadySet'],
        [3001, 'AccountDiscriminatorNotFound'],
        [3002, 'AccountDiscriminatorMismatch'],
        [3003, 'AccountDidNotDeserialize'],
        [3005, 'AccountNotEnoughKeys'],
        [3007, 'AccountOwnedByWrongProgram'],
        [3010, 'AccountNotSigner'],
        [3012, 'AccountNotInitialized'],
        [3017, 'AccountDuplicateReallocs'],
        [4100, 'DeclaredProgramIdMismatch'],
    ];
    for (const [code, name] of anchor) {
        const e = errorFromCode(code);
        assert.equal(e?.name, name, `code ${code}`);
        assert.equal(e?.source, 'anchor');
        assert.equal(errorCodeFromName(name), code);
    }
    for (let c = 2000; c <= 2006; c++) assert.ok(errorFromCode(c), `constraint ${c}`);
    for (let c = 3000; c <= 3017; c++) assert.ok(errorFromCode(c), `account error ${c}`);
    assert.equal(errorFromCode(6999), null);
    assert.equal(errorCodeFromName('NoSuchError'), null);
});

test('custom codes are found in the error shapes clients meet', () => {
    assert.equal(customErrorCode({ InstructionError: [0, { Custom: 6014 }] }), 6014);
    assert.equal(customErrorCode({ InstructionError: [1, 'InvalidArgument'] }), null);
    assert.equal(customErrorCode('Program X failed: custom program error: 0x177e'), 6014);
    assert.equal(customErrorCode({ context: { code: 3012 } }), 3012);
    assert.equal(errorFromTransactionError({ logs: ['Program log: x', 'Program X failed: custom program error: 0x7d6'] })?.name, 'ConstraintSeeds');
    assert.equal(customErrorCode(undefined), null);
    assert.equal(customErrorCode({ code: -32002, message: 'preflight' }), null);
    // @solana/kit's errors: the custom instruction error, and the preflight failure wrapping it
    const custom = getSolanaErrorFromTransactionError({ InstructionError: [0, { Custom: 6032 }] });
    assert.equal(errorFromTransactionError(custom)?.name, 'NotLiquidatable');
    const preflight = new SolanaError(SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE, {
        cause: custom,
        accounts: null,
        logs: [],
        replacementBlockhash: null,
        returnData: null,
        unitsConsumed: 0n,
    } as never);
    assert.equal(errorFromTransactionError(preflight)?.name, 'NotLiquidatable');
});
