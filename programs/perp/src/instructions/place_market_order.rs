use crate::engine::fill::execute_fill;
use crate::engine::funding::settle_position;
use crate::engine::health::{group_of, require_initial, require_solvent, Group, Views};
use crate::engine::markets::{settle_other_markets, PriceNeed};
use crate::engine::prices::view;
use crate::engine::token::vault_transfer;
use crate::error::{CoreResultExt, PerpError};
use crate::events::TradeExecuted;
use crate::oracle::{read_index, resolve_index};
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perp_core::vamm::Side;
use perp_core::{Base, Price, Rate};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderSide {
    Long,
    Short,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderParams {
    pub side: OrderSide,
    /// Base size, raw (10^-9).
    pub size: u64,
    /// Worst acceptable average fill price, raw (10^-6); 0 = no limit.
    pub limit_price: u64,
    pub reduce_only: bool,
    /// Trade the market's position in isolated margin (fixed when the position opens).
    pub isolated: bool,
    /// Collateral to move from cross into the isolated position before the trade (quote raw).
    pub isolated_collateral: u64,
}

#[derive(Accounts)]
pub struct PlaceMarketOrder<'info> {
    pub authority: Signer<'info>,
    #[account(mut, seeds = [EXCHANGE_SEED], bump = exchange.load()?.bump)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, seeds = [MARKET_SEED, &market.load()?.market_index.to_le_bytes()], bump = market.load()?.bump)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut, seeds = [MARGIN_ACCOUNT_SEED, margin_account.load()?.owner.as_ref(), &margin_account.load()?.account_id.to_le_bytes()],
              bump = margin_account.load()?.bump)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(mut, address = exchange.load()?.collateral_vault @ PerpError::WrongTokenAccount)]
    pub collateral_vault: Account<'info, TokenAccount>,
    #[account(mut, address = exchange.load()?.insurance_vault @ PerpError::WrongTokenAccount)]
    pub insurance_vault: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
}

/// Market order against the vAMM. Remaining accounts: the market's oracle accounts (in its
/// configured order), then the market account of every other open position of the margin account.
pub fn handler<'info>(ctx: Context<'info, PlaceMarketOrder<'info>>, params: OrderParams) -> Result<()> {
    execute_order(ctx, params, false)
}

/// Shared by `place_market_order` and `close_position` (`close_all` sizes the order to the whole
/// position, reduce-only).
pub fn execute_order<'info>(
    ctx: Context<'info, PlaceMarketOrder<'info>>,
    mut params: OrderParams,
    close_all: bool,
) -> Result<()> {
    let now = crate::engine::now()?;
    let key = ctx.accounts.margin_account.key();
    let (insurance_fee, bump, event) = {
        let mut ex = ctx.accounts.exchange.load_mut()?;
        require!(!ex.is_paused(pause::TRADE), PerpError::OperationPaused);
        let mut m = ctx.accounts.market.load_mut()?;
        let mut a = ctx.accounts.margin_account.load_mut()?;
        a.authorize_trader(&ctx.accounts.authority.key())?;
        require!(!a.is_bankrupt(), PerpError::AccountBankrupt);
        require!(m.status != market_status::PAUSED, PerpError::MarketPaused);

        let existing = a.find(m.market_index);
        let old_base = existing.map(|i| a.positions[i].base).unwrap_or(0);
        if close_all {
            require!(old_base != 0, PerpError::NoPosition);
            params.side = if old_base > 0 { OrderSide::Short } else { OrderSide::Long };
            params.size = old_base.unsigned_abs();
            params.reduce_only = true;
            params.isolated = a.positions[existing.unwrap()].is_isolated();
            params.isolated_collateral = 0;
        }
        let size = Base(i64::try_from(params.size).map_err(|_| PerpError::InvalidOrderSize)?);
        require!(size.0 > 0, PerpError::InvalidOrderSize);
        let side = match params.side {
            OrderSide::Long => Side::Long,
            OrderSide::Short => Side::Short,
        };
        let reducing = old_base != 0 && (old_base > 0) != (side == Side::Long) && size.0 <= old_base.abs();
        if params.reduce_only && !reducing {
            return err!(PerpError::ReduceOnlyViolation);
        }
        if !reducing {
            require!(m.status != market_status::REDUCE_ONLY, PerpError::MarketReduceOnly);
            require!(m.bankrupt_accounts == 0, PerpError::MarketHasBankruptcy);
        }

        let n = m.num_oracles as usize;
        let report = read_index(&m, &ex, ctx.remaining_accounts, now)?;
        let (index, fallback) = resolve_index(&mut m, &report, now, reducing)?;

        // the position: its margin mode is fixed while it is open
        if let Some(i) = existing {
            if a.positions[i].is_isolated() != params.isolated {
                return err!(PerpError::PositionModeMismatch);
            }
        }
        let slot = a.find_or_open(m.market_index, params.isolated)?;
        settle_position(&mut a, &key, slot, &mut m)?;
        let mut views: Views = Default::default();
        settle_other_markets(
            &mut a,
            &key,
            Some(m.market_index),
            &ctx.remaining_accounts[n..],
            now,
            if reducing { PriceNeed::Reducing } else { PriceNeed::Adding },
            &mut views,
        )?;

        if params.isolated && params.isolated_collateral > 0 {
            let amt = i64::try_from(params.isolated_collateral).map_err(|_| PerpError::MathOverflow)?;
            require!(a.cross_collateral >= amt, PerpError::InsufficientMargin);
            a.cross_collateral -= amt;
            a.positions[slot].isolated_collateral =
                a.positions[slot].isolated_collateral.checked_add(amt).ok_or(PerpError::MathOverflow)?;
        }

        // new risk is valued at the mark before this fill: with the impact-median method a fill
        // moves the mark, and a trade must not finance its own margin
        let v = view(&m, index, now)?;
        let fee_rate = Rate(m.taker_fee);
        let r = execute_fill(&mut a, slot, &mut m, side, size, fee_rate, Rate(ex.fee_insurance_share))?;

        if params.limit_price != 0 {
            let limit = Price(params.limit_price);
            let worse = match side {
                Side::Long => r.fill.avg_price > limit,
                Side::Short => r.fill.avg_price < limit,
            };
            if worse {
                msg!("average fill {} is worse than the limit {}", r.fill.avg_price, limit);
                return err!(PerpError::SlippageExceeded);
            }
        }

        views[slot] = Some(v);
        let group = group_of(&a, slot);
        if reducing {
            require_solvent(&a, group, &views)?;
        } else {
            let notional = r.new.notional(v.mark).or_core()?;
            if notional > m.max_notional() {
                msg!("notional {} > max {}", notional, m.max_notional());
                return err!(PerpError::MaxPositionExceeded);
            }
            require_initial(&a, group, &views)?;
        }
        if group != Group::Cross && params.isolated_collateral > 0 {
            // the collateral moved out of cross must not leave cross positions under-margined
            require_initial(&a, Group::Cross, &views)?;
            require!(a.cross_collateral >= 0, PerpError::InsufficientMargin);
        }
        let isolated = a.positions[slot].is_isolated();
        a.release_if_empty(slot)?;

        ex.insurance_balance =
            ex.insurance_balance.checked_add(r.insurance_fee.0 as u64).ok_or(PerpError::MathOverflow)?;
        ex.insurance_total_in = ex.insurance_total_in.saturating_add(r.insurance_fee.0 as u64);
        let event = TradeExecuted {
            margin_account: key,
            market_index: m.market_index,
            base: r.fill.base.0,
            quote: r.fill.quote.0,
            avg_price: r.fill.avg_price.0,
            fee: r.fee.0,
            insurance_fee: r.insurance_fee.0,
            realized_pnl: r.realized.0,
            new_base: r.new.base.0,
            new_quote_entry: r.new.quote_entry.0,
            index_price: index.0,
            mark_price: v.mark.0,
            vamm_price: r.fill.final_price.0,
            isolated,
            index_was_fallback: fallback,
        };
        (r.insurance_fee.0 as u64, ex.bump, event)
    };
    vault_transfer(
        &ctx.accounts.token_program,
        &ctx.accounts.collateral_vault,
        ctx.accounts.insurance_vault.to_account_info(),
        ctx.accounts.exchange.to_account_info(),
        bump,
        insurance_fee,
    )?;
    emit!(event);
    Ok(())
}
