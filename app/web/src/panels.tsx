/** The read-mostly panels: market, positions, open orders, account (deposit, withdraw), history. */
import { useState } from 'preact/hooks';
import type { Address } from '@solana/kit';
import { openOrders, ORDER_KIND, ORDER_TRIGGERED, type Collateral, type MarginAccount } from '@perp/client';
import { fixed, parseFixed, pct, price, usd, base as fmtBase } from './format';
import type { MarketState } from './state';
import type { AccountView } from '@perp/client';
import { name } from './ticket';

const STATUS = ['active', 'reduce-only', 'paused', 'settled'];

export function MarketPanel({ ms, now }: { ms: MarketState; now: bigint }) {
    const m = ms.market;
    const stale = !ms.live;
    const paused = m.status === 2 && now < m.pausedUntil;
    return (
        <section class="panel market" aria-label="Market">
            <h2>{name(m.name)}</h2>
            <dl class="grid">
                <dt>Index</dt>
                <dd data-testid="index" data-raw={ms.index.toString()} data-updated={ms.updatedAt}>{price(ms.index)}{stale && <span class="warn"> (cached: too few fresh feeds)</span>}</dd>
                <dt>Mark</dt><dd data-testid="mark">{price(ms.mark)}</dd>
                <dt>Funding rate (last, per {Number(m.fundingInterval) / 3600} h)</dt><dd>{pct(m.lastFundingRate)}</dd>
                <dt>Next funding</dt><dd>{m.nextFundingTime > now ? `in ${Number(m.nextFundingTime - now)} s` : 'due (any keeper may crank it)'}</dd>
                <dt>Open interest long / short</dt><dd>{fmtBase(m.oiLong)} / {fmtBase(m.oiShort)}</dd>
                <dt>Insurance fund</dt><dd>{usd(m.insuranceFund)} USDC</dd>
                <dt>Status</dt><dd data-testid="market-status" class={m.status === 0 ? '' : 'warn'}>{paused ? `paused until ${new Date(Number(m.pausedUntil) * 1000).toLocaleTimeString()} (reducing allowed)` : m.status === 2 ? 'reduce-only (the pause lapsed)' : STATUS[m.status] ?? m.status}</dd>
            </dl>
            <h3>Oracles</h3>
            <table class="oracles" data-keys={m.oracles.slice(0, m.numOracles).map((o) => `${o.kind}:${o.key}`).join(',')}>
                <thead><tr><th>Source</th><th>Price</th><th>Age</th><th>Status</th></tr></thead>
                <tbody>
                    {ms.view.readings.map((r, i) => {
                        const d = ms.view.report?.dropped[i];
                        const issue = ms.view.issues[i];
                        const status = issue ?? (d ? (d.kind === 'stale' ? `stale (${d.age} s > ${d.maxAge} s)` : d.kind === 'lowConfidence' ? 'confidence too wide' : d.kind === 'outlier' ? 'outlier' : 'invalid') : 'used');
                        return (
                            <tr key={i}>
                                <td>{m.oracles[i].kind === 1 ? 'Pyth legacy' : 'Pyth pull'} {m.oracles[i].key.slice(0, 4)}…</td>
                                <td>{r.price ? price(r.price) : '—'}</td>
                                <td>{r.publishTime ? `${Number(now - r.publishTime)} s` : '—'}</td>
                                <td class={status === 'used' ? 'ok' : 'warn'}>{status}</td>
                            </tr>
                        );
                    })}
                </tbody>
            </table>
        </section>
    );
}

/** The ADL cell: the queue's lights (ranked markets) or the share of a deficit (pro-rata ones), and what a pro-rata pool is owed. */
function AdlCell({ p, pro, light, share }: { p: AccountView['positions'][number]; pro: boolean; light: number | null; share: { share: bigint; winners: number } | null }) {
    const owes = p.haircutOwed > 0n ? ` · owes ${usd(p.haircutOwed)}` : '';
    if (pro) {
        const text = share === null ? 'no share (no profit)' : `${(Number(share.share) / 1e7).toFixed(1)}% of ${share.winners}`;
        return <td data-testid="position-adl" aria-label={`pro-rata ADL: ${text}${owes}`}>{text}{owes}</td>;
    }
    return (
        <td data-testid="position-adl" aria-label={light === null ? 'not in the ADL queue (no profit)' : `ADL light ${light} of 5`}>
            {[1, 2, 3, 4, 5].map((k) => <span class={light !== null && k <= light ? 'light on' : 'light'}>▮</span>)}
            {owes}
        </td>
    );
}

export function Positions({ view, markets, lights, shares, onClose }: { view: AccountView | null; markets: Map<number, MarketState>; lights: Map<number, number | null>; shares: Map<number, { share: bigint; winners: number } | null>; onClose: (market: number) => void }) {
    const ps = view?.positions.filter((p) => p.base !== 0n) ?? [];
    return (
        <section class="panel" aria-label="Positions">
            <h2>Positions</h2>
            {ps.length === 0 ? <p class="muted">No open position.</p> : (
                <table data-testid="positions">
                    <thead><tr><th>Market</th><th>Size</th><th>Entry</th><th>Mark</th><th>Unrealized PnL</th><th>Funding owed</th><th>Liq. price</th><th>ADL</th><th>Margin</th><th></th></tr></thead>
                    <tbody>
                        {ps.map((p) => {
                            const l = lights.get(p.marketIndex) ?? null;
                            return (
                                <tr key={p.slot} data-market={p.marketIndex}>
                                    <td>{name(markets.get(p.marketIndex)!.market.name)}</td>
                                    <td class={p.base > 0n ? 'pos' : 'neg'}>{fmtBase(p.base)}</td>
                                    <td>{price(p.entryPrice)}</td>
                                    <td>{price(p.mark)}</td>
                                    <td class={p.upnl >= 0n ? 'pos' : 'neg'}>{usd(p.upnl)}</td>
                                    <td>{usd(p.fundingOwed)}</td>
                                    <td data-testid="position-liq" data-raw={p.liquidationPrice?.toString() ?? ''}>{price(p.liquidationPrice)}</td>
                                    <AdlCell p={p} pro={markets.get(p.marketIndex)!.market.adlPolicy === 1} light={l} share={shares.get(p.marketIndex) ?? null} />
                                    <td>{p.isolated ? `isolated ${usd(p.isolatedCollateral)}` : 'cross'}</td>
                                    <td><button type="button" onClick={() => onClose(p.marketIndex)}>Close</button></td>
                                </tr>
                            );
                        })}
                    </tbody>
                </table>
            )}
        </section>
    );
}

const KIND_NAME: Record<number, string> = Object.fromEntries(Object.entries(ORDER_KIND).map(([k, v]) => [v, k.replace('Market', '').replace(/([A-Z])/g, ' $1').toLowerCase()]));

export function Orders({ account, markets, onCancel }: { account: MarginAccount | null; markets: Map<number, MarketState>; onCancel: (id: bigint) => void }) {
    const os = account ? openOrders(account) : [];
    return (
        <section class="panel" aria-label="Open orders">
            <h2>Open orders</h2>
            {os.length === 0 ? <p class="muted">No open order.</p> : (
                <table data-testid="orders">
                    <thead><tr><th>Id</th><th>Market</th><th>Kind</th><th>Side</th><th>Size</th><th>Price</th><th>State</th><th></th></tr></thead>
                    <tbody>
                        {os.map((o) => (
                            <tr key={String(o.orderId)}>
                                <td>{String(o.orderId)}</td>
                                <td>{markets.get(o.marketIndex) ? name(markets.get(o.marketIndex)!.market.name) : o.marketIndex}</td>
                                <td>{KIND_NAME[o.kind] ?? o.kind}</td>
                                <td>{o.side === 0 ? 'long' : 'short'}</td>
                                <td>{fmtBase(o.size - o.filled)}</td>
                                <td>{price(o.triggerPrice || o.limitPrice)}</td>
                                <td>{o.flags & ORDER_TRIGGERED ? 'triggered' : 'waiting'}</td>
                                <td><button type="button" aria-label={`Cancel order ${o.orderId}`} onClick={() => onCancel(o.orderId)}>Cancel</button></td>
                            </tr>
                        ))}
                    </tbody>
                </table>
            )}
        </section>
    );
}

export function AccountPanel(p: {
    owner: Address | null;
    account: MarginAccount | null;
    view: AccountView | null;
    wallet: bigint | null;
    collaterals: Map<number, Collateral>;
    /** 0 = USDC, else a listed collateral's index; amounts in that mint's raw units */
    onDeposit: (mint: number, amount: bigint) => void;
    onWithdraw: (mint: number, amount: bigint) => void;
    busy: boolean;
}) {
    const [amount, setAmount] = useState('');
    const [mint, setMint] = useState(0);
    const [err, setErr] = useState<string | null>(null);
    const decimals = mint === 0 ? 6 : p.collaterals.get(mint)?.decimals ?? 6;
    const unit = mint === 0 ? 'USDC' : name(p.collaterals.get(mint)?.name ?? new Uint8Array());
    const v = p.view;
    const ratio = v && v.cross.equity > 0n ? Number((v.cross.maintenance * 1000n) / v.cross.equity) / 10 : null;
    const free = v?.cross.freeCollateral();
    const withdrawable = v && p.account ? v.cross.withdrawable(p.account.crossCollateral) : null;
    const act = (f: (m: number, a: bigint) => void) => {
        const a = parseFixed(amount, decimals);
        if (a === null || a === 0n) return setErr(`Enter an amount of ${unit}, e.g. 100 (at most ${decimals} decimals).`);
        setErr(null);
        f(mint, a);
    };
    return (
        <section class="panel" aria-label="Account">
            <h2>Account</h2>
            {!p.owner ? <p class="muted">Connect a wallet to see your account.</p> : (
                <>
                    <dl class="grid">
                        <dt>Wallet USDC</dt><dd data-testid="wallet-usdc">{p.wallet === null ? 'no USDC account' : usd(p.wallet)}</dd>
                        <dt>Collateral USDC</dt><dd data-testid="collateral">{p.account ? usd(p.account.crossCollateral) : '—'}</dd>
                        {v?.collateral.map((c) => (<><dt>{name(p.collaterals.get(c.index)!.name)}</dt><dd>{fixed(c.amount, p.collaterals.get(c.index)!.decimals, 4)} (≈ {usd(c.value)} USDC)</dd></>))}
                        <dt>Equity</dt><dd data-testid="equity">{v ? usd(v.cross.equity) : '—'}</dd>
                        <dt>Free collateral</dt><dd data-testid="free">{free?.ok ? usd(free.value) : '—'}</dd>
                        <dt>Withdrawable</dt><dd>{withdrawable?.ok ? usd(withdrawable.value) : '—'}</dd>
                    </dl>
                    <div class="health" role="meter" aria-label="Margin used toward liquidation" aria-valuemin={0} aria-valuemax={100} aria-valuenow={ratio ?? 0}>
                        <div style={{ width: `${Math.min(ratio ?? 0, 100)}%` }} class={ratio !== null && ratio > 70 ? 'bar hot' : 'bar'} />
                    </div>
                    <small>{ratio === null ? 'no margin in use' : `maintenance margin is ${ratio} % of equity (liquidation at 100 %)`}</small>
                    <label>Collateral
                        <select value={mint} onChange={(e) => setMint(Number((e.target as HTMLSelectElement).value))}>
                            <option value={0}>USDC</option>
                            {[...p.collaterals.entries()].map(([i, c]) => (<option value={i}>{name(c.name)}</option>))}
                        </select>
                    </label>
                    <label>Amount ({unit})
                        <input inputMode="decimal" value={amount} onInput={(e) => setAmount((e.target as HTMLInputElement).value)} />
                    </label>
                    <div class="row">
                        <button type="button" disabled={p.busy} onClick={() => act(p.onDeposit)}>Deposit</button>
                        <button type="button" disabled={p.busy || !p.account} onClick={() => act(p.onWithdraw)}>Withdraw</button>
                    </div>
                    {err && <p class="err" role="alert">{err}</p>}
                </>
            )}
        </section>
    );
}

export interface HistoryData {
    fills: { signature: string; block_time: number; market_index: number; base: string; avg_price: string; fee: string; realized_pnl: string }[];
    funding: { signature: string; block_time: number; market_index: number; payment: string }[];
    liquidations: { signature: string; block_time: number; market_index: number; base: string; price: string; kind: string }[];
    error: string | null;
}

const when = (t: number) => new Date(t * 1000).toLocaleString();
/** An indexer's decimal string as an integer (whatever the indexer sends, the page renders). */
const int = (v: unknown): bigint => {
    try {
        return BigInt(String(v));
    } catch {
        return 0n;
    }
};

export function History({ h, indexer }: { h: HistoryData | null; indexer: string | null }) {
    return (
        <section class="panel" aria-label="History">
            <h2>History</h2>
            {!indexer ? <p class="muted">No indexer configured: start `perp indexer` and open the page with ?indexer=http://127.0.0.1:8910.</p> : !h ? <p class="muted">Loading…</p> : (
                <>
                    {h.error && <p class="warn">{h.error}</p>}
                    <small>From the indexer: finalized transactions (about 30 s behind the chain).</small>
                    <h3>Fills</h3>
                    <table data-testid="fills"><thead><tr><th>Time</th><th>Size</th><th>Price</th><th>Fee</th><th>Realized</th></tr></thead>
                        <tbody>{h.fills.map((f) => (<tr key={f.signature + f.base}><td>{when(f.block_time)}</td><td>{fmtBase(int(f.base))}</td><td>{price(int(f.avg_price))}</td><td>{usd(int(f.fee))}</td><td>{usd(int(f.realized_pnl))}</td></tr>))}</tbody></table>
                    <h3>Funding payments</h3>
                    <table data-testid="funding"><thead><tr><th>Time</th><th>Paid (− received)</th></tr></thead>
                        <tbody>{h.funding.map((f) => (<tr key={f.signature}><td>{when(f.block_time)}</td><td>{usd(int(f.payment))}</td></tr>))}</tbody></table>
                    <h3>Liquidations</h3>
                    <table data-testid="liquidations"><thead><tr><th>Time</th><th>Kind</th><th>Size</th><th>Price</th></tr></thead>
                        <tbody>{h.liquidations.map((f) => (<tr key={f.signature}><td>{when(f.block_time)}</td><td>{f.kind}</td><td>{fmtBase(int(f.base))}</td><td>{price(int(f.price))}</td></tr>))}</tbody></table>
                </>
            )}
        </section>
    );
}
