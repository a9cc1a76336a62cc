/**
 * Wallets through the Wallet Standard: discovered with `@wallet-standard/app`, connected with
 * `standard:connect`, transactions signed with `solana:signTransaction` (the page then sends them
 * itself, so a program error comes back decoded) or, for a wallet without it,
 * `solana:signAndSendTransaction`. No wallet-specific code.
 */
import { getWallets } from '@wallet-standard/app';
import type { Wallet, WalletAccount } from '@wallet-standard/base';
import { StandardConnect, StandardDisconnect, StandardEvents, type StandardConnectFeature, type StandardDisconnectFeature, type StandardEventsFeature } from '@wallet-standard/features';
import {
    SolanaSignAndSendTransaction,
    SolanaSignTransaction,
    type SolanaSignAndSendTransactionFeature,
    type SolanaSignTransactionFeature,
} from '@solana/wallet-standard-features';

export type SolanaChain = `solana:${string}`;

export const canSign = (w: Wallet) => SolanaSignTransaction in w.features || SolanaSignAndSendTransaction in w.features;

/** Wallets that can sign Solana transactions, kept up to date as wallets register. */
export function watchWallets(onChange: (ws: readonly Wallet[]) => void): () => void {
    const api = getWallets();
    const emit = () => onChange(api.get().filter((w) => StandardConnect in w.features && canSign(w)));
    emit();
    const off1 = api.on('register', emit);
    const off2 = api.on('unregister', emit);
    return () => {
        off1();
        off2();
    };
}

export async function connect(w: Wallet): Promise<WalletAccount> {
    const f = (w.features as StandardConnectFeature)[StandardConnect];
    const { accounts } = await f.connect();
    const a = accounts[0] ?? w.accounts[0];
    if (!a) throw new Error(`${w.name} gave no account`);
    return a;
}

export async function disconnect(w: Wallet): Promise<void> {
    const f = (w.features as Partial<StandardDisconnectFeature>)[StandardDisconnect];
    if (f) await f.disconnect();
}

export function onAccountsChange(w: Wallet, cb: (accounts: readonly WalletAccount[]) => void): () => void {
    const f = (w.features as Partial<StandardEventsFeature>)[StandardEvents];
    if (!f) return () => {};
    return f.on('change', (p) => {
        if (p.accounts) cb(p.accounts);
    });
}

/** A rejected request: the wallet (or its user) said no. */
export class WalletRejected extends Error {}

/**
 * Signs `wire` (a serialized transaction) with the wallet. Returns the signed bytes, or
 * `{ signature }` when the wallet only signs and sends.
 */
export async function signWire(
    w: Wallet,
    account: WalletAccount,
    chain: SolanaChain,
    wire: Uint8Array,
): Promise<{ signed: Uint8Array } | { signature: Uint8Array }> {
    try {
        if (SolanaSignTransaction in w.features) {
            const f = (w.features as SolanaSignTransactionFeature)[SolanaSignTransaction];
            const [out] = await f.signTransaction({ account, transaction: wire, chain });
            return { signed: out.signedTransaction };
        }
        const f = (w.features as SolanaSignAndSendTransactionFeature)[SolanaSignAndSendTransaction];
        const [out] = await f.signAndSendTransaction({ account, transaction: wire, chain });
        return { signature: out.signature };
    } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (/reject|denied|cancel|declined/i.test(msg) || (e as { code?: number })?.code === 4001)
            throw new WalletRejected(`the wallet refused to sign (${msg}): nothing was sent`);
        throw e;
    }
}
