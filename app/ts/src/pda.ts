/**
 * Program-derived addresses, with the seeds of app/client/src/pda.rs (and the program's
 * `*_SEED` constants). Integers are little-endian, as `to_le_bytes` writes them.
 */
import {
    getAddressEncoder,
    getProgramDerivedAddress,
    getU16Encoder,
    getU64Encoder,
    getUtf8Encoder,
    type Address,
} from '@solana/kit';
import { PERP_PROGRAM_ADDRESS } from './generated/programs/index.js';

/** The upgradeable BPF loader, owner of the program's data account. */
export const BPF_LOADER_UPGRADEABLE_ADDRESS = 'BPFLoaderUpgradeab1e11111111111111111111111' as Address;

export const EXCHANGE_SEED = 'exchange';
export const COLLATERAL_VAULT_SEED = 'collateral_vault';
export const INSURANCE_VAULT_SEED = 'insurance_vault';
export const MARKET_SEED = 'market';
export const MARGIN_ACCOUNT_SEED = 'margin';
export const ADL_ROUND_SEED = 'adl_round';
export const PROPOSAL_SEED = 'proposal';
export const COLLATERAL_SEED = 'collateral';
export const MINT_VAULT_SEED = 'mint_vault';

const utf8 = getUtf8Encoder();
const u16 = getU16Encoder();
const u64 = getU64Encoder();
const addressBytes = getAddressEncoder();

async function derive(seeds: Array<string | Uint8Array>, programAddress: Address = PERP_PROGRAM_ADDRESS) {
    const [address] = await getProgramDerivedAddress({
        programAddress,
        seeds: seeds.map((s) => (typeof s === 'string' ? utf8.encode(s) : s)),
    });
    return address;
}

function u16Seed(name: string, v: number): Uint8Array {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`${name} must be a u16, got ${v}`);
    return u16.encode(v) as Uint8Array;
}

/** The singleton exchange. */
export const exchange = (): Promise<Address> => derive([EXCHANGE_SEED]);

/** The token account holding all collateral, PnL pools and fee pools. */
export const collateralVault = (): Promise<Address> => derive([COLLATERAL_VAULT_SEED]);

/** The token account holding the insurance fund. */
export const insuranceVault = (): Promise<Address> => derive([INSURANCE_VAULT_SEED]);

/** Market `marketIndex` (u16). */
export const market = async (marketIndex: number): Promise<Address> =>
    derive([MARKET_SEED, u16Seed('marketIndex', marketIndex)]);

/** Margin account `accountId` (u16) of `owner`. */
export const marginAccount = async (owner: Address, accountId: number): Promise<Address> =>
    derive([MARGIN_ACCOUNT_SEED, addressBytes.encode(owner) as Uint8Array, u16Seed('accountId', accountId)]);

/** The ADL round account of market `marketIndex`. */
export const adlRound = async (marketIndex: number): Promise<Address> =>
    derive([ADL_ROUND_SEED, u16Seed('marketIndex', marketIndex)]);

/** Proposal `id` (u64; the exchange's `proposalCount` when it was made). */
export const proposal = async (id: bigint | number): Promise<Address> => {
    const v = BigInt(id);
    if (v < 0n || v >= 1n << 64n) throw new RangeError(`proposal id must be a u64, got ${id}`);
    return derive([PROPOSAL_SEED, u64.encode(v) as Uint8Array]);
};

/** The program's data account under the upgradeable loader (holds its upgrade authority). */
export const programData = (programAddress: Address = PERP_PROGRAM_ADDRESS): Promise<Address> =>
    derive([addressBytes.encode(programAddress) as Uint8Array], BPF_LOADER_UPGRADEABLE_ADDRESS);

/** Listed collateral `collateralIndex` (u16; 1, 2, ... in listing order, 0 is the settlement mint). */
export const collateral = async (collateralIndex: number): Promise<Address> =>
    derive([COLLATERAL_SEED, u16Seed('collateralIndex', collateralIndex)]);

/** The vault of a listed collateral mint, keyed by the mint (a mint can be listed only once). */
export const mintVault = async (mint: Address): Promise<Address> =>
    derive([MINT_VAULT_SEED, addressBytes.encode(mint) as Uint8Array]);
