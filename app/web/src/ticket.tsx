/**
 * The order ticket: side, kind (market, limit, stop-loss, take-profit), size or leverage,
 * reduce-only, cross or isolated. "Preview" runs the exact transaction in the node
 * (simulateTransaction, no signature): the program's own fill price, fee and verdict, and the
 * account as it would be after, from which the new liquidation price, margin used and health are
 * computed as the program computes them. "Sign and send" signs that same transaction.
 */
import { useRef, useState } from 'preact/hooks';
import type { Address, Instruction } from '@solana/kit';
import {
    crossMarkets,
    decodeMarginAccount,
    decodeMarket,
    heldCollateral,
    marketOracles,
    placeMarketOrder,
    placeOrder,
    prices,
    withCollateral,
    type MarginAccount,
    type OrderKindName,
    accountView,
    quoteAverage,
    wideU128,
    type MarketLive,
} from '@perp/client';
import { fixed, parseFixed, pct, price, usd, base as fmtBase } from './format';

import type { MarketState } from './state';
import type { Chain } from './chain';

type Kind = 'market' | 'limit' | 'stop' | 'takeProfit';
const KIND_OF: Record<Exclude<Kind, 'market'>, OrderKindName> = { limit: 'limit', stop: 'stopMarket', takeProfit: 'takeProfitMarket' };

export interface Preview {
    ok: boolean;
    /** What is signed: the label and instructions built from the inputs the preview ran on. */
    label: string;
    limit: bigint | null;
    error: string | null;
    fillPrice: bigint | null;
    fee: bigint | null;
    liquidationPrice: bigint | null;
    marginUsed: bigint | null;
    health: bigint | null;
    units: bigint;
    ixs: Instruction[];
}

export interface TicketProps {
    chain: Chain;
    ms: MarketState;
    all: Map<number, MarketState>;
    owner: Address | null;
    account: { address: Address; account: MarginAccount | null } | null;
    collaterals: Map<number, import('@perp/client').Collateral>;
    now: bigint;
    slot: bigint;
    onSend: (label: string, ixs: Instruction[]) => Promise<boolean>;
}

export function Ticket(p: TicketProps) {
    const [side, setSide] = useState<'long' | 'short'>('long');
    const [kind, setKind] = useState<Kind>('market');
    const [size, setSize] = useState('');
    const [lev, setLev] = useState('');
    const [px, setPx] = useState('');
    const [reduceOnly, setReduceOnly] = useState(false);
    const [isolated, setIsolated] = useState(false);
    const [isoAmount, setIsoAmount] = useState('');
    const [slippage, setSlippage] = useState('0.5');
    const [preview, setPreview] = useState<Preview | null>(null);
    const [busy, setBusy] = useState(false);
    // a preview answers only the inputs it was asked for: any change since makes it void
    const asked = useRef(0);
    const m = p.ms.market;
    const min = m.minPosition;
    const acct = p.account?.account ?? null;
    const equity = acct ? accountView(acct, p.all as Map<number, MarketLive>, p.collaterals, p.now).cross.equity : 0n;
    const paused = m.status === 2 && p.now < m.pausedUntil;

    const reset = () => {
        asked.current++;
        setPreview(null);
    };
    const onLev = (t: string) => {
        setLev(t);
        reset();
        const l = parseFixed(t, 2);
        if (l === null || p.ms.mark === 0n || equity <= 0n) return;
        // size = equity x leverage / mark, rounded down to the market's minimum size
        let s = (equity * l * 1_000_000_000n) / (100n * p.ms.mark);
        if (min > 0n) s = (s / min) * min;
        setSize(fixed(s, 9, 9).replace(/\.?0+$/, ''));
    };

    async function build(): Promise<{ ixs: Instruction[]; label: string; limit: bigint | null } | string> {
        if (!p.owner || !p.account) return 'Connect a wallet first.';
        if (!acct) return 'Deposit first: your margin account is created with your first deposit.';
        const s = parseFixed(size, 9);
        if (s === null || s === 0n) return 'Enter a size (in base units, e.g. 0.01).';
        const held = heldCollateral(acct);
        const pos = acct.positions.find((q) => (q.flags & 1) !== 0 && q.marketIndex === m.marketIndex);
        const old = pos?.base ?? 0n;
        if (kind === 'market') {
            // as the program: the resulting position must be 0 or at least the minimum (a reduce of a
            // position already below it may leave it there)
            const signed = side === 'long' ? s : -s;
            const reduces = old !== 0n && old > 0n !== (side === 'long') && s <= (old < 0n ? -old : old);
            const next = old + signed;
            const absNext = next < 0n ? -next : next;
            if (next !== 0n && absNext < min && (!reduces || (old < 0n ? -old : old) >= min))
                return `The position would be ${fmtBase(next)}, below the market minimum of ${fmtBase(min)}: trade at least that, or close it in full.`;
            const iso = isolated ? parseFixed(isoAmount || '0', 6) : 0n;
            if (iso === null) return 'Enter the isolated collateral as a USDC amount.';
            const tol = parseFixed(slippage, 2);
            if (tol === null || tol > 5000n) return 'Enter the largest slippage you accept, in % (e.g. 0.5; at most 50).';
            // the worst average price signed: the vAMM's quote now, moved by the slippage you accept
            let quote: bigint;
            try {
                quote = quoteAverage({ baseReserve: wideU128(m.baseReserve), k: wideU128(m.k), peg: m.peg }, side, s);
            } catch {
                return 'The vAMM cannot fill that size: trade smaller.';
            }
            const limit = side === 'long' ? (quote * (10_000n + tol)) / 10_000n : (quote * (10_000n - tol) + 9_999n) / 10_000n;
            const ix = await placeMarketOrder({
                authority: p.owner,
                marginAccount: p.account.address,
                marketIndex: m.marketIndex,
                oracles: marketOracles(m),
                otherMarkets: crossMarkets(acct, m.marketIndex),
                params: { side, size: s, limitPrice: limit, reduceOnly, isolated, isolatedCollateral: iso },
            });
            return { ixs: [await withCollateral(ix, held)], label: `${side === 'long' ? 'Buy' : 'Sell'} ${size} ${name(m.name)}`, limit };
        }
        if (s < min) return `The size is below the market minimum of ${fmtBase(min)}.`;
        const price6 = parseFixed(px, 6);
        if (price6 === null || price6 === 0n) return kind === 'limit' ? 'Enter a limit price.' : 'Enter a trigger price.';
        const ix = await placeOrder({
            owner: p.owner,
            marginAccount: p.account.address,
            marketIndex: m.marketIndex,
            crossMarkets: crossMarkets(acct),
            params: {
                orderType: KIND_OF[kind],
                side,
                size: s,
                limitPrice: kind === 'limit' ? price6 : 0n,
                triggerPrice: kind === 'limit' ? 0n : price6,
                maxSlippage: 0n,
                reduceOnly: kind === 'limit' ? reduceOnly : true,
                expiry: 0n,
                clientOrderId: 0n,
            },
        });
        return { ixs: [await withCollateral(ix, held)], label: `${kind} order ${side} ${size} ${name(m.name)} at ${px}`, limit: null };
    }

    const failed = (error: string): Preview => ({ ok: false, label: '', limit: null, error, fillPrice: null, fee: null, liquidationPrice: null, marginUsed: null, health: null, units: 0n, ixs: [] });
    async function doPreview() {
        const ticket = ++asked.current;
        const answer = (pv: Preview) => ticket === asked.current && setPreview(pv);
        setBusy(true);
        try {
            const b = await build();
            if (typeof b === 'string') {
                answer(failed(b));
                return;
            }
            const sim = await p.chain.simulate(b.ixs, p.owner!, [p.account!.address, p.ms.address]);
            const pv: Preview = { ok: sim.error === null, label: b.label, limit: b.limit, error: sim.error, fillPrice: null, fee: null, liquidationPrice: null, marginUsed: null, health: null, units: sim.units, ixs: b.ixs };
            const trade = sim.events.find((e) => e.name === 'TradeExecuted');
            if (trade && trade.name === 'TradeExecuted') {
                pv.fillPrice = trade.data.avgPrice;
                pv.fee = trade.data.fee;
            }
            if (sim.error === null && sim.accounts[0] && sim.accounts[1]) {
                const after = decodeMarginAccount(sim.accounts[0]);
                const mAfter = decodeMarket(sim.accounts[1]);
                const all = new Map(p.all) as Map<number, MarketLive>;
                const now = p.now;
                const pr = prices.marketPrices(mAfter, p.ms.view, now);
                all.set(m.marketIndex, { ...p.ms, market: mAfter, mark: pr?.mark ?? p.ms.mark, index: pr?.index ?? p.ms.index });
                const v = accountView(after, all, p.collaterals, now);
                const pos = v.positions.find((x) => x.marketIndex === m.marketIndex);
                pv.liquidationPrice = pos?.liquidationPrice ?? null;
                // the position's group: its own health when isolated, the cross group's otherwise
                const g = pos?.isolated ? v.isolated.get(pos.slot) ?? v.cross : v.cross;
                pv.marginUsed = g.initial;
                const r = g.marginRatio();
                pv.health = r.ok ? r.value : null;
            }
            answer(pv);
        } catch (e) {
            answer(failed((e as Error).message));
        } finally {
            setBusy(false);
        }
    }

    async function send() {
        if (!preview?.ok) return;
        setBusy(true);
        const done = await p.onSend(preview.label, preview.ixs);
        setBusy(false);
        if (done) {
            setPreview(null);
        }
    }

    return (
        <section class="panel ticket" aria-label="Order ticket">
            <h2>Order</h2>
            {paused && <p class="warn" role="status">This market is paused until {new Date(Number(m.pausedUntil) * 1000).toLocaleTimeString()}: orders that add risk are refused, reducing is allowed.</p>}
            <div class="sides" role="radiogroup" aria-label="Side">
                <button type="button" role="radio" aria-checked={side === 'long'} class={side === 'long' ? 'long on' : 'long'} onClick={() => (setSide('long'), reset())}>Long</button>
                <button type="button" role="radio" aria-checked={side === 'short'} class={side === 'short' ? 'short on' : 'short'} onClick={() => (setSide('short'), reset())}>Short</button>
            </div>
            <label>Order type
                <select value={kind} onChange={(e) => (setKind((e.target as HTMLSelectElement).value as Kind), reset())}>
                    <option value="market">Market</option>
                    <option value="limit">Limit</option>
                    <option value="stop">Stop-loss</option>
                    <option value="takeProfit">Take-profit</option>
                </select>
            </label>
            <label>Size ({name(m.name).replace(/-PERP$/, '')})
                <input inputMode="decimal" value={size} onInput={(e) => (setSize((e.target as HTMLInputElement).value), setLev(''), reset())} placeholder={fmtBase(min)} />
            </label>
            <small>minimum {fmtBase(min)}</small>
            {kind === 'market' && (
                <>
                    <label>Leverage (x, of equity {usd(equity)})
                        <input inputMode="decimal" value={lev} onInput={(e) => onLev((e.target as HTMLInputElement).value)} placeholder="e.g. 5" />
                    </label>
                    <label>Max slippage (%)
                        <input inputMode="decimal" value={slippage} onInput={(e) => (setSlippage((e.target as HTMLInputElement).value), reset())} />
                    </label>
                </>
            )}
            {kind !== 'market' && (
                <label>{kind === 'limit' ? 'Limit price' : 'Trigger price (index)'}
                    <input inputMode="decimal" value={px} onInput={(e) => (setPx((e.target as HTMLInputElement).value), reset())} placeholder={price(p.ms.index)} />
                </label>
            )}
            <label class="check"><input type="checkbox" checked={kind === 'stop' || kind === 'takeProfit' || reduceOnly} disabled={kind === 'stop' || kind === 'takeProfit'} onChange={(e) => (setReduceOnly((e.target as HTMLInputElement).checked), reset())} /> Reduce-only</label>
            {kind === 'market' && (
                <>
                    <label class="check"><input type="checkbox" checked={isolated} onChange={(e) => (setIsolated((e.target as HTMLInputElement).checked), reset())} /> Isolated margin</label>
                    {isolated && (
                        <label>Isolated collateral (USDC)
                            <input inputMode="decimal" value={isoAmount} onInput={(e) => (setIsoAmount((e.target as HTMLInputElement).value), reset())} />
                        </label>
                    )}
                </>
            )}
            <button type="button" disabled={busy || !p.owner} onClick={doPreview}>Preview</button>
            {preview && (
                <div class={preview.ok ? 'preview' : 'preview bad'} role="status" aria-live="polite" data-testid="preview">
                    {preview.error ? <p class="err">{preview.error}</p> : null}
                    {preview.ok && (
                        <dl>
                            {preview.fillPrice !== null && (<><dt>Fill price</dt><dd data-testid="preview-fill">{price(preview.fillPrice)}</dd></>)}
                            {preview.fee !== null && (<><dt>Fee</dt><dd>{usd(preview.fee)} USDC</dd></>)}
                            {preview.limit !== null && (<><dt>Worst price signed</dt><dd>{price(preview.limit)}</dd></>)}
                            <dt>Liquidation price</dt><dd data-testid="preview-liq" data-raw={preview.liquidationPrice?.toString() ?? ''}>{price(preview.liquidationPrice)}</dd>
                            <dt>Margin used</dt><dd>{preview.marginUsed === null ? '—' : usd(preview.marginUsed) + ' USDC'}</dd>
                            <dt>Margin ratio after</dt><dd>{preview.health === null ? '—' : pct(preview.health, 2)}</dd>
                            <dt>Compute units</dt><dd>{preview.units.toString()}</dd>
                        </dl>
                    )}
                    {preview.ok && <p class="muted">{preview.label}</p>}
                    {preview.ok && <button type="button" class="send" disabled={busy} onClick={send}>Sign and send</button>}
                </div>
            )}
        </section>
    );
}

export const name = (b: import('@solana/kit').ReadonlyUint8Array) => new TextDecoder().decode(b as Uint8Array).replace(/\0+$/, '');
