use crate::error::PerpError;
use crate::events::EventStream;
use crate::events::MarketUpdated;
use crate::state::*;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct UpdateMarket<'info> {
    pub admin: Signer<'info>,
    #[account(address = EXCHANGE_ADDRESS, has_one = admin @ PerpError::AdminOnly)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
}

/// Admin, at once: tightens new risk on a market (raises initial margin rates, lowers the maximum
/// leverage). Any other change, including every change of the oracle set, maintenance rates, caps,
/// funding and fees, is `TimelockRequired`: propose it (`propose` with `UpdateMarket`).
pub fn handler(ctx: Context<UpdateMarket>, params: MarketParams) -> Result<()> {
    params.validate()?;
    let mut m = ctx.accounts.market.load_mut()?;
    if !params.only_tightens(&MarketParams::from_market(&m)) {
        msg!("only raising initial margin rates or lowering max leverage applies at once");
        return err!(PerpError::TimelockRequired);
    }
    params.apply(&mut m);
    m.params_version = m.params_version.wrapping_add(1);
    emit!(MarketUpdated { seq: m.next_seq()?, market_index: m.market_index });
    Ok(())
}
