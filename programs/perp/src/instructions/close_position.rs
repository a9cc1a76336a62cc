use super::place_market_order::{execute_order, OrderParams, OrderSide, PlaceMarketOrder};
use anchor_lang::prelude::*;

/// Closes the whole position in the order's market (reduce-only), with an optional limit price
/// (0 = none). Same accounts as `place_market_order`. Works on the last valid index when the
/// oracles are down, however old (a full close needs no price of its market), so a dead feed
/// never traps a position.
pub fn handler<'info>(ctx: Context<'info, PlaceMarketOrder<'info>>, limit_price: u64) -> Result<()> {
    let params = OrderParams {
        side: OrderSide::Long,
        size: 0,
        limit_price,
        reduce_only: true,
        isolated: false,
        isolated_collateral: 0,
        max_index_deviation: 0,
    };
    execute_order(ctx, params, true)
}
