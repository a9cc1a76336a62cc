//! A trade against the vAMM for one position, with every check a trade must pass, shared by
//! `place_market_order`, `close_position` and `fill_order`: the price-free checks first
//! ([`prepare`]), then, at an index the caller resolved, the fill and its margin checks
//! ([`trade`]). The caller emits the event ([`emit_trade`]).

use super::fill::{execute_fill, FillResult};
use super::funding::settle_position;
use super::health::{group_is_bankrupt, group_of, position_part, require_initial, require_solvent, Group, Parts};
use super::markets::{load_other_markets, Holder, PriceNeed};
use super::prices::{view, MarketView};
use crate::error::{CoreResultExt, PerpError};
use crate::events::TradeExecuted;
use crate::state::*;
use anchor_lang::prelude::*;
use perp_core::takeover::open_gain;
use perp_core::vamm::Side;
use perp_core::{Base, Price, Quote, Rate, Round};

/// What to trade.
#[derive(Clone, Copy, Debug)]
pub struct TradeRequest {
    pub side: Side,
    pub size: Base,
    /// Worst acceptable average fill price (0 = none).
    pub limit_price: u64,
    pub reduce_only: bool,
    pub isolated: bool,
    /// Collateral moved from cross into the isolated position first (quote raw).
    pub isolated_collateral: u64,
    /// Worst average relative to the live index (rate; 0 = none).
    pub max_index_deviation: u64,
}

/// What [`prepare`] found.
#[derive(Clone, Copy, Debug)]
pub struct Prepared {
    /// The order only shrinks the existing position (never flips or opens).
    pub reducing: bool,
    /// The order closes the position in full.
    pub full_close: bool,
    pub old_base: i64,
}

/// Checks that need no price: size, reduce-only, margin mode, bankruptcy, and for new risk the
/// pauses, the market's status and open bankruptcies or unbacked losses.
pub fn prepare(ex: &Exchange, m: &Market, a: &MarginAccount, req: &TradeRequest, now: i64) -> Result<Prepared> {
    require!(req.size.0 > 0, PerpError::InvalidOrderSize);
    let existing = a.find(m.market_index);
    let old_base = existing.map(|i| a.positions[i].base).unwrap_or(0);
    let reducing = old_base != 0 && (old_base > 0) != (req.side == Side::Long) && req.size.0 <= old_base.abs();
    let full_close = reducing && req.size.0 == old_base.abs();
    if req.reduce_only && !reducing {
        return err!(PerpError::ReduceOnlyViolation);
    }
    if let Some(i) = existing {
        require!(!a.positions[i].is_bankrupt(), PerpError::AccountBankrupt);
        if a.positions[i].is_isolated() != req.isolated {
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
    Ok(Prepared { reducing, full_close, old_base })
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

/// What the caller already computed at the trade's index: the market's view, the parts of the
/// order group's other positions (valued as [`trade`] would: `Tolerant` for a reduce, or the
/// account-favourable `Lenient`, `Adding` otherwise), and whether the position's funding is settled (only when it already exists).
/// `Given::default()` computes everything.
#[derive(Default)]
pub struct Given {
    pub view: Option<MarketView>,
    pub parts: Option<Parts>,
    /// The position's funding is already settled in this instruction.
    pub settled: bool,
}

/// A trade done: the fill and the view it was valued at.
pub struct Traded {
    pub r: FillResult,
    pub v: MarketView,
    pub index: Price,
    pub isolated: bool,
}

/// Trades `req` for the account at `index` (`fallback`: the last valid index, not a live one).
/// `others` are the read-only markets of the order's margin group (not read when `given` has
/// their parts). Checks the limit, the index
/// deviation, held ADL profit, dust, open-interest and notional bounds and the margin
/// (initial for new risk, solvency for a reduce).
#[allow(clippy::too_many_arguments)]
pub fn trade<'info>(
    ex: &Exchange,
    m: &mut Market,
    a: &mut MarginAccount,
    key: &Pubkey,
    req: &TradeRequest,
    prep: &Prepared,
    index: Price,
    fallback: bool,
    others: &'info [AccountInfo<'info>],
    now: i64,
    given: &Given,
) -> Result<Traded> {
    if req.max_index_deviation != 0 && fallback {
        msg!("max_index_deviation needs a live index (the last one is a fallback)");
        return err!(PerpError::TooFewSources);
    }
    let reducing = prep.reducing;
    let slot = a.find_or_open(m.market_index, req.isolated)?;
    let group = group_of(a, slot);
    // a bankrupt account may still reduce outside the bankrupt position's margin group
    require!(!group_is_bankrupt(a, group), PerpError::AccountBankrupt);
    if !given.settled {
        settle_position(a, key, slot, m)?;
    }
    let moves_collateral = req.isolated && req.isolated_collateral > 0;
    let mut parts = if let Some(p) = &given.parts {
        *p
    } else {
        // collateral leaving cross is new risk for the cross group, whatever the order does
        let need = if group == Group::Cross || moves_collateral {
            Some((Group::Cross, if reducing && !moves_collateral { PriceNeed::Tolerant } else { PriceNeed::Adding }))
        } else {
            None
        };
        let mut holders = [Holder::new(a, need)];
        load_other_markets(others, Some(m.market_index), &mut holders, now)?;
        holders[0].parts
    };

    if moves_collateral {
        let amt = i64::try_from(req.isolated_collateral).map_err(|_| PerpError::MathOverflow)?;
        require!(a.cross_collateral >= amt, PerpError::InsufficientMargin);
        a.cross_collateral -= amt;
        a.positions[slot].isolated_collateral =
            a.positions[slot].isolated_collateral.checked_add(amt).ok_or(PerpError::MathOverflow)?;
    }

    // new risk is valued at the mark before this fill (with the impact-median method the mark is
    // time-weighted: a fill cannot move it within its own second)
    let v = match &given.view {
        Some(v) => *v,
        None => view(m, index, now)?,
    };
    let oi_before = m.oi_long.max(m.oi_short);
    let r = execute_fill(a, key, slot, m, req.side, req.size, Rate(m.taker_fee), Rate(ex.fee_insurance_share), now)?;

    if req.limit_price != 0 {
        let limit = Price(req.limit_price);
        let worse = match req.side {
            Side::Long => r.fill.avg_price > limit,
            Side::Short => r.fill.avg_price < limit,
        };
        if worse {
            msg!("average fill {} is worse than the limit {}", r.fill.avg_price, limit);
            return err!(PerpError::SlippageExceeded);
        }
    }
    if reducing && r.realized.is_positive() && m.held_for_adl(prep.old_base) {
        // a counterparty of an open bankruptcy keeps its profit for auto-deleveraging (N-4)
        msg!("bankruptcy open on this market: profit {} held for ADL", r.realized);
        return err!(PerpError::ProfitHeldForAdl);
    }
    if req.max_index_deviation != 0 {
        check_index_deviation(req.side, r.fill.avg_price, index, req.max_index_deviation)?;
    }

    if r.new.base.0 != 0 {
        parts[slot] = Some(position_part(&a.positions[slot], &v, Quote::ZERO)?);
    }
    if reducing {
        // N-12: a reduce leaves nothing or at least the minimum (no dust remainders)
        if r.new.base.0 != 0 && r.new.base.0.abs() < m.min_position && prep.old_base.abs() >= m.min_position {
            msg!("a reduce may leave 0 or at least {}, not {}", Base(m.min_position), r.new.base);
            return err!(PerpError::PositionTooSmall);
        }
        require_solvent(a, group, &parts)?;
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
        require_initial(a, group, &parts, gain)?;
    }
    if group != Group::Cross {
        require!(a.positions[slot].isolated_collateral >= 0, PerpError::InsufficientMargin);
    }
    if moves_collateral && group != Group::Cross {
        // the collateral moved out of cross must not leave cross positions under-margined
        require_initial(a, Group::Cross, &parts, Quote::ZERO)?;
        require!(a.cross_collateral >= 0, PerpError::InsufficientMargin);
    }
    let isolated = a.positions[slot].is_isolated();
    a.release_if_empty(slot)?;
    Ok(Traded { r, v, index, isolated })
}

/// The `TradeExecuted` event of a trade.
/// `seq`: the market's next event number (`EventStream::next_seq`).
pub fn emit_trade(t: &Traded, seq: u64, key: &Pubkey, market_index: u16, fallback: bool, by_delegate: bool) {
    let r = &t.r;
    emit!(TradeExecuted {
        seq,
        margin_account: *key,
        market_index,
        base: r.fill.base.0,
        quote: r.fill.quote.0,
        avg_price: r.fill.avg_price.0,
        fee: r.fee.0,
        insurance_fee: r.insurance_fee.0,
        realized_pnl: r.realized.0,
        new_base: r.new.base.0,
        new_quote_entry: r.new.quote_entry.0,
        index_price: t.index.0,
        mark_price: t.v.mark.0,
        vamm_price: r.fill.final_price.0,
        isolated: t.isolated,
        index_was_fallback: fallback,
        by_delegate,
    });
}
