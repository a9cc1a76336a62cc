use crate::engine::haircut::{open_pool, policy};
use crate::engine::prices::{guarded_index, mark_price};
use crate::error::PerpError;
use crate::events::AdlRoundStarted;
use crate::events::EventStream;
use crate::oracle::{read_index_guarded, resolve_index};
use crate::state::*;
use anchor_lang::prelude::*;
use perp_core::haircut::AdlPolicy;

#[derive(Accounts)]
pub struct BeginAdlRound<'info> {
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut, constraint = adl_round.load()?.market_index == market.load()?.market_index @ PerpError::AdlRoundMismatch)]
    pub adl_round: AccountLoader<'info, AdlRound>,
    /// An account with a bankrupt position in this market: the round ranks its counterparties.
    pub bankrupt_account: AccountLoader<'info, MarginAccount>,
}

/// Permissionless: opens an ADL round for the counterparties of a bankrupt position (the side is
/// taken from that position, so no round can be opened for a side nobody needs), freezing the
/// mark price the ranking uses. Allowed when no round is open; when the open round is expired
/// (older than `ADL_ROUND_MAX_AGE`); when it is incomplete and has made no progress for
/// `ADL_ROUND_TTL`; or when it is complete, used up, and could not hold every profitable
/// counterparty (a larger bankruptcy needs another round). A complete round that awaits
/// `resolve_bankruptcy`, or one a keeper is working through, cannot be reset by anyone.
/// Remaining accounts: the market's oracles.
pub fn handler<'info>(ctx: Context<'info, BeginAdlRound<'info>>) -> Result<()> {
    let now = crate::engine::now()?;
    let ex = ctx.accounts.exchange.load()?;
    let mut m = ctx.accounts.market.load_mut()?;
    require!(!m.is_paused(now), PerpError::MarketPaused);
    let mut r = ctx.accounts.adl_round.load_mut()?;
    let b = ctx.accounts.bankrupt_account.load()?;
    let slot = b.find(m.market_index).filter(|s| b.positions[*s].is_bankrupt()).ok_or(PerpError::NotBankrupt)?;
    let side = if b.positions[slot].base > 0 { 2 } else { 1 };
    if m.adl_round != 0 && r.round == m.adl_round {
        let complete = m.adl_scanned == m.open_positions(m.adl_side);
        let used_up = r.cursor() >= r.entry_count();
        // a pro-rata round keeps no ranking: complete, it is worked through by auto_deleverage
        let ranked = policy(&m) == AdlPolicy::Ranked;
        // a round whose side has no bankrupt position left serves nobody (the others' bankruptcy
        // need not wait for it to expire)
        let counted = u32::from(m.bankrupt_long) + u32::from(m.bankrupt_short) == m.bankrupt_accounts;
        let serves = !counted || if r.side == 2 { m.bankrupt_long > 0 } else { m.bankrupt_short > 0 };
        let replaceable = r.is_expired(now)
            || (!complete && r.is_stalled(now))
            || (ranked && complete && used_up && !r.holds_all_profitable())
            || !serves;
        if !replaceable {
            msg!(
                "round {} open: counted {} of {}, {} of {} entries used",
                r.round,
                m.adl_scanned,
                m.open_positions(m.adl_side),
                r.cursor(),
                r.num_entries
            );
            return err!(PerpError::AdlRoundOpen);
        }
    }
    let (report, guard) = read_index_guarded(&m, &ex, ctx.remaining_accounts, now)?;
    let (index, _) = resolve_index(&mut m, &report, now, false)?;
    // the ranking mark passes the same guard rails (a wick does not pick the ranking either)
    let index = guarded_index(&m, &guard, index, side == 2, now)?;
    let mark = mark_price(&m, index, now)?;
    m.adl_round_counter = m.adl_round_counter.checked_add(1).ok_or(PerpError::MathOverflow)?;
    m.adl_round = m.adl_round_counter;
    m.adl_scanned = 0;
    m.adl_side = side;
    if policy(&m) == AdlPolicy::ProRata {
        let round = m.adl_round;
        open_pool(&mut m, side, round)?;
    }
    r.round = m.adl_round;
    r.started_at = now;
    r.last_progress = now;
    r.mark = mark.0;
    r.side = side;
    r.num_entries = 0;
    r.profitable_seen = 0;
    r.entries = Default::default();
    emit!(AdlRoundStarted {
        seq: m.next_seq()?,
        market_index: m.market_index,
        round: r.round,
        mark_price: mark.0,
        expected_positions: m.open_positions(side)
    });
    Ok(())
}
