use crate::error::PerpError;
use crate::events::EventStream;
use crate::events::{ProposalCancelled, ProposalCreated, TimelockChanged};
use crate::state::*;
use anchor_lang::prelude::*;
use perp_core::units::RATE_PRECISION;

#[derive(Accounts)]
pub struct Propose<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(mut, address = EXCHANGE_ADDRESS, has_one = admin @ PerpError::AdminOnly)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(init, payer = admin, space = Proposal::SPACE,
              seeds = [PROPOSAL_SEED, &exchange.load()?.proposal_count.to_le_bytes()], bump)]
    pub proposal: Account<'info, Proposal>,
    pub system_program: Program<'info, System>,
}

/// Admin: proposes a timelocked action (a market's new parameters, a new market, a new admin, the
/// exchange configuration). Anyone may execute it once `timelock_delay` seconds have passed (the
/// delay in force at execution time, if it grew since); the admin may cancel it before.
pub fn handler(ctx: Context<Propose>, action: AdminAction) -> Result<()> {
    if Proposal::action_len(&action) > MAX_ACTION_LEN {
        return err!(PerpError::InvalidMarketParams);
    }
    match &action {
        AdminAction::UpdateMarket { params, .. } | AdminAction::CreateMarket { params, .. } => params.validate()?,
        AdminAction::SetExchangeConfig { fee_insurance_share, .. } => {
            require!((0..=RATE_PRECISION).contains(fee_insurance_share), PerpError::InvalidMarketParams)
        }
        AdminAction::SetAdmin { .. } => {}
        AdminAction::ListCollateral { params, .. } | AdminAction::UpdateCollateral { params, .. } => {
            params.validate()?
        }
    }
    let now = crate::engine::now()?;
    let mut ex = ctx.accounts.exchange.load_mut()?;
    let p = &mut ctx.accounts.proposal;
    p.id = ex.proposal_count;
    p.proposed_at = now;
    p.eta = now.checked_add(ex.timelock_delay).ok_or(PerpError::MathOverflow)?;
    p.proposer = ctx.accounts.admin.key();
    p.bump = ctx.bumps.proposal;
    p.action = action;
    ex.proposal_count = ex.proposal_count.checked_add(1).ok_or(PerpError::MathOverflow)?;
    emit!(ProposalCreated { seq: ex.next_seq()?, id: p.id, kind: p.action.kind(), eta: p.eta, proposal: p.key() });
    Ok(())
}

#[derive(Accounts)]
pub struct CancelProposal<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(mut, address = EXCHANGE_ADDRESS, has_one = admin @ PerpError::AdminOnly)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, close = admin, seeds = [PROPOSAL_SEED, &proposal.id.to_le_bytes()], bump = proposal.bump)]
    pub proposal: Account<'info, Proposal>,
}

/// Admin: withdraws a proposal before it is executed (its rent goes to the admin).
pub fn cancel(ctx: Context<CancelProposal>) -> Result<()> {
    emit!(ProposalCancelled { seq: ctx.accounts.exchange.load_mut()?.next_seq()?, id: ctx.accounts.proposal.id });
    Ok(())
}

#[derive(Accounts)]
pub struct SetTimelockDelay<'info> {
    pub admin: Signer<'info>,
    #[account(mut, address = EXCHANGE_ADDRESS, has_one = admin @ PerpError::AdminOnly)]
    pub exchange: AccountLoader<'info, Exchange>,
}

/// Admin: raises the timelock (it can never be lowered; at most 30 days). Applies at once, also
/// to proposals already waiting.
pub fn set_timelock_delay(ctx: Context<SetTimelockDelay>, delay: i64) -> Result<()> {
    let mut ex = ctx.accounts.exchange.load_mut()?;
    if delay < ex.timelock_delay || delay > MAX_TIMELOCK {
        msg!("timelock {} s: must be in [{} s, {} s]", delay, ex.timelock_delay, MAX_TIMELOCK);
        return err!(PerpError::TimelockDecrease);
    }
    ex.timelock_delay = delay;
    emit!(TimelockChanged { seq: ex.next_seq()?, timelock_delay: delay });
    Ok(())
}

/// A proposal may run once both its own eta and the delay in force now have passed, and for
/// `PROPOSAL_GRACE` seconds after that, and only while its proposer is still the admin (I-8: after
/// an admin rotation, the old key's pending proposals are void).
pub fn require_matured(p: &Proposal, ex: &Exchange, now: i64) -> Result<()> {
    if p.proposer != ex.admin {
        msg!("proposal {} was made by {}, no longer the admin ({})", p.id, p.proposer, ex.admin);
        return err!(PerpError::ProposalMismatch);
    }
    let ready = p.eta.max(p.proposed_at.saturating_add(ex.timelock_delay));
    if now < ready {
        msg!("proposal {} executes at {} ({} s from now)", p.id, ready, ready - now);
        return err!(PerpError::TimelockNotElapsed);
    }
    if now > ready.saturating_add(PROPOSAL_GRACE) {
        msg!("proposal {} expired at {}", p.id, ready.saturating_add(PROPOSAL_GRACE));
        return err!(PerpError::ProposalExpired);
    }
    Ok(())
}
