/**
 * The program's SBF build (PERP_SBF_SO) driven by the TypeScript client in LiteSVM: the exchange
 * (the admin made the program's upgrade authority), a market created through propose + execute
 * with a zero timelock and a legacy Pyth account in its real layout, then a wallet's deposit and
 * trade built with the client, signed with a @solana/kit key pair signer; the accounts and the
 * trade's event are decoded with the client. Skipped when PERP_SBF_SO is not set.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
    address,
    appendTransactionMessageInstructions,
    createTransactionMessage,
    generateKeyPairSigner,
    getAddressEncoder,
    lamports,
    pipe,
    setTransactionMessageFeePayerSigner,
    setTransactionMessageLifetimeUsingBlockhash,
    signTransactionMessageWithSigners,
    type Address,
    type Instruction,
    type KeyPairSigner,
} from '@solana/kit';
import { getCreateAccountInstruction } from '@solana-program/system';
import {
    getInitializeAccount3Instruction,
    getInitializeMint2Instruction,
    getMintToInstruction,
    TOKEN_PROGRAM_ADDRESS,
} from '@solana-program/token';
import type { FailedTransactionMetadata, LiteSVM, TransactionMetadata } from 'litesvm';
import * as perp from '../src/index.js';
import type { MarketParamsArgs } from '../src/generated/types/index.js';
import { REPO_DIR } from './fixtures.js';

const SO = process.env.PERP_SBF_SO;
const USDC = 1_000_000n;
const BTC = 1_000_000_000n;
/** 2023-03-10T00:00:00Z, the Rust harness's clock. */
const T0 = 1_678_406_400n;
const PYTH_LEGACY_PROGRAM = address('FsJ3A3u2vn5cTVofAjvy6y5kwABJAqYWpe4975bi2epH');
const PYTH_RECEIVER_PROGRAM = address('rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ');

type Sent = TransactionMetadata | FailedTransactionMetadata;

class Chain {
    constructor(
        readonly svm: LiteSVM,
        readonly Failed: typeof FailedTransactionMetadata,
    ) {}

    /** Signs (fee payer and every signer the instructions carry) and sends one transaction. */
    async send(payer: KeyPairSigner, ixs: Instruction[]): Promise<Sent> {
        this.svm.expireBlockhash();
        const msg = pipe(
            createTransactionMessage({ version: 0 }),
            (m) => setTransactionMessageFeePayerSigner(payer, m),
            (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: this.svm.latestBlockhash(), lastValidBlockHeight: 0n }, m),
            (m) => appendTransactionMessageInstructions(ixs, m),
        );
        return this.svm.sendTransaction(await signTransactionMessageWithSigners(msg));
    }

    /** Like {@link send}, failing the test with the program's logs when the transaction fails. */
    async ok(payer: KeyPairSigner, ixs: Instruction[], what: string): Promise<TransactionMetadata> {
        const r = await this.send(payer, ixs);
        if (r instanceof this.Failed) assert.fail(`${what} failed: ${r.toString()}\n${r.meta().logs().join('\n')}`);
        return r as TransactionMetadata;
    }

    data(key: Address): Uint8Array {
        const a = this.svm.getAccount(key);
        assert.ok(a.exists, `account ${key} does not exist`);
        return a.data as Uint8Array;
    }

    setAccount(key: Address, data: Uint8Array, owner: Address, executable = false): void {
        this.svm.setAccount({
            address: key,
            data,
            executable,
            lamports: lamports(10_000_000_000n),
            programAddress: owner,
            space: BigInt(data.length),
        });
    }
}

/** A legacy Pyth v2 price account: the repo's real mainnet template with price, conf and time set. */
function legacyOracle(template: Uint8Array, price: bigint, conf: bigint, publishTime: bigint): Uint8Array {
    const d = new Uint8Array(template);
    const view = new DataView(d.buffer);
    const expo = view.getInt32(20, true);
    const scale = 10n ** BigInt(Math.max(-expo - 6, 0));
    view.setBigInt64(48, price * scale, true); // Pyth's moving average: the price
    view.setBigInt64(96, publishTime, true);
    view.setBigInt64(208, price * scale, true);
    view.setBigUint64(216, conf * scale, true);
    view.setUint32(224, 1, true); // trading
    return d;
}

/** The Rust harness's `default_market_params`: BTC-like, 1-hour funding, 4 tiers. */
function marketParams(oracle: Address): MarketParamsArgs {
    return {
        name: perp.nameBytes('BTC-PERP'),
        oracles: [{ kind: 1, key: oracle, feedId: new Uint8Array(32), weight: 1n }],
        maxAge: 60n,
        maxConf: 20_000_000n,
        maxDeviation: 50_000_000n,
        minSources: 1,
        indexMethod: 0,
        allowPartialVerification: false,
        minSignatures: 13,
        fallbackMaxAge: 600n,
        fundingInterval: 3600n,
        samplePeriod: 60n,
        interest: 12_500n,
        fundingClamp: 500_000n,
        fundingCap: 7_500_000n,
        markMethod: 0,
        tiers: [
            { cap: 50_000n * USDC, imr: 20_000_000n, mmr: 10_000_000n },
            { cap: 250_000n * USDC, imr: 40_000_000n, mmr: 20_000_000n },
            { cap: 1_000_000n * USDC, imr: 100_000_000n, mmr: 50_000_000n },
            { cap: 10_000_000n * USDC, imr: 200_000_000n, mmr: 100_000_000n },
        ],
        impactNotional: 10_000n * USDC,
        maxLeverage: 50,
        takerFee: 500_000n,
        liquidationFee: 5_000_000n,
        liquidatorShare: 500_000_000n,
        liquidationBuffer: 100_000_000n,
        minPosition: 1_000_000n,
        delegateBand: 10_000_000n,
        withdrawMaxAge: 15n,
        repegBudget: 0n,
        repegThreshold: 0n,
        liquidationMaxConf: 5_000_000n,
        maxEmaDivergence: 10_000_000n,
        maxOiPerInsurance: 0n,
        fillerReward: 20_000n,
        orderBand: 10_000_000n,
        triggerMaxDivergence: 20_000_000n,
        adlPolicy: 0,
    };
}

test('LiteSVM: deposit and trade built with the TypeScript client on the SBF program', { timeout: 120_000 }, async (t) => {
    if (!SO) {
        t.skip('PERP_SBF_SO is not set (set it to target/deploy/perp.so to run the program in LiteSVM)');
        return;
    }
    assert.ok(existsSync(SO), `PERP_SBF_SO=${SO} does not exist`);
    console.log(`litesvm: program ${SO} (${statSync(SO).size} bytes)`);
    // the native binding is loaded only here, so runs without PERP_SBF_SO never need it
    const { LiteSVM, FailedTransactionMetadata } = await import('litesvm');
    const svm = new LiteSVM();
    const chain = new Chain(svm, FailedTransactionMetadata);
    svm.addProgramFromFile(perp.PERP_PROGRAM_ADDRESS, SO);
    const clock = svm.getClock();
    clock.unixTimestamp = T0;
    svm.setClock(clock);

    const admin = await generateKeyPairSigner();
    svm.airdrop(admin.address, lamports(100_000_000_000n));
    // the program's data account (upgradeable loader): make the admin its upgrade authority
    const programData = await perp.pda.programData();
    const pd = chain.data(programData).slice();
    assert.equal(new DataView(pd.buffer).getUint32(0, true), 3, 'not an UpgradeableLoaderState::ProgramData');
    pd[12] = 1;
    pd.set(getAddressEncoder().encode(admin.address), 13);
    chain.setAccount(programData, pd, address('BPFLoaderUpgradeab1e11111111111111111111111'));

    // a 6-decimal collateral mint
    const mint = await generateKeyPairSigner();
    await chain.ok(
        admin,
        [
            getCreateAccountInstruction({
                payer: admin,
                newAccount: mint,
                lamports: svm.minimumBalanceForRentExemption(82n),
                space: 82n,
                programAddress: TOKEN_PROGRAM_ADDRESS,
            }),
            getInitializeMint2Instruction({ mint: mint.address, decimals: 6, mintAuthority: admin.address }),
        ],
        'create mint',
    );

    await chain.ok(
        admin,
        [
            await perp.initializeExchange({
                admin,
                collateralMint: mint.address,
                params: {
                    feeInsuranceShare: 200_000_000n,
                    pythLegacyProgram: PYTH_LEGACY_PROGRAM,
                    pythReceiverProgram: PYTH_RECEIVER_PROGRAM,
                    timelockDelay: 0n,
                },
            }),
        ],
        'initialize_exchange',
    );
    const exchange = perp.decodeExchange(chain.data(await perp.pda.exchange()));
    assert.equal(exchange.admin, admin.address);
    assert.equal(exchange.collateralMint, mint.address);

    // market 0: a legacy Pyth oracle at 20,000 +- 10, created through the timelock (delay 0)
    const oracle = (await generateKeyPairSigner()).address;
    const template = readFileSync(join(REPO_DIR, 'tests/fixtures/pyth/solana_mainnet_2021_price_account_synthheader_padded3312.bin'));
    chain.setAccount(oracle, legacyOracle(template, 20_000n * USDC, 10n * USDC, T0), PYTH_LEGACY_PROGRAM);
    const id = exchange.proposalCount;
    await chain.ok(
        admin,
        [
            await perp.propose({
                admin,
                id,
                action: { __kind: 'CreateMarket', marketIndex: 0, params: marketParams(oracle), baseReserve: 1_000n * BTC, peg: 20_000n * USDC },
            }),
        ],
        'propose',
    );
    const proposal = perp.decodeProposal(chain.data(await perp.pda.proposal(id)));
    assert.equal(proposal.id, id);
    assert.equal(proposal.proposer, admin.address);
    assert.equal(proposal.action.__kind, 'CreateMarket');
    await chain.ok(admin, [await perp.executeCreateMarket({ payer: admin, id, proposer: admin.address, marketIndex: 0 })], 'execute_create_market');
    const market = perp.decodeMarket(chain.data(await perp.pda.market(0)));
    assert.equal(perp.nameString(market.name), 'BTC-PERP');
    assert.deepStrictEqual(perp.marketOracles(market), [oracle]);
    assert.equal(perp.wideU128(market.baseReserve), 1_000n * BTC);
    const round = perp.decodeAdlRound(chain.data(await perp.pda.adlRound(0)));
    assert.equal(round.marketIndex, 0);

    // a wallet: SOL, a token account holding 100,000 USDC, a margin account
    const wallet = await generateKeyPairSigner();
    svm.airdrop(wallet.address, lamports(1_000_000_000n));
    const token = await generateKeyPairSigner();
    await chain.ok(
        admin,
        [
            getCreateAccountInstruction({
                payer: admin,
                newAccount: token,
                lamports: svm.minimumBalanceForRentExemption(165n),
                space: 165n,
                programAddress: TOKEN_PROGRAM_ADDRESS,
            }),
            getInitializeAccount3Instruction({ account: token.address, mint: mint.address, owner: wallet.address }),
            getMintToInstruction({ mint: mint.address, token: token.address, mintAuthority: admin, amount: 100_000n * USDC }),
        ],
        'token account',
    );
    const account = await perp.pda.marginAccount(wallet.address, 0);
    const deposit = 10_000n * USDC;
    await chain.ok(
        wallet,
        [
            await perp.createMarginAccount({ owner: wallet, accountId: 0 }),
            await perp.deposit({ authority: wallet, marginAccount: account, userToken: token.address, amount: deposit }),
        ],
        'create margin account + deposit',
    );
    let a = perp.decodeMarginAccount(chain.data(account));
    assert.equal(a.crossCollateral, deposit);
    assert.equal(a.totalDeposits, deposit);

    // the trade: 0.25 BTC long at market, signed by the wallet
    const size = BTC / 4n;
    const order = await perp.placeMarketOrder({
        authority: wallet,
        marginAccount: account,
        marketIndex: 0,
        oracles: perp.marketOracles(market),
        otherMarkets: perp.positionMarkets(a, 0),
        params: { side: 'long', size, limitPrice: 0n, reduceOnly: false, isolated: false, isolatedCollateral: 0n },
    });
    const sent = await chain.ok(wallet, [order], 'place_market_order');
    a = perp.decodeMarginAccount(chain.data(account));
    const positions = a.positions.filter((p) => (p.flags & perp.POSITION_IN_USE) !== 0);
    assert.equal(positions.length, 1);
    assert.equal(positions[0].marketIndex, 0);
    assert.equal(positions[0].base, size);
    assert.ok(a.feesPaid > 0n, 'no fee charged');
    assert.equal(a.crossCollateral, deposit - a.feesPaid);

    // the event in the SBF run's own logs
    const events = perp.parseEvents(sent.logs());
    const trade = events.find((e) => e.name === 'TradeExecuted');
    assert.ok(trade && trade.name === 'TradeExecuted', `no TradeExecuted in ${events.map((e) => e.name)}`);
    assert.equal(trade.data.marginAccount, account);
    assert.equal(trade.data.base, size);
    assert.equal(trade.data.newBase, size);
    assert.equal(trade.data.fee, a.feesPaid);
    assert.equal(trade.data.newQuoteEntry, positions[0].quoteEntry);
    // taker fee 0.05% of the fill's notional, rounded up
    const notional = -trade.data.quote;
    assert.equal(a.feesPaid, (notional * 500_000n + 999_999_999n) / 1_000_000_000n);

    // the risk port on the live position: healthy; collateral above the entry value, so no price
    // liquidates or bankrupts it
    const tiers = perp.marketTiers(market);
    const pos = { base: positions[0].base, quoteEntry: positions[0].quoteEntry };
    const h = new perp.risk.Health(a.crossCollateral);
    assert.ok(h.addPosition(pos, market.lastIndex, 0n, tiers).ok);
    assert.equal(h.isLiquidatable(), false);
    assert.ok(a.crossCollateral > -pos.quoteEntry);
    assert.deepStrictEqual(perp.risk.liquidationPrice(pos, a.crossCollateral, tiers), { ok: true, value: null });
    assert.deepStrictEqual(perp.risk.bankruptcyPrice(pos, a.crossCollateral), { ok: true, value: 0n });
    // with a tenth of the entry value as collateral it has both, below the entry price
    const thin = -pos.quoteEntry / 10n;
    const liq = perp.risk.liquidationPrice(pos, thin, tiers);
    const bankrupt = perp.risk.bankruptcyPrice(pos, thin);
    assert.ok(liq.ok && liq.value !== null && bankrupt.ok);
    assert.ok(bankrupt.value < liq.value.price && liq.value.price < trade.data.avgPrice);

    // a failing order: the error code names the program's error
    const stranger = await generateKeyPairSigner();
    svm.airdrop(stranger.address, lamports(1_000_000_000n));
    const bad = await chain.send(stranger, [
        await perp.placeMarketOrder({
            authority: stranger,
            marginAccount: account,
            marketIndex: 0,
            oracles: perp.marketOracles(market),
            otherMarkets: [],
            params: { side: 'short', size, limitPrice: 0n, reduceOnly: false, isolated: false, isolatedCollateral: 0n },
        }),
    ]);
    assert.ok(bad instanceof FailedTransactionMetadata, 'a stranger traded on the account');
    assert.equal(perp.errorFromTransactionError(bad)?.name, 'Unauthorized');
    console.log(
        `litesvm: trade of ${size} base at avg ${trade.data.avgPrice}, fee ${a.feesPaid}, ` +
            `${sent.computeUnitsConsumed()} CU`,
    );
});
