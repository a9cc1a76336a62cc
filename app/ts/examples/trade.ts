/**
 * A wallet-signed market order with @solana/kit and @perp/client (type-checked by `npm run build`;
 * run it against a cluster where the program and a market exist):
 *
 *   RPC_URL=http://127.0.0.1:8899 WS_URL=ws://127.0.0.1:8900 KEYPAIR=~/.config/solana/id.json \
 *     node dist/examples/trade.js
 */
import { readFileSync } from 'node:fs';
import {
    appendTransactionMessageInstructions,
    assertIsTransactionWithBlockhashLifetime,
    createKeyPairSignerFromBytes,
    createSolanaRpc,
    createSolanaRpcSubscriptions,
    createTransactionMessage,
    fetchEncodedAccount,
    getSignatureFromTransaction,
    pipe,
    sendAndConfirmTransactionFactory,
    setTransactionMessageFeePayerSigner,
    setTransactionMessageLifetimeUsingBlockhash,
    signTransactionMessageWithSigners,
    type Address,
} from '@solana/kit';
import * as perp from '../src/index.js';

async function main() {
    const rpc = createSolanaRpc(process.env.RPC_URL ?? 'http://127.0.0.1:8899');
    const rpcSubscriptions = createSolanaRpcSubscriptions(process.env.WS_URL ?? 'ws://127.0.0.1:8900');
    const keypairPath = (process.env.KEYPAIR ?? '~/.config/solana/id.json').replace('~', process.env.HOME ?? '');
    const wallet = await createKeyPairSignerFromBytes(new Uint8Array(JSON.parse(readFileSync(keypairPath, 'utf8'))));

    // the market's oracles and the account's other positions give the remaining accounts
    const marketIndex = 0;
    const marketAccount = await fetchEncodedAccount(rpc, await perp.pda.market(marketIndex));
    if (!marketAccount.exists) throw new Error(`market ${marketIndex} does not exist`);
    const market = perp.decodeMarket(marketAccount.data);
    const account: Address = await perp.pda.marginAccount(wallet.address, 0);
    const marginAccount = await fetchEncodedAccount(rpc, account);
    if (!marginAccount.exists) throw new Error(`no margin account ${account}: create it and deposit first`);
    const margin = perp.decodeMarginAccount(marginAccount.data);

    const order = await perp.placeMarketOrder({
        authority: wallet, // the signer: signTransactionMessageWithSigners signs with it
        marginAccount: account,
        marketIndex,
        oracles: perp.marketOracles(market),
        otherMarkets: perp.crossMarkets(margin, marketIndex),
        params: {
            side: 'long',
            size: 10_000_000n, // 0.01 base (10^-9)
            limitPrice: 0n, // no limit (owners only; a delegate must set one)
            reduceOnly: false,
            isolated: false,
            isolatedCollateral: 0n,
        },
    });

    const { value: latestBlockhash } = await rpc.getLatestBlockhash().send();
    const message = pipe(
        createTransactionMessage({ version: 0 }),
        (m) => setTransactionMessageFeePayerSigner(wallet, m),
        (m) => setTransactionMessageLifetimeUsingBlockhash(latestBlockhash, m),
        (m) => appendTransactionMessageInstructions([order], m),
    );
    const tx = await signTransactionMessageWithSigners(message);
    assertIsTransactionWithBlockhashLifetime(tx);
    const signature = getSignatureFromTransaction(tx);
    try {
        await sendAndConfirmTransactionFactory({ rpc, rpcSubscriptions })(tx, { commitment: 'confirmed' });
    } catch (e) {
        // a program error comes back as a custom code: name it
        const info = perp.errorFromTransactionError(e);
        throw info ? new Error(`order failed: ${info.name}: ${info.msg}`) : e;
    }

    // the trade's event, from the transaction's logs (a node may confirm a transaction before it
    // serves it from getTransaction: ask again for a few seconds)
    let sent = null;
    for (let i = 0; i < 40 && !sent; i++) {
        sent = await rpc
            .getTransaction(signature, { commitment: 'confirmed', encoding: 'json', maxSupportedTransactionVersion: 0 })
            .send();
        if (!sent) await new Promise((r) => setTimeout(r, 250));
    }
    if (!sent) throw new Error(`transaction ${signature} confirmed but not served by getTransaction`);
    for (const ev of perp.parseEvents(sent.meta?.logMessages ?? [])) {
        if (ev.name === 'TradeExecuted') console.log(`filled ${ev.data.base} at ${ev.data.avgPrice}, fee ${ev.data.fee}`);
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
