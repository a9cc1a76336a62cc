//! Shared pieces of auto-deleveraging and bankruptcy resolution: closing off the curve, closing
//! a bankrupt position at a bounded price, and socializing what nobody else can absorb.

use super::fill::set_position;
use crate::error::{CoreResultExt, PerpError};
use crate::events::EventStream;
use crate::events::{BankruptcyResolved, LossSocialized};
use crate::state::{position_flags, MarginAccount, Market};
use anchor_lang::prelude::*;
use perp_core::funding::{socialize_cap_per_unit, socialize_loss_delta, socialize_within};
use perp_core::position::{apply_fill, FillOutcome};
use perp_core::{Base, FundingIndex, Price, Quote, Round};

/// Collateral below zero that is only rounding (bankruptcy price and per-step value rounding):
/// taken from the PnL pool. Anything larger is a real loss and is socialized.
pub const DUST: i64 = 100;

/// Closes `base` (signed: what the position receives) of the position in `slot` at a quote flow
/// of `quote` without touching the vAMM, realizing PnL against the market's PnL pool.
pub fn close_off_curve(
    acct: &mut MarginAccount,
    key: &Pubkey,
    slot: usize,
    market: &mut Market,
    base: Base,
    quote: Quote,
    voluntary: bool,
) -> Result<FillOutcome> {
    let old = acct.positions[slot].state();
    let out = apply_fill(old, base, quote).or_core()?;
    set_position(acct, key, slot, market, old.base, &out.position)?;
    super::fill::realize(acct, key, slot, market, out.realized, voluntary)?;
    acct.realized_pnl = acct.realized_pnl.checked_add(out.realized.0).ok_or(PerpError::MathOverflow)?;
    Ok(out)
}

/// The group collateral of the position in `slot`.
pub fn group_collateral(acct: &MarginAccount, slot: usize) -> Quote {
    let p = &acct.positions[slot];
    Quote(if p.is_isolated() { p.isolated_collateral } else { acct.cross_collateral })
}

/// True when the position in `slot` is the only open one of its margin group.
pub fn alone_in_group(acct: &MarginAccount, slot: usize) -> bool {
    if acct.positions[slot].is_isolated() {
        return true;
    }
    !acct.positions.iter().enumerate().any(|(i, p)| i != slot && p.in_use() && !p.is_isolated() && p.base != 0)
}

/// What closing (part of) a bankrupt position produced.
pub struct BankruptClose {
    pub fill: FillOutcome,
    /// The quote amount a counterparty closing against it at `price` uses.
    pub x: Quote,
    /// How much worse `price` was for the bankrupt account than its bankruptcy price (the price was
    /// bounded near the mark): the caller socializes it.
    pub shortfall: Quote,
    /// How much better `price` was than the bankruptcy price: the bankrupt account still closes at
    /// its bankruptcy price (it gains nothing from a recovery after it was flagged), and a caller
    /// with a counterparty books the difference to the market's insurance fund.
    pub surplus: Quote,
}

/// Closes `q` (> 0) of the bankrupt position in `slot` off the curve: at `price`, or at its
/// stored bankruptcy price when that is worse for the account.
pub fn close_bankrupt(
    acct: &mut MarginAccount,
    key: &Pubkey,
    slot: usize,
    market: &mut Market,
    q: i64,
    price: Price,
) -> Result<BankruptClose> {
    let bsign = acct.positions[slot].base.signum();
    let pb = Price(acct.positions[slot].bankruptcy_price);
    let own = if bsign > 0 { price.min(pb) } else { price.max(pb) };
    let x = Base(q).value_at(price, Round::Down).or_core()?;
    let xb = Base(q).value_at(own, Round::Down).or_core()?;
    let fill = close_off_curve(acct, key, slot, market, Base(-bsign * q), Quote(bsign * xb.0), false)?;
    // what closing at the bankruptcy price would have realized, rounded in the others' favour
    let shortfall = if bsign > 0 {
        Base(q).value_at(pb, Round::Down).or_core()?.checked_sub(xb).or_core()?
    } else {
        xb.checked_sub(Base(q).value_at(pb, Round::Up).or_core()?).or_core()?
    };
    let surplus = if bsign > 0 { x.checked_sub(xb) } else { xb.checked_sub(x) }.or_core()?;
    Ok(BankruptClose { fill, x, shortfall: shortfall.max(Quote::ZERO), surplus: surplus.max(Quote::ZERO) })
}

/// Moves `surplus` (>= 0) that a counterparty paid beyond what the bankrupt account received from
/// the PnL pool to the market's insurance fund.
pub fn book_surplus(market: &mut Market, surplus: Quote) -> Result<()> {
    if surplus.0 > 0 {
        market.pnl_pool_add(Quote(-surplus.0))?;
        market.insurance_in(surplus)?;
    }
    Ok(())
}

/// Socializes `loss` (> 0) in this market: the side `charge_longs` names pays through its
/// cumulative funding index, each unit of base at most the first tier's maintenance rate of
/// `mark` over the whole bankruptcy episode (every call of the episode together, N-2:
/// `perp_core::funding::socialize_within` with what the episode has left); the rest comes from the
/// fee pool, and what the fee pool cannot pay stays as a hole in the PnL pool, recorded in
/// `unbacked_loss` and `unbacked_outstanding` (repaid first by the market's insurance and
/// realized profits). The loss is credited to the account's group collateral now, so the ledgers
/// stay balanced.
#[allow(clippy::too_many_arguments)]
pub fn socialize(
    acct: &mut MarginAccount,
    key: &Pubkey,
    slot: usize,
    market: &mut Market,
    loss: Quote,
    charge_longs: bool,
    mark: Price,
) -> Result<()> {
    if loss.0 <= 0 {
        return Ok(());
    }
    let ovf = || error!(PerpError::MathOverflow);
    let oi = if charge_longs { market.oi_long } else { market.oi_short };
    let cap = socialize_cap_per_unit(mark, market.first_mmr());
    let used = market.episode_social(charge_longs);
    let room = FundingIndex(cap.0.saturating_sub(used.0).max(0));
    let (charged, rest) = socialize_within(loss, Base(oi), room).or_core()?;
    let mut delta = 0i128;
    if charged.0 > 0 {
        let d = socialize_loss_delta(charged, Base(oi), charge_longs).or_core()?;
        let mut idx = market.funding_indices();
        if charge_longs {
            idx.long = idx.long.checked_add(d).or_core()?;
        } else {
            idx.short = idx.short.checked_add(d).or_core()?;
        }
        market.set_funding_indices(&idx);
        market.set_episode_social(charge_longs, FundingIndex(used.0.saturating_add(d.0.abs())));
        delta = d.0;
    }
    let from_fees = rest.0.min(market.fee_pool.max(0));
    let unbacked = rest.0 - from_fees;
    market.fee_pool -= from_fees;
    market.pnl_pool_add(Quote(-(charged.0 + unbacked)))?;
    market.unbacked_loss = market.unbacked_loss.checked_add(unbacked).ok_or_else(ovf)?;
    market.unbacked_outstanding = market.unbacked_outstanding.checked_add(unbacked).ok_or_else(ovf)?;
    acct.add_collateral(Some(slot), loss)?;
    market.socialized_loss = market.socialized_loss.checked_add(loss.0).ok_or_else(ovf)?;
    emit!(LossSocialized {
        seq: market.next_seq()?,
        market_index: market.market_index,
        margin_account: *key,
        loss: loss.0,
        side_charged_long: charge_longs,
        charged_to_side: charged.0,
        from_fee_pool: from_fees,
        unbacked,
        delta
    });
    Ok(())
}

/// Ends a bankruptcy whose position is fully closed. When it was the only position of its group,
/// a negative group balance left over (funding settled since, rounding) is taken from the PnL
/// pool within [`DUST`] or socialized. Then the flag clears, isolated collateral returns to cross,
/// and the round closes when no bankrupt account is left.
pub fn finish_bankruptcy(
    acct: &mut MarginAccount,
    key: &Pubkey,
    slot: usize,
    market: &mut Market,
    charge_longs: bool,
    mark: Price,
) -> Result<()> {
    if alone_in_group(acct, slot) {
        let c = group_collateral(acct, slot);
        if c.is_negative() {
            if -c.0 <= DUST {
                acct.add_collateral(Some(slot), Quote(-c.0))?;
                market.pnl_pool_add(c)?;
            } else {
                socialize(acct, key, slot, market, Quote(-c.0), charge_longs, mark)?;
            }
        }
    }
    // the side's count: the counterparties charged are the other side of the bankrupt position
    if acct.positions[slot].flags & position_flags::BANKRUPT != 0 {
        if !charge_longs {
            market.bankrupt_long = market.bankrupt_long.saturating_sub(1);
        } else {
            market.bankrupt_short = market.bankrupt_short.saturating_sub(1);
        }
    }
    acct.positions[slot].flags &= !position_flags::BANKRUPT;
    acct.positions[slot].bankruptcy_price = 0;
    acct.release_if_empty(slot)?;
    market.bankrupt_accounts = market.bankrupt_accounts.saturating_sub(1);
    if market.bankrupt_accounts == 0 {
        market.adl_round = 0;
        market.adl_side = 0;
        market.adl_scanned = 0;
        // the bankruptcy episode is over: its socialization cap starts afresh with the next one
        market.set_episode_social(true, FundingIndex(0));
        market.set_episode_social(false, FundingIndex(0));
        market.bankrupt_long = 0;
        market.bankrupt_short = 0;
    }
    emit!(BankruptcyResolved { seq: market.next_seq()?, margin_account: *key, market_index: market.market_index });
    Ok(())
}
