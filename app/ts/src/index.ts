/**
 * @perp/client: the TypeScript client of the perp program, for @solana/kit.
 *
 * - `src/generated`: Codama's rendering of the Anchor IDL (codecs, raw instruction builders,
 *   account decoders, error constants), regenerated with `npm run generate`;
 * - this layer, mirroring the Rust SDK (app/client): PDAs ({@link pda}), instruction builders
 *   with the program's remaining-account rules, checked account decoding, events from logs,
 *   error names, listed-collateral builders (src/collateral.ts), and perp-core's risk and
 *   collateral math ({@link risk}).
 */
export * as pda from './pda.js';
export * from './instructions.js';
export * from './orders.js';
export * from './collateral.js';
export * from './accounts.js';
export * from './events.js';
export * from './errors.js';
export * as risk from './risk.js';
export * as prices from './prices.js';
export { PERP_PROGRAM_ADDRESS } from './generated/programs/index.js';
export * as generated from './generated/index.js';
export type { AdlRound, Collateral, Exchange, MarginAccount, Market, Proposal } from './generated/accounts/index.js';
export type { Order, Position } from './generated/types/index.js';
export { getMarginAccountSize, getMarketSize } from './generated/accounts/index.js';
export * from './account-view.js';
