/**
 * Where the page connects: `config.json` next to the page (written by `perp web`, or edited by
 * whoever hosts the static files), overridden by the query string (`?rpc=..&ws=..&indexer=..`).
 */
export interface Config {
    /** localnet, devnet, mainnet or custom: the Wallet Standard chain is `solana:<cluster>`. */
    cluster: string;
    rpc: string;
    ws: string;
    /** The history indexer's API (`perp indexer`), or null when none runs. */
    indexer: string | null;
    /** The node was named by the page's link (?rpc=), not by whoever serves the page. */
    fromLink: boolean;
}

export async function loadConfig(): Promise<Config> {
    let base: Partial<Config> = {};
    try {
        const r = await fetch('./config.json', { cache: 'no-store' });
        if (r.ok) base = await r.json();
    } catch {
        // no config.json: the defaults of a local cluster
    }
    const q = new URLSearchParams(location.search);
    const rpc = q.get('rpc') ?? base.rpc ?? 'http://127.0.0.1:8899';
    const ws = q.get('ws') ?? base.ws ?? wsFor(rpc);
    const indexer = q.get('indexer') ?? base.indexer ?? null;
    const cluster = q.get('cluster') ?? base.cluster ?? 'localnet';
    const fromLink = q.has('rpc') && q.get('rpc') !== base.rpc;
    return { cluster, rpc, ws, indexer: indexer === '' ? null : indexer, fromLink };
}

/** The websocket URL a validator serves next to its RPC port (port + 1). */
export function wsFor(rpc: string): string {
    const u = new URL(rpc);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    if (u.port) u.port = String(Number(u.port) + 1);
    return u.toString().replace(/\/$/, '');
}
