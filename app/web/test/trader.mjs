/**
 * The trading page tested as a trader uses it: headless Chromium (Debian's, driven by
 * playwright-core) against `perp localnet`, the keeper, the indexer and `perp web`, with a
 * Wallet Standard test wallet that signs in this process. Run by the e2e test
 * `e2e_web_trader_in_chromium` (app/cli/tests/e2e/web.rs), which starts the services and passes:
 *
 *   PERP_WEB_URL    the page            PERP_RPC       the cluster's JSON-RPC
 *   PERP_BIN        the perp binary     PERP_KEYPAIR   the trader's funded keypair file
 *   PERP_SHOTS      screenshot folder   PERP_PRICE     the feed's starting price (micro-USD)
 *
 * It moves the price feed itself (`perp localnet price`), and asks its parent to stop the node by
 * printing {"stop_node":true} and reading a line from stdin. Console errors fail it (until the
 * node is stopped on purpose). The last line it prints is a JSON summary of what it measured.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { address, createSolanaRpcSubscriptions } from '@solana/kit';
import { TestWallet } from './wallet.mjs';

const env = (k) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is not set (see the header of test/trader.mjs)`);
    return v;
};
const CHROMIUM = process.env.PERP_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
    console.error(`Chromium is not installed at ${CHROMIUM}: run \`scripts/web --packages\` (installs Debian's chromium).`);
    process.exit(3);
}
const URL_ = env('PERP_WEB_URL');
const RPC = env('PERP_RPC');
const BIN = env('PERP_BIN');
const SHOTS = env('PERP_SHOTS');
const KEYPAIR = env('PERP_KEYPAIR');
let priceMicro = BigInt(env('PERP_PRICE'));
mkdirSync(SHOTS, { recursive: true });

const summary = { steps: [] };
const consoleErrors = [];
let allowNetworkErrors = false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error('[web-test]', ...a);

function perp(args) {
    const out = execFileSync(BIN, ['--rpc', RPC, '--json', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = out.trim().split('\n');
    return JSON.parse(lines[lines.length - 1]);
}
const micro = (text) => {
    const [i, f = ''] = String(text).split('.');
    return BigInt(i) * 1_000_000n + BigInt((f + '000000').slice(0, 6)) * (String(text).startsWith('-') ? -1n : 1n);
};

// the price feed: every oracle of market 0 written every second at `priceMicro`
let pushing = true;
let lastWrite = null;
const pusher = (async () => {
    while (pushing) {
        const p = priceMicro;
        const text = `${p / 1_000_000n}.${String(p % 1_000_000n).padStart(6, '0')}`;
        await new Promise((resolve) => {
            const c = spawn(BIN, ['--rpc', RPC, 'localnet', 'price', '--market', '0', '--price', text], { stdio: 'ignore' });
            c.on('exit', (code) => {
                if (code === 0) lastWrite = { p, at: Date.now() };
                resolve();
            });
        });
        await sleep(800);
    }
})();
async function written(p, timeoutMs = 30_000) {
    const t0 = Date.now();
    while (!(lastWrite && lastWrite.p === p)) {
        if (Date.now() - t0 > timeoutMs) throw new Error(`price ${p} not written within ${timeoutMs} ms`);
        await sleep(50);
    }
}

const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
const wallet = await TestWallet.fromFile(KEYPAIR);
await wallet.install(context, 'solana:localnet');
const page = await context.newPage();
page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // an account the indexer has not seen yet answers 404 (its API's contract), which Chromium logs
    const noHistoryYet = /status of 404/.test(m.text()) && /\/v1\/accounts\//.test(m.location()?.url ?? '');
    consoleErrors.push({ text: m.text(), url: m.location()?.url, allowed: allowNetworkErrors || noHistoryYet });
});
page.on('pageerror', (e) => consoleErrors.push({ text: String(e), allowed: false }));

let n = 0;
async function step(name, f) {
    const t0 = Date.now();
    log(`step ${n + 1}: ${name}`);
    try {
        await f();
    } finally {
        n++;
        await page.screenshot({ path: `${SHOTS}/${String(n).padStart(2, '0')}-${name}.png`, fullPage: true }).catch(() => {});
    }
    summary.steps.push({ name, ms: Date.now() - t0 });
}
const message = () => page.getByTestId('message').first();
async function expectMessage(re, timeout = 60_000) {
    await page.waitForFunction(
        (src) => {
            const el = [...document.querySelectorAll('[data-testid=message]')].pop();
            return el && new RegExp(src).test(el.textContent ?? '');
        },
        re.source,
        { timeout },
    ).catch(async (e) => {
        throw new Error(`expected a message matching ${re}, saw: ${await message().textContent().catch(() => '(none)')}\n${e.message}`);
    });
}
async function preview() {
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByTestId('preview').waitFor();
}
async function ticket({ side, kind = 'market', size, px }) {
    await page.getByRole('radio', { name: side === 'long' ? 'Long' : 'Short' }).click();
    await page.getByLabel('Order type').selectOption(kind);
    await page.getByLabel(/^Size/).fill(size);
    if (px) await page.getByLabel(/price/i).fill(px);
}
const account = () => perp(['account', 'show', '--owner', wallet.address]);

/** An oracle account's price in micro-USD (legacy: i64 @208, expo @20; pull: after the feed id). */
function oraclePrice(kind, d) {
    let price, expo;
    if (kind === 1) {
        price = d.readBigInt64LE(208);
        expo = d.readInt32LE(20);
    } else {
        const o = 40 + (d[40] === 1 ? 1 : 2) + 32;
        price = d.readBigInt64LE(o);
        expo = d.readInt32LE(o + 16);
    }
    const shift = expo + 6;
    return shift >= 0 ? price * 10n ** BigInt(shift) : price / 10n ** BigInt(-shift);
}

try {
    await step('loaded', async () => {
        const t0 = Date.now();
        await page.goto(URL_);
        await page.waitForFunction(() => Number(document.querySelector('[data-testid=index]')?.getAttribute('data-raw') ?? 0) > 0, null, { timeout: 30_000 });
        // first meaningful render: navigation start to the index on screen, as the browser counts it
        summary.firstRenderMs = await page.evaluate(() => Math.round(performance.now()));
        summary.loadWallMs = Date.now() - t0;
        const shipped = await page.evaluate(() => performance.getEntriesByType('resource').filter((r) => r.name.endsWith('.js')).reduce((a, r) => a + r.transferSize, 0));
        summary.jsTransferBytes = shipped;
    });

    await step('connected', async () => {
        // by keyboard: the connect button takes focus and Enter
        await page.getByRole('button', { name: 'Connect Test Wallet' }).focus();
        await page.keyboard.press('Enter');
        await page.getByTestId('connected').waitFor();
        await page.getByTestId('wallet-usdc').filter({ hasText: /\d/ }).waitFor();
    });

    await step('deposited', async () => {
        await page.getByLabel('Amount (USDC)').fill('1000');
        await page.getByRole('button', { name: 'Deposit' }).click();
        await expectMessage(/Deposit 1,000\.00 USDC: confirmed/);
        await page.getByTestId('collateral').filter({ hasText: '1,000.00' }).waitFor();
        const a = account();
        if (micro(a.cross_collateral) !== 1_000_000_000n) throw new Error(`on chain: ${JSON.stringify(a)}`);
    });

    await step('preview-long', async () => {
        await ticket({ side: 'long', size: '0.1' });
        await preview();
        const raw = await page.getByTestId('preview-liq').getAttribute('data-raw');
        if (!raw) throw new Error(`no liquidation price in the preview: ${await page.getByTestId('preview').textContent()}`);
        summary.previewLiquidation = raw;
    });

    await step('opened-long', async () => {
        await page.getByRole('button', { name: 'Sign and send' }).click();
        await expectMessage(/Buy 0\.1 BTC-PERP: confirmed/);
        await page.getByTestId('positions').waitFor();
        const a = account();
        const pos = a.positions.find((p) => Number(p.market) === 0 || p.market === 'BTC-PERP') ?? a.positions[0];
        if (!pos) throw new Error(`no position on chain: ${JSON.stringify(a)}`);
        summary.programLiquidation = String(micro(pos.liquidation_price));
        if (summary.programLiquidation !== summary.previewLiquidation)
            throw new Error(`the preview showed liquidation at ${summary.previewLiquidation}, the program's accounts give ${summary.programLiquidation}`);
        const shown = await page.getByTestId('position-liq').getAttribute('data-raw');
        if (shown !== summary.programLiquidation) throw new Error(`the positions table shows ${shown}, the program ${summary.programLiquidation}`);
        const lights = await page.locator('[data-testid=positions] tbody tr .light.on').count();
        if (lights !== Number(pos.adl_quantile)) throw new Error(`ADL lights: page ${lights}, CLI ${pos.adl_quantile}`);
    });

    await step('withdrew-with-a-position', async () => {
        // a withdrawal with a cross position open refreshes the market's cached index in the same
        // transaction (the program values it there); the program checks it before the wallet is asked
        const before = micro(account().cross_collateral);
        await page.getByLabel('Amount (USDC)').fill('10');
        await page.getByRole('button', { name: 'Withdraw' }).click();
        await expectMessage(/Withdraw 10\.00 USDC: confirmed/);
        if (micro(account().cross_collateral) !== before - 10_000_000n) throw new Error('withdrawal not on chain');
        // and one beyond the free collateral is refused by the program before anything is signed
        const signed = wallet.signed;
        await page.getByLabel('Amount (USDC)').fill('5000');
        await page.getByRole('button', { name: 'Withdraw' }).click();
        await expectMessage(/Withdraw 5,000\.00 USDC: the program would refuse it: .*Nothing was signed/);
        if (wallet.signed !== signed) throw new Error('the wallet was asked to sign a refused withdrawal');
    });

    await step('rejected-signature', async () => {
        const before = account();
        await ticket({ side: 'long', size: '0.05' });
        await preview();
        wallet.rejectNext = true;
        await page.getByRole('button', { name: 'Sign and send' }).click();
        await expectMessage(/refused to sign.*nothing was sent/);
        const after = account();
        if (JSON.stringify(after.positions) !== JSON.stringify(before.positions)) throw new Error('a rejected signature changed the account');
    });

    await step('stop-loss-placed', async () => {
        const idx = BigInt(await page.getByTestId('index').getAttribute('data-raw'));
        const trigger = (idx * 99n) / 100n;
        await ticket({ side: 'short', kind: 'stop', size: '0.1', px: `${trigger / 1_000_000n}.${String(trigger % 1_000_000n).padStart(6, '0')}` });
        await preview();
        await page.getByRole('button', { name: 'Sign and send' }).click();
        await expectMessage(/stop order short 0\.1 .*: confirmed/);
        await page.getByTestId('orders').waitFor();
        const o = perp(['order', 'list', '--owner', wallet.address]);
        if (o.orders_open !== 1) throw new Error(`orders on chain: ${JSON.stringify(o)}`);
    });

    await step('price-moved-stop-filled', async () => {
        // the page's index follows the oracle accounts by subscription. Measured: from the moment
        // a websocket subscriber of the same node holds the new price in every oracle account of
        // the market to the moment the page first showed the index at that price
        const keys = (await page.locator('table.oracles').getAttribute('data-keys')).split(',').map((k) => k.split(':'));
        const subs = createSolanaRpcSubscriptions(RPC.replace(/^http/, 'ws').replace(/:(\d+)/, (_, p) => `:${Number(p) + 1}`));
        const ab = new AbortController();
        const target = priceMicro - (priceMicro * 15n) / 1000n;
        const holds = new Map();
        for (const [kind, key] of keys) {
            const stream = await subs.accountNotifications(address(key), { encoding: 'base64', commitment: 'confirmed' }).subscribe({ abortSignal: ab.signal });
            void (async () => {
                for await (const n of stream) {
                    const p = oraclePrice(Number(kind), Buffer.from(n.value.data[0], 'base64'));
                    if (p === target && !holds.has(key)) holds.set(key, Date.now());
                }
            })().catch(() => {});
        }
        priceMicro = target;
        await written(priceMicro);
        await page.waitForFunction((t) => window.__perpIndexSeen?.has(t), target.toString(), { timeout: 10_000 });
        const shownAt = await page.evaluate((t) => window.__perpIndexSeen.get(t), target.toString());
        const t0 = Date.now();
        while (holds.size < keys.length && Date.now() - t0 < 5_000) await sleep(20);
        const changedAt = Math.max(...holds.values());
        summary.priceUpdateMs = holds.size === keys.length ? shownAt - changedAt : null;
        ab.abort();
        // the keeper fills the stop: the position and the order leave the page
        await page.getByText('No open position.').waitFor({ timeout: 90_000 });
        await page.getByText('No open order.').waitFor({ timeout: 30_000 });
    });

    await step('history', async () => {
        // finalized fills reach the indexer about 30 s later; the page refreshes on its stream
        await page.waitForFunction(() => document.querySelectorAll('[data-testid=fills] tbody tr').length >= 2, null, { timeout: 120_000 });
    });

    await step('closed-by-button', async () => {
        await ticket({ side: 'short', size: '0.02' });
        await preview();
        await page.getByRole('button', { name: 'Sign and send' }).click();
        await expectMessage(/Sell 0\.02 BTC-PERP: confirmed/);
        await page.getByTestId('positions').waitFor();
        // a take-profit placed, then cancelled from the open orders
        const idx = BigInt(await page.getByTestId('index').getAttribute('data-raw'));
        const tp = (idx * 95n) / 100n;
        await ticket({ side: 'long', kind: 'takeProfit', size: '0.02', px: `${tp / 1_000_000n}.${String(tp % 1_000_000n).padStart(6, '0')}` });
        await preview();
        await page.getByRole('button', { name: 'Sign and send' }).click();
        await expectMessage(/takeProfit order long 0\.02 .*: confirmed/);
        await page.getByRole('button', { name: /^Cancel order/ }).click();
        await expectMessage(/Cancel order \d+: confirmed/);
        await page.getByText('No open order.').waitFor();
        await page.getByRole('button', { name: 'Close' }).click();
        await expectMessage(/Close BTC-PERP: confirmed/);
        await page.getByText('No open position.').waitFor();
        if (account().positions.length !== 0) throw new Error('position still open on chain');
    });

    await step('withdrawn', async () => {
        const a = account();
        const keep = micro(a.cross_collateral) - 500_000_000n;
        await page.getByLabel('Amount (USDC)').fill('500');
        await page.getByRole('button', { name: 'Withdraw' }).click();
        await expectMessage(/Withdraw 500\.00 USDC: confirmed/);
        if (micro(account().cross_collateral) !== keep) throw new Error('withdrawal not on chain');
    });

    await step('collateral-sol', async () => {
        // a listed collateral: deposited, valued, withdrawn (with its price refreshed in the same transaction)
        perp(['localnet', 'price', '--collateral', 'SOL', '--price', '150']);
        await page.getByRole('combobox', { name: /^Collateral/ }).selectOption({ label: 'SOL' });
        await page.getByLabel('Amount (SOL)').fill('2');
        await page.getByRole('button', { name: 'Deposit' }).click();
        await expectMessage(/Deposit 2\.00 SOL: confirmed/);
        await page.getByText(/≈ 3\d\d\.\d\d USDC/).waitFor();
        perp(['localnet', 'price', '--collateral', 'SOL', '--price', '150']);
        await page.getByLabel('Amount (SOL)').fill('1.5');
        await page.getByRole('button', { name: 'Withdraw' }).click();
        await expectMessage(/Withdraw 1\.50 SOL: confirmed/);
        const held = account().collateral.find((c) => c.collateral === 'SOL');
        if (!held || Number(held.amount) !== 0.5) throw new Error(`SOL on chain: ${JSON.stringify(account().collateral)}`);
        await page.getByRole('combobox', { name: /^Collateral/ }).selectOption({ label: 'USDC' });
    });

    await step('stale-oracle', async () => {
        // no price for longer than the market's max_age (30 s on localnet): the page says so and
        // the program's refusal is shown before anything is signed
        pushing = false;
        await pusher;
        await page.waitForFunction(() => /stale/.test(document.querySelector('table.oracles')?.textContent ?? ''), null, { timeout: 60_000 });
        await page.getByText('cached: too few fresh feeds').waitFor({ timeout: 30_000 });
        await ticket({ side: 'long', size: '0.01' });
        await preview();
        const text = await page.getByTestId('preview').textContent();
        if (!/TooFewSources|StaleCachedIndex|fresh/.test(text ?? '')) throw new Error(`preview with stale feeds: ${text}`);
        summary.staleMessage = text;
    });

    await step('node-stopped', async () => {
        allowNetworkErrors = true;
        console.log(JSON.stringify({ stop_node: true }));
        const rl = createInterface({ input: process.stdin });
        await new Promise((resolve) => rl.once('line', resolve));
        rl.close();
        await page.getByLabel('Amount (USDC)').fill('10');
        await page.getByRole('button', { name: 'Deposit' }).click();
        await expectMessage(/No answer from the cluster at .*perp localnet start.*Nothing was sent/, 30_000);
    });

    const bad = consoleErrors.filter((e) => !e.allowed);
    if (bad.length) throw new Error(`console errors: ${JSON.stringify(bad)}`);
    summary.ok = true;
    summary.signed = wallet.signed;
    summary.chains = [...wallet.chains];
} catch (e) {
    summary.ok = false;
    summary.error = String(e?.stack ?? e);
    summary.console = consoleErrors;
} finally {
    pushing = false;
    await browser.close().catch(() => {});
    console.log(JSON.stringify(summary));
    process.exit(summary.ok ? 0 : 1);
}
