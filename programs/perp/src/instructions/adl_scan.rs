use crate::engine::haircut::{policy, settle_haircut, stamp};
use crate::error::{CoreResultExt, PerpError};
use crate::state::*;
use anchor_lang::prelude::*;
use perp_core::adl::{adl_score, AdlCandidate};
use perp_core::haircut::AdlPolicy;
use perp_core::margin::{requirement, MarginKind};
use perp_core::{Price, Quote};

#[derive(Accounts)]
pub struct AdlScan<'info> {
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut, constraint = adl_round.load()?.market_index == market.load()?.market_index @ PerpError::AdlRoundMismatch)]
    pub adl_round: AccountLoader<'info, AdlRound>,
}

/// Permissionless: counts margin accounts (remaining accounts, writable) into the open ADL round.
/// Each counterparty-side position of the market is counted once per round (it is stamped with
/// the round); the program computes its ADL score at the round's mark and keeps the top entries.
/// Accounts without such a position, or already counted, are skipped. Each counted position first
/// settles what it owes an earlier pro-rata pool; under the pro-rata policy it is then stamped with
/// its profit at the round's mark (the pool spreads the round's deficits over it) and no ranking is
/// kept.
pub fn handler<'info>(ctx: Context<'info, AdlScan<'info>>) -> Result<()> {
    let now = crate::engine::now()?;
    let mut m = ctx.accounts.market.load_mut()?;
    let mut r = ctx.accounts.adl_round.load_mut()?;
    require!(m.adl_round != 0 && m.adl_round == r.round, PerpError::AdlRoundMismatch);
    let mark = Price(r.mark);
    let pro_rata = policy(&m) == AdlPolicy::ProRata;
    let tiers = m.tiers();
    let tiers = &tiers[..m.tier_count()];
    for info in ctx.remaining_accounts {
        let loader = AccountLoader::<MarginAccount>::try_from(info)?;
        let mut a = loader.load_mut()?;
        let Some(slot) = a.find(m.market_index) else {
            continue;
        };
        let p = a.positions[slot];
        let side = if p.base > 0 {
            1
        } else if p.base < 0 {
            2
        } else {
            0
        };
        if side != r.side || p.adl_round == r.round as u32 {
            continue;
        }
        // what an earlier pool is owed comes off the position's PnL first: the stamp and the score
        // see only the profit left
        settle_haircut(&mut a, &info.key(), slot, &mut m)?;
        let p = a.positions[slot];
        m.adl_scanned = m.adl_scanned.saturating_add(1);
        r.last_progress = now;
        let st = p.state();
        let upnl = st.upnl(mark).or_core()?;
        let profit = if p.is_bankrupt() { Quote::ZERO } else { upnl.max(Quote::ZERO) };
        stamp(&mut a, slot, &mut m, r.round as u32, profit)?;
        if p.is_bankrupt() {
            continue;
        }
        let value = st.notional(mark).or_core()?;
        let mm = requirement(tiers, value, MarginKind::Maintenance).or_core()?;
        if let Some(score) = adl_score(upnl, st.entry_value().or_core()?, mm, value).or_core()? {
            r.profitable_seen = r.profitable_seen.saturating_add(1);
            if !pro_rata {
                r.insert(&AdlCandidate { key: info.key().to_bytes(), size: st.base.abs().or_core()?, score });
            }
        }
    }
    Ok(())
}
