use crate::engine::prices::accrue_twap;
use crate::error::{CoreResultExt, PerpError};
use crate::events::EventStream;
use crate::events::Repegged;
use crate::oracle::{read_index, resolve_index};
use crate::state::*;
use anchor_lang::prelude::*;
use perp_core::repeg::plan_repeg;
use perp_core::{Base, Quote, Rate, Round};

#[derive(Accounts)]
pub struct Repeg<'info> {
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
}

/// Permissionless crank: moves the vAMM's peg toward the live index (`perp_core::repeg`), paid
/// exactly by the market's fee pool. Remaining accounts: the market's oracles.
///
/// It runs when all of these hold:
/// - repegs are on (`repeg_budget > 0`);
/// - neither the market nor the exchange's FUNDING crank is paused;
/// - no bankrupt position is open (it closes off the curve: its size is not the curve's to pay);
/// - the last repeg was at least one sample period ago;
/// - the index is live (no fallback);
/// - the vAMM's mid is at least `repeg_threshold` away from the index;
/// - this funding interval's budget moves the peg at all.
///
/// Each repeg is bounded three ways:
/// - it moves the peg by at most `perp_core::repeg::max_step` of the taker fee (just under twice
///   it), so a trade, a repeg and the closing trade in one slot pay at least the move in fees;
/// - repeg spending per funding interval is at most `repeg_budget` of the fee pool at the
///   interval's first repeg; a move that earns the protocol money needs no budget;
/// - the cost is computed from the traders' actual net position (`oi_long - oi_short`), so
///   inventory left on the curve by off-curve closes is neither paid for nor charged.
///
/// The cost moves between the fee pool and the PnL pool: positions, collateral and a
/// funding-basis mark are untouched (an impact-median mark follows the curve's time-weighted
/// prices toward the index). The time-weighted impact prices are brought up to date first, so
/// funding sees the new curve only from the next second on.
pub fn handler<'info>(ctx: Context<'info, Repeg<'info>>) -> Result<()> {
    let now = crate::engine::now()?;
    let ex = ctx.accounts.exchange.load()?;
    let mut m = ctx.accounts.market.load_mut()?;
    require!(m.repeg_budget > 0, PerpError::RepegNotAllowed);
    require!(!m.is_paused(now) && !ex.is_paused(pause::FUNDING, now), PerpError::RepegNotAllowed);
    require!(m.bankrupt_accounts == 0, PerpError::RepegNotAllowed);
    require!(now.saturating_sub(m.last_repeg_time) >= m.sample_period, PerpError::RepegTooSoon);
    let report = read_index(&m, &ex, ctx.remaining_accounts, now)?;
    let (index, _) = resolve_index(&mut m, &report, now, false)?;
    accrue_twap(&mut m, now)?;

    let v = m.vamm();
    let before = v.price().or_core()?;
    let gap = before.relative_diff(index, Round::Down).or_core()?;
    if gap.0.unsigned_abs() < m.repeg_threshold.unsigned_abs() {
        msg!("vAMM mid {} is within {} of the index {}", before, Rate(m.repeg_threshold), index);
        return err!(PerpError::RepegNotNeeded);
    }
    let (budget, start, window_budget, spent) = m.repeg_budget_now(now)?;
    let net = Base(m.oi_long.checked_sub(m.oi_short).ok_or(PerpError::MathOverflow)?);
    let plan = plan_repeg(&v, net, index, budget, m.repeg_max_step()).or_core()?;
    if plan.peg == v.peg {
        msg!("this interval's repeg budget ({} left of {}) cannot move the peg", budget, Quote(window_budget));
        return err!(PerpError::RepegNotNeeded);
    }
    let mut nv = v;
    nv.peg = plan.peg;
    m.set_vamm(&nv);
    m.fee_pool = m.fee_pool.checked_sub(plan.cost.0).ok_or(PerpError::MathOverflow)?;
    require!(m.fee_pool >= 0, PerpError::MathOverflow);
    m.pnl_pool_add(plan.cost)?;
    m.last_repeg_time = now;
    m.total_repeg_cost = m.total_repeg_cost.checked_add(plan.cost.0).ok_or(PerpError::MathOverflow)?;
    m.repeg_window_start = start;
    m.repeg_window_budget = window_budget;
    m.repeg_window_spent = spent.saturating_add(plan.cost.0.max(0));
    emit!(Repegged {
        seq: m.next_seq()?,
        market_index: m.market_index,
        old_peg: v.peg.0,
        new_peg: plan.peg.0,
        cost: plan.cost.0,
        fee_pool: m.fee_pool,
        budget_left: m.repeg_window_budget.saturating_sub(m.repeg_window_spent).max(0),
        net_position: net.0,
        index_price: index.0,
        vamm_price_before: before.0,
        vamm_price_after: nv.price().or_core()?.0,
        full: plan.full,
    });
    Ok(())
}
