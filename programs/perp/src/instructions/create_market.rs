use crate::error::{CoreResultExt, PerpError};
use crate::events::MarketCreated;
use crate::state::*;
use anchor_lang::prelude::*;
use perp_core::vamm::Vamm;
use perp_core::Price;

#[derive(Accounts)]
#[instruction(market_index: u16)]
pub struct CreateMarket<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(mut, seeds = [EXCHANGE_SEED], bump = exchange.load()?.bump, has_one = admin @ PerpError::AdminOnly)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(init, payer = admin, space = 8 + MARKET_SIZE, seeds = [MARKET_SEED, &market_index.to_le_bytes()], bump)]
    pub market: AccountLoader<'info, Market>,
    /// The market's ADL ranking account, created with it.
    #[account(init, payer = admin, space = 8 + ADL_ROUND_SIZE, seeds = [ADL_ROUND_SEED, &market_index.to_le_bytes()], bump)]
    pub adl_round: AccountLoader<'info, AdlRound>,
    pub system_program: Program<'info, System>,
}

/// Creates market `market_index` (markets are numbered 0, 1, 2, ... in creation order) with a
/// vAMM of `base_reserve` (base raw units) balanced at `peg` (price raw units).
pub fn handler(
    ctx: Context<CreateMarket>,
    market_index: u16,
    params: MarketParams,
    base_reserve: u128,
    peg: u64,
) -> Result<()> {
    let mut ex = ctx.accounts.exchange.load_mut()?;
    if market_index != ex.market_count {
        msg!("next market index is {}", ex.market_count);
        return err!(PerpError::InvalidMarketParams);
    }
    params.validate()?;
    let vamm = Vamm::new(base_reserve, Price(peg)).or_core()?;
    let now = crate::engine::now()?;
    let mut m = ctx.accounts.market.load_init()?;
    params.apply(&mut m);
    m.market_index = market_index;
    m.bump = ctx.bumps.market;
    m.status = market_status::ACTIVE;
    m.set_vamm(&vamm);
    m.last_sample_time = now;
    // funding times are aligned to the interval
    m.next_funding_time = (now / params.funding_interval + 1) * params.funding_interval;
    m.last_funding_time = now;
    ex.market_count = ex.market_count.checked_add(1).ok_or(PerpError::MathOverflow)?;
    let mut r = ctx.accounts.adl_round.load_init()?;
    r.market_index = market_index;
    r.bump = ctx.bumps.adl_round;
    emit!(MarketCreated { market_index, name: params.name, peg, base_reserve });
    Ok(())
}
