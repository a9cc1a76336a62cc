/**
 * perp-core's collateral math (crates/perp-core/src/collateral.rs) in TypeScript: what a deposit
 * of a listed (non-settlement) collateral mint is worth in margin, and how much of it a
 * collateral liquidation sells. Re-exported by `risk`.
 *
 * Units: a token amount is raw (10^-decimals of one token, u64); a price is quote per whole token,
 * 10^-6 (u64); values are quote raw (10^-6, i64); weights and rates are 10^-9 (i64).
 *
 * - value: `amount x price / 10^decimals`, rounded down;
 * - maintenance value: the value at the index x the maintenance weight, rounded down;
 * - initial value: the value at `min(index, time-weighted index)` x `min(initial weight, size
 *   weight)`, rounded down, the size weight being `1.1 / (1 + imf x sqrt(value in whole quote))`
 *   (the square root rounded up), and never above the maintenance value;
 * - a sale: the account gets `index x (1 - discount)` (rounded down), the liquidator pays
 *   `index x (1 - discount x liquidator_share)` (rounded up), the difference is the insurance's.
 *
 * Errors are the Rust `CoreError`'s `Debug` text, as in `risk` (`"Overflow"`,
 * `"DivisionByZero"`, `InvalidParameter("collateral decimals above 12")`). Inputs outside their
 * Rust types, and the few inputs on which Rust's checked build panics (an `i64` or plain `u128`
 * operation overflowing on nonsensical weights), throw a `RangeError` instead.
 *
 * {@link holdingValue} is the program's choice of prices for a holding
 * (programs/perp/src/engine/collateral.rs), for showing an account's health as the program
 * computes it; its errors are program error names.
 */
import type { Collateral } from './generated/accounts/index.js';
import {
    attempt,
    CoreError,
    divRound,
    expectI64,
    expectU64,
    i64,
    I64_MAX,
    I64_MIN,
    min,
    mulDiv,
    overflow,
    u64,
    U128_MAX,
    type Result,
} from './core.js';

/** Direction of an inexact division: `down` (floor) or `up` (ceiling), as `units::Round`. */
export type Round = 'down' | 'up';

/** Largest token decimals accepted (the value formula divides by `10^decimals`). */
export const MAX_DECIMALS = 12;
/** Constant of the size discount: `1.1` at rate precision. */
export const SIZE_WEIGHT_NUMERATOR = 1_100_000_000n;
/** A collateral liquidation sells until equity reaches maintenance x (1 + this) (10%). */
export const COLLATERAL_TARGET_BUFFER = 100_000_000n;
/** `collateral_status`: deposits, withdrawals, counts for both margins. */
export const COLLATERAL_ACTIVE = 0;
/** No new deposits; still counts for both margins. */
export const COLLATERAL_REDUCE_ONLY = 1;
/** No new deposits and nothing for initial margin; still counts for maintenance. */
export const COLLATERAL_WITHDRAW_ONLY = 2;

const ONE = 1_000_000_000n; // RATE_PRECISION
const SQRT_SCALE = 1_000_000_000_000n; // 10^12: 10^9 rate x 10^3 = sqrt(10^6 quote)

/** Risk parameters of one collateral mint (`CollateralRisk`). */
export interface CollateralRisk {
    decimals: number;
    /** Weight for initial margin, in [0, maintenance] (10^-9). */
    initialWeight: bigint;
    /** Weight for maintenance margin (10^-9). */
    maintenanceWeight: bigint;
    /** Size discount per `sqrt(value in whole quote units)` (10^-9; 0 = none). */
    imf: bigint;
}

/** A holding's contribution to margin (`CollateralValue`), quote raw. */
export interface CollateralValue {
    /** Counted toward maintenance (and equity). */
    maintenance: bigint;
    /** Counted toward initial margin; never above `maintenance`. */
    initial: bigint;
}

/** Terms of a collateral liquidation (`SaleTerms`). */
export interface SaleTerms {
    /** The index the sale executes at (before the discount). */
    price: bigint;
    /** The price the holding is valued at for maintenance (at least `price`). */
    valuePrice: bigint;
    decimals: number;
    maintenanceWeight: bigint;
    /** The account sells at `price x (1 - discount)`. */
    discount: bigint;
    /** Share of the discount that goes to the liquidator; the rest to the insurance fund. */
    liquidatorShare: bigint;
}

/** One collateral liquidation's amounts (`CollateralSale`). */
export interface CollateralSale {
    /** Tokens (raw) moved from the account to the liquidator. */
    tokens: bigint;
    /** Settlement credited to the account (rounded down). */
    toAccount: bigint;
    /** Settlement the liquidator pays (rounded up). */
    fromLiquidator: bigint;
    /** `fromLiquidator - toAccount`, to the insurance fund. */
    toInsurance: bigint;
}

// ---- Rust's operations -------------------------------------------------------------------

const U128_MOD = 1n << 128n;
/** `x as u128` for an i64 `x` (sign extension: a negative value becomes `2^128 + x`). */
const asU128 = (x: bigint): bigint => (x < 0n ? U128_MOD + x : x);

/** Where Rust's overflow-checked build panics: a caller's bug, as an out-of-range input. */
function panics(what: string): never {
    throw new RangeError(`${what} overflows (Rust panics on these inputs)`);
}
/** A plain (unchecked) `i64` subtraction, which panics on overflow in a checked build. */
const subI64 = (a: bigint, b: bigint): bigint => {
    const v = a - b;
    return v < I64_MIN || v > I64_MAX ? panics('an i64 subtraction') : v;
};
/** A plain `u128` multiplication, which panics on overflow in a checked build. */
const mulU128 = (a: bigint, b: bigint): bigint => {
    const v = a * b;
    return v > U128_MAX ? panics('a u128 multiplication') : v;
};

/** `units::mul_div_u128`: the zero divisor first, then the product checked against u128. */
function mulDivU128(a: bigint, b: bigint, d: bigint, up: boolean): bigint {
    if (d === 0n) throw new CoreError('DivisionByZero');
    const p = a * b;
    if (p > U128_MAX) overflow();
    const q = p / d;
    return up && p % d !== 0n ? q + 1n : q;
}

function pow10(decimals: number): bigint {
    if (decimals > MAX_DECIMALS) throw new CoreError('InvalidParameter("collateral decimals above 12")');
    return 10n ** BigInt(decimals);
}

/** `Quote::mul_rate`. */
const mulRate = (q: bigint, rate: bigint, up: boolean): bigint => i64(mulDiv(q, rate, ONE, up));

function expectDecimals(d: number): void {
    if (!Number.isInteger(d) || d < 0 || d > 255) throw new RangeError(`decimals out of range (u8): ${d}`);
}
function expectRound(r: Round): boolean {
    if (r !== 'down' && r !== 'up') throw new RangeError(`round must be "down" or "up", got ${r}`);
    return r === 'up';
}
function expectRisk(r: CollateralRisk): void {
    expectDecimals(r.decimals);
    expectI64('initialWeight', r.initialWeight);
    expectI64('maintenanceWeight', r.maintenanceWeight);
    expectI64('imf', r.imf);
}
function expectTerms(t: SaleTerms): void {
    expectU64('price', t.price);
    expectU64('valuePrice', t.valuePrice);
    expectDecimals(t.decimals);
    expectI64('maintenanceWeight', t.maintenanceWeight);
    expectI64('discount', t.discount);
    expectI64('liquidatorShare', t.liquidatorShare);
}

// ---- the functions -----------------------------------------------------------------------

function tokenValueRaw(amount: bigint, decimals: number, price: bigint, up: boolean): bigint {
    return i64(mulDivU128(amount, price, pow10(decimals), up));
}

/** `token_value`: `amount x price / 10^decimals`, quote raw, rounded as asked. */
export function tokenValue(amount: bigint, decimals: number, price: bigint, round: Round): Result<bigint> {
    expectU64('amount', amount);
    expectDecimals(decimals);
    expectU64('price', price);
    const up = expectRound(round);
    return attempt(() => tokenValueRaw(amount, decimals, price, up));
}

/** `tokens_for_value`: tokens (raw) worth `value` at `price`: `value x 10^decimals / price`. */
export function tokensForValue(value: bigint, decimals: number, price: bigint, round: Round): Result<bigint> {
    expectI64('value', value);
    expectDecimals(decimals);
    expectU64('price', price);
    const up = expectRound(round);
    return attempt(() => {
        if (value < 0n) throw new CoreError('InvalidParameter("negative value")');
        if (price === 0n) throw new CoreError('DivisionByZero');
        return u64(mulDivU128(value, pow10(decimals), price, up));
    });
}

/** `isqrt_floor`: Newton's method on integers, exactly as Rust iterates it. */
function isqrtFloor(n: bigint): bigint {
    if (n < 2n) return n;
    let x = n;
    let y = x / 2n + 1n;
    while (y < x) {
        x = y;
        y = (x + n / x) / 2n;
    }
    return x;
}

/** `ceil_sqrt`: the smallest `s` with `s x s >= n` (u64). */
export function ceilSqrt(n: bigint): bigint {
    expectU64('n', n);
    if (n === 0n) return 0n;
    let s = isqrtFloor(n);
    if (s * s < n) s += 1n;
    return s;
}

function sizeWeightRaw(weight: bigint, imf: bigint, value: bigint): bigint {
    if (imf <= 0n || value <= 0n) return weight;
    const s = ceilSqrt(value);
    const den = SQRT_SCALE + imf * s;
    const w = mulDivU128(SIZE_WEIGHT_NUMERATOR, SQRT_SCALE, den, false);
    return min(w, weight);
}

/**
 * `size_weight`: the initial weight after the size discount,
 * `min(weight, 1.1 / (1 + imf x sqrt(value / 10^6)))`, rounded down.
 */
export function sizeWeight(weight: bigint, imf: bigint, value: bigint): Result<bigint> {
    expectI64('weight', weight);
    expectI64('imf', imf);
    expectI64('value', value);
    return attempt(() => sizeWeightRaw(weight, imf, value));
}

function collateralValueRaw(
    amount: bigint,
    risk: CollateralRisk,
    index: bigint,
    strict: bigint,
    initialAllowed: boolean,
): CollateralValue {
    const atIndex = tokenValueRaw(amount, risk.decimals, index, false);
    const maintenance = mulRate(atIndex, risk.maintenanceWeight, false);
    let initial = 0n;
    if (initialAllowed) {
        const atStrict = tokenValueRaw(amount, risk.decimals, min(strict, index), false);
        const w = sizeWeightRaw(risk.initialWeight, risk.imf, atStrict);
        initial = min(mulRate(atStrict, w, false), maintenance);
    }
    return { maintenance, initial };
}

/**
 * `collateral_value`: what `amount` of a collateral counts for: at `index` for maintenance, at
 * `min(strict, index)` with the size-discounted initial weight for initial margin;
 * `initialAllowed: false` (a withdraw-only collateral) counts nothing for initial margin.
 */
export function collateralValue(
    amount: bigint,
    risk: CollateralRisk,
    index: bigint,
    strict: bigint,
    initialAllowed: boolean,
): Result<CollateralValue> {
    expectU64('amount', amount);
    expectRisk(risk);
    expectU64('index', index);
    expectU64('strict', strict);
    return attempt(() => collateralValueRaw(amount, risk, index, strict, initialAllowed));
}

function saleOfRaw(tokens: bigint, t: SaleTerms): CollateralSale {
    const value = (rate: bigint, up: boolean): bigint =>
        i64(mulDivU128(tokens * t.price, asU128(rate), pow10(t.decimals) * ONE, up));
    // Rate::mul_rate_of: discount x share, rounded down, as an i64 rate
    const liqDiscount = i64(divRound(t.discount * t.liquidatorShare, ONE, false));
    const toAccount = value(subI64(ONE, t.discount), false);
    const fromLiquidator = value(subI64(ONE, liqDiscount), true);
    const toInsurance = i64(fromLiquidator - toAccount);
    return { tokens, toAccount, fromLiquidator, toInsurance };
}

/** `sale_of`: the amounts for selling exactly `tokens` on `terms`. */
export function saleOf(tokens: bigint, terms: SaleTerms): Result<CollateralSale> {
    expectU64('tokens', tokens);
    expectTerms(terms);
    return attempt(() => saleOfRaw(tokens, terms));
}

/**
 * `collateral_liquidation`: the sale that raises the account's equity by `shortfall` (target less
 * equity) and no further: `ceil(shortfall / (price x (1 - discount) - valuePrice x weight))`
 * tokens (unbounded when a token adds nothing), at most `balance`, at most `maxTokens`, and at most
 * what pays `owed` (the settlement the account lacks). Nothing when `shortfall` or `owed` is <= 0.
 */
export function collateralLiquidation(
    shortfall: bigint,
    owed: bigint,
    balance: bigint,
    maxTokens: bigint,
    terms: SaleTerms,
): Result<CollateralSale> {
    expectI64('shortfall', shortfall);
    expectI64('owed', owed);
    expectU64('balance', balance);
    expectU64('maxTokens', maxTokens);
    expectTerms(terms);
    const t = terms;
    return attempt(() => {
        if (
            subI64(subI64(ONE, t.discount), t.maintenanceWeight) <= 0n ||
            t.discount < 0n ||
            t.price === 0n ||
            t.valuePrice < t.price
        ) {
            throw new CoreError('InvalidParameter("discount + maintenance weight must be below 1")');
        }
        if (shortfall <= 0n || owed <= 0n) return { tokens: 0n, toAccount: 0n, fromLiquidator: 0n, toInsurance: 0n };
        // per token, at rate x price precision: price x (1 - d) - valuePrice x w
        const credit = mulU128(t.price, asU128(ONE - t.discount));
        const givenUp = mulU128(t.valuePrice, asU128(t.maintenanceWeight));
        const forTarget = credit > givenUp ? mulDivU128(shortfall, pow10(t.decimals) * ONE, credit - givenUp, true) : U128_MAX;
        const forOwed = mulDivU128(owed, pow10(t.decimals) * ONE, credit, true);
        const tokens = min(min(min(forTarget, forOwed), balance), maxTokens);
        return saleOfRaw(tokens, t);
    });
}

// ---- a listed collateral account (programs/perp/src/state/collateral.rs, engine/collateral.rs)

/** The fields of a decoded `Collateral` account the valuation reads. */
export type CollateralPricing = Pick<
    Collateral,
    | 'decimals'
    | 'initialWeight'
    | 'maintenanceWeight'
    | 'imf'
    | 'liquidationDiscount'
    | 'liquidatorShare'
    | 'status'
    | 'maxAge'
    | 'samplePeriod'
    | 'lastPrice'
    | 'lastPriceTime'
    | 'lastPriceSlot'
    | 'priceTwap'
    | 'priceTwapTime'
>;

/** `Collateral::risk`. */
export const collateralRisk = (c: CollateralPricing): CollateralRisk => ({
    decimals: c.decimals,
    initialWeight: c.initialWeight,
    maintenanceWeight: c.maintenanceWeight,
    imf: c.imf,
});

/** `Collateral::sale_terms`. */
export const saleTerms = (c: CollateralPricing, price: bigint, valuePrice: bigint): SaleTerms => ({
    price,
    valuePrice,
    decimals: c.decimals,
    maintenanceWeight: c.maintenanceWeight,
    discount: c.liquidationDiscount,
    liquidatorShare: c.liquidatorShare,
});

/** Slots within which a withdrawal or liquidation needs the price refreshed (`REFRESH_SLOTS`). */
export const REFRESH_SLOTS = 4n;
/** Seconds past its `maxAge` after which a price counts as dead (`COLLATERAL_FALLBACK_AGE`, 15 min). */
export const COLLATERAL_FALLBACK_AGE = 900n;

const saturatingSubI64 = (a: bigint, b: bigint) => {
    const v = a - b;
    return v > I64_MAX ? I64_MAX : v < I64_MIN ? I64_MIN : v;
};

/** `twap::twap_update`: `(old x (W - d) + current x d) / W`, `d = clamp(elapsed, 0, W)`. */
function twapUpdate(old: bigint, current: bigint, elapsed: bigint, window: bigint): bigint {
    if (window <= 0n) throw new CoreError('InvalidParameter("TWAP window must be > 0 seconds")');
    if (old === 0n) return current;
    const d = elapsed < 0n ? 0n : elapsed > window ? window : elapsed;
    const sum = old * (window - d) + current * d;
    if (sum > U128_MAX) overflow();
    return u64(sum / window);
}

function twapNowRaw(c: CollateralPricing, now: bigint): bigint {
    if (c.priceTwap === 0n) return c.lastPrice;
    const elapsed = saturatingSubI64(now, c.priceTwapTime);
    if (elapsed <= 0n || c.priceTwap === c.lastPrice) return c.priceTwap;
    return twapUpdate(c.priceTwap, c.lastPrice, elapsed, c.samplePeriod > 1n ? c.samplePeriod : 1n);
}

/** `Collateral::twap_now`: the time-weighted price as of `now` (unix seconds). */
export function collateralTwapNow(c: CollateralPricing, now: bigint): Result<bigint> {
    expectI64('now', now);
    return attempt(() => twapNowRaw(c, now));
}

/** What an instruction needs of a price (`engine::markets::PriceNeed`). */
export type PriceNeed = 'adding' | 'withdraw' | 'tolerant' | 'liquidation' | 'lenient';

/** `core_error`: the program error a perp-core error becomes. */
const programError = (debug: string): string =>
    debug.startsWith('InvalidParameter(') || debug.startsWith('InvalidTiers(') || debug === 'TooManySources'
        ? 'InvalidMarketParams'
        : 'MathOverflow';

/**
 * `engine::collateral::holding_value`: what `amount` of `c` counts for in a check needing `need`
 * at `now` (unix seconds) and `slot`. A dead price (none, or more than
 * {@link COLLATERAL_FALLBACK_AGE} past the collateral's `maxAge`) counts nothing for `tolerant`,
 * `lenient` and `liquidation`; `tolerant` and `lenient` count a late price as cached; for the
 * others a price older than `maxAge` is `StaleCollateralPrice`, and `withdraw` and `liquidation`
 * need it refreshed within {@link REFRESH_SLOTS} (`IndexNotRefreshed`). `liquidation` and
 * `lenient` value maintenance at the higher of the index and its time-weighted value;
 * initial margin is at the lower; a withdraw-only collateral counts nothing for it. Errors are
 * program error names.
 */
export function holdingValue(
    c: CollateralPricing,
    amount: bigint,
    need: PriceNeed,
    now: bigint,
    slot: bigint,
): Result<CollateralValue> {
    expectU64('amount', amount);
    expectI64('now', now);
    expectU64('slot', slot);
    expectRisk(collateralRisk(c));
    const age = saturatingSubI64(now, c.lastPriceTime);
    const live = c.lastPrice > 0n && age <= c.maxAge;
    const deadAfter = c.maxAge + COLLATERAL_FALLBACK_AGE > I64_MAX ? I64_MAX : c.maxAge + COLLATERAL_FALLBACK_AGE;
    const dead = c.lastPrice === 0n || age > deadAfter;
    const refreshed = (slot > c.lastPriceSlot ? slot - c.lastPriceSlot : 0n) <= REFRESH_SLOTS;
    const nothing = { ok: true as const, value: { maintenance: 0n, initial: 0n } };
    const liquidating = need === 'liquidation' || need === 'lenient';
    if ((need === 'tolerant' || liquidating) && dead) {
        return nothing;
    } else if (need === 'tolerant' || need === 'lenient') {
        // a late price counts as cached
    } else if (!live) {
        return { ok: false, error: 'StaleCollateralPrice' };
    }
    if ((need === 'withdraw' || need === 'liquidation') && !refreshed) {
        return { ok: false, error: 'IndexNotRefreshed' };
    }
    const r = attempt(() => {
        const index = c.lastPrice;
        const twap = twapNowRaw(c, now);
        const valued = liquidating ? (index >= twap ? index : twap) : index;
        return collateralValueRaw(amount, collateralRisk(c), valued, min(index, twap), c.status !== COLLATERAL_WITHDRAW_ONLY);
    });
    return r.ok ? r : { ok: false, error: programError(r.error) };
}
