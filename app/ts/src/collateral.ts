/**
 * Instruction builders of the collateral registry and of deposits, withdrawals and liquidations
 * of listed collateral mints, with the names, inputs and account order of the Rust SDK
 * (app/client/src/collateral.rs).
 *
 * Remaining-account rule: every margin check of an account that holds listed collateral takes
 * each collateral account it holds ({@link heldCollateral}) among the remaining accounts, after
 * the markets, read-only ({@link collateralMetas}). `withdrawCollateral` and
 * `liquidateCollateral` take them as `otherCollateral`; for the other margin-checked instructions
 * (`placeMarketOrder`, `closePosition`, `withdraw`, `placeOrder`, `fillOrder`, `liquidate`, ...)
 * append them with {@link withCollateral}, as the Rust tests extend `i.accounts` with
 * `collateral_metas(&held(&a))`.
 */
import {
    AccountRole,
    createNoopSigner,
    type AccountMeta,
    type Address,
    type TransactionSigner,
} from '@solana/kit';
import type { Collateral, MarginAccount } from './generated/accounts/index.js';
import * as gen from './generated/instructions/index.js';
import { marketMetas, oracleMetas, type PerpInstruction, type SignerInput } from './instructions.js';
import * as pda from './pda.js';

type Int = bigint | number;

const signer = (s: SignerInput): TransactionSigner => (typeof s === 'string' ? createNoopSigner(s) : s);
const build = (ix: PerpInstruction, remaining: readonly AccountMeta[] = []): PerpInstruction =>
    Object.freeze({ ...ix, accounts: [...ix.accounts, ...remaining] });

/** An instant tightening (`CollateralTightening`): each field only toward safety. */
export interface CollateralTightening {
    /** At most the current value (10^-9). */
    initialWeight: Int;
    /** At least the current value, at most 0.01 (10^-9). */
    imf: Int;
    /** At most the current value (raw tokens). */
    depositCap: Int;
    /** At least as strict: 0 active < 1 reduce-only < 2 withdraw-only. */
    status: number;
}

/** Read-only metas for listed collateral accounts (`collateral_metas`). */
export const collateralMetas = async (indices: readonly number[]): Promise<AccountMeta[]> =>
    Promise.all(indices.map(async (i) => ({ address: await pda.collateral(i), role: AccountRole.READONLY })));

/**
 * The collateral indices a decoded account holds (`held`: slots with an index and a positive
 * amount), what its cross margin checks need; `exclude` leaves one out (the collateral an
 * instruction names in its own accounts).
 */
export const heldCollateral = (a: MarginAccount, exclude?: number): number[] =>
    a.collaterals
        .filter((c) => c.collateralIndex !== 0 && c.amount > 0n && c.collateralIndex !== exclude)
        .map((c) => c.collateralIndex);

/**
 * The other collateral a `liquidateCollateral` of `victim`'s collateral `collateralIndex` needs:
 * every other collateral either account holds, each once.
 */
export function liquidationCollateral(victim: MarginAccount, liquidator: MarginAccount, collateralIndex: number): number[] {
    const out = heldCollateral(victim, collateralIndex);
    for (const c of heldCollateral(liquidator, collateralIndex)) if (!out.includes(c)) out.push(c);
    return out;
}

/** Oracle keys of a decoded collateral account, in its configured order (`refreshCollateral`). */
export const collateralOracles = (c: Collateral): Address[] =>
    c.oracles.slice(0, Math.min(c.numOracles, c.oracles.length)).map((o) => o.key);

/** `ix` with the collateral accounts `indices` appended read-only (after its markets). */
export async function withCollateral(ix: PerpInstruction, indices: readonly number[]): Promise<PerpInstruction> {
    return build(ix, await collateralMetas(indices));
}

/** Executes a `ListCollateral` proposal `id` for `mint` as `collateralIndex`; `payer` pays the rent. */
export async function executeListCollateral(i: {
    payer: SignerInput;
    id: Int;
    proposer: Address;
    mint: Address;
    collateralIndex: number;
}): Promise<PerpInstruction> {
    return build(
        gen.getExecuteListCollateralInstruction({
            payer: signer(i.payer),
            exchange: await pda.exchange(),
            proposal: await pda.proposal(i.id),
            proposer: i.proposer,
            mint: i.mint,
            collateral: await pda.collateral(i.collateralIndex),
            vault: await pda.mintVault(i.mint),
            collateralIndex: i.collateralIndex,
        }),
    );
}

/** Executes an `UpdateCollateral` proposal `id` of `collateralIndex`; `proposer` gets its rent back. */
export async function executeUpdateCollateral(i: {
    executor: SignerInput;
    id: Int;
    proposer: Address;
    collateralIndex: number;
}): Promise<PerpInstruction> {
    return build(
        gen.getExecuteUpdateCollateralInstruction({
            executor: signer(i.executor),
            exchange: await pda.exchange(),
            proposal: await pda.proposal(i.id),
            proposer: i.proposer,
            collateral: await pda.collateral(i.collateralIndex),
        }),
    );
}

/** Admin: an instant tightening of collateral `collateralIndex`. */
export async function tightenCollateral(i: {
    admin: SignerInput;
    collateralIndex: number;
    tightening: CollateralTightening;
}): Promise<PerpInstruction> {
    const { initialWeight, imf, depositCap, status } = i.tightening;
    return build(
        gen.getTightenCollateralInstruction({
            admin: signer(i.admin),
            exchange: await pda.exchange(),
            collateral: await pda.collateral(i.collateralIndex),
            initialWeight,
            imf,
            depositCap,
            status,
        }),
    );
}

/** Anyone: reads the collateral's `oracles` (its configured order) and caches its index. */
export async function refreshCollateral(i: { collateralIndex: number; oracles: readonly Address[] }): Promise<PerpInstruction> {
    return build(
        gen.getRefreshCollateralInstruction({
            exchange: await pda.exchange(),
            collateral: await pda.collateral(i.collateralIndex),
        }),
        oracleMetas(i.oracles),
    );
}

/** Deposits `amount` raw tokens of collateral `collateralIndex` (mint `mint`) from `userToken`. */
export async function depositCollateral(i: {
    authority: SignerInput;
    marginAccount: Address;
    collateralIndex: number;
    mint: Address;
    userToken: Address;
    amount: Int;
}): Promise<PerpInstruction> {
    return build(
        gen.getDepositCollateralInstruction({
            authority: signer(i.authority),
            exchange: await pda.exchange(),
            marginAccount: i.marginAccount,
            collateral: await pda.collateral(i.collateralIndex),
            userToken: i.userToken,
            vault: await pda.mintVault(i.mint),
            amount: i.amount,
        }),
    );
}

/**
 * Withdraws `amount` raw tokens of collateral `collateralIndex`. `crossMarkets`: the markets of the
 * account's cross positions; `otherCollateral`: its other collateral (each refreshed within a few
 * slots: prepend `refreshCollateral`).
 */
export async function withdrawCollateral(i: {
    owner: SignerInput;
    marginAccount: Address;
    collateralIndex: number;
    mint: Address;
    userToken: Address;
    amount: Int;
    crossMarkets: readonly number[];
    otherCollateral: readonly number[];
}): Promise<PerpInstruction> {
    return build(
        gen.getWithdrawCollateralInstruction({
            owner: signer(i.owner),
            exchange: await pda.exchange(),
            marginAccount: i.marginAccount,
            collateral: await pda.collateral(i.collateralIndex),
            userToken: i.userToken,
            vault: await pda.mintVault(i.mint),
            amount: i.amount,
        }),
        [...(await marketMetas(i.crossMarkets)), ...(await collateralMetas(i.otherCollateral))],
    );
}

/**
 * Liquidates up to `maxTokens` of `marginAccount`'s collateral `collateralIndex` into
 * `liquidatorAccount`; `marketIndex` must be the collateral's insurance market. `markets`: every
 * cross market either account holds; `otherCollateral`: every other collateral either holds
 * ({@link liquidationCollateral}).
 */
export async function liquidateCollateral(i: {
    liquidator: SignerInput;
    marginAccount: Address;
    liquidatorAccount: Address;
    collateralIndex: number;
    /** The collateral's mint (its vault is keyed by it). */
    mint: Address;
    /** A token account of the mint: receives what the liquidator buys. */
    liquidatorToken: Address;
    marketIndex: number;
    maxTokens: Int;
    markets: readonly number[];
    otherCollateral: readonly number[];
}): Promise<PerpInstruction> {
    return build(
        gen.getLiquidateCollateralInstruction({
            liquidator: signer(i.liquidator),
            exchange: await pda.exchange(),
            marginAccount: i.marginAccount,
            liquidatorAccount: i.liquidatorAccount,
            collateral: await pda.collateral(i.collateralIndex),
            market: await pda.market(i.marketIndex),
            vault: await pda.mintVault(i.mint),
            liquidatorToken: i.liquidatorToken,
            maxTokens: i.maxTokens,
        }),
        [...(await marketMetas(i.markets)), ...(await collateralMetas(i.otherCollateral))],
    );
}
