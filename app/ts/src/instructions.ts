/**
 * Instruction builders for every program instruction, with the names, inputs, account order and
 * remaining accounts of the Rust SDK (app/client/src/ix.rs), built on the Codama-generated
 * instruction encoders.
 *
 * Remaining-account conventions (the program checks every one):
 * - instructions that price the primary market take its oracle accounts first, in the market's
 *   configured order, read-only ({@link marketOracles});
 * - instructions that check a margin group then take the market account of every other position
 *   of that group, read-only, each once ({@link positionMarkets}, {@link crossMarkets},
 *   {@link liquidationMarkets}); markets the check does not need are accepted and ignored;
 * - `settleFunding` alone takes the markets writable (it settles them);
 * - `adlScan` and `autoDeleverage` take the candidate margin accounts writable.
 *
 * Signer inputs take an address or a `TransactionSigner`: with a signer (e.g. from
 * `generateKeyPairSigner`) the instruction carries it and `signTransactionMessageWithSigners`
 * signs; with a bare address the account is still marked as a signer (a no-op signer is
 * attached) and the transaction must be signed for it separately.
 */
import {
    AccountRole,
    createNoopSigner,
    type AccountMeta,
    type Address,
    type Instruction,
    type InstructionWithAccounts,
    type InstructionWithData,
    type ReadonlyUint8Array,
    type TransactionSigner,
} from '@solana/kit';
import type { MarginAccount, Market } from './generated/accounts/index.js';
import * as gen from './generated/instructions/index.js';
import { OrderSide, type AdminActionArgs, type MarketParamsArgs } from './generated/types/index.js';
import * as pda from './pda.js';

/** A signer account: its address, or a signer that will sign the transaction. */
export type SignerInput = Address | TransactionSigner;
/** An instruction as @solana/kit uses it: `{ programAddress, accounts: [{ address, role }], data }`. */
export type PerpInstruction = Instruction &
    InstructionWithAccounts<readonly AccountMeta[]> &
    InstructionWithData<ReadonlyUint8Array>;
type Int = bigint | number;

/** Order parameters (`perp::instructions::OrderParams`). */
export interface OrderParams {
    side: 'long' | 'short';
    /** Base size, raw (10^-9). */
    size: Int;
    /** Worst acceptable average price, raw (10^-6); 0 = no limit (owner only). */
    limitPrice: Int;
    reduceOnly: boolean;
    /** Trade the position in isolated margin (fixed when the position opens). */
    isolated: boolean;
    /** Collateral moved from cross into the isolated position before the trade (quote raw). */
    isolatedCollateral: Int;
    /**
     * Worst average fill relative to the program's own live index (rate, 10^-9; 0 or absent =
     * none): checked on chain, so it holds whatever an RPC node showed the wallet.
     */
    maxIndexDeviation?: Int;
}

/** Exchange parameters (`perp::instructions::ExchangeParams`). */
export interface ExchangeParams {
    /** Share of taker fees to insurance (rate, 10^-9). */
    feeInsuranceShare: Int;
    pythLegacyProgram: Address;
    pythReceiverProgram: Address;
    /** Seconds between proposing and executing an admin action (can only grow later). */
    timelockDelay: Int;
}

const signer = (s: SignerInput): TransactionSigner => (typeof s === 'string' ? createNoopSigner(s) : s);

function build(ix: PerpInstruction, remaining: readonly AccountMeta[] = []): PerpInstruction {
    return Object.freeze({ ...ix, accounts: [...ix.accounts, ...remaining] });
}

/** Read-only metas for oracle accounts. */
export const oracleMetas = (oracles: readonly Address[]): AccountMeta[] =>
    oracles.map((address) => ({ address, role: AccountRole.READONLY }));

/** Read-only metas for market accounts. */
export const marketMetas = async (markets: readonly number[]): Promise<AccountMeta[]> =>
    Promise.all(markets.map(async (m) => ({ address: await pda.market(m), role: AccountRole.READONLY })));

/** Writable metas for market accounts (`settleFunding`). */
export const marketMetasWritable = async (markets: readonly number[]): Promise<AccountMeta[]> =>
    Promise.all(markets.map(async (m) => ({ address: await pda.market(m), role: AccountRole.WRITABLE })));

const writableMetas = (keys: readonly Address[]): AccountMeta[] =>
    keys.map((address) => ({ address, role: AccountRole.WRITABLE }));

export async function initializeExchange(i: {
    admin: SignerInput;
    collateralMint: Address;
    params: ExchangeParams;
}): Promise<PerpInstruction> {
    return build(
        gen.getInitializeExchangeInstruction({
            admin: signer(i.admin),
            exchange: await pda.exchange(),
            collateralMint: i.collateralMint,
            collateralVault: await pda.collateralVault(),
            insuranceVault: await pda.insuranceVault(),
            programData: await pda.programData(),
            ...i.params,
        }),
    );
}

/** Proposes a timelocked admin action as proposal `id` (the exchange's `proposalCount`). */
export async function propose(i: { admin: SignerInput; id: Int; action: AdminActionArgs }): Promise<PerpInstruction> {
    return build(
        gen.getProposeInstruction({
            admin: signer(i.admin),
            exchange: await pda.exchange(),
            proposal: await pda.proposal(i.id),
            action: i.action,
        }),
    );
}

export async function cancelProposal(i: { admin: SignerInput; id: Int }): Promise<PerpInstruction> {
    return build(
        gen.getCancelProposalInstruction({
            admin: signer(i.admin),
            exchange: await pda.exchange(),
            proposal: await pda.proposal(i.id),
        }),
    );
}

export async function setTimelockDelay(i: { admin: SignerInput; delay: Int }): Promise<PerpInstruction> {
    return build(
        gen.getSetTimelockDelayInstruction({ admin: signer(i.admin), exchange: await pda.exchange(), delay: i.delay }),
    );
}

/** Executes proposal `id` (an `UpdateMarket` of `marketIndex`); `proposer` gets its rent back. */
export async function executeUpdateMarket(i: {
    executor: SignerInput;
    id: Int;
    proposer: Address;
    marketIndex: number;
}): Promise<PerpInstruction> {
    return build(
        gen.getExecuteUpdateMarketInstruction({
            executor: signer(i.executor),
            exchange: await pda.exchange(),
            proposal: await pda.proposal(i.id),
            proposer: i.proposer,
            market: await pda.market(i.marketIndex),
        }),
    );
}

/** Executes proposal `id` (a `CreateMarket` of `marketIndex`); `payer` pays the market's rent. */
export async function executeCreateMarket(i: {
    payer: SignerInput;
    id: Int;
    proposer: Address;
    marketIndex: number;
}): Promise<PerpInstruction> {
    return build(
        gen.getExecuteCreateMarketInstruction({
            payer: signer(i.payer),
            exchange: await pda.exchange(),
            proposal: await pda.proposal(i.id),
            proposer: i.proposer,
            market: await pda.market(i.marketIndex),
            adlRound: await pda.adlRound(i.marketIndex),
            marketIndex: i.marketIndex,
        }),
    );
}

/** Executes proposal `id` (`SetAdmin` or `SetExchangeConfig`). */
export async function executeExchangeAction(i: {
    executor: SignerInput;
    id: Int;
    proposer: Address;
}): Promise<PerpInstruction> {
    return build(
        gen.getExecuteExchangeActionInstruction({
            executor: signer(i.executor),
            exchange: await pda.exchange(),
            proposal: await pda.proposal(i.id),
            proposer: i.proposer,
        }),
    );
}

/** An instant market change (only tightening changes are accepted without the timelock). */
export async function updateMarket(i: {
    admin: SignerInput;
    marketIndex: number;
    params: MarketParamsArgs;
}): Promise<PerpInstruction> {
    return build(
        gen.getUpdateMarketInstruction({
            admin: signer(i.admin),
            exchange: await pda.exchange(),
            market: await pda.market(i.marketIndex),
            params: i.params,
        }),
    );
}

export async function setPause(i: { admin: SignerInput; pauseFlags: number }): Promise<PerpInstruction> {
    return build(
        gen.getSetPauseInstruction({ admin: signer(i.admin), exchange: await pda.exchange(), pauseFlags: i.pauseFlags }),
    );
}

export async function setMarketStatus(i: {
    admin: SignerInput;
    marketIndex: number;
    status: number;
}): Promise<PerpInstruction> {
    return build(
        gen.getSetMarketStatusInstruction({
            admin: signer(i.admin),
            exchange: await pda.exchange(),
            market: await pda.market(i.marketIndex),
            status: i.status,
        }),
    );
}

export async function createMarginAccount(i: { owner: SignerInput; accountId: number }): Promise<PerpInstruction> {
    const owner = signer(i.owner);
    return build(
        gen.getCreateMarginAccountInstruction({
            owner,
            marginAccount: await pda.marginAccount(owner.address, i.accountId),
            accountId: i.accountId,
        }),
    );
}

export async function deposit(i: {
    authority: SignerInput;
    marginAccount: Address;
    userToken: Address;
    amount: Int;
}): Promise<PerpInstruction> {
    return build(
        gen.getDepositInstruction({
            authority: signer(i.authority),
            exchange: await pda.exchange(),
            marginAccount: i.marginAccount,
            userToken: i.userToken,
            collateralVault: await pda.collateralVault(),
            amount: i.amount,
        }),
    );
}

/** `positionMarkets`: the market of every open position of the account. */
export async function withdraw(i: {
    owner: SignerInput;
    marginAccount: Address;
    userToken: Address;
    amount: Int;
    positionMarkets: readonly number[];
}): Promise<PerpInstruction> {
    return build(
        gen.getWithdrawInstruction({
            owner: signer(i.owner),
            exchange: await pda.exchange(),
            marginAccount: i.marginAccount,
            userToken: i.userToken,
            collateralVault: await pda.collateralVault(),
            amount: i.amount,
        }),
        await marketMetas(i.positionMarkets),
    );
}

/**
 * `oracles`: the market's oracle accounts in order; `otherMarkets`: the markets of the account's
 * other positions in the order's margin group ({@link positionMarkets} works too).
 */
export async function placeMarketOrder(i: {
    authority: SignerInput;
    marginAccount: Address;
    marketIndex: number;
    oracles: readonly Address[];
    otherMarkets: readonly number[];
    params: OrderParams;
}): Promise<PerpInstruction> {
    const { side, maxIndexDeviation, ...rest } = i.params;
    if (side !== 'long' && side !== 'short') throw new TypeError(`order side must be "long" or "short", got ${side}`);
    return build(
        gen.getPlaceMarketOrderInstruction({
            authority: signer(i.authority),
            exchange: await pda.exchange(),
            market: await pda.market(i.marketIndex),
            marginAccount: i.marginAccount,
            side: side === 'long' ? OrderSide.Long : OrderSide.Short,
            ...rest,
            maxIndexDeviation: maxIndexDeviation ?? 0,
        }),
        [...oracleMetas(i.oracles), ...(await marketMetas(i.otherMarkets))],
    );
}

export async function closePosition(i: {
    authority: SignerInput;
    marginAccount: Address;
    marketIndex: number;
    oracles: readonly Address[];
    otherMarkets: readonly number[];
    limitPrice: Int;
}): Promise<PerpInstruction> {
    return build(
        gen.getClosePositionInstruction({
            authority: signer(i.authority),
            exchange: await pda.exchange(),
            market: await pda.market(i.marketIndex),
            marginAccount: i.marginAccount,
            limitPrice: i.limitPrice,
        }),
        [...oracleMetas(i.oracles), ...(await marketMetas(i.otherMarkets))],
    );
}

/** `amount` > 0 moves cross collateral into the isolated position, < 0 moves it out. */
export async function moveIsolatedCollateral(i: {
    authority: SignerInput;
    marginAccount: Address;
    marketIndex: number;
    amount: Int;
    positionMarkets: readonly number[];
}): Promise<PerpInstruction> {
    return build(
        gen.getMoveIsolatedCollateralInstruction({
            authority: signer(i.authority),
            exchange: await pda.exchange(),
            marginAccount: i.marginAccount,
            marketIndex: i.marketIndex,
            amount: i.amount,
        }),
        await marketMetas(i.positionMarkets),
    );
}

export async function setDelegate(i: {
    owner: SignerInput;
    marginAccount: Address;
    delegate: Address;
}): Promise<PerpInstruction> {
    return build(
        gen.getSetDelegateInstruction({ owner: signer(i.owner), marginAccount: i.marginAccount, delegate: i.delegate }),
    );
}

export async function closeMarginAccount(i: { owner: SignerInput; marginAccount: Address }): Promise<PerpInstruction> {
    return build(gen.getCloseMarginAccountInstruction({ owner: signer(i.owner), marginAccount: i.marginAccount }));
}

export async function updateFunding(i: { marketIndex: number; oracles: readonly Address[] }): Promise<PerpInstruction> {
    return build(
        gen.getUpdateFundingInstruction({ exchange: await pda.exchange(), market: await pda.market(i.marketIndex) }),
        oracleMetas(i.oracles),
    );
}

export async function settleFunding(i: {
    marginAccount: Address;
    positionMarkets: readonly number[];
}): Promise<PerpInstruction> {
    return build(
        gen.getSettleFundingInstruction({ marginAccount: i.marginAccount }),
        await marketMetasWritable(i.positionMarkets),
    );
}

/** Tops up market `marketIndex`'s share of the insurance fund. */
export async function depositInsurance(i: {
    depositor: SignerInput;
    depositorToken: Address;
    marketIndex: number;
    amount: Int;
}): Promise<PerpInstruction> {
    return build(
        gen.getDepositInsuranceInstruction({
            depositor: signer(i.depositor),
            exchange: await pda.exchange(),
            market: await pda.market(i.marketIndex),
            depositorToken: i.depositorToken,
            insuranceVault: await pda.insuranceVault(),
            amount: i.amount,
        }),
    );
}

/** Moves market `marketIndex`'s pending insurance amount between the vaults. */
export async function sweepInsurance(i: { marketIndex: number }): Promise<PerpInstruction> {
    return build(
        gen.getSweepInsuranceInstruction({
            exchange: await pda.exchange(),
            market: await pda.market(i.marketIndex),
            collateralVault: await pda.collateralVault(),
            insuranceVault: await pda.insuranceVault(),
        }),
    );
}

/**
 * Liquidates (takes over) the account's position in `marketIndex`; `maxBase` 0 takes it all.
 * `otherMarkets`: the liquidated group's other markets and the liquidator's other cross markets,
 * each once ({@link liquidationMarkets}). The liquidated group's other markets must have been
 * refreshed within the last 4 slots: put an `updateFunding` for each before this instruction
 * (`IndexNotRefreshed` otherwise).
 */
export async function liquidate(i: {
    liquidator: SignerInput;
    liquidatorAccount: Address;
    marginAccount: Address;
    marketIndex: number;
    oracles: readonly Address[];
    otherMarkets: readonly number[];
    maxBase: Int;
}): Promise<PerpInstruction> {
    return build(
        gen.getLiquidateInstruction({
            liquidator: signer(i.liquidator),
            exchange: await pda.exchange(),
            market: await pda.market(i.marketIndex),
            marginAccount: i.marginAccount,
            liquidatorAccount: i.liquidatorAccount,
            maxBase: i.maxBase,
        }),
        [...oracleMetas(i.oracles), ...(await marketMetas(i.otherMarkets))],
    );
}

/** Opens an ADL round for the counterparties of `bankruptAccount`'s bankrupt position. */
export async function beginAdlRound(i: {
    marketIndex: number;
    oracles: readonly Address[];
    bankruptAccount: Address;
}): Promise<PerpInstruction> {
    return build(
        gen.getBeginAdlRoundInstruction({
            exchange: await pda.exchange(),
            market: await pda.market(i.marketIndex),
            adlRound: await pda.adlRound(i.marketIndex),
            bankruptAccount: i.bankruptAccount,
        }),
        oracleMetas(i.oracles),
    );
}

/** Counts margin accounts into the open round (writable). */
export async function adlScan(i: { marketIndex: number; accounts: readonly Address[] }): Promise<PerpInstruction> {
    return build(
        gen.getAdlScanInstruction({ market: await pda.market(i.marketIndex), adlRound: await pda.adlRound(i.marketIndex) }),
        writableMetas(i.accounts),
    );
}

/** Deleverages `bankruptAccount` against `candidates`: the round's next ranked entries, in order. */
export async function autoDeleverage(i: {
    marketIndex: number;
    oracles: readonly Address[];
    bankruptAccount: Address;
    candidates: readonly Address[];
}): Promise<PerpInstruction> {
    return build(
        gen.getAutoDeleverageInstruction({
            exchange: await pda.exchange(),
            market: await pda.market(i.marketIndex),
            adlRound: await pda.adlRound(i.marketIndex),
            bankruptAccount: i.bankruptAccount,
        }),
        [...oracleMetas(i.oracles), ...writableMetas(i.candidates)],
    );
}

/** The last resort once no ranked candidate is left (closes at the live mark). */
export async function resolveBankruptcy(i: {
    marketIndex: number;
    oracles: readonly Address[];
    bankruptAccount: Address;
}): Promise<PerpInstruction> {
    return build(
        gen.getResolveBankruptcyInstruction({
            exchange: await pda.exchange(),
            market: await pda.market(i.marketIndex),
            adlRound: await pda.adlRound(i.marketIndex),
            bankruptAccount: i.bankruptAccount,
        }),
        oracleMetas(i.oracles),
    );
}

/** Moves the market's vAMM peg toward the index (permissionless). */
export async function repeg(i: { marketIndex: number; oracles: readonly Address[] }): Promise<PerpInstruction> {
    return build(
        gen.getRepegInstruction({ exchange: await pda.exchange(), market: await pda.market(i.marketIndex) }),
        oracleMetas(i.oracles),
    );
}

// ---- remaining-account helpers over decoded accounts (ix.rs) -------------------------------

/** Position flag bits (`perp::state::position_flags`). */
export const POSITION_IN_USE = 1;
export const POSITION_ISOLATED = 2;
export const POSITION_BANKRUPT = 4;

/** Oracle keys of a decoded market, in order. */
export const marketOracles = (m: Market): Address[] =>
    m.oracles.slice(0, Math.min(m.numOracles, m.oracles.length)).map((o) => o.key);

const inUse = (a: MarginAccount) => a.positions.filter((p) => (p.flags & POSITION_IN_USE) !== 0);

/** Markets of a decoded account's open positions, excluding `primary`. */
export const positionMarkets = (a: MarginAccount, primary?: number): number[] =>
    inUse(a)
        .filter((p) => p.marketIndex !== primary)
        .map((p) => p.marketIndex);

/** Markets of the account's cross positions, excluding `primary` (cross orders, withdrawals). */
export const crossMarkets = (a: MarginAccount, primary?: number): number[] =>
    inUse(a)
        .filter((p) => (p.flags & POSITION_ISOLATED) === 0 && p.marketIndex !== primary)
        .map((p) => p.marketIndex);

/**
 * The other markets a liquidation of `victim`'s position in `primary` needs: the liquidated
 * group's (none for an isolated position) and the liquidator's cross positions', each once.
 */
export function liquidationMarkets(victim: MarginAccount, liquidator: MarginAccount, primary: number): number[] {
    const pos = inUse(victim).find((p) => p.marketIndex === primary);
    const isolated = pos !== undefined && (pos.flags & POSITION_ISOLATED) !== 0;
    const out = isolated ? [] : crossMarkets(victim, primary);
    for (const m of crossMarkets(liquidator, primary)) if (!out.includes(m)) out.push(m);
    return out;
}
