//! Executing a fill against the vAMM on one position: curve (its time-weighted impact prices
//! brought up to date first), position, realized PnL, fee, open interest. The insurance share of
//! the fee is booked in the market's insurance ledger; no tokens move.

use super::funding::start_snapshot;
use crate::error::{CoreResultExt, PerpError};
use crate::events::EventStream;
use crate::state::{MarginAccount, Market};
use anchor_lang::prelude::*;
use perp_core::margin::PositionState;
use perp_core::position::apply_fill;
use perp_core::vamm::{Fill, Side};
use perp_core::{Base, Quote, Rate, Round};

#[derive(Clone, Copy, Debug)]
pub struct FillResult {
    pub fill: Fill,
    pub old: PositionState,
    pub new: PositionState,
    pub realized: Quote,
    pub fee: Quote,
    pub insurance_fee: Quote,
}

/// Writes a position's new state with its bookkeeping: its stamped pro-rata profit scaled to what it
/// keeps (its haircut must have been settled before the fill was computed: every caller settles
/// the position first), funding snapshot for a new side, the ADL stamp of a new side (counted at
/// once, with no profit, when it appears on the counterparty side of an open round), the open
/// round's count, open interest.
pub fn set_position(
    acct: &mut MarginAccount,
    key: &Pubkey,
    slot: usize,
    market: &mut Market,
    old: Base,
    new: &PositionState,
) -> Result<()> {
    // the ADL side a position of the new size is on (1 = longs, 2 = shorts)
    let side = if new.base.0 > 0 { 1 } else { 2 };
    if old != new.base {
        if super::haircut::haircut_owed(market, &acct.positions[slot])?.0 != 0 {
            msg!("{}: pro-rata haircut not settled before the fill", key);
            return err!(PerpError::HaircutUnsettled);
        }
        // a counterparty position that grows during an open round (only a takeover can) must have
        // been counted by the round first: its stamp (and score) would otherwise depend on whether
        // the scan came before or after the growth
        let grows = old.0 != 0 && old.signum() == new.base.signum() && new.base.0.abs() > old.0.abs();
        if grows
            && market.adl_round != 0
            && side == market.adl_side
            && acct.positions[slot].adl_round != market.adl_round as u32
        {
            msg!("{}: count this account into ADL round {} first (adl_scan)", key, market.adl_round);
            return err!(PerpError::AdlRankingIncomplete);
        }
        super::haircut::on_resize(acct, slot, market, old, new.base)?;
    }
    let stamp = acct.positions[slot].adl_round;
    market.on_position_change(stamp, old, new.base);
    acct.positions[slot].set_state(new);
    if new.base.0 != 0 && (old.0 == 0 || old.signum() != new.base.signum()) {
        start_snapshot(acct, slot, market, new.base);
        // new risk is refused during a bankruptcy, so this is a takeover's position: counted in an
        // open round on its side at once, with no profit (it holds none from the round's mark)
        if market.adl_round != 0 && side == market.adl_side {
            acct.positions[slot].adl_round = market.adl_round as u32;
            market.adl_scanned = market.adl_scanned.saturating_add(1);
        } else {
            acct.positions[slot].adl_round = 0;
        }
    }
    market.update_open_interest(old, new.base)
}

/// Books a realized `pnl` between the position's collateral and the market's PnL pool. While the
/// market has an outstanding unbacked loss, a profit realized by the account's own order
/// (`voluntary`) first repays it (that part stays in the pool): the hole a market's bad debt left
/// is filled by that market's winners, never by another market's depositors; the order's margin
/// check then runs on what was credited. Forced closes (takeovers, ADL, resolution) are not
/// haircut: their health was judged on the unreduced profit, and a haircut there could leave a
/// deficit nobody recognizes. Returns what the account was credited.
pub fn realize(
    acct: &mut MarginAccount,
    key: &Pubkey,
    slot: usize,
    market: &mut Market,
    pnl: Quote,
    voluntary: bool,
) -> Result<Quote> {
    let haircut = if voluntary { market.profit_haircut(pnl) } else { Quote::ZERO };
    let credited = pnl.checked_sub(haircut).or_core()?;
    acct.add_collateral(Some(slot), credited)?;
    market.pnl_pool_add(credited.checked_neg().or_core()?)?;
    if haircut.0 > 0 {
        emit!(crate::events::UnbackedLossRepaid {
            seq: market.next_seq()?,
            market_index: market.market_index,
            margin_account: *key,
            amount: haircut.0,
            outstanding: market.unbacked_outstanding,
        });
    }
    Ok(credited)
}

/// Trades `size` in `side` on the market's vAMM for the position in `slot` (funding must already
/// be settled) at time `now`. Realized PnL moves between the position's collateral and the
/// market's PnL pool; the fee (`fee_rate` of the fill's quote, rounded up) leaves the collateral,
/// the `insurance_share` of it (rounded down) goes to the market's insurance ledger and the rest
/// to the fee pool.
#[allow(clippy::too_many_arguments)]
pub fn execute_fill(
    acct: &mut MarginAccount,
    key: &Pubkey,
    slot: usize,
    market: &mut Market,
    side: Side,
    size: Base,
    fee_rate: Rate,
    insurance_share: Rate,
    now: i64,
) -> Result<FillResult> {
    super::prices::accrue_twap(market, now)?;
    let mut v = market.vamm();
    let fill = v.quote_trade(side, size).or_core()?;
    v.apply(&fill);
    market.set_vamm(&v);

    let old = acct.positions[slot].state();
    let out = apply_fill(old, fill.base, fill.quote).or_core()?;
    set_position(acct, key, slot, market, old.base, &out.position)?;

    realize(acct, key, slot, market, out.realized, true)?;

    let notional = fill.quote.abs().or_core()?;
    let fee = notional.mul_rate(fee_rate, Round::Up).or_core()?;
    let insurance_fee = fee.mul_rate(insurance_share, Round::Down).or_core()?;
    acct.add_collateral(Some(slot), Quote(-fee.0))?;
    let ovf = || error!(PerpError::MathOverflow);
    market.fee_pool = market.fee_pool.checked_add(fee.0 - insurance_fee.0).ok_or_else(ovf)?;
    market.insurance_in(insurance_fee)?;
    market.total_fees = market.total_fees.checked_add(fee.0).ok_or_else(ovf)?;
    market.total_volume.set(market.total_volume.get().saturating_add(notional.0 as u128));

    acct.realized_pnl = acct.realized_pnl.checked_add(out.realized.0).ok_or_else(ovf)?;
    acct.fees_paid = acct.fees_paid.checked_add(fee.0).ok_or_else(ovf)?;
    Ok(FillResult { fill, old, new: out.position, realized: out.realized, fee, insurance_fee })
}
