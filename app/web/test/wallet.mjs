/**
 * A test wallet for the browser test: registered in the page through the Wallet Standard's own
 * registration events (the script below runs before the page), signing in the test process. The
 * page sends the serialized transaction to `window.__perpTestSign`, a Playwright binding; the key
 * stays in Node. `wallet.rejectNext = true` makes the next request fail as a user's "reject" does.
 */
import { readFileSync } from 'node:fs';
import { createKeyPairFromBytes, getAddressFromPublicKey, getTransactionDecoder, getTransactionEncoder, signBytes } from '@solana/kit';

/** The script the page runs first: a Wallet Standard wallet whose signing calls the binding. */
export function walletInitScript(addressText, publicKeyB64, chain) {
    return `(() => {
    const b64 = (u8) => { let s = ''; for (const b of u8) s += String.fromCharCode(b); return btoa(s); };
    const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    const account = Object.freeze({
        address: ${JSON.stringify(addressText)},
        publicKey: unb64(${JSON.stringify(publicKeyB64)}),
        chains: [${JSON.stringify(chain)}],
        features: ['solana:signTransaction'],
    });
    let connected = [];
    const listeners = new Set();
    const wallet = {
        version: '1.0.0',
        name: 'Test Wallet',
        icon: 'data:image/svg+xml;base64,' + btoa('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="#58a6ff"/></svg>'),
        chains: [${JSON.stringify(chain)}],
        get accounts() { return connected; },
        features: {
            'standard:connect': { version: '1.0.0', connect: async () => { connected = [account]; listeners.forEach((l) => l({ accounts: connected })); return { accounts: connected }; } },
            'standard:disconnect': { version: '1.0.0', disconnect: async () => { connected = []; listeners.forEach((l) => l({ accounts: connected })); } },
            'standard:events': { version: '1.0.0', on: (ev, l) => { if (ev !== 'change') return () => {}; listeners.add(l); return () => listeners.delete(l); } },
            'solana:signTransaction': {
                version: '1.0.0',
                supportedTransactionVersions: ['legacy', 0],
                signTransaction: async (...inputs) => Promise.all(inputs.map(async (i) => {
                    if (i.account.address !== account.address) throw new Error('unknown account');
                    const signed = await window.__perpTestSign(b64(i.transaction), i.chain);
                    return { signedTransaction: unb64(signed) };
                })),
            },
        },
    };
    const callback = ({ register }) => register(wallet);
    class RegisterWalletEvent extends Event {
        #detail;
        get detail() { return this.#detail; }
        get type() { return 'wallet-standard:register-wallet'; }
        constructor(cb) { super('wallet-standard:register-wallet', { bubbles: false, cancelable: false, composed: false }); this.#detail = cb; }
    }
    window.dispatchEvent(new RegisterWalletEvent(callback));
    window.addEventListener('wallet-standard:app-ready', ({ detail: api }) => callback(api));
})();`;
}

export class TestWallet {
    rejectNext = false;
    signed = 0;
    chains = new Set();

    static async fromFile(path) {
        const bytes = new Uint8Array(JSON.parse(readFileSync(path, 'utf8')));
        const w = new TestWallet();
        w.keys = await createKeyPairFromBytes(bytes);
        w.address = await getAddressFromPublicKey(w.keys.publicKey);
        w.publicKey = Buffer.from(bytes.slice(32)).toString('base64');
        return w;
    }

    /** Installs the wallet in a Playwright browser context. */
    async install(context, chain) {
        await context.exposeBinding('__perpTestSign', async (_source, wireB64, reqChain) => this.sign(wireB64, reqChain));
        await context.addInitScript(walletInitScript(this.address, this.publicKey, chain));
    }

    async sign(wireB64, chain) {
        this.chains.add(chain);
        if (this.rejectNext) {
            this.rejectNext = false;
            throw new Error('User rejected the request');
        }
        const tx = getTransactionDecoder().decode(Buffer.from(wireB64, 'base64'));
        if (!(this.address in tx.signatures)) throw new Error(`the transaction does not need ${this.address}`);
        const sig = await signBytes(this.keys.privateKey, tx.messageBytes);
        const signed = { ...tx, signatures: { ...tx.signatures, [this.address]: sig } };
        this.signed++;
        return Buffer.from(getTransactionEncoder().encode(signed)).toString('base64');
    }
}
