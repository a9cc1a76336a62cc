/**
 * The page's live data: the exchange, every market with the index and mark computed from its
 * oracle accounts at each change (websocket subscriptions), listed collateral, and the cluster's
 * clock (read once a minute; the seconds in between are counted locally, so staleness shows).
 */
import type { Address } from '@solana/kit';
import { decodeMarket, decodeCollateral, pda, prices, type Collateral, type Exchange, type Market } from '@perp/client';
import { CLOCK, type Chain } from './chain';
import type { MarketLive } from '@perp/client';

export interface MarketState extends MarketLive {
    address: Address;
    /** False: too few fresh feeds, the market's cached index stands in. */
    live: boolean;
    view: prices.IndexView;
    oracles: (prices.OracleAccount | null)[];
    /** page time (ms since epoch) of the last change seen */
    updatedAt: number;
}

export class Live {
    exchange!: Exchange;
    markets = new Map<number, MarketState>();
    collaterals = new Map<number, Collateral>();
    /** The cluster's clock as of its latest slot (the Clock sysvar, by subscription). */
    private clusterNow = 0n;
    slot = 0n;
    /** page time (ms) at which each index value was first shown (the browser test reads it) */
    readonly indexSeen = new Map<string, number>();
    /** page time (ms) of the last clock notification: the subscriptions are alive */
    private lastClockAt = Date.now();

    /** Seconds since the node last sent anything on the clock subscription. */
    silentFor(): number {
        return Math.floor((Date.now() - this.lastClockAt) / 1000);
    }

    /** Every subscription belongs to a generation; a silent node ends the generation (see `start`). */
    private generation = new AbortController();

    /**
     * A subscription kept alive: re-subscribed whenever it ends or fails (1 s, doubling to 30 s),
     * or at once when the generation ends; each time, the account is read once after subscribing,
     * since a change made while unsubscribed is never sent again. `null` data: the account is gone.
     */
    keep(a: Address, signal: AbortSignal, cb: (owner: Address, data: Uint8Array) => void) {
        void (async () => {
            let wait = 1_000;
            while (!signal.aborted) {
                const gen = this.generation.signal;
                const both = AbortSignal.any([signal, gen]);
                try {
                    const sub = this.chain.watch(a, both, (o, d) => {
                        wait = 1_000;
                        cb(o, d);
                    });
                    void this.chain
                        .account(a)
                        .then((x) => !both.aborted && x && cb(x.owner, x.data))
                        .catch(() => {});
                    await sub;
                } catch {
                    // the node went away: try again below
                }
                if (signal.aborted) return;
                if (gen.aborted) continue;
                await new Promise((r) => setTimeout(r, wait));
                wait = Math.min(wait * 2, 30_000);
            }
        })();
    }
    private abort = new AbortController();
    onChange: () => void = () => {};

    constructor(readonly chain: Chain) {}

    /** What the program's `Clock::get()?.unix_timestamp` returns now: staleness as the program judges it. */
    now(): bigint {
        return this.clusterNow;
    }

    async start(): Promise<void> {
        // three round trips: the exchange (and the clock); its markets and collateral; their oracles
        const [exchange] = await Promise.all([this.chain.exchange(), this.syncClock()]);
        this.exchange = exchange;
        const [ms, cols] = await Promise.all([this.chain.markets(exchange.marketCount), this.chain.collaterals(exchange.collateralCount)]);
        this.collaterals = cols;
        const keys = ms.map(({ market }) => market.oracles.slice(0, market.numOracles).map((o) => o.key));
        const got = await this.chain.accounts(keys.flat());
        let at = 0;
        ms.forEach(({ address, market }, i) => {
            const oracles = got.slice(at, at + keys[i].length);
            at += keys[i].length;
            this.markets.set(market.marketIndex, this.compute(address, market, oracles));
        });
        const signal = this.abort.signal;
        for (const s of this.markets.values()) this.subscribe(s.market.marketIndex, signal);
        for (const [i] of this.collaterals) {
            void (async () => {
                this.keep(await pda.collateral(i), signal, (_o, d) => {
                    this.collaterals.set(i, decodeCollateral(d));
                    this.onChange();
                });
            })().catch(() => {});
        }
        // a node silent for 10 s (the clock ticks every slot): every subscription starts again
        let restarted = Date.now();
        const dog = setInterval(() => {
            if (this.silentFor() >= 10 && Date.now() - restarted > 10_000) {
                restarted = Date.now();
                this.generation.abort();
                this.generation = new AbortController();
            }
        }, 2_000);
        signal.addEventListener('abort', () => clearInterval(dog));
        // the clock ticks with every slot: recompute what depends on time when the second changes
        this.keep(CLOCK, signal, (_o, d) => {
                this.lastClockAt = Date.now();
                const v = new DataView(d.buffer, d.byteOffset);
                const now = v.getBigInt64(32, true);
                this.slot = v.getBigUint64(0, true);
                if (now !== this.clusterNow) {
                    this.clusterNow = now;
                    this.recomputeAll();
                }
            });
    }

    stop() {
        this.abort.abort();
    }

    private async syncClock() {
        const c = await this.chain.clock();
        this.clusterNow = c.now;
        this.slot = c.slot;
    }

    private compute(address: Address, market: Market, oracles: (prices.OracleAccount | null)[]): MarketState {
        const now = this.now();
        const view = prices.indexView(market, oracles, now, this.exchange.pythLegacyProgram, this.exchange.pythReceiverProgram);
        const p = prices.marketPrices(market, view, now);
        if (p && !this.indexSeen.has(p.index.toString())) this.indexSeen.set(p.index.toString(), Date.now());
        return { address, market, oracles, view, index: p?.index ?? 0n, mark: p?.mark ?? 0n, live: p?.live ?? false, updatedAt: Date.now() };
    }

    private recomputeAll() {
        for (const [i, s] of this.markets) {
            const n = this.compute(s.address, s.market, s.oracles);
            n.updatedAt = s.updatedAt;
            this.markets.set(i, n);
        }
        this.onChange();
    }

    private subscribe(i: number, signal: AbortSignal) {
        const s0 = this.markets.get(i)!;
        const update = (f: (s: MarketState) => MarketState) => {
            const s = this.markets.get(i)!;
            this.markets.set(i, f(s));
            this.onChange();
        };
        this.keep(s0.address, signal, (_o, d) => update((s) => this.compute(s.address, decodeMarket(d), s.oracles)));
        s0.market.oracles.slice(0, s0.market.numOracles).forEach((o, k) => {
            this.keep(o.key, signal, (owner, data) =>
                update((s) => {
                    const oracles = [...s.oracles];
                    oracles[k] = { owner, data };
                    return this.compute(s.address, s.market, oracles);
                }),
            );
        });
    }
}
