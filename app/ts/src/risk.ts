/**
 * perp-core's risk math (crates/perp-core/src/{units,margin,liquidation,adl}.rs) in TypeScript,
 * with the collateral math of {@link ./collateral-risk.ts} re-exported.
 *
 * Every quantity is a `bigint` in the protocol's raw units: base 10^-9, quote 10^-6, price 10^-6,
 * rate 10^-9. Arithmetic reproduces Rust's checked operations exactly: a result outside the Rust
 * type it is stored in (i64 for quotes and rates, u64 for prices, i128 for intermediates) is the
 * error `Overflow`, never a wrapped or a silently widened number. Roundings are those of the Rust
 * code (requirements and notional up, PnL down; see each function).
 *
 * Errors are values: every fallible function returns a {@link Result}, whose `error` is the
 * Rust `CoreError`'s `Debug` text (`"Overflow"`, `"ZeroSize"`, `"InvalidTiers(Empty)"`, ...).
 */

import {
    abs,
    attempt,
    clamp,
    CoreError,
    divRound,
    expectI64,
    expectU64,
    I128_MAX,
    i128,
    I64_MAX,
    i64,
    max,
    min,
    mulDiv,
    u64,
    type Result,
} from './core.js';

import type { CollateralValue } from './collateral-risk.js';

export { divRound, mulDiv, type Result };
export * from './collateral-risk.js';

/** One margin tier: notional cap (quote, inclusive), initial and maintenance rates (10^-9). */
export interface Tier {
    cap: bigint;
    imr: bigint;
    mmr: bigint;
}

/** A position as the risk engine sees it: signed base (long > 0) and signed entry quote flow. */
export interface PositionState {
    base: bigint;
    /** `-cost` for a long, `+proceeds` for a short; unrealized PnL at `p` is `base x p + quoteEntry`. */
    quoteEntry: bigint;
}

export type MarginKind = 'initial' | 'maintenance';

/** A liquidation price and the tier (0-based) whose maintenance rate applies there. */
export interface LiquidationPrice {
    price: bigint;
    tier: number;
}

export const BASE_PRECISION = 1_000_000_000n;
export const QUOTE_PRECISION = 1_000_000n;
export const PRICE_PRECISION = 1_000_000n;
export const RATE_PRECISION = 1_000_000_000n;
/** Highest price the liquidation-price search considers (10^12 quote per base unit). */
export const MAX_PRICE = 1_000_000_000_000_000_000n;
/** Largest window scanned past the liquidation boundary for rounding flips. */
export const ROUNDING_WINDOW_CAP = 1_000_000n;

function expectPosition(p: PositionState): void {
    expectI64('base', p.base);
    expectI64('quoteEntry', p.quoteEntry);
}
function expectTiers(tiers: readonly Tier[]): void {
    tiers.forEach((t, i) => {
        expectI64(`tiers[${i}].cap`, t.cap);
        expectI64(`tiers[${i}].imr`, t.imr);
        expectI64(`tiers[${i}].mmr`, t.mmr);
    });
}

/** `Base::value_at`: `base x price`, rounded as asked, as an i64 quote. */
function valueAt(base: bigint, price: bigint, up: boolean): bigint {
    return i64(mulDiv(base, price, BASE_PRECISION, up));
}

function upnlRaw(p: PositionState, mark: bigint): bigint {
    return i64(valueAt(p.base, mark, false) + p.quoteEntry);
}

function notionalRaw(p: PositionState, mark: bigint): bigint {
    return valueAt(i64(abs(p.base)), mark, true);
}

/** Unrealized PnL at `mark`: `base x mark` rounded down, plus the entry flow. */
export function upnl(p: PositionState, mark: bigint): Result<bigint> {
    expectPosition(p);
    expectU64('mark', mark);
    return attempt(() => upnlRaw(p, mark));
}

/** Notional for requirements: `|base| x mark`, rounded up. */
export function notional(p: PositionState, mark: bigint): Result<bigint> {
    expectPosition(p);
    expectU64('mark', mark);
    return attempt(() => notionalRaw(p, mark));
}

const rateOf = (t: Tier, kind: MarginKind) => (kind === 'initial' ? t.imr : t.mmr);

/** Index of the tier a notional falls in (`cap_{k-1} < notional <= cap_k`; the last beyond). */
export function tierIndex(tiers: readonly Tier[], n: bigint): number {
    const i = tiers.findIndex((t) => n <= t.cap);
    return i >= 0 ? i : Math.max(tiers.length - 1, 0);
}

/** `margin::tier_amount_scaled`: the tier amount at rate precision x quote. */
function tierAmountScaled(tiers: readonly Tier[], k: number, kind: MarginKind): bigint {
    let amount = 0n;
    for (let i = 1; i <= k; i++) {
        const step = i64(rateOf(tiers[i], kind) - rateOf(tiers[i - 1], kind));
        amount = i128(amount + tiers[i - 1].cap * step);
    }
    return amount;
}

function requirementRaw(tiers: readonly Tier[], n: bigint, kind: MarginKind): bigint {
    if (tiers.length === 0) throw new CoreError('InvalidTiers(Empty)');
    if (n <= 0n) return 0n;
    const k = tierIndex(tiers, n);
    const scaled = i128(n * rateOf(tiers[k], kind) - tierAmountScaled(tiers, k, kind));
    return i64(divRound(scaled, RATE_PRECISION, true));
}

/** `margin::requirements`: both requirements from one pass over the tiers. */
function requirementsRaw(tiers: readonly Tier[], n: bigint): [bigint, bigint] {
    if (tiers.length === 0) throw new CoreError('InvalidTiers(Empty)');
    if (n <= 0n) return [0n, 0n];
    const k = tierIndex(tiers, n);
    let ai = 0n;
    let am = 0n;
    for (let i = 1; i <= k; i++) {
        const cap = tiers[i - 1].cap;
        ai = i128(ai + cap * i64(tiers[i].imr - tiers[i - 1].imr));
        am = i128(am + cap * i64(tiers[i].mmr - tiers[i - 1].mmr));
    }
    const one = (rate: bigint, amount: bigint) => i64(divRound(i128(n * rate - amount), RATE_PRECISION, true));
    return [one(tiers[k].imr, ai), one(tiers[k].mmr, am)];
}

/**
 * Requirement of a notional: `ceil(notional x rate_k - amount_k)` where `k` is the notional's tier
 * and `amount_k` the published tier amount ("cum"); 0 for a notional <= 0.
 */
export function requirement(tiers: readonly Tier[], n: bigint, kind: MarginKind): Result<bigint> {
    expectTiers(tiers);
    expectI64('notional', n);
    return attempt(() => requirementRaw(tiers, n, kind));
}

/** Both requirements of a notional (equal to two calls of {@link requirement}). */
export function requirements(tiers: readonly Tier[], n: bigint): Result<{ initial: bigint; maintenance: bigint }> {
    expectTiers(tiers);
    expectI64('notional', n);
    return attempt(() => {
        const [initial, maintenance] = requirementsRaw(tiers, n);
        return { initial, maintenance };
    });
}

/**
 * Checks tiers as `margin::validate_tiers`: 1..=12 tiers, caps positive and strictly increasing,
 * rates in (0, 1], MMR < IMR, rates non-decreasing.
 */
export function validateTiers(tiers: readonly Tier[]): Result<void> {
    expectTiers(tiers);
    return attempt(() => validateTiersRaw(tiers));
}

function validateTiersRaw(tiers: readonly Tier[]): void {
    const bad = (p: string): never => {
        throw new CoreError(`InvalidTiers(${p})`);
    };
    if (tiers.length === 0) bad('Empty');
    if (tiers.length > 12) bad('TooMany');
    tiers.forEach((t, tier) => {
        const inRange = (r: bigint) => r > 0n && r <= RATE_PRECISION;
        if (!inRange(t.imr) || !inRange(t.mmr)) bad(`RateOutOfRange { tier: ${tier} }`);
        if (t.mmr >= t.imr) bad(`MaintenanceNotBelowInitial { tier: ${tier} }`);
        if (t.cap <= 0n) bad(`CapsNotIncreasing { tier: ${tier} }`);
        if (tier > 0) {
            const p = tiers[tier - 1];
            if (t.cap <= p.cap) bad(`CapsNotIncreasing { tier: ${tier} }`);
            if (t.imr < p.imr || t.mmr < p.mmr) bad(`RatesDecreasing { tier: ${tier} }`);
        }
    });
}

/**
 * Health of a margin group (an isolated position with its collateral, or an account's cross
 * part), as `margin::Health`. Add each position with {@link Health.addPosition}.
 */
export class Health {
    /** Collateral + unrealized PnL - funding owed. */
    equity: bigint;
    /** Equity counting only losses (the base for withdrawals). */
    equityWithoutProfit: bigint;
    initial = 0n;
    maintenance = 0n;
    notional = 0n;

    constructor(collateral: bigint) {
        expectI64('collateral', collateral);
        this.equity = collateral;
        this.equityWithoutProfit = collateral;
    }

    /** `Health::new(collateral)`. */
    static new(collateral: bigint): Health {
        return new Health(collateral);
    }

    /**
     * Adds one position at `mark` with `fundingOwed` (positive = the position owes). On an error
     * the fields already updated stay updated, as in Rust (discard the health then).
     */
    addPosition(p: PositionState, mark: bigint, fundingOwed: bigint, tiers: readonly Tier[]): Result<void> {
        expectPosition(p);
        expectU64('mark', mark);
        expectI64('fundingOwed', fundingOwed);
        expectTiers(tiers);
        return attempt(() => {
            const u = i64(upnlRaw(p, mark) - fundingOwed);
            this.equity = i64(this.equity + u);
            this.equityWithoutProfit = i64(this.equityWithoutProfit + min(u, 0n));
            const n = notionalRaw(p, mark);
            this.notional = i64(this.notional + n);
            const [im, mm] = requirementsRaw(tiers, n);
            this.initial = i64(this.initial + im);
            this.maintenance = i64(this.maintenance + mm);
        });
    }

    /**
     * Adds a part computed elsewhere (`Health::merge`): another position's, or a collateral
     * holding's ({@link collateralPart}). On an error the fields already updated stay updated.
     */
    merge(o: Health): Result<void> {
        return attempt(() => {
            this.equity = i64(this.equity + o.equity);
            this.equityWithoutProfit = i64(this.equityWithoutProfit + o.equityWithoutProfit);
            this.initial = i64(this.initial + o.initial);
            this.maintenance = i64(this.maintenance + o.maintenance);
            this.notional = i64(this.notional + o.notional);
        });
    }

    /** Adds a collateral holding's value: `merge(collateralPart(v))`. */
    addCollateral(v: CollateralValue): Result<void> {
        const part = collateralPart(v);
        return part.ok ? this.merge(part.value) : part;
    }

    /** Equity strictly below the maintenance requirement. */
    isLiquidatable(): boolean {
        return this.equity < this.maintenance;
    }

    /** Equity below zero. */
    isBankrupt(): boolean {
        return this.equity < 0n;
    }

    /** Equity minus the initial requirement (may be negative). */
    freeCollateral(): Result<bigint> {
        return attempt(() => i64(this.equity - this.initial));
    }

    /** Loss-only equity minus the initial requirement, at most `collateral`, never negative. */
    withdrawable(collateral: bigint): Result<bigint> {
        expectI64('collateral', collateral);
        return attempt(() => max(min(i64(this.equityWithoutProfit - this.initial), collateral), 0n));
    }

    /** `maintenance / equity` (rate, rounded up); `null` when equity <= 0. */
    marginRatio(): Result<bigint | null> {
        if (this.equity <= 0n) return { ok: true, value: null };
        return attempt(() => i64(mulDiv(this.maintenance, RATE_PRECISION, this.equity, true)));
    }
}

/**
 * A collateral holding's part of cross health (`engine::health::collateral_part`): its maintenance
 * value counts as equity and as equity without profit (an asset, not a gain), and the gap to its
 * initial value as an initial requirement, so `equity - initial` counts it at its initial value
 * and `equity - maintenance` at its maintenance value.
 */
export function collateralPart(v: CollateralValue): Result<Health> {
    expectI64('maintenance', v.maintenance);
    expectI64('initial', v.initial);
    return attempt(() => {
        const h = new Health(v.maintenance);
        h.initial = i64(v.maintenance - v.initial);
        return h;
    });
}

/** The integer check the program enforces: `collateral + upnl(p) < maintenance(p)`. */
function liquidatableAt(pos: PositionState, collateral: bigint, tiers: readonly Tier[], p: bigint): boolean {
    const equity = i64(collateral + upnlRaw(pos, p));
    const mm = requirementRaw(tiers, notionalRaw(pos, p), 'maintenance');
    return equity < mm;
}

/** `liquidation::tier_amount_scaled` (maintenance amounts, tiers already validated). */
function mmAmountScaled(tiers: readonly Tier[], k: number): bigint {
    let a = 0n;
    for (let i = 1; i <= k; i++) a += tiers[i - 1].cap * (tiers[i].mmr - tiers[i - 1].mmr);
    return a;
}

/**
 * Most ticks past the first flip where rounding can flip the check back (`rounding_window`):
 * `ceil(3 x 10^18 / (|b| x m)) + 1`, at most {@link ROUNDING_WINDOW_CAP}.
 */
export function roundingWindow(pos: PositionState, tiers: readonly Tier[]): bigint {
    const b = max(abs(pos.base), 1n);
    let m = RATE_PRECISION;
    if (pos.base > 0n) {
        const maxMmr = tiers.reduce((acc, t) => max(acc, t.mmr), 0n);
        m = max(RATE_PRECISION - maxMmr, 1n);
    }
    let w: bigint;
    try {
        w = divRound(3n * 1_000_000_000_000_000_000n, min(b * m, I128_MAX), true) + 1n;
    } catch {
        w = ROUNDING_WINDOW_CAP + 1n;
    }
    return min(w, ROUNDING_WINDOW_CAP);
}

/**
 * `find_boundary`: for a long (`below`), the largest p in [lo, hi] with pred(p), given pred(lo)
 * and pred decreasing; for a short, the smallest p with pred(p), given pred(hi). A short walk
 * from `start`, then bisection.
 */
function findBoundary(start: bigint, lo: bigint, hi: bigint, below: boolean, pred: (p: bigint) => boolean): bigint {
    let p = start;
    for (let i = 0; i < 8; i++) {
        const here = pred(p);
        if (below) {
            if (here && !pred(p + 1n)) return p;
            p = here ? min(p + 1n, hi) : max(p - 1n, lo);
        } else {
            if (here && !pred(p - 1n)) return p;
            p = here ? max(p - 1n, lo) : min(p + 1n, hi);
        }
    }
    let a = lo;
    let b = hi;
    if (below) {
        while (a < b) {
            const mid = a + (b - a + 1n) / 2n;
            if (pred(mid)) a = mid;
            else b = mid - 1n;
        }
        return a;
    }
    while (a < b) {
        const mid = a + (b - a) / 2n;
        if (pred(mid)) b = mid;
        else a = mid + 1n;
    }
    return b;
}

/**
 * Liquidation price of `pos` with effective collateral `collateral` (`liquidation_price`): for a
 * long the highest price, for a short the lowest, at which the group is liquidatable, snapped to
 * the tick where the program's integer check flips. `null` when no price in (0, MAX_PRICE] makes
 * it liquidatable. Errors: `ZeroSize` for a zero base, `InvalidTiers(..)`, `Overflow`.
 */
export function liquidationPrice(
    pos: PositionState,
    collateral: bigint,
    tiers: readonly Tier[],
): Result<LiquidationPrice | null> {
    expectPosition(pos);
    expectI64('collateral', collateral);
    expectTiers(tiers);
    return attempt(() => {
        if (pos.base === 0n) throw new CoreError('ZeroSize');
        validateTiersRaw(tiers);
        const long = pos.base > 0n;
        const b = pos.base;
        const absB = abs(b);
        const cq = collateral + pos.quoteEntry;

        // analytic guess, tier by tier
        let guess: bigint | null = null;
        for (let k = 0; k < tiers.length; k++) {
            const den = b * RATE_PRECISION - absB * tiers[k].mmr;
            if (den === 0n) continue;
            const num = -(cq * RATE_PRECISION + mmAmountScaled(tiers, k)) * BASE_PRECISION;
            const p = divRound(num, den, false);
            if (p <= 0n) continue;
            const n = (absB * p) / BASE_PRECISION;
            const lo = k === 0 ? 0n : tiers[k - 1].cap;
            const hi = k + 1 === tiers.length ? I128_MAX : tiers[k].cap;
            if (n >= lo && n <= hi) {
                guess = p;
                break;
            }
        }

        const top = min(MAX_PRICE, (I64_MAX * BASE_PRECISION) / absB / 2n);
        const liq = (p: bigint) => liquidatableAt(pos, collateral, tiers, clamp(p, 0n, top));
        const start = clamp(guess ?? (long ? 0n : top), 1n, top);

        let boundary: bigint;
        if (long) {
            if (!liq(1n)) return null;
            boundary = findBoundary(start, 1n, top, true, liq);
        } else {
            if (!liq(top)) return null;
            boundary = findBoundary(start, 1n, top, false, liq);
        }
        // past the boundary, the outermost tick where rounding still makes the check hold
        const w = roundingWindow(pos, tiers);
        let edge = boundary;
        for (let k = 1n; k <= w; k++) {
            const p = long ? boundary + k : boundary - k;
            if (p < 1n || p > top) break;
            if (liq(p)) edge = p;
        }
        return { price: edge, tier: tierIndex(tiers, notionalRaw(pos, edge)) };
    });
}

/**
 * Bankruptcy price (`bankruptcy_price`): where equity reaches zero, `-(collateral + quoteEntry) /
 * base`, rounded up for a long and down for a short; 0 for a long that cannot go bankrupt.
 */
export function bankruptcyPrice(pos: PositionState, collateral: bigint): Result<bigint> {
    expectPosition(pos);
    expectI64('collateral', collateral);
    return attempt(() => {
        if (pos.base === 0n) throw new CoreError('ZeroSize');
        const cq = collateral + pos.quoteEntry;
        const p = divRound(-cq * BASE_PRECISION, pos.base, pos.base > 0n);
        return u64(max(p, 0n));
    });
}

/**
 * The ADL quantile (5 = first in line) of the candidate at 1-based `rank` among `candidates`,
 * as `adl::adl_quantile`; `null` when the rank is not in 1..=candidates.
 */
export function adlQuantile(rank: number | bigint, candidates: number | bigint): number | null {
    const r = BigInt(rank);
    const n = BigInt(candidates);
    if (r < 0n || n < 0n) throw new RangeError('rank and candidates are unsigned');
    if (r === 0n || r > n) return null;
    return 5 - Number((5n * (r - 1n)) / n);
}
