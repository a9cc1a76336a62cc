/**
 * An account as the program sees it (`perp_client::preview::account_health_with` and
 * `collateral_view::cross_liquidation_price`, ported): funding owed settled into each group first;
 * each position's part at its market's mark (a bankrupt one at its bankruptcy price, no
 * requirement); listed collateral at what it counts for (`holdingValue(.., 'tolerant')`); the cross
 * group's health; each position's liquidation price (the rest of its group folded into the
 * collateral; with listed collateral, the price found by bisection with collateral that follows the
 * market repriced with it); and the ADL light of a position among its side. Checked against the
 * Rust SDK on accounts from a bank run (test/account-view.test.ts).
 */
import type { Address } from '@solana/kit';
import type { Collateral, MarginAccount, Market } from './generated/accounts/index.js';
import type { Position } from './generated/types/index.js';
import { marketTiers, wideI128 } from './accounts.js';
import { POSITION_BANKRUPT, POSITION_IN_USE, POSITION_ISOLATED } from './instructions.js';
import { adlQuantile, collateralPart, Health, liquidationPrice, notional, requirement, upnl, type Tier } from './risk.js';
import { collateralRisk, collateralValue, holdingValue, tokenValue } from './collateral-risk.js';
import { divRound } from './core.js';

type R<T> = { ok: true; value: T } | { ok: false; error: string };
const ok = <T>(r: R<T>, fallback: T): T => (r.ok ? r.value : fallback);
const FUNDING_DEN = (1_000_000_000n * 1_000_000_000_000_000n) / 1_000_000n;
const U64_MAX = (1n << 64n) - 1n;

/** A market with the prices a client uses for it (`MarketState`). */
export interface MarketLive {
    market: Market;
    index: bigint;
    mark: bigint;
}

/** `funding_owed`: what a position owes since its snapshot (positive = owes), rounded up. */
export function fundingOwed(m: Market, base: bigint, snapshot: bigint): bigint {
    if (base === 0n) return 0n;
    const idx = base >= 0n ? wideI128(m.cumFundingLong) : wideI128(m.cumFundingShort);
    return divRound(base * (idx - snapshot), FUNDING_DEN, true);
}

/** Fixed-point precision of a pro-rata ADL pool's index (`perp_core::haircut::HAIRCUT_PRECISION`). */
export const HAIRCUT_PRECISION = 10n ** 18n;

/**
 * `haircut_owed`: what a position owes its market's pro-rata ADL pool now (charged when it is next
 * touched): `min(profit, ceil(profit x index / 10^18)) - paid`, against the pool it was stamped in.
 */
export function haircutOwed(m: Market, p: Position): bigint {
    if (p.haircutProfit <= 0n || p.base === 0n || p.adlRound === 0) return 0n;
    const pool = p.base < 0n ? 1 : 0;
    let idx: bigint;
    if (m.haircutRound[pool] === p.adlRound) idx = wideI128(m.haircutIndex[pool]);
    else if (m.haircutPrevRound[pool] === p.adlRound) idx = wideI128(m.haircutPrevIndex[pool]);
    else return 0n;
    if (idx <= 0n) return 0n;
    const i = idx < HAIRCUT_PRECISION ? idx : HAIRCUT_PRECISION;
    let total = divRound(p.haircutProfit * i, HAIRCUT_PRECISION, true);
    if (total > p.haircutProfit) total = p.haircutProfit;
    const due = total - p.haircutPaid;
    return due > 0n ? due : 0n;
}

export interface PositionView {
    slot: number;
    marketIndex: number;
    base: bigint;
    entryPrice: bigint | null;
    mark: bigint;
    notional: bigint;
    upnl: bigint;
    fundingOwed: bigint;
    /** Owed to a pro-rata ADL pool (charged when the position is next touched). */
    haircutOwed: bigint;
    isolated: boolean;
    isolatedCollateral: bigint;
    bankrupt: boolean;
    liquidationPrice: bigint | null;
    maintenance: bigint;
}

export interface AccountView {
    /** The cross group's health. */
    cross: Health;
    /** Each isolated position's health, by slot. */
    isolated: Map<number, Health>;
    positions: PositionView[];
    /** Listed collateral held: amount, value at its cached price. */
    collateral: { index: number; amount: bigint; value: bigint }[];
}

const inUse = (p: Position) => (p.flags & POSITION_IN_USE) !== 0;
const isIsolated = (p: Position) => (p.flags & POSITION_ISOLATED) !== 0;
const isBankrupt = (p: Position) => (p.flags & POSITION_BANKRUPT) !== 0;

/** `position_part_at(p, mark, tiers, 0, true)`. */
function positionPart(p: Position, mark: bigint, tiers: readonly Tier[]): Health {
    const h = Health.new(0n);
    if (isBankrupt(p)) {
        const v = ok(upnl({ base: p.base, quoteEntry: p.quoteEntry }, p.bankruptcyPrice), 0n);
        h.equity = v;
        h.equityWithoutProfit = v < 0n ? v : 0n;
        return h;
    }
    h.addPosition({ base: p.base, quoteEntry: p.quoteEntry }, mark, 0n, tiers);
    return h;
}

/** The account after settling funding and any pro-rata ADL haircut now (`settled`). */
function settle(
    acct: MarginAccount,
    markets: ReadonlyMap<number, MarketLive>,
): { cross: bigint; iso: bigint[]; owed: bigint[]; haircut: bigint[] } {
    let cross = acct.crossCollateral;
    const iso = acct.positions.map((p) => p.isolatedCollateral);
    const owed = acct.positions.map(() => 0n);
    const haircut = acct.positions.map(() => 0n);
    acct.positions.forEach((p, i) => {
        const ml = markets.get(p.marketIndex);
        if (!inUse(p) || !ml) return;
        owed[i] = fundingOwed(ml.market, p.base, wideI128(p.fundingSnapshot));
        // a pro-rata haircut comes off the position's PnL (its entry), not its collateral
        haircut[i] = haircutOwed(ml.market, p);
        if (isIsolated(p)) iso[i] -= owed[i];
        else cross -= owed[i];
    });
    return { cross, iso, owed, haircut };
}

/** Which market a collateral follows (`tracked_market`): the first whose oracles share a key with its own. */
function trackedMarket(c: Collateral, markets: ReadonlyMap<number, MarketLive>): number | null {
    const keys = new Set(c.oracles.slice(0, c.numOracles).map((o) => o.key));
    for (const [i, m] of [...markets.entries()].sort((a, b) => a[0] - b[0]))
        if (m.market.oracles.slice(0, m.market.numOracles).some((o) => keys.has(o.key))) return i;
    return null;
}

function collateralHealth(acct: MarginAccount, collaterals: ReadonlyMap<number, Collateral>, now: bigint, moved?: { market: number; p: bigint; mark: bigint; markets: ReadonlyMap<number, MarketLive> }): Health | null {
    const h = Health.new(0n);
    for (const b of acct.collaterals) {
        if (b.collateralIndex === 0 || b.amount === 0n) continue;
        const c = collaterals.get(b.collateralIndex);
        if (!c) continue;
        let v = { maintenance: 0n, initial: 0n };
        if (moved && moved.mark > 0n && trackedMarket(c, moved.markets) === moved.market) {
            let m = (c.lastPrice * moved.p) / moved.mark;
            if (m > U64_MAX) m = U64_MAX;
            const r = collateralValue(b.amount, collateralRisk(c), m, m, true);
            if (!r.ok) return null;
            v = r.value;
        } else v = ok(holdingValue(c, b.amount, 'tolerant', now, c.lastPriceSlot), v);
        const part = collateralPart(v);
        if (part.ok) h.merge(part.value);
    }
    return h;
}

/** The cross group's health with the position in `slot` at mark `p` (`cross_health_at`). */
function crossHealthAt(acct: MarginAccount, settledCross: bigint, slot: number, p: bigint, markets: ReadonlyMap<number, MarketLive>, collaterals: ReadonlyMap<number, Collateral>, now: bigint): Health | null {
    const pos = acct.positions[slot];
    const ms = markets.get(pos.marketIndex);
    if (!ms) return null;
    const h = Health.new(settledCross);
    if (acct.collaterals.some((b) => b.collateralIndex !== 0 && b.amount > 0n)) {
        const ch = collateralHealth(acct, collaterals, now, { market: pos.marketIndex, p, mark: ms.mark, markets });
        if (!ch) return null;
        h.merge(ch);
    }
    for (const [i, q] of acct.positions.entries()) {
        if (!inUse(q) || isIsolated(q) || q.base === 0n) continue;
        const m = markets.get(q.marketIndex);
        if (!m) return null;
        h.merge(positionPart(q, i === slot ? p : m.mark, marketTiers(m.market)));
    }
    return h;
}

/** `cross_liquidation_price`: bisection between 1 and the mark (a long) or the mark and 1,000 x it (a short). */
function crossLiquidationPrice(acct: MarginAccount, settledCross: bigint, slot: number, markets: ReadonlyMap<number, MarketLive>, collaterals: ReadonlyMap<number, Collateral>, now: bigint): bigint | null {
    const pos = acct.positions[slot];
    if (!inUse(pos) || isIsolated(pos) || pos.base === 0n) return null;
    const mark = markets.get(pos.marketIndex)?.mark;
    if (mark === undefined) return null;
    const liq = (p: bigint): boolean | null => {
        const h = crossHealthAt(acct, settledCross, slot, p, markets, collaterals, now);
        return h ? h.isLiquidatable() : null;
    };
    const atMark = liq(mark);
    if (atMark === null) return null;
    if (atMark) return mark;
    if (pos.base > 0n) {
        if (!liq(1n)) return null;
        let lo = 1n;
        let hi = mark;
        while (hi - lo > 1n) {
            const mid = lo + (hi - lo) / 2n;
            if (liq(mid)) lo = mid;
            else hi = mid;
        }
        return lo;
    }
    const top = mark * 1000n > U64_MAX ? U64_MAX : mark * 1000n;
    if (!liq(top)) return null;
    let lo = mark;
    let hi = top;
    while (hi - lo > 1n) {
        const mid = lo + (hi - lo) / 2n;
        if (liq(mid)) hi = mid;
        else lo = mid;
    }
    return hi;
}

/**
 * `account_health_with`: the account at `now` with `markets` (every market it holds a position in)
 * and the listed `collaterals` it holds.
 */
export function accountView(unsettled: MarginAccount, markets: ReadonlyMap<number, MarketLive>, collaterals: ReadonlyMap<number, Collateral>, now: bigint): AccountView {
    const s = settle(unsettled, markets);
    // the positions as the program leaves them once settled: each haircut off its entry
    const acct: MarginAccount = {
        ...unsettled,
        positions: unsettled.positions.map((p, i) => ({ ...p, quoteEntry: p.quoteEntry - s.haircut[i], haircutPaid: p.haircutPaid + s.haircut[i] })),
    };
    const withCollateral = acct.collaterals.some((b) => b.collateralIndex !== 0 && b.amount > 0n) && collaterals.size > 0;
    const cross = Health.new(s.cross);
    if (acct.collaterals.some((b) => b.collateralIndex !== 0 && b.amount > 0n)) cross.merge(collateralHealth(acct, collaterals, now) ?? Health.new(0n));
    const parts = acct.positions.map((p) => {
        const m = markets.get(p.marketIndex);
        return inUse(p) && p.base !== 0n && m ? positionPart(p, m.mark, marketTiers(m.market)) : null;
    });
    parts.forEach((h, i) => h && !isIsolated(acct.positions[i]) && cross.merge(h));
    // a cross position whose market is not given: the cross group cannot be valued (Rust's
    // `group_health` fails and the view shows a zero health)
    const unvalued = acct.positions.some((p) => inUse(p) && !isIsolated(p) && p.base !== 0n && !markets.has(p.marketIndex));
    if (unvalued) Object.assign(cross, Health.new(0n));
    const isolated = new Map<number, Health>();
    const collateral: AccountView['collateral'] = [];
    for (const b of acct.collaterals) {
        const c = collaterals.get(b.collateralIndex);
        if (b.collateralIndex === 0 || b.amount === 0n || !c) continue;
        collateral.push({ index: b.collateralIndex, amount: b.amount, value: ok(tokenValue(b.amount, c.decimals, c.lastPrice, 'down'), 0n) });
    }
    const positions: PositionView[] = [];
    acct.positions.forEach((p, i) => {
        const ms = markets.get(p.marketIndex);
        if (!inUse(p) || !ms) return;
        const st = { base: p.base, quoteEntry: p.quoteEntry };
        const tiers = marketTiers(ms.market);
        const u = ok(upnl(st, ms.mark), 0n);
        const n = ok(notional(st, ms.mark), 0n);
        const mm = ok(requirement(tiers, n, 'maintenance'), 0n);
        let effective: bigint;
        if (isIsolated(p)) {
            const h = Health.new(s.iso[i]);
            if (parts[i]) h.merge(parts[i]!);
            isolated.set(i, h);
            effective = s.iso[i];
        } else effective = cross.equity - u - (cross.maintenance - mm);
        let liq: bigint | null = null;
        if (p.base !== 0n) {
            if (withCollateral && !isIsolated(p)) liq = crossLiquidationPrice(acct, s.cross, i, markets, collaterals, now);
            else liq = ok(liquidationPrice(st, effective, tiers), null)?.price ?? null;
        }
        const absQ = p.quoteEntry < 0n ? -p.quoteEntry : p.quoteEntry;
        const absB = p.base < 0n ? -p.base : p.base;
        positions.push({
            slot: i,
            marketIndex: p.marketIndex,
            base: p.base,
            entryPrice: p.base === 0n ? null : (absQ * 1_000_000_000n) / absB,
            mark: ms.mark,
            notional: n,
            upnl: u,
            fundingOwed: s.owed[i],
            haircutOwed: s.haircut[i],
            isolated: isIsolated(p),
            isolatedCollateral: s.iso[i],
            bankrupt: isBankrupt(p),
            liquidationPrice: liq,
            maintenance: mm,
        });
    });
    return { cross, isolated, positions, collateral };
}

/** `adl_score`: upnl x value / (entry value x maintenance), 10^-9; null when not a candidate. */
export function adlScore(pnl: bigint, entryValue: bigint, maintenance: bigint, value: bigint): bigint | null {
    if (pnl <= 0n || maintenance <= 0n || value <= 0n) return null;
    const ev = entryValue > 1_000_000n ? entryValue : 1_000_000n;
    return (pnl * value * 1_000_000_000n) / (ev * maintenance);
}

/**
 * The ADL light (1-5, 5 = first in line; null: not in the queue) of `target`'s position in
 * `ml`'s market among `accounts` (`adl_quantile_of`): the same side's profitable, not bankrupt
 * positions ranked by score, then by account key.
 */
export function adlLight(target: Address, ml: MarketLive, accounts: readonly { address: Address; key: Uint8Array; account: MarginAccount }[]): number | null {
    const idx = ml.market.marketIndex;
    const tiers = marketTiers(ml.market);
    const find = (a: MarginAccount) => a.positions.find((q) => inUse(q) && q.marketIndex === idx);
    const mine = accounts.find((a) => a.address === target);
    const tp = mine && find(mine.account);
    if (!tp || tp.base === 0n) return null;
    const side = tp.base > 0n;
    const c: { key: Uint8Array; score: bigint; address: Address }[] = [];
    for (const a of accounts) {
        const p = find(a.account);
        if (!p || p.base === 0n || p.base > 0n !== side || isBankrupt(p)) continue;
        const st = { base: p.base, quoteEntry: p.quoteEntry };
        const value = ok(notional(st, ml.mark), 0n);
        const mm = ok(requirement(tiers, value, 'maintenance'), 0n);
        const s = adlScore(ok(upnl(st, ml.mark), 0n), p.quoteEntry < 0n ? -p.quoteEntry : p.quoteEntry, mm, value);
        if (s !== null) c.push({ key: a.key, score: s, address: a.address });
    }
    c.sort((x, y) => (x.score !== y.score ? (y.score > x.score ? 1 : -1) : cmpBytes(x.key, y.key)));
    const r = c.findIndex((x) => x.address === target);
    return r < 0 ? null : adlQuantile(r + 1, c.length);
}

/**
 * Under a market's pro-rata ADL policy, the share (10^9, rounded up) of a deficit on its side
 * `target`'s position would bear now: its profit at the mark over its side's profitable, not
 * bankrupt positions' (`adl_share`), and how many share it; null without a profitable position.
 */
export function adlShare(
    target: Address,
    ml: MarketLive,
    accounts: readonly { address: Address; account: MarginAccount }[],
): { share: bigint; winners: number } | null {
    const idx = ml.market.marketIndex;
    const find = (a: MarginAccount) => a.positions.find((q) => inUse(q) && q.marketIndex === idx);
    // the profit left once what a pool is owed comes off (as the next scan settles it first)
    const profit = (p: Position) => {
        const u = ok(upnl({ base: p.base, quoteEntry: p.quoteEntry - haircutOwed(ml.market, p) }, ml.mark), 0n);
        return u > 0n ? u : 0n;
    };
    const mine = accounts.find((a) => a.address === target);
    const tp = mine && find(mine.account);
    if (!tp || tp.base === 0n || isBankrupt(tp) || profit(tp) <= 0n) return null;
    let total = 0n;
    let winners = 0;
    for (const a of accounts) {
        const p = find(a.account);
        if (!p || p.base === 0n || p.base > 0n !== tp.base > 0n || isBankrupt(p)) continue;
        const u = profit(p);
        if (u > 0n) {
            total += u;
            winners++;
        }
    }
    let share = divRound(profit(tp) * 1_000_000_000n, total, true);
    if (share > 1_000_000_000n) share = 1_000_000_000n;
    return { share, winners };
}

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
}
