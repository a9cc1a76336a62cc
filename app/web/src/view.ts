/**
 * An account as the program sees it, from decoded accounts and @perp/client's ports of perp-core:
 * funding owed settled first, each position's part at its market's mark, the cross group's health
 * (listed collateral at its maintenance and initial value, `holdingValue(.., 'tolerant')`), and each
 * position's liquidation price (`liquidationPrice` with the rest of its group folded into the
 * collateral, as `perp_client::preview::account_health_with`).
 */
import type { Address } from '@solana/kit';
import {
    marketTiers,
    wideI128,
    POSITION_IN_USE,
    POSITION_ISOLATED,
    POSITION_BANKRUPT,
    risk,
    type Collateral,
    type MarginAccount,
    type Market,
} from '@perp/client';

const FUNDING_DEN = 1_000_000_000n * 1_000_000_000_000_000n / 1_000_000n;

/** `Base::funding_payment(delta, Up)`: what a position owes since its snapshot (positive = owes). */
export function fundingOwed(m: Market, base: bigint, snapshot: bigint): bigint {
    if (base === 0n) return 0n;
    const idx = base >= 0n ? wideI128(m.cumFundingLong) : wideI128(m.cumFundingShort);
    return risk.divRound(base * (idx - snapshot), FUNDING_DEN, true);
}

export interface MarketLive {
    market: Market;
    address: Address;
    index: bigint;
    mark: bigint;
    live: boolean;
}

export interface PositionView {
    slot: number;
    marketIndex: number;
    base: bigint;
    quoteEntry: bigint;
    entryPrice: bigint | null;
    mark: bigint;
    notional: bigint;
    upnl: bigint;
    fundingOwed: bigint;
    isolated: boolean;
    isolatedCollateral: bigint;
    bankrupt: boolean;
    liquidationPrice: bigint | null;
}

export interface AccountView {
    equity: bigint;
    initial: bigint;
    maintenance: bigint;
    free: bigint;
    withdrawable: bigint;
    /** maintenance / equity (rate, 10^-9); null when equity <= 0. */
    marginRatio: bigint | null;
    positions: PositionView[];
    collateral: { index: number; amount: bigint; value: bigint }[];
}

const ok = <T>(r: risk.Result<T>, fallback: T): T => (r.ok ? r.value : fallback);

export function accountView(
    acct: MarginAccount,
    markets: Map<number, MarketLive>,
    collaterals: Map<number, Collateral>,
    now: bigint,
    slot: bigint,
): AccountView {
    // funding owed settles into the position's group first
    let cross = acct.crossCollateral;
    const settledIso = new Map<number, bigint>();
    const owed = new Map<number, bigint>();
    acct.positions.forEach((p, i) => {
        if ((p.flags & POSITION_IN_USE) === 0) return;
        const ml = markets.get(p.marketIndex);
        if (!ml) return;
        const o = fundingOwed(ml.market, p.base, wideI128(p.fundingSnapshot));
        owed.set(i, o);
        if (p.flags & POSITION_ISOLATED) settledIso.set(i, p.isolatedCollateral - o);
        else cross -= o;
    });
    const h = risk.Health.new(cross);
    const collateral: AccountView['collateral'] = [];
    for (const b of acct.collaterals) {
        if (b.collateralIndex === 0 || b.amount === 0n) continue;
        const c = collaterals.get(b.collateralIndex);
        if (!c) continue;
        const v = ok(risk.holdingValue(c, b.amount, 'tolerant', now, slot), { maintenance: 0n, initial: 0n });
        const value = ok(risk.tokenValue(b.amount, c.decimals, c.lastPrice, 'down'), 0n);
        collateral.push({ index: b.collateralIndex, amount: b.amount, value });
        h.addCollateral(v);
    }
    const parts = new Map<number, { upnl: bigint; notional: bigint; mm: bigint }>();
    acct.positions.forEach((p, i) => {
        if ((p.flags & POSITION_IN_USE) === 0 || p.base === 0n) return;
        const ml = markets.get(p.marketIndex);
        if (!ml) return;
        const st = { base: p.base, quoteEntry: p.quoteEntry };
        const tiers = marketTiers(ml.market);
        const upnl = ok(risk.upnl(st, ml.mark), 0n);
        const notional = ok(risk.notional(st, ml.mark), 0n);
        const mm = ok(risk.requirement(tiers, notional, 'maintenance'), 0n);
        parts.set(i, { upnl, notional, mm });
        if ((p.flags & POSITION_ISOLATED) === 0) h.addPosition(st, ml.mark, 0n, tiers);
    });
    const positions: PositionView[] = [];
    acct.positions.forEach((p, i) => {
        if ((p.flags & POSITION_IN_USE) === 0) return;
        const ml = markets.get(p.marketIndex);
        if (!ml) return;
        const part = parts.get(i) ?? { upnl: 0n, notional: 0n, mm: 0n };
        const isolated = (p.flags & POSITION_ISOLATED) !== 0;
        const st = { base: p.base, quoteEntry: p.quoteEntry };
        const effective = isolated ? settledIso.get(i) ?? p.isolatedCollateral : h.equity - part.upnl - (h.maintenance - part.mm);
        const liq = p.base === 0n ? null : ok(risk.liquidationPrice(st, effective, marketTiers(ml.market)), null);
        positions.push({
            slot: i,
            marketIndex: p.marketIndex,
            base: p.base,
            quoteEntry: p.quoteEntry,
            entryPrice: p.base === 0n ? null : ((p.quoteEntry < 0n ? -p.quoteEntry : p.quoteEntry) * 1_000_000_000n) / (p.base < 0n ? -p.base : p.base),
            mark: ml.mark,
            notional: part.notional,
            upnl: part.upnl,
            fundingOwed: owed.get(i) ?? 0n,
            isolated,
            isolatedCollateral: p.isolatedCollateral,
            bankrupt: (p.flags & POSITION_BANKRUPT) !== 0,
            liquidationPrice: liq?.price ?? null,
        });
    });
    return {
        equity: h.equity,
        initial: h.initial,
        maintenance: h.maintenance,
        free: ok(h.freeCollateral(), 0n),
        withdrawable: ok(h.withdrawable(acct.crossCollateral), 0n),
        marginRatio: ok(h.marginRatio(), null),
        positions,
        collateral,
    };
}

/** `adl_score`: upnl x value / (entry value x maintenance), 10^-9; null when not a candidate. */
export function adlScore(upnl: bigint, entryValue: bigint, maintenance: bigint, value: bigint): bigint | null {
    if (upnl <= 0n || maintenance <= 0n || value <= 0n) return null;
    const ev = entryValue > 1_000_000n ? entryValue : 1_000_000n;
    return (upnl * value * 1_000_000_000n) / (ev * maintenance);
}

/**
 * The ADL light (1-5, 5 = first in line) of `target`'s position in `market` among `accounts`
 * (`perp_client::preview::adl_quantile_of`): candidates are the same side's profitable,
 * not bankrupt positions, ranked by score, then by account key.
 */
export function adlLight(target: Address, ml: MarketLive, accounts: readonly { address: Address; key: Uint8Array; account: MarginAccount }[]): number | null {
    const idx = ml.market.marketIndex;
    const tiers = marketTiers(ml.market);
    const mine = accounts.find((a) => a.address === target);
    const tp = mine?.account.positions.find((p) => (p.flags & POSITION_IN_USE) !== 0 && p.marketIndex === idx);
    if (!tp || tp.base === 0n) return null;
    const side = tp.base > 0n;
    const c: { key: Uint8Array; score: bigint; address: Address }[] = [];
    for (const a of accounts) {
        const p = a.account.positions.find((q) => (q.flags & POSITION_IN_USE) !== 0 && q.marketIndex === idx);
        if (!p || p.base === 0n || p.base > 0n !== side || (p.flags & POSITION_BANKRUPT) !== 0) continue;
        const st = { base: p.base, quoteEntry: p.quoteEntry };
        const value = ok(risk.notional(st, ml.mark), 0n);
        const mm = ok(risk.requirement(tiers, value, 'maintenance'), 0n);
        const s = adlScore(ok(risk.upnl(st, ml.mark), 0n), p.quoteEntry < 0n ? -p.quoteEntry : p.quoteEntry, mm, value);
        if (s !== null) c.push({ key: a.key, score: s, address: a.address });
    }
    c.sort((x, y) => (x.score !== y.score ? (y.score > x.score ? 1 : -1) : cmpBytes(x.key, y.key)));
    const r = c.findIndex((x) => x.address === target);
    return r < 0 ? null : risk.adlQuantile(r + 1, c.length);
}

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
}
