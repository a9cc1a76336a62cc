use crate::engine::fill::execute_fill;
use crate::engine::funding::settle_position;
use crate::engine::health::{group_health, group_of, Group, Views};
use crate::engine::markets::{settle_other_markets, PriceNeed};
use crate::engine::prices::view;
use crate::engine::token::vault_transfer;
use crate::error::{CoreResultExt, PerpError};
use crate::events::{AccountBankrupt, InsuranceChanged, LiquidationExecuted};
use crate::oracle::{read_index, resolve_index};
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perp_core::liquidation::{bankruptcy_price, liquidation_outcome};
use perp_core::margin::tier_index;
use perp_core::position::apply_fill;
use perp_core::vamm::Side;
use perp_core::{Base, Quote, Rate, Round};

/// Reasons recorded in `InsuranceChanged`.
pub mod insurance_reason {
    pub const TRADING_FEE: u8 = 0;
    pub const LIQUIDATION_FEE: u8 = 1;
    pub const LIQUIDATION_DRAW: u8 = 2;
}

#[derive(Accounts)]
pub struct Liquidate<'info> {
    pub liquidator: Signer<'info>,
    #[account(mut, seeds = [EXCHANGE_SEED], bump = exchange.load()?.bump)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, seeds = [MARKET_SEED, &market.load()?.market_index.to_le_bytes()], bump = market.load()?.bump)]
    pub market: AccountLoader<'info, Market>,
    /// The account being liquidated.
    #[account(mut, seeds = [MARGIN_ACCOUNT_SEED, margin_account.load()?.owner.as_ref(), &margin_account.load()?.account_id.to_le_bytes()],
              bump = margin_account.load()?.bump)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    /// The liquidator's own margin account: receives the reward in cross collateral.
    #[account(mut, seeds = [MARGIN_ACCOUNT_SEED, liquidator_account.load()?.owner.as_ref(), &liquidator_account.load()?.account_id.to_le_bytes()],
              bump = liquidator_account.load()?.bump)]
    pub liquidator_account: AccountLoader<'info, MarginAccount>,
    #[account(mut, address = exchange.load()?.collateral_vault @ PerpError::WrongTokenAccount)]
    pub collateral_vault: Account<'info, TokenAccount>,
    #[account(mut, address = exchange.load()?.insurance_vault @ PerpError::WrongTokenAccount)]
    pub insurance_vault: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
}

struct Transfers {
    insurance_fee: u64,
    insurance_draw: u64,
    bump: u8,
}

/// Permissionless liquidation of the account's position in this market, when the position's
/// margin group (its isolated margin, or the account's cross part) has equity below maintenance
/// at the mark price. Closes `max_base` (0 = all) against the vAMM; a partial close must leave the
/// group at or above maintenance x (1 + buffer), and a remainder below the market's minimum size
/// is closed too. The fee on the closed notional goes to the liquidator (its share) and the
/// insurance vault; a loss beyond the margin is paid by the insurance vault. If the vault cannot
/// pay it, nothing trades: the position is marked bankrupt for auto-deleveraging.
/// Remaining accounts: the market's oracles, then the market of every other open position.
pub fn handler<'info>(ctx: Context<'info, Liquidate<'info>>, max_base: u64) -> Result<()> {
    let now = crate::engine::now()?;
    let key = ctx.accounts.margin_account.key();
    let liquidator_key = ctx.accounts.liquidator_account.key();
    let t = {
        let mut ex = ctx.accounts.exchange.load_mut()?;
        require!(!ex.is_paused(pause::LIQUIDATE), PerpError::OperationPaused);
        let mut m = ctx.accounts.market.load_mut()?;
        let mut a = ctx.accounts.margin_account.load_mut()?;
        let mut l = ctx.accounts.liquidator_account.load_mut()?;
        l.authorize_trader(&ctx.accounts.liquidator.key())?;
        require!(l.owner != a.owner, PerpError::SelfLiquidation);
        require!(!l.is_bankrupt(), PerpError::AccountBankrupt);
        let slot = a.find(m.market_index).ok_or(PerpError::NoPosition)?;
        require!(!a.positions[slot].is_bankrupt(), PerpError::AccountBankrupt);
        require!(a.positions[slot].base != 0, PerpError::NoPosition);
        require!(m.status != market_status::PAUSED, PerpError::MarketPaused);

        // liquidations need a live index: a stale price must not liquidate anyone
        let n = m.num_oracles as usize;
        let report = read_index(&m, &ex, ctx.remaining_accounts, now)?;
        let (index, _) = resolve_index(&mut m, &report, now, false)?;
        settle_position(&mut a, &key, slot, &mut m)?;
        let mut views: Views = Default::default();
        settle_other_markets(
            &mut a,
            &key,
            Some(m.market_index),
            &ctx.remaining_accounts[n..],
            now,
            PriceNeed::Adding,
            &mut views,
        )?;
        let v = view(&m, index, now)?;
        views[slot] = Some(v);
        let group = group_of(&a, slot);
        let h = group_health(&a, group, &views)?;
        if !h.is_liquidatable() {
            msg!("{:?}: equity {} >= maintenance {}", group, h.equity, h.maintenance);
            return err!(PerpError::NotLiquidatable);
        }

        // size of the close
        let pos = a.positions[slot].state();
        let full = pos.base.abs().or_core()?;
        let mut size = if max_base == 0 { full } else { Base(full.0.min(i64::try_from(max_base).unwrap_or(i64::MAX))) };
        if full.0 - size.0 < m.min_position {
            size = full;
        }
        let side = if pos.base.is_positive() { Side::Short } else { Side::Long };
        let others_in_group = group == Group::Cross
            && a.positions.iter().enumerate().any(|(i, p)| i != slot && p.in_use() && !p.is_isolated() && p.base != 0);
        let last_of_group = size == full && !others_in_group;

        // preview the close and its money
        let fill = m.vamm().quote_trade(side, size).or_core()?;
        // the close may not fill further from the mark than twice the position's maintenance
        // rate: a vAMM pushed off the index (a sandwich) must not liquidate or bankrupt anyone
        let mmr = {
            let t = m.tiers();
            let t = &t[..m.num_tiers as usize];
            t[tier_index(t, pos.notional(v.mark).or_core()?)].mmr
        };
        let band = Rate(mmr.0.checked_mul(2).ok_or(PerpError::MathOverflow)?.min(RATE_ONE - 1));
        let worst = match side {
            Side::Short => v.mark.scale_by_one_plus(Rate(-band.0), Round::Up).or_core()?,
            Side::Long => v.mark.scale_by_one_plus(band, Round::Down).or_core()?,
        };
        let too_far = match side {
            Side::Short => fill.avg_price < worst,
            Side::Long => fill.avg_price > worst,
        };
        if too_far {
            msg!("fill {} is beyond {} (mark {} +/- {})", fill.avg_price, worst, v.mark, band);
            return err!(PerpError::LiquidationSlippage);
        }
        let preview = apply_fill(pos, fill.base, fill.quote).or_core()?;
        let collateral = Quote(match group {
            Group::Isolated(i) => a.positions[i].isolated_collateral,
            Group::Cross => a.cross_collateral,
        });
        let notional = fill.quote.abs().or_core()?;
        let insurance = Quote(i64::try_from(ex.insurance_balance).map_err(|_| PerpError::MathOverflow)?);
        let outcome = liquidation_outcome(
            collateral,
            preview.realized,
            notional,
            &m.liquidation_fees(),
            if last_of_group { insurance } else { Quote::ZERO },
        )
        .or_core()?;
        // the bankruptcy price of this position with the rest of its group at mark
        let upnl = pos.upnl(v.mark).or_core()?;
        let bp = bankruptcy_price(&pos, h.equity.checked_sub(upnl).or_core()?).or_core()?;

        if last_of_group && outcome.deficit.is_positive() {
            // the insurance vault cannot cover the loss: no trade; ADL resolves it at `bp`
            a.positions[slot].flags |= position_flags::BANKRUPT;
            m.bankrupt_accounts = m.bankrupt_accounts.checked_add(1).ok_or(PerpError::MathOverflow)?;
            msg!("bankrupt: deficit {} exceeds what insurance ({}) can cover", outcome.deficit, insurance);
            emit!(AccountBankrupt {
                margin_account: key,
                market_index: m.market_index,
                base: pos.base.0,
                bankruptcy_price: bp.0,
                deficit_estimate: outcome.deficit.0,
            });
            return Ok(());
        }

        let r = execute_fill(&mut a, slot, &mut m, side, size, Rate::ZERO, Rate::ZERO)?;
        require!(r.realized == preview.realized, PerpError::MathOverflow);
        // the group's collateral now holds `collateral + realized`; settle the waterfall
        let adjust =
            collateral.checked_add(r.realized).and_then(|c| outcome.collateral_after.checked_sub(c)).or_core()?.0;
        a.add_collateral(Some(slot), Quote(adjust))?;
        l.cross_collateral =
            l.cross_collateral.checked_add(outcome.liquidator_reward.0).ok_or(PerpError::MathOverflow)?;
        let fee_in = outcome.insurance_fee.0 as u64;
        let draw = outcome.insurance_draw.0 as u64;
        ex.insurance_balance = ex
            .insurance_balance
            .checked_add(fee_in)
            .and_then(|b| b.checked_sub(draw))
            .ok_or(PerpError::MathOverflow)?;
        ex.insurance_total_in = ex.insurance_total_in.saturating_add(fee_in);
        ex.insurance_total_out = ex.insurance_total_out.saturating_add(draw);

        if r.new.base.0 != 0 {
            // a partial close must bring the group back above maintenance plus the buffer
            views[slot] = Some(view(&m, index, now)?);
            let h2 = group_health(&a, group, &views)?;
            let need = h2.maintenance.mul_rate(Rate(RATE_ONE + m.liquidation_buffer), Round::Up).or_core()?;
            if h2.equity < need {
                msg!("after a partial close: equity {} < maintenance x (1 + buffer) {}", h2.equity, need);
                return err!(PerpError::PartialLiquidationTooSmall);
            }
        }
        let isolated = a.positions[slot].is_isolated();
        a.release_if_empty(slot)?;

        emit!(LiquidationExecuted {
            margin_account: key,
            liquidator: liquidator_key,
            market_index: m.market_index,
            closed_base: -r.fill.base.0,
            fill_price: r.fill.avg_price.0,
            mark_price: v.mark.0,
            bankruptcy_price: bp.0,
            realized_pnl: r.realized.0,
            liquidator_reward: outcome.liquidator_reward.0,
            insurance_fee: outcome.insurance_fee.0,
            insurance_draw: outcome.insurance_draw.0,
            remaining_base: r.new.base.0,
            isolated,
        });
        if fee_in > 0 {
            emit!(InsuranceChanged {
                amount: fee_in as i64,
                insurance_balance: ex.insurance_balance + draw,
                market_index: m.market_index,
                reason: insurance_reason::LIQUIDATION_FEE,
            });
        }
        if draw > 0 {
            emit!(InsuranceChanged {
                amount: -(draw as i64),
                insurance_balance: ex.insurance_balance,
                market_index: m.market_index,
                reason: insurance_reason::LIQUIDATION_DRAW,
            });
        }
        Transfers { insurance_fee: fee_in, insurance_draw: draw, bump: ex.bump }
    };
    vault_transfer(
        &ctx.accounts.token_program,
        &ctx.accounts.collateral_vault,
        ctx.accounts.insurance_vault.to_account_info(),
        ctx.accounts.exchange.to_account_info(),
        t.bump,
        t.insurance_fee,
    )?;
    vault_transfer(
        &ctx.accounts.token_program,
        &ctx.accounts.insurance_vault,
        ctx.accounts.collateral_vault.to_account_info(),
        ctx.accounts.exchange.to_account_info(),
        t.bump,
        t.insurance_draw,
    )
}

const RATE_ONE: i64 = perp_core::units::RATE_PRECISION;
