/**
 * Resting orders: the `placeOrder`, `cancelOrders` and `fillOrder` builders (account order and
 * remaining accounts as the Rust SDK's `perp_client::orders`), the attach-a-bracket helper, and
 * perp-core's order rules (`perp_core::orders`) ported exactly, so a page or a bot decides what the
 * program will: when a trigger fires, the worst average a fill may get, how much the vAMM fills
 * within it, and how much one fill takes. Checked against the Rust vectors (test/orders.test.ts).
 */
import type { Address } from '@solana/kit';
import * as gen from './generated/instructions/index.js';
import { OrderSide, OrderType } from './generated/types/index.js';
import type { Order } from './generated/types/index.js';
import type { MarginAccount } from './generated/accounts/index.js';
import { marketMetas, oracleMetas, type PerpInstruction, type SignerInput } from './instructions.js';
import { createNoopSigner, type TransactionSigner } from '@solana/kit';
import * as pda from './pda.js';

type Int = bigint | number;
const signer = (s: SignerInput): TransactionSigner => (typeof s === 'string' ? createNoopSigner(s) : s);
const build = (ix: PerpInstruction, remaining: Awaited<ReturnType<typeof marketMetas>> = []): PerpInstruction =>
    Object.freeze({ ...ix, accounts: [...ix.accounts, ...remaining] });

/** Order kinds as the program stores them (`Order.kind`). */
export const ORDER_KIND = { limit: 1, stopMarket: 2, takeProfitMarket: 3, stopLimit: 4, takeProfitLimit: 5 } as const;
export type OrderKindName = keyof typeof ORDER_KIND;
/** `Order.flags` bits. */
export const ORDER_IN_USE = 1;
export const ORDER_REDUCE_ONLY = 2;
export const ORDER_TRIGGERED = 4;
/** Largest slippage or band: 50%. */
export const MAX_ORDER_BAND = 500_000_000n;

const TYPE_OF: Record<OrderKindName, OrderType> = {
    limit: OrderType.Limit,
    stopMarket: OrderType.StopMarket,
    takeProfitMarket: OrderType.TakeProfitMarket,
    stopLimit: OrderType.StopLimit,
    takeProfitLimit: OrderType.TakeProfitLimit,
};

/** `perp::instructions::PlaceOrderParams`. */
export interface PlaceOrderParams {
    orderType: OrderKindName;
    side: 'long' | 'short';
    /** Base size, raw (10^-9), at least the market's minimum position. */
    size: Int;
    /** Limit kinds: worst average price, raw (10^-6); 0 for the market kinds. */
    limitPrice: Int;
    /** Trigger kinds: the oracle index price that fires the order, raw; 0 for a limit. */
    triggerPrice: Int;
    /** Market kinds: largest distance of the average fill from the index (rate, 10^-9; 0 = the band). */
    maxSlippage: Int;
    reduceOnly: boolean;
    /** Unix time from which it can no longer fill (0 = good until cancelled). */
    expiry: Int;
    /** Your own id (0 = none; otherwise unique among the account's open orders). */
    clientOrderId: Int;
}

/** Places a resting order; `crossMarkets` are the markets of every cross position of the account. */
export async function placeOrder(i: {
    owner: SignerInput;
    marginAccount: Address;
    marketIndex: number;
    crossMarkets: readonly number[];
    params: PlaceOrderParams;
}): Promise<PerpInstruction> {
    const { orderType, side, ...rest } = i.params;
    if (!(orderType in TYPE_OF)) throw new TypeError(`unknown order type ${String(orderType)}`);
    if (side !== 'long' && side !== 'short') throw new TypeError(`order side must be "long" or "short", got ${side}`);
    return build(
        gen.getPlaceOrderInstruction({
            owner: signer(i.owner),
            market: await pda.market(i.marketIndex),
            marginAccount: i.marginAccount,
            orderType: TYPE_OF[orderType],
            side: side === 'long' ? OrderSide.Long : OrderSide.Short,
            ...rest,
        }),
        await marketMetas(i.crossMarkets),
    );
}

/** Which orders to cancel. */
export type CancelWhich = { byId: Int } | { byClientId: Int } | { all: true; marketIndex?: number };

export async function cancelOrders(i: { owner: SignerInput; marginAccount: Address; which: CancelWhich }): Promise<PerpInstruction> {
    const w = i.which;
    const which =
        'byId' in w
            ? { __kind: 'ById' as const, fields: [BigInt(w.byId)] as const }
            : 'byClientId' in w
              ? { __kind: 'ByClientId' as const, fields: [BigInt(w.byClientId)] as const }
              : { __kind: 'All' as const, marketIndex: w.marketIndex ?? null };
    return build(gen.getCancelOrdersInstruction({ owner: signer(i.owner), marginAccount: i.marginAccount, which }));
}

/** Fills (or cancels for the reward) an order: the market's oracles, then the group's other markets. */
export async function fillOrder(i: {
    filler: SignerInput;
    fillerAccount: Address;
    marginAccount: Address;
    marketIndex: number;
    oracles: readonly Address[];
    otherMarkets: readonly number[];
    orderId: Int;
}): Promise<PerpInstruction> {
    return build(
        gen.getFillOrderInstruction({
            filler: signer(i.filler),
            exchange: await pda.exchange(),
            market: await pda.market(i.marketIndex),
            marginAccount: i.marginAccount,
            fillerAccount: i.fillerAccount,
            orderId: i.orderId,
        }),
        [...oracleMetas(i.oracles), ...(await marketMetas(i.otherMarkets))],
    );
}

/**
 * The stop-loss and take-profit that protect a position of `size` on `side` (the position's
 * side): reduce-only market kinds within the market's band; send them after the opening market
 * order in the same transaction (`perp_client::orders::bracket`).
 */
export function bracket(side: 'long' | 'short', size: Int, stopLoss?: Int, takeProfit?: Int): PlaceOrderParams[] {
    const close = side === 'long' ? 'short' : 'long';
    const mk = (orderType: OrderKindName, triggerPrice: Int): PlaceOrderParams => ({
        orderType,
        side: close,
        size,
        limitPrice: 0n,
        triggerPrice,
        maxSlippage: 0n,
        reduceOnly: true,
        expiry: 0n,
        clientOrderId: 0n,
    });
    const out: PlaceOrderParams[] = [];
    if (stopLoss !== undefined) out.push(mk('stopMarket', stopLoss));
    if (takeProfit !== undefined) out.push(mk('takeProfitMarket', takeProfit));
    return out;
}

/** The account's open orders. */
export const openOrders = (a: MarginAccount): Order[] => a.orders.filter((o) => (o.flags & ORDER_IN_USE) !== 0);

// ---- perp_core::orders, exactly ----

/** The order as the rules need it. */
export interface OrderSpec {
    kind: number;
    side: 'long' | 'short';
    limit: bigint;
    trigger: bigint;
    slippage: bigint;
}

export class OrderMathError extends Error {}
const RATE = 1_000_000_000n;
const BASE = 1_000_000_000n;
const U64_MAX = (1n << 64n) - 1n;
const I64_MAX = (1n << 63n) - 1n;
const U128_MAX = (1n << 128n) - 1n;
const I128_MAX = (1n << 127n) - 1n;
const MIN_RESERVE = 1_000n;
const MAX_RESERVE = 1_000_000_000_000_000_000n;
const fail = (what: string): never => {
    throw new OrderMathError(what);
};
const ceilDiv = (n: bigint, d: bigint) => n / d + (n % d === 0n ? 0n : 1n);
const u64 = (v: bigint) => (v < 0n || v > U64_MAX ? fail('Overflow') : v);
const i64 = (v: bigint) => (v > I64_MAX ? fail('Overflow') : v);
/** `units::mul_div_u128`. */
const mulDivU128 = (a: bigint, b: bigint, d: bigint, up: boolean) => {
    const p = a * b;
    if (p > U128_MAX) fail('Overflow');
    return up ? ceilDiv(p, d) : p / d;
};
/** `units::mul_div` for non-negative operands. */
const mulDiv = (a: bigint, b: bigint, d: bigint, up: boolean) => {
    const p = a * b;
    if (p > I128_MAX) fail('Overflow');
    return up ? ceilDiv(p, d) : p / d;
};

export const fromOrder = (o: Order): OrderSpec => ({
    kind: o.kind,
    side: o.side === 1 ? 'long' : 'short',
    limit: o.limitPrice,
    trigger: o.triggerPrice,
    slippage: o.maxSlippage,
});
const hasTrigger = (k: number) => k !== ORDER_KIND.limit;
const hasLimit = (k: number) => k === ORDER_KIND.limit || k === ORDER_KIND.stopLimit || k === ORDER_KIND.takeProfitLimit;
const isStop = (k: number) => k === ORDER_KIND.stopMarket || k === ORDER_KIND.stopLimit;

/** True when the trigger holds at `index` (always for a limit): a sell stop on a fall, a buy stop on a rise, take-profits the other way. */
export function triggerMet(o: OrderSpec, index: bigint): boolean {
    if (!hasTrigger(o.kind)) return true;
    const onFall = isStop(o.kind) === (o.side === 'short');
    return onFall ? index <= o.trigger : index >= o.trigger;
}

/** `index x (1 + rate)`, rounded as asked (`Price::scale_by_one_plus`). */
function scale(index: bigint, rate: bigint, up: boolean): bigint {
    const factor = RATE + rate;
    if (factor < 0n) fail('NegativePrice');
    return u64(mulDiv(index, factor, RATE, up));
}

/** The worst average a fill may get: the stricter of the order's own bound and `band` around the index, against the order. */
export function fillBound(o: OrderSpec, index: bigint, band: bigint): bigint {
    if (band <= 0n || band > MAX_ORDER_BAND || o.slippage < 0n || o.slippage > MAX_ORDER_BAND)
        fail('band and slippage must be in (0, 0.5]');
    const around = (r: bigint) => (o.side === 'long' ? scale(index, r, false) : scale(index, -r, true));
    const banded = around(band);
    let own: bigint;
    if (hasLimit(o.kind)) own = o.limit === 0n ? fail('a limit order needs a limit price') : o.limit;
    else own = o.slippage > 0n ? around(o.slippage) : banded;
    if (o.side === 'long') return own < banded ? own : banded;
    return own > banded ? own : banded;
}

/** The vAMM as stored: `base_reserve`, `k`, `peg`. */
export interface VammState {
    baseReserve: bigint;
    k: bigint;
    peg: bigint;
}

/** `Vamm::average_price`: the average price of trading `size` on `side` (throws as the Rust errors). */
export function quoteAverage(v: VammState, side: 'long' | 'short', size: bigint): bigint {
    if (size <= 0n) fail('ZeroSize');
    const b = v.baseReserve;
    const q = ceilDiv(v.k, b);
    let quote: bigint;
    if (side === 'long') {
        if (size >= b || b - size < MIN_RESERVE) fail('InsufficientLiquidity');
        quote = i64(mulDivU128(ceilDiv(v.k, b - size) - q, v.peg, BASE, true));
    } else {
        const nb = b + size;
        if (nb > MAX_RESERVE) fail('InsufficientLiquidity');
        quote = i64(mulDivU128(q - ceilDiv(v.k, nb), v.peg, BASE, false));
    }
    return u64(mulDiv(quote, BASE, size, side === 'long'));
}

const within = (side: 'long' | 'short', avg: bigint, bound: bigint) => (side === 'long' ? avg <= bound : avg >= bound);

/** `orders::max_size_within`: the largest size the curve fills on `side` with an average within `bound`, at most `cap`. */
export function maxSizeWithin(v: VammState, side: 'long' | 'short', bound: bigint, cap: bigint): bigint {
    if (bound === 0n || cap <= 0n) return 0n;
    // the common case first: all of `cap` fits
    try {
        if (within(side, quoteAverage(v, side, cap), bound)) return cap;
    } catch (e) {
        if (!(e instanceof OrderMathError)) throw e;
        if (e.message !== 'Overflow' && e.message !== 'InsufficientLiquidity') throw e;
    }
    const b = v.baseReserve;
    const q = ceilDiv(v.k, b);
    let d: bigint;
    if (side === 'long') {
        const x = mulDivU128(q, v.peg, bound, true);
        const a = b > x ? b - x : 0n;
        const lim = b > MIN_RESERVE ? b - MIN_RESERVE : 0n;
        d = a < lim ? a : lim;
    } else {
        const x = mulDivU128(q, v.peg, bound, false);
        const a = x > b ? x - b : 0n;
        const lim = MAX_RESERVE > b ? MAX_RESERVE - b : 0n;
        d = a < lim ? a : lim;
    }
    if (d > cap) d = cap;
    let step = 1n;
    while (d > 0n) {
        if (d > I64_MAX) fail('Overflow');
        try {
            if (within(side, quoteAverage(v, side, d), bound)) return d;
        } catch (e) {
            if (!(e instanceof OrderMathError)) throw e;
            if (e.message === 'Overflow') {
                d /= 2n;
                continue;
            }
            if (e.message !== 'InsufficientLiquidity') throw e;
        }
        const big = d / 1_000_000n;
        const s = step > big ? step : big;
        d = d > s ? d - s : 0n;
        step *= 2n;
    }
    return 0n;
}

/** `orders::fill_size`: what one fill takes (null: the curve cannot fill that much yet). */
export function fillSize(remaining: bigint, available: bigint, minSize: bigint): bigint | null {
    if (remaining <= 0n || available <= 0n) return null;
    if (available >= remaining) return remaining;
    const keep = minSize > 0n ? minSize : 0n;
    let take = remaining - keep;
    if (available < take) take = available;
    return take > 0n && take >= minSize ? take : null;
}

/**
 * `orders::order_fill_size`: one fill of an order with `left` to fill when the curve fills
 * `available` within the bound, for a position the order's side reduces by up to `against` (0 when
 * it adds or there is none), leaving no dust: a reduce-only order closes a position it would leave
 * below `minSize` (when the curve can), others leave exactly `minSize`; a flip into less than
 * `minSize` stops at the close. Null when nothing can be filled now.
 */
export function orderFillSize(left: bigint, available: bigint, minSize: bigint, against: bigint, reduceOnly: boolean): bigint | null {
    const cap = reduceOnly && against > 0n ? (left < against ? left : against) : left;
    const first = fillSize(cap, available, minSize);
    if (first === null) return null;
    let size = first;
    const min = minSize > 0n ? minSize : 0n;
    const p = against;
    if (p > 0n && size < p && p >= min) {
        const rem = p - size;
        if (rem < min) {
            if (reduceOnly && available >= p) size = p;
            else size -= min - rem;
        }
    } else if (p > 0n && size > p && size - p < min) {
        size = p;
    }
    return size > 0n ? size : null;
}
