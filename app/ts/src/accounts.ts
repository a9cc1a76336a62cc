/**
 * Account decoding: the program's accounts (`Exchange`, `Market`, `MarginAccount`, `AdlRound`, `Collateral` are
 * zero-copy `repr(C)` structs with explicit padding; `Proposal` is Borsh) decoded with the
 * Codama-generated decoders after checking the 8-byte discriminator and the size, plus helpers for
 * the 128-bit fields (stored as 16 little-endian bytes) and fixed-size names.
 */
import { type ReadonlyUint8Array } from '@solana/kit';
import {
    ADL_ROUND_DISCRIMINATOR,
    COLLATERAL_DISCRIMINATOR,
    EXCHANGE_DISCRIMINATOR,
    MARGIN_ACCOUNT_DISCRIMINATOR,
    MARKET_DISCRIMINATOR,
    PROPOSAL_DISCRIMINATOR,
    getAdlRoundDecoder,
    getAdlRoundSize,
    getCollateralDecoder,
    getCollateralSize,
    getExchangeDecoder,
    getExchangeSize,
    getMarginAccountDecoder,
    getMarginAccountSize,
    getMarketDecoder,
    getMarketSize,
    getProposalDecoder,
    type AdlRound,
    type Collateral,
    type Exchange,
    type MarginAccount,
    type Market,
    type Proposal,
} from './generated/accounts/index.js';
import type { Tier } from './risk.js';

/** An account's bytes are not the expected account (wrong discriminator or size). */
export class AccountDecodeError extends Error {
    constructor(
        readonly account: string,
        message: string,
    ) {
        super(`${account}: ${message}`);
        this.name = 'AccountDecodeError';
    }
}

export type PerpAccountName = 'Exchange' | 'Market' | 'MarginAccount' | 'AdlRound' | 'Collateral' | 'Proposal';

interface Layout<T> {
    discriminator: ReadonlyUint8Array;
    /** Exact size for zero-copy accounts; `null` for Borsh accounts (variable content). */
    size: number | null;
    decode: (data: ReadonlyUint8Array) => T;
}

const layouts = {
    Exchange: { discriminator: EXCHANGE_DISCRIMINATOR, size: getExchangeSize(), decode: (d) => getExchangeDecoder().decode(d) } as Layout<Exchange>,
    Market: { discriminator: MARKET_DISCRIMINATOR, size: getMarketSize(), decode: (d) => getMarketDecoder().decode(d) } as Layout<Market>,
    MarginAccount: {
        discriminator: MARGIN_ACCOUNT_DISCRIMINATOR,
        size: getMarginAccountSize(),
        decode: (d) => getMarginAccountDecoder().decode(d),
    } as Layout<MarginAccount>,
    AdlRound: { discriminator: ADL_ROUND_DISCRIMINATOR, size: getAdlRoundSize(), decode: (d) => getAdlRoundDecoder().decode(d) } as Layout<AdlRound>,
    Collateral: {
        discriminator: COLLATERAL_DISCRIMINATOR,
        size: getCollateralSize(),
        decode: (d) => getCollateralDecoder().decode(d),
    } as Layout<Collateral>,
    Proposal: { discriminator: PROPOSAL_DISCRIMINATOR, size: null, decode: (d) => getProposalDecoder().decode(d) } as Layout<Proposal>,
};

const hex = (b: ReadonlyUint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const startsWith = (data: ReadonlyUint8Array, prefix: ReadonlyUint8Array) =>
    data.length >= prefix.length && prefix.every((b, i) => data[i] === b);

function decodeChecked<T>(name: PerpAccountName, layout: Layout<T>, data: ReadonlyUint8Array): T {
    if (!startsWith(data, layout.discriminator)) {
        const found = identifyAccount(data);
        throw new AccountDecodeError(
            name,
            `discriminator mismatch: expected ${hex(layout.discriminator)}, found ${hex(data.slice(0, 8))}` +
                (found ? ` (a ${found} account)` : ''),
        );
    }
    if (layout.size !== null && data.length !== layout.size) {
        throw new AccountDecodeError(name, `size mismatch: expected ${layout.size} bytes, found ${data.length}`);
    }
    try {
        return layout.decode(data);
    } catch (e) {
        throw new AccountDecodeError(name, `cannot decode ${data.length} bytes: ${(e as Error).message}`);
    }
}

/** Decodes an `Exchange` account's data (checks discriminator and size). */
export const decodeExchange = (data: ReadonlyUint8Array): Exchange => decodeChecked('Exchange', layouts.Exchange, data);
/** Decodes a `Market` account's data (checks discriminator and size). */
export const decodeMarket = (data: ReadonlyUint8Array): Market => decodeChecked('Market', layouts.Market, data);
/** Decodes a `MarginAccount` account's data (checks discriminator and size). */
export const decodeMarginAccount = (data: ReadonlyUint8Array): MarginAccount =>
    decodeChecked('MarginAccount', layouts.MarginAccount, data);
/** Decodes an `AdlRound` account's data (checks discriminator and size). */
export const decodeAdlRound = (data: ReadonlyUint8Array): AdlRound => decodeChecked('AdlRound', layouts.AdlRound, data);
/** Decodes a listed `Collateral` account's data (checks discriminator and size). */
export const decodeCollateral = (data: ReadonlyUint8Array): Collateral =>
    decodeChecked('Collateral', layouts.Collateral, data);
/** Decodes a `Proposal` account's data (checks discriminator; Borsh, padded to its allocation). */
export const decodeProposal = (data: ReadonlyUint8Array): Proposal => decodeChecked('Proposal', layouts.Proposal, data);

/** The program account type whose discriminator `data` starts with, if any. */
export function identifyAccount(data: ReadonlyUint8Array): PerpAccountName | null {
    for (const [name, layout] of Object.entries(layouts)) {
        if (startsWith(data, layout.discriminator)) return name as PerpAccountName;
    }
    return null;
}

/** Any program account, identified by its discriminator. */
export type DecodedPerpAccount =
    | { kind: 'Exchange'; data: Exchange }
    | { kind: 'Market'; data: Market }
    | { kind: 'MarginAccount'; data: MarginAccount }
    | { kind: 'AdlRound'; data: AdlRound }
    | { kind: 'Collateral'; data: Collateral }
    | { kind: 'Proposal'; data: Proposal };

/** Decodes any program account by its discriminator (throws on an unknown one). */
export function decodeAnyAccount(data: ReadonlyUint8Array): DecodedPerpAccount {
    const kind = identifyAccount(data);
    if (kind === null) throw new AccountDecodeError('account', `unknown discriminator ${hex(data.slice(0, 8))}`);
    return { kind, data: decodeChecked(kind, layouts[kind] as Layout<never>, data) } as DecodedPerpAccount;
}

/** The value of a `WideI128` field (16 little-endian bytes, two's complement). */
export function wideI128(w: { bytes: ReadonlyUint8Array }): bigint {
    const u = wideU128(w);
    return u >= 1n << 127n ? u - (1n << 128n) : u;
}

/** The value of a `WideU128` field (16 little-endian bytes). */
export function wideU128(w: { bytes: ReadonlyUint8Array }): bigint {
    if (w.bytes.length !== 16) throw new RangeError(`a 128-bit field has 16 bytes, got ${w.bytes.length}`);
    let v = 0n;
    for (let i = 15; i >= 0; i--) v = (v << 8n) | BigInt(w.bytes[i]);
    return v;
}

/** A fixed-size name (`[u8; 16]`, NUL-padded) as a string. */
export function nameString(bytes: ReadonlyUint8Array): string {
    return new TextDecoder().decode(bytes as Uint8Array).replace(/\0+$/, '');
}

/** A name as the program stores it: UTF-8, NUL-padded to 16 bytes. */
export function nameBytes(name: string): Uint8Array {
    const b = new TextEncoder().encode(name);
    if (b.length > 16) throw new RangeError(`name longer than 16 bytes: ${name}`);
    const out = new Uint8Array(16);
    out.set(b);
    return out;
}

/** A decoded market's margin tiers (the first `numTiers`), for the risk functions. */
export function marketTiers(m: Market): Tier[] {
    return m.tiers.slice(0, Math.min(m.numTiers, m.tiers.length)).map((t) => ({ cap: t.cap, imr: t.imr, mmr: t.mmr }));
}
