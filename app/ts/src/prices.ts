/**
 * A market's prices as the program computes them, ported exactly: the oracle decoders
 * (`perp::oracle::decode_reading`: legacy Pyth v2 price accounts and pull `PriceUpdateV2`), the
 * index (`perp_core::index::compute_index`: staleness, confidence and deviation filters, median or
 * volume-weighted), the vAMM's impact prices and their time-weighted values
 * (`perp_core::twap`), and the mark (`perp::engine::prices::mark_price`). A page subscribed to the
 * oracle accounts shows the index the next instruction will use. Checked against the Rust SDK's
 * `perp_client::preview::{index_view, market_state}` on real account bytes (test/prices.test.ts).
 */
import { getAddressEncoder, type Address, type ReadonlyUint8Array } from '@solana/kit';
import type { Market } from './generated/accounts/index.js';
import { wideU128 } from './accounts.js';
import { abs, attempt, clamp, CoreError, divRound, max, min, mulDiv, overflow, type Result, U64_MAX } from './core.js';

export const PYTH_LEGACY = 1;
export const PYTH_PULL = 2;
/** Seconds a publish time may lie ahead of the clock before the reading counts as stale. */
export const MAX_FUTURE_SKEW = 10n;
const RATE = 1_000_000_000n;
const BASE = 1_000_000_000n;
const PRICE_DECIMALS = 6;
const MIN_RESERVE = 1_000n;
const MAX_RESERVE = 1_000_000_000_000_000_000n;

/** One oracle's reading in price precision (`perp_core::index::SourceReading`). */
export interface SourceReading {
    price: bigint;
    conf: bigint;
    publishTime: bigint;
    weight: bigint;
    ema: bigint;
}

/** A reading, or why the account's data cannot be used (the program's `OracleIssue` text). */
export type OracleRead = { ok: true; reading: SourceReading } | { ok: false; issue: string };

const LEGACY_MAGIC = 0xa1b2c3d4;
const dv = (d: ReadonlyUint8Array) => new DataView(d.buffer, d.byteOffset, d.byteLength);

function scaleMantissa(m: bigint, expo: number, up: boolean): bigint {
    const shift = expo + PRICE_DECIMALS;
    // 10^39 and beyond overflow u128 in Rust (`checked_pow`): the same error here
    if (shift > 38 || shift < -38) overflow();
    let v: bigint;
    if (shift >= 0) v = m * 10n ** BigInt(shift);
    else {
        const f = 10n ** BigInt(-shift);
        v = m / f + (up && m % f !== 0n ? 1n : 0n);
    }
    if (v > U64_MAX) overflow();
    return v;
}

function reading(price: bigint, conf: bigint, expo: number, publishTime: bigint, weight: bigint, ema: bigint): SourceReading {
    try {
        if (price <= 0n) throw new CoreError('NegativePrice');
        const p = scaleMantissa(price, expo, false);
        const c = scaleMantissa(conf, expo, true);
        let e = 0n;
        try {
            e = ema > 0n ? scaleMantissa(ema, expo, false) : 0n;
        } catch {
            e = 0n;
        }
        return { price: p, conf: c, publishTime, weight, ema: e };
    } catch (err) {
        if (!(err instanceof CoreError)) throw err;
        return { price: 0n, conf: 0n, publishTime: 0n, weight: 0n, ema: 0n };
    }
}

// PriceUpdateV2: discriminator, write authority, verification level (Partial{u8} | Full), message
const PRICE_UPDATE_V2_DISCRIMINATOR = [34, 241, 35, 99, 157, 126, 244, 205];

/**
 * `decode_reading`: one oracle account's data of `kind` as a reading. `partialMin`: null requires
 * fully verified pull updates, n also accepts partial ones with at least n signatures.
 */
export function decodeReading(
    kind: number,
    data: ReadonlyUint8Array,
    feedId: ReadonlyUint8Array,
    partialMin: number | null,
    weight: bigint,
): OracleRead {
    let r: SourceReading;
    const v = dv(data);
    if (kind === PYTH_LEGACY) {
        if (data.length < 240) return { ok: false, issue: 'legacy oracle unreadable: account data too short for a Pyth price account' };
        if (v.getUint32(0, true) !== LEGACY_MAGIC) return { ok: false, issue: 'legacy oracle unreadable: not a Pyth account (bad magic)' };
        if (v.getUint32(4, true) !== 2) return { ok: false, issue: 'legacy oracle unreadable: unsupported Pyth account version' };
        if (v.getUint32(8, true) !== 3)
            return { ok: false, issue: 'legacy oracle unreadable: Pyth account is not a price account (e.g. a product account)' };
        const status = v.getUint32(224, true);
        if (status !== 1) return { ok: false, issue: `legacy oracle not trading (status ${status})` };
        r = reading(v.getBigInt64(208, true), v.getBigUint64(216, true), v.getInt32(20, true), v.getBigInt64(96, true), weight, v.getBigInt64(48, true));
    } else if (kind === PYTH_PULL) {
        const unreadable: OracleRead = { ok: false, issue: 'pull oracle unreadable (not a PriceUpdateV2 account)' };
        if (data.length < 8 + 32 + 1 || PRICE_UPDATE_V2_DISCRIMINATOR.some((b, i) => data[i] !== b)) return unreadable;
        let o = 40;
        const level = data[o];
        let full: boolean;
        let signatures = 0;
        if (level === 0) {
            full = false;
            signatures = data[o + 1];
            o += 2;
        } else if (level === 1) {
            full = true;
            o += 1;
        } else return unreadable;
        if (data.length < o + 32 + 8 * 7 + 4) return unreadable;
        for (let i = 0; i < 32; i++) if (data[o + i] !== feedId[i]) return { ok: false, issue: 'pull oracle holds another feed' };
        o += 32;
        const price = v.getBigInt64(o, true);
        const conf = v.getBigUint64(o + 8, true);
        const expo = v.getInt32(o + 16, true);
        const publishTime = v.getBigInt64(o + 20, true);
        const ema = v.getBigInt64(o + 36, true);
        if (!full && (partialMin === null || signatures < partialMin))
            return { ok: false, issue: `pull oracle only partially verified (${signatures} signatures), fewer than the market requires` };
        r = reading(price, conf, expo, publishTime, weight, ema);
    } else return { ok: false, issue: 'unknown oracle kind' };
    if (r.price === 0n) return { ok: false, issue: 'oracle price is zero, negative or out of range' };
    return { ok: true, reading: r };
}

/** Why a source was left out of the index (`perp_core::DropReason`). */
export type DropReason =
    | { kind: 'stale'; age: bigint; maxAge: bigint }
    | { kind: 'lowConfidence'; confRatio: bigint; maxConf: bigint }
    | { kind: 'outlier'; deviation: bigint; maxDeviation: bigint }
    | { kind: 'invalid' };

export interface IndexConfig {
    maxAge: bigint;
    maxConf: bigint;
    maxDeviation: bigint;
    minSources: number;
    /** 0 = median, 1 = volume-weighted. */
    method: number;
}

export interface IndexReport {
    /** The index, or null when too few sources survive. */
    price: bigint | null;
    dropped: (DropReason | null)[];
    valid: number;
    required: number;
    oldestUsed: bigint | null;
}

const medianSorted = (v: bigint[]) => (v.length % 2 === 1 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2n);
const sortBig = (v: bigint[]) => v.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** `compute_index` (the configuration is the market's own, already validated by the program). */
export function computeIndex(sources: readonly SourceReading[], now: bigint, cfg: IndexConfig): Result<IndexReport> {
    return attempt(() => {
        if (sources.length > 16) throw new CoreError('TooManySources');
        const report: IndexReport = { price: null, dropped: sources.map(() => null), valid: 0, required: cfg.minSources, oldestUsed: null };
        const fresh: bigint[] = [];
        sources.forEach((s, i) => {
            if (s.price === 0n) {
                report.dropped[i] = { kind: 'invalid' };
                return;
            }
            const ahead = s.publishTime - now;
            if (ahead > MAX_FUTURE_SKEW) {
                report.dropped[i] = { kind: 'stale', age: -ahead, maxAge: cfg.maxAge };
                return;
            }
            const age = max(now - s.publishTime, 0n);
            if (age > cfg.maxAge) {
                report.dropped[i] = { kind: 'stale', age, maxAge: cfg.maxAge };
                return;
            }
            if (s.conf * RATE > cfg.maxConf * s.price) {
                report.dropped[i] = { kind: 'lowConfidence', confRatio: divRound(s.conf * RATE, s.price, true), maxConf: cfg.maxConf };
                return;
            }
            fresh.push(s.price);
        });
        if (fresh.length === 0) return report;
        const median = medianSorted(sortBig(fresh));
        const survivors: bigint[] = [];
        let weights = 0n;
        let weighted = 0n;
        sources.forEach((s, i) => {
            if (report.dropped[i]) return;
            const diff = abs(s.price - median);
            if (diff * RATE > cfg.maxDeviation * median) {
                report.dropped[i] = { kind: 'outlier', deviation: divRound(diff * RATE, median, true), maxDeviation: cfg.maxDeviation };
                return;
            }
            survivors.push(s.price);
            const t = min(s.publishTime, now);
            report.oldestUsed = report.oldestUsed === null ? t : min(report.oldestUsed, t);
            weights += s.weight;
            weighted += s.price * s.weight;
        });
        report.valid = survivors.length;
        if (survivors.length < cfg.minSources) return report;
        if (cfg.method === 1) {
            if (weights === 0n) return report;
            report.price = weighted / weights;
        } else report.price = medianSorted(sortBig(survivors));
        return report;
    });
}

export const indexConfig = (m: Market): IndexConfig => ({
    maxAge: m.maxAge,
    maxConf: m.maxConf,
    maxDeviation: m.maxDeviation,
    minSources: m.minSources,
    method: m.indexMethod,
});

/** `Market::partial_min_signatures`. */
export const partialMinSignatures = (m: Market): number | null => (m.allowPartialVerification !== 0 ? Math.max(m.minSignatures, 1) : null);

/** An oracle account as fetched: its owner and data (null: not found). */
export interface OracleAccount {
    owner: Address;
    data: ReadonlyUint8Array;
}

/** The index view of a market (`perp_client::preview::index_view`): per source a reading or why its account is unusable. */
export interface IndexView {
    report: IndexReport | null;
    readings: SourceReading[];
    issues: (string | null)[];
}

/**
 * `index_view`: the market's oracle accounts (in its order) read as the program reads them;
 * `pythLegacy` / `pythReceiver` are the exchange's Pyth program ids (an account owned by another
 * program counts nothing).
 */
export function indexView(
    m: Market,
    oracles: readonly (OracleAccount | null)[],
    now: bigint,
    pythLegacy: Address,
    pythReceiver: Address,
): IndexView {
    const readings: SourceReading[] = [];
    const issues: (string | null)[] = [];
    for (let i = 0; i < Math.min(m.numOracles, m.oracles.length); i++) {
        const cfg = m.oracles[i];
        const owner = cfg.kind === PYTH_LEGACY ? pythLegacy : pythReceiver;
        const a = oracles[i] ?? null;
        let r: OracleRead;
        if (!a) r = { ok: false, issue: 'account not found' };
        else if (a.owner !== owner) r = { ok: false, issue: `owner ${a.owner} is not the Pyth program ${owner}` };
        else r = decodeReading(cfg.kind, a.data, cfg.feedId, partialMinSignatures(m), cfg.weight);
        readings.push(r.ok ? r.reading : { price: 0n, conf: 0n, publishTime: 0n, weight: 0n, ema: 0n });
        issues.push(r.ok ? null : r.issue);
    }
    const rep = computeIndex(readings, now, indexConfig(m));
    return { report: rep.ok ? rep.value : null, readings, issues };
}

// the vAMM (`perp_core::vamm::Vamm`)
const ceilDiv = (n: bigint, d: bigint) => {
    if (d === 0n) throw new CoreError('DivisionByZero');
    return n / d + (n % d === 0n ? 0n : 1n);
};
const mulDivU128 = (a: bigint, b: bigint, d: bigint, up: boolean) => {
    const p = a * b;
    if (p >= 1n << 128n) overflow();
    return up ? ceilDiv(p, d) : p / d;
};
const perBase = (notional: bigint, base: bigint, up: boolean) => {
    const v = mulDiv(notional, BASE, base, up);
    if (v > U64_MAX) overflow();
    return v;
};

/** `Vamm::impact_ask`: average price to buy `notional` quote, rounded up. */
export function impactAsk(baseReserve: bigint, k: bigint, peg: bigint, notional: bigint): bigint {
    if (notional <= 0n) throw new CoreError('InvalidParameter');
    const dq = mulDivU128(notional, BASE, peg, false);
    const nq = ceilDiv(k, baseReserve) + dq;
    if (nq === 0n) throw new CoreError('InsufficientLiquidity');
    const nb = ceilDiv(k, nq);
    const db = baseReserve > nb ? baseReserve - nb : 0n;
    if (db === 0n || nb < MIN_RESERVE) throw new CoreError('InsufficientLiquidity');
    return perBase(notional, db, true);
}

/** `Vamm::impact_bid`: average price to sell for `notional` quote, rounded down. */
export function impactBid(baseReserve: bigint, k: bigint, peg: bigint, notional: bigint): bigint {
    if (notional <= 0n) throw new CoreError('InvalidParameter');
    const dq = mulDivU128(notional, BASE, peg, true);
    const q = ceilDiv(k, baseReserve);
    if (dq >= q) throw new CoreError('InsufficientLiquidity');
    const nb = ceilDiv(k, q - dq);
    if (nb > MAX_RESERVE) throw new CoreError('InsufficientLiquidity');
    const db = nb - baseReserve;
    if (db === 0n) throw new CoreError('InsufficientLiquidity');
    return perBase(notional, db, false);
}

/** `twap_update`: `(old x (W - d) + current x d) / W`, d = min(elapsed, W), rounded down. */
export function twapUpdate(old: bigint, current: bigint, elapsed: bigint, window: bigint): bigint {
    if (window <= 0n) throw new CoreError('InvalidParameter');
    if (old === 0n) return current;
    const d = clamp(elapsed, 0n, window);
    return (old * (window - d) + current * d) / window;
}

/** `Vamm::price`: the marginal (mid) price. */
export function vammPrice(m: Market): bigint {
    const b = wideU128(m.baseReserve);
    const q = ceilDiv(wideU128(m.k), b);
    return mulDivU128(q, m.peg, b, false);
}

/** `mark_price`: by the market's method, at `index` and `now` (unix seconds). */
export function markPrice(m: Market, index: bigint, now: bigint): Result<bigint> {
    return attempt(() => {
        if (m.markMethod !== 1) {
            if (m.fundingInterval <= 0n) throw new CoreError('InvalidParameter');
            const ttf = clamp(m.nextFundingTime - now, 0n, m.fundingInterval);
            const den = RATE * m.fundingInterval;
            const num = den + m.lastFundingRate * ttf;
            if (num <= 0n) throw new CoreError('NegativePrice');
            const v = mulDiv(index, num, den, false);
            if (v > U64_MAX) overflow();
            return v;
        }
        const b = wideU128(m.baseReserve);
        const k = wideU128(m.k);
        const bid = impactBid(b, k, m.peg, m.impactNotional);
        const ask = impactAsk(b, k, m.peg, m.impactNotional);
        const elapsed = m.twapTime === 0n ? m.samplePeriod : now - m.twapTime;
        const tb = twapUpdate(m.twapBid, bid, elapsed, m.samplePeriod);
        const ta = twapUpdate(m.twapAsk, ask, elapsed, m.samplePeriod);
        const median = sortBig([index, tb, ta])[1];
        // within half the first tier's maintenance rate of the index
        const band = clamp(m.tiers[0].mmr / 2n, 0n, RATE - 1n);
        const lo = mulDiv(index, RATE - band, RATE, true);
        const hi = mulDiv(index, RATE + band, RATE, false);
        if (lo > U64_MAX || hi > U64_MAX) overflow();
        return clamp(median, lo, max(hi, lo));
    });
}

/** A market with the price a client uses for it (`perp_client::preview::market_state`). */
export interface MarketPrices {
    index: bigint;
    /** False: too few sources survive now, so the market's cached index stands in. */
    live: boolean;
    mark: bigint;
}

export function marketPrices(m: Market, view: IndexView, now: bigint): MarketPrices | null {
    let index: bigint;
    let live: boolean;
    if (view.report?.price != null) {
        index = view.report.price;
        live = true;
    } else if (m.lastIndex > 0n) {
        index = m.lastIndex;
        live = false;
    } else return null;
    const mark = markPrice(m, index, now);
    return mark.ok ? { index, live, mark: mark.value } : null;
}

/** An address's 32 bytes (for comparing feed ids and keys). */
export const addressBytes = (a: Address): ReadonlyUint8Array => getAddressEncoder().encode(a);
