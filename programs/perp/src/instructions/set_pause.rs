use crate::error::PerpError;
use crate::events::EventStream;
use crate::events::PauseChanged;
use crate::state::*;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct SetPause<'info> {
    pub admin: Signer<'info>,
    #[account(mut, address = EXCHANGE_ADDRESS, has_one = admin @ PerpError::AdminOnly)]
    pub exchange: AccountLoader<'info, Exchange>,
}

/// Admin: sets the exchange-wide pause switches (bits of `state::pause`). TRADE (new risk only)
/// stays until lifted. The others (DEPOSIT, WITHDRAW, FUNDING) lapse `MAX_PAUSE` seconds after
/// they were switched on, cannot be extended, and cannot be switched on again until
/// `PAUSE_COOLDOWN` seconds after they lapsed. Liquidations are paused per market
/// (`set_market_status`).
pub fn handler(ctx: Context<SetPause>, pause_flags: u16) -> Result<()> {
    require!(pause_flags & !pause::ALL == 0, PerpError::InvalidMarketParams);
    let now = crate::engine::now()?;
    let mut ex = ctx.accounts.exchange.load_mut()?;
    let active = ex.pause_flags & pause::BOUNDED != 0 && now < ex.pause_until;
    let wants = pause_flags & pause::BOUNDED != 0;
    if wants && !active {
        if now < ex.pause_cooldown_until {
            msg!(
                "a bounded pause may begin again at {} ({} s from now)",
                ex.pause_cooldown_until,
                ex.pause_cooldown_until - now
            );
            return err!(PerpError::PauseCooldown);
        }
        ex.pause_until = now + MAX_PAUSE;
        ex.pause_cooldown_until = ex.pause_until + PAUSE_COOLDOWN;
    } else if !wants && active {
        // lifted early: the cooldown counts from now
        ex.pause_until = now;
        ex.pause_cooldown_until = now + PAUSE_COOLDOWN;
    }
    // a running bounded pause may change its switches but keeps its end
    ex.pause_flags = pause_flags;
    emit!(PauseChanged { seq: ex.next_seq()?, pause_flags, pause_until: ex.pause_until });
    Ok(())
}
