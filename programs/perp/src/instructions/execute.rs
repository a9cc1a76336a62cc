use super::propose::require_matured;
use crate::error::{CoreResultExt, PerpError};
use crate::events::EventStream;
use crate::events::{AdminChanged, MarketCreated, MarketUpdated, ProposalExecuted};
use crate::state::*;
use anchor_lang::prelude::*;
use perp_core::units::RATE_PRECISION;
use perp_core::vamm::Vamm;
use perp_core::Price;

#[derive(Accounts)]
pub struct ExecuteUpdateMarket<'info> {
    pub executor: Signer<'info>,
    #[account(mut, address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, close = proposer, seeds = [PROPOSAL_SEED, &proposal.id.to_le_bytes()], bump = proposal.bump)]
    pub proposal: Account<'info, Proposal>,
    /// CHECK: receives the proposal's rent; must be its proposer.
    #[account(mut, address = proposal.proposer @ PerpError::ProposalMismatch)]
    pub proposer: UncheckedAccount<'info>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
}

/// Anyone, once the timelock has passed: replaces a market's parameters as proposed. The vAMM,
/// funding indices, open interest, pools and insurance ledger are untouched.
pub fn update_market(ctx: Context<ExecuteUpdateMarket>) -> Result<()> {
    let now = crate::engine::now()?;
    require_matured(&ctx.accounts.proposal, &*ctx.accounts.exchange.load()?, now)?;
    let AdminAction::UpdateMarket { market_index, params, version } = &ctx.accounts.proposal.action else {
        return err!(PerpError::ProposalMismatch);
    };
    let mut m = ctx.accounts.market.load_mut()?;
    require!(*market_index == m.market_index, PerpError::ProposalMismatch);
    if *version != m.params_version {
        msg!("proposal made against parameters version {}, the market is at {}", version, m.params_version);
        return err!(PerpError::ProposalMismatch);
    }
    params.validate()?;
    params.validate_with_vamm(&m.vamm())?;
    if params.adl_policy != m.adl_policy && (m.adl_round != 0 || m.bankrupt_accounts != 0) {
        msg!(
            "ADL policy {} -> {}: round {} open, {} bankrupt",
            m.adl_policy,
            params.adl_policy,
            m.adl_round,
            m.bankrupt_accounts
        );
        return err!(PerpError::AdlPolicyLocked);
    }
    params.apply(&mut m);
    m.params_version = m.params_version.wrapping_add(1);
    emit!(MarketUpdated { seq: m.next_seq()?, market_index: m.market_index });
    emit!(ProposalExecuted {
        seq: ctx.accounts.exchange.load_mut()?.next_seq()?,
        id: ctx.accounts.proposal.id,
        kind: 0,
        executor: ctx.accounts.executor.key()
    });
    Ok(())
}

#[derive(Accounts)]
#[instruction(market_index: u16)]
pub struct ExecuteCreateMarket<'info> {
    /// Pays the rent of the new market accounts.
    #[account(mut)]
    pub payer: Signer<'info>,
    #[account(mut, address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, close = proposer, seeds = [PROPOSAL_SEED, &proposal.id.to_le_bytes()], bump = proposal.bump)]
    pub proposal: Account<'info, Proposal>,
    /// CHECK: receives the proposal's rent; must be its proposer.
    #[account(mut, address = proposal.proposer @ PerpError::ProposalMismatch)]
    pub proposer: UncheckedAccount<'info>,
    #[account(init, payer = payer, space = 8 + MARKET_SIZE, seeds = [MARKET_SEED, &market_index.to_le_bytes()], bump)]
    pub market: AccountLoader<'info, Market>,
    /// The market's ADL ranking account, created with it.
    #[account(init, payer = payer, space = 8 + ADL_ROUND_SIZE, seeds = [ADL_ROUND_SEED, &market_index.to_le_bytes()], bump)]
    pub adl_round: AccountLoader<'info, AdlRound>,
    pub system_program: Program<'info, System>,
}

/// Anyone, once the timelock has passed: creates the proposed market (markets are numbered 0, 1,
/// 2, ... in creation order) with a vAMM of `base_reserve` (base raw units) balanced at `peg`.
pub fn create_market(ctx: Context<ExecuteCreateMarket>, market_index: u16) -> Result<()> {
    let now = crate::engine::now()?;
    let mut ex = ctx.accounts.exchange.load_mut()?;
    require_matured(&ctx.accounts.proposal, &ex, now)?;
    let AdminAction::CreateMarket { market_index: idx, params, base_reserve, peg } = &ctx.accounts.proposal.action
    else {
        return err!(PerpError::ProposalMismatch);
    };
    require!(*idx == market_index, PerpError::ProposalMismatch);
    if market_index != ex.market_count {
        msg!("next market index is {}", ex.market_count);
        return err!(PerpError::InvalidMarketParams);
    }
    params.validate()?;
    let vamm = Vamm::new(*base_reserve, Price(*peg)).or_core()?;
    params.validate_with_vamm(&vamm)?;
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
    emit!(MarketCreated {
        seq: m.next_seq()?,
        market_index,
        name: params.name,
        peg: *peg,
        base_reserve: *base_reserve
    });
    emit!(ProposalExecuted {
        seq: ex.next_seq()?,
        id: ctx.accounts.proposal.id,
        kind: 1,
        executor: ctx.accounts.payer.key()
    });
    Ok(())
}

#[derive(Accounts)]
pub struct ExecuteExchangeAction<'info> {
    pub executor: Signer<'info>,
    #[account(mut, address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, close = proposer, seeds = [PROPOSAL_SEED, &proposal.id.to_le_bytes()], bump = proposal.bump)]
    pub proposal: Account<'info, Proposal>,
    /// CHECK: receives the proposal's rent; must be its proposer.
    #[account(mut, address = proposal.proposer @ PerpError::ProposalMismatch)]
    pub proposer: UncheckedAccount<'info>,
}

/// Anyone, once the timelock has passed: hands the admin powers to a new key, or changes the
/// exchange configuration (fee share to insurance, the Pyth owner programs).
pub fn exchange_action(ctx: Context<ExecuteExchangeAction>) -> Result<()> {
    let now = crate::engine::now()?;
    let mut ex = ctx.accounts.exchange.load_mut()?;
    require_matured(&ctx.accounts.proposal, &ex, now)?;
    match &ctx.accounts.proposal.action {
        AdminAction::SetAdmin { new_admin } => {
            emit!(AdminChanged { seq: ex.next_seq()?, old_admin: ex.admin, new_admin: *new_admin });
            ex.admin = *new_admin;
        }
        AdminAction::SetExchangeConfig { fee_insurance_share, pyth_legacy_program, pyth_receiver_program } => {
            require!((0..=RATE_PRECISION).contains(fee_insurance_share), PerpError::InvalidMarketParams);
            ex.fee_insurance_share = *fee_insurance_share;
            ex.pyth_legacy_program = *pyth_legacy_program;
            ex.pyth_receiver_program = *pyth_receiver_program;
        }
        _ => return err!(PerpError::ProposalMismatch),
    }
    emit!(ProposalExecuted {
        seq: ex.next_seq()?,
        id: ctx.accounts.proposal.id,
        kind: ctx.accounts.proposal.action.kind(),
        executor: ctx.accounts.executor.key()
    });
    Ok(())
}
