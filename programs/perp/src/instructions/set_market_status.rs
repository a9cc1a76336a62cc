use crate::error::PerpError;
use crate::events::EventStream;
use crate::events::MarketStatusChanged;
use crate::state::*;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct SetMarketStatus<'info> {
    pub admin: Signer<'info>,
    #[account(address = EXCHANGE_ADDRESS, has_one = admin @ PerpError::AdminOnly)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
}

/// Admin, at once: sets a market active, reduce-only or paused (`state::market_status`).
/// Reduce-only tightens and stays until lifted. PAUSED (no new risk, no liquidation or ADL;
/// closing always works) lapses after `MAX_PAUSE` seconds into reduce-only, and cannot begin again
/// until `PAUSE_COOLDOWN` seconds after it lapsed.
pub fn handler(ctx: Context<SetMarketStatus>, status: u8) -> Result<()> {
    require!(status <= market_status::PAUSED, PerpError::InvalidMarketParams);
    let now = crate::engine::now()?;
    let mut m = ctx.accounts.market.load_mut()?;
    let paused_now = m.is_paused(now);
    if status == market_status::PAUSED && !paused_now {
        if now < m.pause_cooldown_until {
            msg!("the market may be paused again at {}", m.pause_cooldown_until);
            return err!(PerpError::PauseCooldown);
        }
        m.paused_until = now + MAX_PAUSE;
        m.pause_cooldown_until = m.paused_until + PAUSE_COOLDOWN;
    } else if status != market_status::PAUSED && paused_now {
        m.paused_until = now;
        m.pause_cooldown_until = now + PAUSE_COOLDOWN;
    }
    m.status = status;
    emit!(MarketStatusChanged {
        seq: m.next_seq()?,
        market_index: m.market_index,
        status,
        paused_until: m.paused_until
    });
    Ok(())
}
