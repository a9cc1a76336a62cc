/**
 * The trading page. Every number comes from @perp/client's ports of the program's math, over
 * accounts read from the cluster and kept current by websocket subscriptions; every transaction
 * is previewed by the program itself (simulation) and signed by a Wallet Standard wallet.
 */
import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { address, getAddressEncoder, type Address, type Instruction } from '@solana/kit';
import type { Wallet, WalletAccount } from '@wallet-standard/base';
import {
    cancelOrders,
    closePosition,
    createMarginAccount,
    crossMarkets,
    decodeMarginAccount,
    deposit,
    heldCollateral,
    marketOracles,
    withCollateral,
    withdraw,
    withdrawCollateral,
    depositCollateral,
    updateFunding,
    quoteAverage,
    wideU128,
    refreshCollateral,
    collateralOracles,
    PERP_PROGRAM_ADDRESS,
    getMarginAccountSize,
    type MarginAccount,
} from '@perp/client';
import { loadConfig, type Config } from './config';
import { fixed } from './format';
import { Chain, UserError, associatedToken } from './chain';
import { Live } from './state';
import { connect, disconnect, signWire, watchWallets, WalletRejected, type SolanaChain } from './wallet';
import { accountView, adlLight, adlShare, type MarketLive } from '@perp/client';
import { Ticket, name } from './ticket';
import { AccountPanel, History, MarketPanel, Orders, Positions, type HistoryData } from './panels';
import { PriceChart } from './chart';
import './style.css';

type Msg = { kind: 'info' | 'error' | 'ok'; text: string } | null;

function App() {
    const [cfg, setCfg] = useState<Config | null>(null);
    const [live, setLive] = useState<Live | null>(null);
    const [bootError, setBootError] = useState<string | null>(null);
    const [, setTick] = useState(0);
    const [sel, setSel] = useState(0);
    const [wallets, setWallets] = useState<readonly Wallet[]>([]);
    const [wallet, setWallet] = useState<Wallet | null>(null);
    const [wAccount, setWAccount] = useState<WalletAccount | null>(null);
    const [margin, setMargin] = useState<{ address: Address; account: MarginAccount | null } | null>(null);
    const [usdc, setUsdc] = useState<bigint | null>(null);
    const [msg, setMsg] = useState<Msg>(null);
    const [history, setHistory] = useState<HistoryData | null>(null);
    const [peers, setPeers] = useState<{ address: Address; key: Uint8Array; account: MarginAccount }[]>([]);
    const chartEl = useRef<HTMLDivElement>(null);
    const sending = useRef(false);
    const [busy, setBusy] = useState(false);
    const chart = useRef<PriceChart | null>(null);
    const owner = wAccount ? address(wAccount.address) : null;

    // boot: config, exchange, markets, subscriptions
    useEffect(() => {
        let l: Live | null = null;
        (async () => {
            const c = await loadConfig();
            setCfg(c);
            l = new Live(new Chain(c));
            l.onChange = () => setTick((t) => t + 1);
            await l.start();
            setLive(l);
            Object.assign(window, { __perpReady: true, __perpIndexSeen: l.indexSeen });
        })().catch((e) => setBootError(e instanceof UserError ? e.message : `Could not load the exchange: ${(e as Error).message}`));
        return () => l?.stop();
    }, []);
    useEffect(() => watchWallets(setWallets), []);
    // the page's own second hand (for "no news from the node for N s"); nothing is polled
    useEffect(() => {
        const t = setInterval(() => setTick((x) => x + 1), 1_000);
        return () => clearInterval(t);
    }, []);

    // the connected account: fetched, then kept current by a subscription
    useEffect(() => {
        if (!live || !owner) return;
        const ab = new AbortController();
        (async () => {
            const m = await live.chain.marginAccount(owner);
            setMargin(m);
            live.keep(m.address, ab.signal, (_o, d) => setMargin({ address: m.address, account: d.length ? decodeMarginAccount(d) : null }));
            const ata = await associatedToken(owner, live.exchange.collateralMint);
            const bal = await live.chain.tokenBalance(owner, live.exchange.collateralMint);
            setUsdc(bal.amount);
            live.keep(ata, ab.signal, (_o, d) => d.length >= 72 && setUsdc(new DataView(d.buffer, d.byteOffset).getBigUint64(64, true)));
        })().catch((e) => setMsg({ kind: 'error', text: (e as Error).message }));
        return () => ab.abort();
    }, [live, owner]);

    // the other accounts in the markets (ADL ranks), refreshed with the account
    useEffect(() => {
        if (!live || !margin?.account) return;
        live.chain
            .call(() => live.chain.rpc.getProgramAccounts(PERP_PROGRAM_ADDRESS, { encoding: 'base64', commitment: 'confirmed', filters: [{ dataSize: BigInt(getMarginAccountSize()) }] }).send())
            .then((all) => {
                const enc = getAddressEncoder();
                setPeers(all.map((a) => ({ address: a.pubkey, key: new Uint8Array(enc.encode(a.pubkey)), account: decodeMarginAccount(Uint8Array.from(atob(a.account.data[0]), (c) => c.charCodeAt(0))) })));
            })
            .catch(() => {});
    }, [live, margin]);

    // chart: indexer candles, then live ticks
    const ms = live?.markets.get(sel);
    useEffect(() => {
        if (!chartEl.current || !live) return;
        chart.current?.remove();
        chart.current = new PriceChart(chartEl.current);
        if (!cfg?.indexer) return;
        let current = true;
        const base = cfg.indexer.replace(/\/$/, '');
        const from = Math.floor(Date.now() / 1000) - 6 * 3600;
        // a market the indexer has not seen yet has no candles (its API answers 404): ask first
        fetch(`${base}/v1/markets`)
            .then((r) => (r.ok ? r.json() : []))
            .then((known: { market_index: number }[]) =>
                known.some((m) => m.market_index === sel)
                    ? Promise.all(['mark', 'index'].map((k) => fetch(`${base}/v1/markets/${sel}/candles?resolution=1m&kind=${k}&from=${from}`).then((r) => (r.ok ? r.json() : { candles: [] }))))
                    : null,
            )
            .then((c) => current && c && chart.current?.setHistory(c[0].candles, c[1].candles))
            .catch(() => {});
        return () => {
            current = false;
        };
    }, [live, sel, cfg]);
    useEffect(() => {
        if (ms && ms.mark > 0n) chart.current?.tick(Number(live!.now()), ms.mark, ms.index);
    }, [ms?.updatedAt]);

    // history from the indexer: at start, on its websocket's messages, and after each transaction
    const loadHistory = useMemo(
        () => async () => {
            if (!cfg?.indexer || !margin) return;
            const base = cfg.indexer.replace(/\/$/, '');
            const get = (p: string) => fetch(`${base}/v1/accounts/${margin.address}/${p}?limit=20`).then(async (r) => (r.ok ? (await r.json()).items : r.status === 404 ? [] : Promise.reject(new Error(`${r.status}`))));
            try {
                const [fills, funding, liquidations] = await Promise.all([get('fills'), get('funding'), get('liquidations')]);
                setHistory({ fills, funding, liquidations, error: null });
            } catch (e) {
                setHistory((h) => ({ fills: h?.fills ?? [], funding: h?.funding ?? [], liquidations: h?.liquidations ?? [], error: `The indexer at ${base} does not answer (${(e as Error).message}): start \`perp indexer\`.` }));
            }
        },
        [cfg, margin?.address],
    );
    useEffect(() => {
        if (!cfg?.indexer || !margin) return;
        void loadHistory();
        const ws = new WebSocket(cfg.indexer.replace(/^http/, 'ws').replace(/\/$/, '') + '/v1/stream');
        ws.onmessage = () => void loadHistory();
        const t = setInterval(() => void loadHistory(), 15_000);
        return () => {
            ws.close();
            clearInterval(t);
        };
    }, [loadHistory]);

    const markets = live?.markets ?? new Map();
    const view = useMemo(() => (live && margin?.account ? accountView(margin.account, markets as Map<number, MarketLive>, live.collaterals, live.now()) : null), [live, margin, markets, live?.now()]);
    const lights = new Map<number, number | null>();
    const shares = new Map<number, { share: bigint; winners: number } | null>();
    if (margin?.account && live)
        for (const p of view?.positions ?? []) {
            lights.set(p.marketIndex, adlLight(margin.address, markets.get(p.marketIndex)!, peers));
            shares.set(p.marketIndex, adlShare(margin.address, markets.get(p.marketIndex)!, peers));
        }

    async function send(label: string, ixs: Instruction[]): Promise<boolean> {
        if (!live || !wallet || !wAccount || !owner || !cfg) return false;
        if (sending.current) return false;
        sending.current = true;
        setBusy(true);
        try {
            // the program's verdict first: a refusal is shown before the wallet is asked anything
            setMsg({ kind: 'info', text: `${label}: checking with the program…` });
            const sim = await live.chain.simulate(ixs, owner, []);
            if (sim.error) {
                setMsg({ kind: 'error', text: `${label}: the program would refuse it: ${sim.error}. Nothing was signed.` });
                return false;
            }
            setMsg({ kind: 'info', text: `${label}: waiting for your wallet…` });
            const wire = await live.chain.wire(ixs, owner);
            const out = await signWire(wallet, wAccount, `solana:${cfg.cluster}` as SolanaChain, wire);
            setMsg({ kind: 'info', text: `${label}: sent, confirming…` });
            let sig: string;
            if ('signed' in out) sig = await live.chain.sendSigned(out.signed);
            else {
                const { getBase58Decoder } = await import('@solana/kit');
                sig = getBase58Decoder().decode(out.signature);
                await live.chain.confirm(sig as never);
            }
            setMsg({ kind: 'ok', text: `${label}: confirmed (${sig.slice(0, 12)}…)` });
            // the account as confirmed, whatever the subscription has delivered so far
            if (margin) {
                const now = await live.chain.marginAccount(owner).catch(() => null);
                if (now) setMargin(now);
            }
            void loadHistory();
            return true;
        } catch (e) {
            const text = e instanceof WalletRejected || e instanceof UserError ? `${label}: ${e.message}` : `${label} failed: ${(e as Error).message}`;
            setMsg({ kind: 'error', text });
            return false;
        } finally {
            sending.current = false;
            setBusy(false);
        }
    }

    async function onConnect(w: Wallet) {
        try {
            const a = await connect(w);
            setWallet(w);
            setWAccount(a);
            setMsg({ kind: 'ok', text: `Connected ${w.name}: ${a.address.slice(0, 6)}…` });
        } catch (e) {
            setMsg({ kind: 'error', text: `${w.name} did not connect: ${(e as Error).message}` });
        }
    }

    async function onDepositRaw(mint: number, amount: bigint) {
        if (!live || !owner || !margin) return;
        const c = mint === 0 ? null : live.collaterals.get(mint)!;
        const mintKey = c ? c.mint : live.exchange.collateralMint;
        const unit = c ? name(c.name) : 'USDC';
        const decimals = c ? c.decimals : 6;
        const held = (await live.chain.tokenBalance(owner, mintKey)).amount;
        const text = (v: bigint) => fixed(v, decimals, Math.min(decimals, 4));
        if (held === null || held < amount)
            return setMsg({ kind: 'error', text: `Your wallet holds ${held === null ? 'no' : text(held)} ${unit}: less than the deposit.${cfg?.cluster === 'localnet' ? ` On localnet: \`perp localnet faucet${c ? ` --collateral ${unit}=10` : ' --usdc 1000'}\`.` : ''} Nothing was sent.` });
        const ixs: Instruction[] = [];
        if (!margin.account) ixs.push(await createMarginAccount({ owner, accountId: 0 }));
        const userToken = await associatedToken(owner, mintKey);
        if (c) ixs.push(await depositCollateral({ authority: owner, marginAccount: margin.address, collateralIndex: mint, mint: mintKey, userToken, amount }));
        else ixs.push(await deposit({ authority: owner, marginAccount: margin.address, userToken, amount }));
        await send(`Deposit ${fixed(amount, decimals, 2)} ${unit}`, ixs);
    }
    async function onWithdrawRaw(mint: number, amount: bigint) {
        if (!live || !owner || !margin?.account) return;
        const a = margin.account;
        const held = heldCollateral(a);
        // a withdrawal values the cross markets at their cached index and listed collateral at its
        // cached price, each refreshed within a few slots: refresh them in the same transaction
        const cross = crossMarkets(a);
        const refresh = [
            // only positions are valued (a slot holding only orders is not): refresh those
            ...(await Promise.all(
                cross
                    .filter((i) => a.positions.some((q) => (q.flags & 1) !== 0 && q.marketIndex === i && q.base !== 0n))
                    .map((i) => updateFunding({ marketIndex: i, oracles: marketOracles(live.markets.get(i)!.market) })),
            )),
            ...(await Promise.all(held.map((i) => refreshCollateral({ collateralIndex: i, oracles: collateralOracles(live.collaterals.get(i)!) })))),
        ];
        if (mint === 0) {
            const ix = await withdraw({ owner, marginAccount: margin.address, userToken: await associatedToken(owner, live.exchange.collateralMint), amount, positionMarkets: cross });
            await send(`Withdraw ${fixed(amount, 6, 2)} USDC`, [...refresh, await withCollateral(ix, held)]);
            return;
        }
        const c = live.collaterals.get(mint)!;
        const ix = await withdrawCollateral({
            owner,
            marginAccount: margin.address,
            collateralIndex: mint,
            mint: c.mint,
            userToken: await associatedToken(owner, c.mint),
            amount,
            crossMarkets: cross,
            otherCollateral: held.filter((i) => i !== mint),
        });
        await send(`Withdraw ${fixed(amount, c.decimals, 2)} ${name(c.name)}`, [...refresh, ix]);
    }
    async function onCloseRaw(market: number) {
        if (!live || !owner || !margin?.account) return;
        const m = live.markets.get(market)!.market;
        const pos = margin.account.positions.find((q) => (q.flags & 1) !== 0 && q.marketIndex === market);
        if (!pos || pos.base === 0n) return;
        // the worst average price signed: the vAMM's quote for the whole position now, 1 % away
        const side = pos.base > 0n ? 'short' : 'long';
        const quote = quoteAverage({ baseReserve: wideU128(m.baseReserve), k: wideU128(m.k), peg: m.peg }, side, pos.base < 0n ? -pos.base : pos.base);
        const limit = side === 'long' ? (quote * 101n) / 100n : (quote * 99n + 99n) / 100n;
        const ix = await closePosition({ authority: owner, marginAccount: margin.address, marketIndex: market, oracles: marketOracles(m), otherMarkets: crossMarkets(margin.account, market), limitPrice: limit });
        await send(`Close ${name(m.name)}`, [await withCollateral(ix, heldCollateral(margin.account))]);
    }
    async function onCancelRaw(id: bigint) {
        if (!owner || !margin) return;
        await send(`Cancel order ${id}`, [await cancelOrders({ owner, marginAccount: margin.address, which: { byId: id } })]);
    }

    // every action: a failure before signing (the node gone, a bad input) is a message, never lost
    const guarded =
        <A extends unknown[]>(f: (...a: A) => Promise<unknown>) =>
        async (...a: A) => {
            try {
                await f(...a);
            } catch (e) {
                setMsg({ kind: 'error', text: e instanceof UserError || e instanceof WalletRejected ? e.message : `Failed: ${(e as Error).message}. Nothing was sent.` });
            }
        };
    const onDeposit = guarded(onDepositRaw);
    const onWithdraw = guarded(onWithdrawRaw);
    const onClose = guarded(onCloseRaw);
    const onCancel = guarded(onCancelRaw);

    return (
        <>
            <header>
                <h1>perp</h1>
                {live && (
                    <label class="market-select">Market
                        <select value={sel} onChange={(e) => setSel(Number((e.target as HTMLSelectElement).value))}>
                            {[...markets.values()].map((m) => (<option value={m.market.marketIndex}>{name(m.market.name)}</option>))}
                        </select>
                    </label>
                )}
                <span class="cluster">{cfg ? `${cfg.cluster} · ${cfg.rpc}` : ''}</span>
                <div class="wallets">
                    {wAccount ? (
                        <>
                            <span data-testid="connected">{wallet?.name}: {wAccount.address.slice(0, 4)}…{wAccount.address.slice(-4)}</span>
                            <button type="button" onClick={() => { void disconnect(wallet!); setWAccount(null); setWallet(null); setMargin(null); }}>Disconnect</button>
                        </>
                    ) : wallets.length === 0 ? (
                        <span class="muted">No Solana wallet found: install one that supports the Wallet Standard.</span>
                    ) : (
                        wallets.map((w) => (<button type="button" onClick={() => onConnect(w)}>Connect {w.name}</button>))
                    )}
                </div>
            </header>
            {msg && <p class={`msg ${msg.kind}`} role={msg.kind === 'error' ? 'alert' : 'status'} data-testid="message">{msg.text}</p>}
            {bootError && <p class="msg error" role="alert" data-testid="message">{bootError}</p>}
            {live && live.silentFor() > 5 && <p class="msg error" role="alert">No news from the node at {cfg?.rpc} for {live.silentFor()} s: prices and staleness on this page are frozen (reconnecting…).</p>}
            {cfg?.fromLink && <p class="msg info" role="status">This page talks to the node named in its link ({cfg.rpc}): every price and preview comes from it. Trust it before you sign.</p>}
            <main>
                <div class="left">
                    <div class="chart" ref={chartEl} aria-label="Mark candles and index line" role="img" />
                    <Positions view={view} markets={markets} lights={lights} shares={shares} onClose={onClose} />
                    <Orders account={margin?.account ?? null} markets={markets} onCancel={onCancel} />
                    <History h={history} indexer={cfg?.indexer ?? null} />
                </div>
                <div class="right">
                    {ms && <MarketPanel ms={ms} now={live!.now()} />}
                    {ms && live && <Ticket key={sel} chain={live.chain} ms={ms} all={markets} owner={owner} account={margin} collaterals={live.collaterals} now={live.now()} slot={live.slot} onSend={send} />}
                    <AccountPanel owner={owner} account={margin?.account ?? null} view={view} wallet={usdc} collaterals={live?.collaterals ?? new Map()} onDeposit={onDeposit} onWithdraw={onWithdraw} busy={busy} />
                </div>
            </main>
            <footer>Charts by <a href="https://www.tradingview.com/">TradingView</a> lightweight-charts.</footer>
        </>
    );
}

render(<App />, document.getElementById('app')!);
