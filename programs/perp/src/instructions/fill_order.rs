use crate::engine::funding::{position_owed, settle_position};
use crate::engine::health::{group_health, group_of_market, position_part_at, Group};
use crate::engine::markets::{load_other_markets, Holder, PriceNeed};
use crate::engine::prices::{mark_price, view};
use crate::engine::trade::{emit_trade, prepare, trade, Given, TradeRequest};
use crate::error::{CoreResultExt, PerpError};
use crate::events::EventStream;
use crate::events::{cancel_reason, OrderCancelled, OrderFilled, OrderTriggered};
use crate::oracle::{read_index, resolve_index};
use crate::state::*;
use anchor_lang::error::ERROR_CODE_OFFSET;
use anchor_lang::prelude::*;
use perp_core::orders::{fill_bound, index_diverges, max_size_within, order_fill_size, trigger_met, vamm_displaced};
use perp_core::vamm::Side;
use perp_core::{Base, Rate};

/// A fill writes the order's market, the order's margin account and the filler's margin account.
#[derive(Accounts)]
pub struct FillOrder<'info> {
    pub filler: Signer<'info>,
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    /// The order's account.
    #[account(mut)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    /// Owned by the filler: receives the reward (may be the order's own account).
    #[account(mut)]
    pub filler_account: AccountLoader<'info, MarginAccount>,
}

/// Errors of a risk-increasing fill that the order's owner caused and that waiting does not cure:
/// the filler cancels the order for the reward instead of failing.
const UNFILLABLE: [PerpError; 5] = [
    PerpError::InsufficientMargin,
    PerpError::MaxPositionExceeded,
    PerpError::TooManyPositions,
    PerpError::PositionModeMismatch,
    PerpError::PositionTooSmall,
];

fn is_unfillable(e: &Error) -> bool {
    match e {
        Error::AnchorError(ae) => UNFILLABLE.iter().any(|u| ERROR_CODE_OFFSET + *u as u32 == ae.error_code_number),
        _ => false,
    }
}

/// Permissionless: fills (in full or in part) the order `order_id` of the margin account, or
/// cancels it for the reward when it has expired, when its fill would break the owner's initial
/// margin or a position rule, or when a reduce-only order finds nothing left to reduce; a
/// stop-limit or take-profit-limit whose trigger fires while its limit is out of reach is only
/// marked triggered (it then rests as a limit order; no reward).
/// Remaining accounts: the market's oracles (in its configured order), then (read-only) the
/// market of every other position of the order's margin group.
///
/// The index must be live (no fallback) and within `trigger_max_divergence` of its time-weighted
/// value; a trigger compares that index (never the vAMM); an account below maintenance is left to
/// liquidation; the average fill is bounded by the order and by `order_band` around the index.
pub fn handler<'info>(ctx: Context<'info, FillOrder<'info>>, order_id: u64) -> Result<()> {
    let now = crate::engine::now()?;
    let key = ctx.accounts.margin_account.key();
    let filler_key = ctx.accounts.filler_account.key();
    let filler = ctx.accounts.filler.key();
    let ex = ctx.accounts.exchange.load()?;
    let mut m = ctx.accounts.market.load_mut()?;
    let mut a = ctx.accounts.margin_account.load_mut()?;
    // a filler that controls the order's account (its owner, or a delegate of it) earns nothing
    // from it: the reward goes back to the account (a delegate cannot empty an owner's orders
    // into its own pocket)
    let reward_to = if filler_key == key {
        require!(a.owner == filler, PerpError::Unauthorized);
        key
    } else {
        let f = ctx.accounts.filler_account.load()?;
        require!(f.owner == filler, PerpError::Unauthorized);
        if f.shares_control_with(&a) {
            key
        } else {
            filler_key
        }
    };
    let slot = a.find_order(order_id).ok_or(PerpError::OrderNotFound)?;
    let o = a.orders[slot];
    if o.market_index != m.market_index {
        msg!("order {} is on market {}, not {}", order_id, o.market_index, m.market_index);
        return err!(PerpError::InvalidOrder);
    }
    require!(m.order_band > 0, PerpError::OrdersDisabled);
    let pay = |a: &mut MarginAccount, reward: u64| -> Result<()> {
        if reward_to == key {
            a.credit_cross(reward)
        } else {
            ctx.accounts.filler_account.load_mut()?.credit_cross(reward)
        }
    };
    // an order placed short of initial margin (a stop-loss, allowed on maintenance) pays its
    // reward only for a fill: cancelled, it goes back to the account, so placing and expiring
    // orders cannot move money out past the withdrawal rules
    let cancel = |a: &mut MarginAccount, reason: u8| -> Result<()> {
        let reward = a.take_order(slot)?;
        let refund = o.flags & order_flags::BELOW_INITIAL != 0;
        if refund {
            a.credit_cross(reward)?;
        } else {
            pay(a, reward)?;
        }
        let reward_to = if refund { key } else { reward_to };
        msg!("order {} cancelled (reason {}), reward {} to {}", order_id, reason, reward, reward_to);
        emit!(OrderCancelled {
            seq: a.next_seq()?,
            margin_account: key,
            order_id,
            client_order_id: o.client_order_id,
            market_index: o.market_index,
            reason,
            size: o.size,
            reward,
            reward_to,
        });
        Ok(())
    };
    if o.expired(now) {
        return cancel(&mut a, cancel_reason::EXPIRED);
    }
    // an admin's pause stops triggers and fills too (the oracle may be what it was paused for)
    require!(!m.is_paused(now), PerpError::MarketPaused);

    // a live index only, and not an outlier against its own time-weighted value
    let n = m.oracle_count();
    let report = read_index(&m, &ex, ctx.remaining_accounts, now)?;
    let (index, _) = resolve_index(&mut m, &report, now, false)?;
    let twap = m.index_twap_now(now)?;
    if index_diverges(index, twap, Rate(m.trigger_max_divergence)) {
        msg!("index {} is beyond {} of its time-weighted value {}", index, Rate(m.trigger_max_divergence), twap);
        return err!(PerpError::IndexDivergesFromTwap);
    }
    let spec = o.spec().or_core()?;
    let just_triggered = spec.kind.has_trigger() && !o.triggered();
    if just_triggered {
        if !trigger_met(&spec, index) {
            msg!("{} order {}: index {} has not crossed {}", spec.kind.name(), order_id, index, spec.trigger);
            return err!(PerpError::OrderNotTriggered);
        }
        a.orders[slot].flags |= order_flags::TRIGGERED;
        emit!(OrderTriggered {
            seq: m.next_seq()?,
            margin_account: key,
            order_id,
            market_index: o.market_index,
            trigger_price: o.trigger_price,
            index_price: index.0,
        });
    }

    let others = &ctx.remaining_accounts[n..];
    let pos = a.find(m.market_index);
    let pos_base = pos.map(|i| a.positions[i].base).unwrap_or(0);
    let group = group_of_market(&a, m.market_index);

    // how much the curve can fill within the bound, without leaving dust
    let side = spec.side;
    let reduces = pos_base != 0 && (pos_base > 0) != (side == Side::Long);
    let left = Base(i64::try_from(o.size).map_err(|_| PerpError::MathOverflow)?);
    let against = Base(if reduces { pos_base.abs() } else { 0 });
    if o.reduce_only() && !reduces {
        return cancel(&mut a, cancel_reason::NOTHING_TO_REDUCE);
    }
    let bound = fill_bound(&spec, index, Rate(m.order_band)).or_core()?;
    // a keeper's push of the curve against the order before filling it: at most half the band;
    // a fired stop or take-profit that only closes is exempt (in a crash the fills themselves
    // and slow arbitrage leave the curve displaced, and a protective close must not stall on
    // it; the band still bounds it)
    // a stop-limit or take-profit-limit whose trigger fires now but whose limit the curve cannot
    // reach yet keeps its trigger: it rests as a limit order from here on (nothing is paid)
    let latch = just_triggered && spec.kind.has_limit();
    // marking pays a quarter of the reserved reward (so keepers do it, and so placing and
    // cancelling orders that only get marked costs their owner); none for an order placed short of
    // initial margin (it pays only for a fill)
    let pay_latch = |a: &mut MarginAccount| -> Result<()> {
        if o.flags & order_flags::BELOW_INITIAL != 0 {
            return Ok(());
        }
        let part = o.reward / 4;
        a.orders[slot].reward = o.reward - part;
        a.order_reserve = a.order_reserve.checked_sub(part).ok_or(PerpError::MathOverflow)?;
        pay(a, part)
    };
    if !(o.reduce_only() && spec.kind.has_trigger()) {
        if let Err(e) = check_vamm_near_index(&m, side, index) {
            if latch {
                msg!("order {} triggered; it rests as a limit order", order_id);
                return pay_latch(&mut a);
            }
            return Err(e);
        }
    }
    let probe = if o.reduce_only() { Base(left.0.max(against.0)) } else { left };
    let available = max_size_within(&m.vamm(), side, bound, probe).or_core()?;
    let Some(size) = order_fill_size(left, available, Base(m.min_position), against, o.reduce_only()) else {
        if latch {
            msg!(
                "order {} triggered; the vAMM fills {} within {}: it rests as a limit order",
                order_id,
                available,
                bound
            );
            return pay_latch(&mut a);
        }
        msg!("order {}: the vAMM fills {} within {} (needs {})", order_id, available, bound, left);
        return err!(PerpError::OrderPriceNotReached);
    };

    let req = TradeRequest {
        side,
        size,
        limit_price: bound.0,
        reduce_only: o.reduce_only(),
        isolated: matches!(group, Group::Isolated(_)),
        isolated_collateral: 0,
        max_index_deviation: 0,
    };
    let prep = match prepare(&ex, &m, &a, &req, now) {
        Ok(p) => p,
        Err(e) if is_unfillable(&e) => {
            msg!("order {} cannot be filled as placed ({}): cancelled", order_id, e);
            return cancel(&mut a, cancel_reason::UNFILLABLE);
        }
        Err(e) => return Err(e),
    };

    // funding settled before the copies below are taken, so an undone fill leaves it settled (its
    // event stays true); the trade's own settlement then has nothing left to do
    if let Some(i) = pos {
        settle_position(&mut a, &key, i, &mut m)?;
    }

    // liquidation goes first: the group's health before the fill (its other markets valued as the
    // trade will value them, so the trade reuses these parts)
    let mut given = Given { view: Some(view(&m, index, now)?), parts: None, settled: pos.is_some() };
    given.parts = Some({
        let need = if group == Group::Cross {
            Some((Group::Cross, if prep.reducing { PriceNeed::Lenient } else { PriceNeed::Adding }))
        } else {
            None
        };
        let mut holders = [Holder::new(&a, need)];
        load_other_markets(others, Some(m.market_index), &mut holders, now)?;
        holders[0].parts
    });
    // valued never more strictly than `liquidate` would (the account-favourable of the index and
    // its time-weighted value, the orders' reserve counted: a liquidation releases it first), so
    // no account is refused here that a liquidator could not take
    if let (Some(i), Some(v), Some(parts)) = (pos.filter(|_| pos_base != 0), &given.view, &mut given.parts) {
        let owed = position_owed(&m, &a.positions[i])?;
        let fav = if pos_base > 0 { index.max(twap) } else { index.min(twap) };
        let mark = if fav == index { v.mark } else { mark_price(&m, fav, now)? };
        parts[i] = Some(position_part_at(&a.positions[i], mark, v.tiers(), owed, false)?);
    }
    let mut h = group_health(&a, group, given.parts.as_ref().ok_or(PerpError::MathOverflow)?)?;
    if group == Group::Cross {
        h.equity = h.equity.checked_add(perp_core::Quote(i64::try_from(a.order_reserve).unwrap_or(0))).or_core()?;
    }
    if h.equity < h.maintenance {
        msg!("{:?}: equity {} below maintenance {}", group, h.equity, h.maintenance);
        return err!(PerpError::AccountLiquidatable);
    }

    // a risk-increasing fill the owner's margin cannot carry cancels the order for the reward:
    // the fill runs on the accounts and is undone from these copies if it fails that way. An undone
    // fill must have logged no event (a log line cannot be undone, and the copies roll the stream
    // counters back): funding was settled above, before the copies; the only other event of a fill,
    // a profit's `UnbackedLossRepaid`, needs an unbacked loss outstanding, and then no
    // risk-increasing order passes `prepare` (UnbackedLossOutstanding), so this path never sees it.
    debug_assert!(prep.reducing || m.unbacked_outstanding == 0);
    let snap_m = bytemuck::bytes_of(&*m).to_vec();
    let snap_a = bytemuck::bytes_of(&*a).to_vec();
    let t = match trade(&ex, &mut m, &mut a, &key, &req, &prep, index, false, others, now, &given) {
        Ok(t) => t,
        Err(e) if is_unfillable(&e) && !prep.reducing => {
            msg!("order {} cannot be filled as placed ({}): cancelled", order_id, e);
            bytemuck::bytes_of_mut(&mut *m).copy_from_slice(&snap_m);
            bytemuck::bytes_of_mut(&mut *a).copy_from_slice(&snap_a);
            return cancel(&mut a, cancel_reason::UNFILLABLE);
        }
        Err(e) => return Err(e),
    };
    let seq = m.next_seq()?;
    emit_trade(&t, seq, &key, m.market_index, false, false);

    // what is left of the order; a reduce-only order that closed the position is done
    let rest = o.size.saturating_sub(size.0 as u64);
    // done: all filled; a reduce-only order whose position is closed; or a remainder too small to
    // ever fill on its own (below the minimum: dropped with this fill)
    let done = rest == 0
        || (o.reduce_only() && a.find(m.market_index).is_none())
        || (!o.reduce_only() && (rest as i64) < m.min_position);
    let reward = if done {
        let r = a.take_order(slot)?;
        pay(&mut a, r)?;
        // a closed position takes its other reduce-only orders with it (a bracket's other leg)
        crate::engine::orders::cancel_reduce_only_of_closed(&mut a, &key, o.market_index, order_id)?;
        r
    } else {
        a.orders[slot].size = rest;
        a.orders[slot].filled = o.filled.saturating_add(size.0 as u64);
        0
    };
    emit!(OrderFilled {
        seq: m.next_seq()?,
        margin_account: key,
        order_id,
        client_order_id: o.client_order_id,
        market_index: o.market_index,
        kind: o.kind,
        base: t.r.fill.base.0,
        avg_price: t.r.fill.avg_price.0,
        bound_price: bound.0,
        index_price: index.0,
        remaining: if done { 0 } else { rest },
        filler: filler_key,
        reward,
    });
    Ok(())
}

/// A keeper's sandwich guard: before the fill, the vAMM's mid may sit at most half the market's
/// band beyond the index against the order (below it for a sale, above it for a purchase).
/// Arbitrage holds it at the index; a keeper that pushes it further to fill the order worse (and
/// take the push back after) is refused, so what a sandwich can take is bounded by half the band
/// plus the order's own impact.
fn check_vamm_near_index(m: &Market, side: Side, index: perp_core::Price) -> Result<()> {
    let mid = m.vamm().price().or_core()?;
    if vamm_displaced(side, mid, index, Rate(m.order_band)).or_core()? {
        msg!("vAMM at {} is more than half of {} from the index {} against the order", mid, Rate(m.order_band), index);
        return err!(PerpError::VammDisplaced);
    }
    Ok(())
}
