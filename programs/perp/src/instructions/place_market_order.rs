use crate::engine::fill::execute_fill;
use crate::engine::funding::settle_position;
use crate::engine::health::{group_is_bankrupt, group_of, position_part, require_initial, require_solvent, Group};
use crate::engine::markets::{load_other_markets, Holder, PriceNeed};
use crate::engine::prices::view;
use crate::error::{CoreResultExt, PerpError};
use crate::events::TradeExecuted;
use crate::oracle::{read_index, resolve_index};
use crate::state::*;
use anchor_lang::prelude::*;
use perp_core::takeover::open_gain;
use perp_core::vamm::Side;
use perp_core::{Base, Price, Quote, Rate, Round};

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
    /// Worst acceptable average fill price, raw (10^-6); 0 = no limit (owner only: a delegate's
    /// order needs a limit within the market's delegate band of the index).
    pub limit_price: u64,
    pub reduce_only: bool,
    /// Trade the market's position in isolated margin (fixed when the position opens).
    pub isolated: bool,
    /// Collateral to move from cross into the isolated position before the trade (quote raw).
    pub isolated_collateral: u64,
    /// Worst acceptable average fill relative to the program's own live index (rate, 10^9 = 100%;
    /// 0 = none): a long fills at most `index x (1 + this)`, a short at least `index x (1 - this)`.
    /// The bound a keeper or a wallet can trust without trusting an RPC node's account data.
    pub max_index_deviation: u64,
}

/// A trade moves no tokens and writes only the market and the margin account: the exchange is
/// read-only, other markets are read-only remaining accounts.
#[derive(Accounts)]
pub struct PlaceMarketOrder<'info> {
    pub authority: Signer<'info>,
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

/// Market order against the vAMM. Remaining accounts: the market's oracle accounts (in its
/// configured order), then (read-only) the market account of every other position of the
/// order's margin group (cross orders: every other cross position; isolated orders: none, unless
/// collateral moves in from cross).
pub fn handler<'info>(ctx: Context<'info, PlaceMarketOrder<'info>>, params: OrderParams) -> Result<()> {
    execute_order(ctx, params, false)
}

/// Limit check of a delegate's order: a limit, and within the market's band of the index.
fn check_delegate_limit(side: Side, limit: u64, index: Price, band: Rate) -> Result<()> {
    let bound = match side {
        Side::Long => index.scale_by_one_plus(band, Round::Down).or_core()?,
        Side::Short => index.scale_by_one_plus(Rate(-band.0), Round::Up).or_core()?,
    };
    let ok = limit != 0
        && match side {
            Side::Long => limit <= bound.0,
            Side::Short => limit >= bound.0,
        };
    if !ok {
        msg!(
            "delegate order: limit {} must be set and within {} of the index {} (bound {})",
            limit,
            band,
            index,
            bound
        );
        return err!(PerpError::DelegateLimitRequired);
    }
    Ok(())
}

/// M-2: a delegate order against the direction of the delegate's previous one must wait one
/// sample period, so a delegate cannot buy for the owner, sell the impact back from its own
/// account and reverse the owner's order in the same transaction or second.
fn check_delegate_cooldown(a: &MarginAccount, side: Side, now: i64, period: i64) -> Result<()> {
    let dir = if side == Side::Long { 1 } else { 2 };
    if a.delegate_trade_side != 0 && a.delegate_trade_side != dir && now - a.delegate_trade_time < period {
        msg!("delegate reversed its previous order after {} s (wait {} s)", now - a.delegate_trade_time, period);
        return err!(PerpError::DelegateCooldown);
    }
    Ok(())
}

/// M-2: before a delegate's order the vAMM may not sit more than a quarter of the delegate band
/// beyond its time-weighted impact prices in the order's direction (above the ask for a buy, below
/// the bid for a sell), so the delegate's own account cannot move the mid ahead of it in the same
/// transaction or second (the vault's sandwich guard). A vAMM displaced the other way only helps
/// the order, and a close in a fast market is not refused for it.
fn check_vamm_at_rest(m: &Market, side: Side, now: i64) -> Result<()> {
    let price = m.vamm().price().or_core()?.0 as u128;
    let t = crate::engine::prices::impact_twap(m, now)?;
    let tol = (t.bid.0 as u128 + t.ask.0 as u128) / 2 * m.delegate_band.max(0) as u128 / 4_000_000_000;
    let displaced = match side {
        Side::Long => price > t.ask.0 as u128 + tol,
        Side::Short => price + tol < t.bid.0 as u128,
    };
    if displaced {
        msg!(
            "delegate order: vAMM at {} beyond its time-weighted impact prices {}..{} (+/- {}) in the order's direction",
            price,
            t.bid.0,
            t.ask.0,
            tol
        );
        return err!(PerpError::DelegateImpactTooLarge);
    }
    Ok(())
}

/// M-2: a delegate's fill may average at most a quarter of the delegate band away from the vAMM's
/// price before it (the impact a back-run from another account could take back).
fn check_delegate_impact(avg: Price, mid: Price, band: Rate) -> Result<()> {
    let diff = (avg.0 as i128 - mid.0 as i128).unsigned_abs();
    if diff * 4 * perp_core::units::RATE_PRECISION as u128 > band.0.max(0) as u128 * mid.0 as u128 {
        msg!("delegate order: average fill {} is more than a quarter of {} from the vAMM's {}", avg, band, mid);
        return err!(PerpError::DelegateImpactTooLarge);
    }
    Ok(())
}

/// The order's bound relative to the program's own live index (N-5).
fn check_index_deviation(side: Side, avg: Price, index: Price, dev: u64) -> Result<()> {
    let d = Rate(i64::try_from(dev).map_err(|_| PerpError::MathOverflow)?);
    let (worse, bound) = match side {
        Side::Long => {
            let b = index.scale_by_one_plus(d, Round::Down).or_core()?;
            (avg > b, b)
        }
        Side::Short => {
            let b = index.scale_by_one_plus(Rate(-d.0.min(perp_core::units::RATE_PRECISION)), Round::Up).or_core()?;
            (avg < b, b)
        }
    };
    if worse {
        msg!("average fill {} is beyond {} of the index {} (bound {})", avg, d, index, bound);
        return err!(PerpError::SlippageExceeded);
    }
    Ok(())
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
    let ex = ctx.accounts.exchange.load()?;
    let mut m = ctx.accounts.market.load_mut()?;
    let mut a = ctx.accounts.margin_account.load_mut()?;
    let signer = ctx.accounts.authority.key();
    a.authorize_trader(&signer)?;

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
    let full_close = reducing && size.0 == old_base.abs();
    if params.reduce_only && !reducing {
        return err!(PerpError::ReduceOnlyViolation);
    }
    if let Some(i) = existing {
        require!(!a.positions[i].is_bankrupt(), PerpError::AccountBankrupt);
        if a.positions[i].is_isolated() != params.isolated {
            return err!(PerpError::PositionModeMismatch);
        }
    }
    // closing and reducing are never paused; new risk is
    if !reducing {
        require!(!ex.is_paused(pause::TRADE, now), PerpError::OperationPaused);
        require!(!m.is_paused(now), PerpError::MarketPaused);
        require!(!m.is_reduce_only(), PerpError::MarketReduceOnly);
        require!(m.bankrupt_accounts == 0, PerpError::MarketHasBankruptcy);
        require!(!a.is_bankrupt(), PerpError::AccountBankrupt);
        if m.unbacked_outstanding > 0 {
            msg!("unbacked loss outstanding: {}", Quote(m.unbacked_outstanding));
            return err!(PerpError::UnbackedLossOutstanding);
        }
    }

    let n = m.oracle_count();
    let report = read_index(&m, &ex, ctx.remaining_accounts, now)?;
    let (index, fallback) = match resolve_index(&mut m, &report, now, reducing) {
        // M-3: a feed dead past the fallback limit never traps a position: closing it in full
        // needs no price of this market (nothing of it is left to value)
        Err(e) if full_close && m.last_index > 0 => {
            msg!("closing in full without a live index ({:?}); last index {}", e, m.last_index);
            (Price(m.last_index), true)
        }
        r => r?,
    };
    let by_delegate = a.is_delegate(&signer);
    if by_delegate {
        check_delegate_limit(side, params.limit_price, index, Rate(m.delegate_band))?;
        check_delegate_cooldown(&a, side, now, m.sample_period)?;
        check_vamm_at_rest(&m, side, now)?;
    }
    if params.max_index_deviation != 0 && fallback {
        msg!("max_index_deviation needs a live index (the last one is a fallback)");
        return err!(PerpError::TooFewSources);
    }

    let slot = a.find_or_open(m.market_index, params.isolated)?;
    let group = group_of(&a, slot);
    // a bankrupt account may still reduce outside the bankrupt position's margin group
    require!(!group_is_bankrupt(&a, group), PerpError::AccountBankrupt);
    settle_position(&mut a, &key, slot, &mut m)?;
    let moves_collateral = params.isolated && params.isolated_collateral > 0;
    let mut parts = {
        // collateral leaving cross is new risk for the cross group, whatever the order does
        let need = if group == Group::Cross || moves_collateral {
            Some((Group::Cross, if reducing && !moves_collateral { PriceNeed::Tolerant } else { PriceNeed::Adding }))
        } else {
            None
        };
        let mut holders = [Holder::new(&a, need)];
        load_other_markets(&ctx.remaining_accounts[n..], Some(m.market_index), &mut holders, now)?;
        holders[0].parts
    };

    if moves_collateral {
        let amt = i64::try_from(params.isolated_collateral).map_err(|_| PerpError::MathOverflow)?;
        require!(a.cross_collateral >= amt, PerpError::InsufficientMargin);
        a.cross_collateral -= amt;
        a.positions[slot].isolated_collateral =
            a.positions[slot].isolated_collateral.checked_add(amt).ok_or(PerpError::MathOverflow)?;
    }

    // new risk is valued at the mark before this fill (with the impact-median method the mark is
    // time-weighted: a fill cannot move it within its own second)
    let v = view(&m, index, now)?;
    let fee_rate = Rate(m.taker_fee);
    let mid_before = if by_delegate { m.vamm().price().or_core()? } else { Price(0) };
    let oi_before = m.oi_long.max(m.oi_short);
    let r = execute_fill(&mut a, &key, slot, &mut m, side, size, fee_rate, Rate(ex.fee_insurance_share), now)?;

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
    if reducing && r.realized.is_positive() && m.held_for_adl(old_base) {
        // a counterparty of an open bankruptcy keeps its profit for auto-deleveraging (N-4)
        msg!("bankruptcy open on this market: profit {} held for ADL", r.realized);
        return err!(PerpError::ProfitHeldForAdl);
    }
    if by_delegate {
        // M-2: a delegate's own impact on the curve is bounded (what a back-run could take)
        check_delegate_impact(r.fill.avg_price, mid_before, Rate(m.delegate_band))?;
        a.delegate_trade_time = now;
        a.delegate_trade_side = if side == Side::Long { 1 } else { 2 };
    }
    if params.max_index_deviation != 0 {
        check_index_deviation(side, r.fill.avg_price, index, params.max_index_deviation)?;
    }

    if r.new.base.0 != 0 {
        parts[slot] = Some(position_part(&a.positions[slot], &v, Quote::ZERO)?);
    }
    if reducing {
        // N-12: a reduce leaves nothing or at least the minimum (no dust remainders)
        if r.new.base.0 != 0 && r.new.base.0.abs() < m.min_position && old_base.abs() >= m.min_position {
            msg!("a reduce may leave 0 or at least {}, not {}", Base(m.min_position), r.new.base);
            return err!(PerpError::PositionTooSmall);
        }
        require_solvent(&a, group, &parts)?;
    } else {
        // N-12: no dust positions (they would only inflate every ADL scan)
        if r.new.base.0.abs() < m.min_position {
            msg!("position {} below the minimum {}", r.new.base, Base(m.min_position));
            return err!(PerpError::PositionTooSmall);
        }
        // the bound applies to orders that grow the larger side (one that lowers it is never refused)
        if m.oi_long.max(m.oi_short) > oi_before {
            m.check_oi_bound(index)?;
        }
        let notional = r.new.notional(v.mark).or_core()?;
        if notional > m.max_notional() {
            msg!("notional {} > max {}", notional, m.max_notional());
            return err!(PerpError::MaxPositionExceeded);
        }
        // a fill better than the mark is not collateral: its gap never pays its own margin
        let gain = open_gain(r.fill.base, r.fill.quote, v.mark).or_core()?;
        require_initial(&a, group, &parts, gain)?;
    }
    if group != Group::Cross {
        require!(a.positions[slot].isolated_collateral >= 0, PerpError::InsufficientMargin);
    }
    if moves_collateral && group != Group::Cross {
        // the collateral moved out of cross must not leave cross positions under-margined
        require_initial(&a, Group::Cross, &parts, Quote::ZERO)?;
        require!(a.cross_collateral >= 0, PerpError::InsufficientMargin);
    }
    let isolated = a.positions[slot].is_isolated();
    a.release_if_empty(slot)?;

    emit!(TradeExecuted {
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
        by_delegate,
    });
    Ok(())
}
