/**
 * The cluster as the page reads and writes it: accounts fetched and decoded with @perp/client,
 * websocket subscriptions (no polling) for the accounts on screen, transactions built, simulated
 * (the trade preview runs the program itself), signed by the wallet, sent and confirmed, with
 * every failure turned into a sentence a trader can act on.
 */
import {
    address,
    appendTransactionMessageInstructions,
    compileTransaction,
    createSolanaRpc,
    createSolanaRpcSubscriptions,
    createTransactionMessage,
    getBase58Decoder,
    getBase64EncodedWireTransaction,
    getProgramDerivedAddress,
    getAddressEncoder,
    getTransactionDecoder,
    getTransactionEncoder,
    pipe,
    setTransactionMessageFeePayer,
    setTransactionMessageLifetimeUsingBlockhash,
    type Address,
    type Base64EncodedWireTransaction,
    type Instruction,
    type Signature,
} from '@solana/kit';
import {
    decodeCollateral,
    decodeExchange,
    decodeMarginAccount,
    decodeMarket,
    errorFromTransactionError,
    parseEvents,
    pda,
    prices,
    type Collateral,
    type Exchange,
    type MarginAccount,
    type Market,
    type PerpEvent,
} from '@perp/client';
import type { Config } from './config';

export const TOKEN_PROGRAM = address('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
export const ATA_PROGRAM = address('ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL');
export const CLOCK = address('SysvarC1ock11111111111111111111111111111111');

export type Rpc = ReturnType<typeof createSolanaRpc>;
export type Subs = ReturnType<typeof createSolanaRpcSubscriptions>;

/** An error already phrased for the trader: what happened and what to do. Nothing was lost. */
export class UserError extends Error {}

export class Chain {
    readonly rpc: Rpc;
    readonly subs: Subs;
    constructor(readonly cfg: Config) {
        this.rpc = createSolanaRpc(cfg.rpc);
        this.subs = createSolanaRpcSubscriptions(cfg.ws);
    }

    /** A transport failure phrased for the trader. */
    unreachable(e: unknown): UserError {
        const why = e instanceof Error ? e.message : String(e);
        return new UserError(
            `No answer from the cluster at ${this.cfg.rpc} (${why.slice(0, 120)}). Is the node running? ` +
                `Start one with \`perp localnet start\`, or open the page with ?rpc=<url>. Nothing was sent.`,
        );
    }

    async call<T>(f: () => Promise<T>): Promise<T> {
        try {
            return await f();
        } catch (e) {
            if (e instanceof UserError) throw e;
            if (isTransport(e)) throw this.unreachable(e);
            throw new UserError(`The node at ${this.cfg.rpc} answered with an error: ${(e as Error).message}. Nothing was sent.`);
        }
    }

    async account(a: Address): Promise<{ owner: Address; data: Uint8Array } | null> {
        const r = await this.call(() => this.rpc.getAccountInfo(a, { encoding: 'base64', commitment: 'confirmed' }).send());
        if (!r.value) return null;
        return { owner: r.value.owner, data: b64(r.value.data[0]) };
    }

    async accounts(keys: readonly Address[]): Promise<({ owner: Address; data: Uint8Array } | null)[]> {
        if (keys.length === 0) return [];
        const r = await this.call(() => this.rpc.getMultipleAccounts(keys, { encoding: 'base64', commitment: 'confirmed' }).send());
        return r.value.map((v) => (v ? { owner: v.owner, data: b64(v.data[0]) } : null));
    }

    async exchange(): Promise<Exchange> {
        const a = await this.account(await pda.exchange());
        if (!a) throw new UserError(`The exchange is not initialised on ${this.cfg.rpc} (run \`perp localnet start\`, which initialises it, or \`perp admin init\`).`);
        return decodeExchange(a.data);
    }

    async markets(count: number): Promise<{ address: Address; market: Market }[]> {
        const keys = await Promise.all([...Array(count).keys()].map((i) => pda.market(i)));
        const got = await this.accounts(keys);
        return got.flatMap((a, i) => (a ? [{ address: keys[i], market: decodeMarket(a.data) }] : []));
    }

    async collaterals(count: number): Promise<Map<number, Collateral>> {
        const keys = await Promise.all([...Array(count).keys()].map((i) => pda.collateral(i + 1)));
        const got = await this.accounts(keys);
        const out = new Map<number, Collateral>();
        got.forEach((a, i) => a && out.set(i + 1, decodeCollateral(a.data)));
        return out;
    }

    async marginAccount(owner: Address): Promise<{ address: Address; account: MarginAccount | null }> {
        const key = await pda.marginAccount(owner, 0);
        const a = await this.account(key);
        return { address: key, account: a ? decodeMarginAccount(a.data) : null };
    }

    /** The cluster's clock: `{ slot, unixTimestamp }`. */
    async clock(): Promise<{ slot: bigint; now: bigint }> {
        const a = await this.account(CLOCK);
        if (!a) throw new UserError('the cluster serves no clock');
        const v = new DataView(a.data.buffer, a.data.byteOffset);
        return { slot: v.getBigUint64(0, true), now: v.getBigInt64(32, true) };
    }

    async tokenBalance(owner: Address, mint: Address): Promise<{ ata: Address; amount: bigint | null }> {
        const ata = await associatedToken(owner, mint);
        const a = await this.account(ata);
        if (!a || a.data.length < 72) return { ata, amount: null };
        return { ata, amount: new DataView(a.data.buffer, a.data.byteOffset).getBigUint64(64, true) };
    }

    async lamports(a: Address): Promise<bigint> {
        const r = await this.call(() => this.rpc.getBalance(a, { commitment: 'confirmed' }).send());
        return r.value;
    }

    /** Calls `cb` with the account's new bytes at every change (confirmed), until `signal` aborts. */
    async watch(a: Address, signal: AbortSignal, cb: (owner: Address, data: Uint8Array) => void): Promise<void> {
        const stream = await this.subs.accountNotifications(a, { encoding: 'base64', commitment: 'confirmed' }).subscribe({ abortSignal: signal });
        for await (const n of stream) cb(n.value.owner, b64(n.value.data[0]));
    }

    async wire(ixs: readonly Instruction[], payer: Address): Promise<Uint8Array> {
        const { value: bh } = await this.call(() => this.rpc.getLatestBlockhash({ commitment: 'confirmed' }).send());
        const msg = pipe(
            createTransactionMessage({ version: 0 }),
            (m) => setTransactionMessageFeePayer(payer, m),
            (m) => setTransactionMessageLifetimeUsingBlockhash(bh, m),
            (m) => appendTransactionMessageInstructions(ixs, m),
        );
        return new Uint8Array(getTransactionEncoder().encode(compileTransaction(msg)));
    }

    /**
     * Runs the transaction in the node without signatures: the program's own verdict, its events,
     * and the accounts in `watch` as they would be after it.
     */
    async simulate(ixs: readonly Instruction[], payer: Address, watch: readonly Address[]): Promise<Simulation> {
        const wire = await this.wire(ixs, payer);
        const r = await this.call(() =>
            this.rpc
                .simulateTransaction(base64(wire) as Base64EncodedWireTransaction, {
                    encoding: 'base64',
                    sigVerify: false,
                    replaceRecentBlockhash: true,
                    commitment: 'confirmed',
                    accounts: { addresses: [...watch], encoding: 'base64' },
                })
                .send(),
        );
        const v = r.value;
        const logs = v.logs ?? [];
        return {
            error: v.err ? explain(v.err, logs) : null,
            events: parseEvents(logs),
            accounts: (v.accounts ?? []).map((a) => (a ? b64(a.data[0]) : null)),
            units: v.unitsConsumed ?? 0n,
        };
    }

    /** Sends a signed transaction and waits for `confirmed`; a program error comes back decoded. */
    async sendSigned(signed: Uint8Array): Promise<Signature> {
        const tx = getTransactionDecoder().decode(signed);
        const payerSig = Object.values(tx.signatures)[0];
        if (!payerSig) throw new UserError('the wallet returned an unsigned transaction');
        const sig = getBase58Decoder().decode(payerSig) as Signature;
        try {
            await this.rpc.sendTransaction(getBase64EncodedWireTransaction(tx), { encoding: 'base64', preflightCommitment: 'confirmed' }).send();
        } catch (e) {
            const logs = (e as { context?: { logs?: string[] } })?.context?.logs ?? [];
            const info = errorFromTransactionError(e);
            if (info) throw new UserError(`The program refused it: ${info.name} — ${info.msg}${hint(info.name)}. Nothing changed.`);
            if (logs.length) throw new UserError(`The node refused it: ${lastLog(logs)}. Nothing changed.`);
            // the request may have reached the node before the connection failed
            if (isTransport(e)) throw this.mayHaveLanded(sig, e);
            throw new UserError(`The node refused it: ${(e as Error).message}. Nothing changed.`);
        }
        await this.confirm(sig);
        return sig;
    }

    /** Contact lost after a signed transaction left the page: it may or may not land. */
    mayHaveLanded(sig: string, e: unknown): UserError {
        return new UserError(
            `Lost contact with the node at ${this.cfg.rpc} (${String((e as Error)?.message ?? e).slice(0, 80)}) after sending ${sig}: ` +
                `it may still land. Check your positions and history before retrying.`,
        );
    }

    async confirm(sig: Signature): Promise<void> {
        const t0 = Date.now();
        for (;;) {
            let r;
            try {
                r = await this.rpc.getSignatureStatuses([sig]).send();
            } catch (e) {
                throw this.mayHaveLanded(sig, e);
            }
            const s = r.value[0];
            if (s?.err) {
                const info = errorFromTransactionError(s.err);
                throw new UserError(info ? `The program refused it: ${info.name} — ${info.msg}. Nothing changed.` : `The transaction failed: ${JSON.stringify(s.err, big)}`);
            }
            if (s && (s.confirmationStatus === 'confirmed' || s.confirmationStatus === 'finalized')) return;
            if (Date.now() - t0 > 60_000) throw new UserError(`Not confirmed within 60 s: ${sig} (it may still land; check your history before retrying).`);
            await new Promise((r) => setTimeout(r, 300));
        }
    }

    /** The oracle accounts of a market, read as the program reads them. */
    async oracleAccounts(m: Market): Promise<(prices.OracleAccount | null)[]> {
        return this.accounts(m.oracles.slice(0, m.numOracles).map((o) => o.key));
    }
}

export interface Simulation {
    /** The program's refusal, phrased; null when it would succeed. */
    error: string | null;
    events: PerpEvent[];
    accounts: (Uint8Array | null)[];
    units: bigint;
}

const big = (_: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

function lastLog(logs: readonly string[]): string {
    const l = [...logs].reverse().find((x) => /Error|error|failed|invalid/.test(x)) ?? logs[logs.length - 1] ?? '';
    return l.replace(/^Program log: /, '');
}

/** What to do about the program errors a trader meets most. */
function hint(name: string): string {
    const h: Record<string, string> = {
        InsufficientMargin: ': deposit more, or trade smaller',
        WithdrawExceedsFree: ': withdraw at most the free collateral shown',
        MarketPaused: ': wait until the pause lapses (the market panel shows when)',
        OperationPaused: ': the exchange paused this operation; try again later',
        MarketReduceOnly: ': the market only accepts orders that reduce a position',
        ReduceOnlyViolation: ': a reduce-only order must not grow the position',
        TooFewSources: ': too few price feeds are fresh; try again when the market panel shows them fresh',
        StaleCachedIndex: ': the price feeds are late; try again when the market panel shows them fresh',
        PositionTooSmall: ': the size is below the market minimum (shown under the size)',
        InvalidOrderSize: ': the size is below the market minimum (shown under the size)',
        SlippageExceeded: ': the price moved past your limit; preview again',
        InsufficientCollateralBalance: ': you hold less of that collateral',
    };
    return h[name] ?? '';
}

/** A simulation's error (a `TransactionError` object) phrased from the program's error table. */
export function explain(err: unknown, logs: readonly string[]): string {
    const custom = (err as { InstructionError?: [number, { Custom?: number | bigint }] })?.InstructionError?.[1]?.Custom;
    if (custom !== undefined) {
        const info = errorFromTransactionError(err);
        if (info) return `${info.name}: ${info.msg}${hint(info.name)}`;
    }
    const l = lastLog(logs);
    if (err === 'AccountNotFound') return 'your wallet has no SOL for the transaction fee (on localnet: `perp localnet faucet`)';
    return l ? `${JSON.stringify(err, big)}: ${l}` : JSON.stringify(err, big);
}

function isTransport(e: unknown): boolean {
    const m = String((e as Error)?.message ?? e);
    return /fetch|network|Failed to|ECONNREFUSED|HTTP error|transport|status 5\d\d/i.test(m) || e instanceof TypeError;
}

export async function associatedToken(owner: Address, mint: Address): Promise<Address> {
    const enc = getAddressEncoder();
    const [a] = await getProgramDerivedAddress({ programAddress: ATA_PROGRAM, seeds: [enc.encode(owner), enc.encode(TOKEN_PROGRAM), enc.encode(mint)] });
    return a;
}

export function b64(s: string): Uint8Array {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
}
export function base64(bytes: Uint8Array): string {
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
}
