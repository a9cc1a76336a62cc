use crate::engine::trade::{emit_trade, prepare, trade, Given, TradeRequest};
use crate::error::{CoreResultExt, PerpError};
use crate::events::EventStream;
use crate::oracle::{read_index, resolve_index};
use crate::state::*;
use anchor_lang::prelude::*;
use perp_core::vamm::Side;
use perp_core::{Base, Price, Rate, Round};

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

    if close_all {
        let existing = a.find(m.market_index);
        let old_base = existing.map(|i| a.positions[i].base).unwrap_or(0);
        require!(old_base != 0, PerpError::NoPosition);
        params.side = if old_base > 0 { OrderSide::Short } else { OrderSide::Long };
        params.size = old_base.unsigned_abs();
        params.reduce_only = true;
        params.isolated = a.positions[existing.unwrap()].is_isolated();
        params.isolated_collateral = 0;
    }
    let side = match params.side {
        OrderSide::Long => Side::Long,
        OrderSide::Short => Side::Short,
    };
    let req = TradeRequest {
        side,
        size: Base(i64::try_from(params.size).map_err(|_| PerpError::InvalidOrderSize)?),
        limit_price: params.limit_price,
        reduce_only: params.reduce_only,
        isolated: params.isolated,
        isolated_collateral: params.isolated_collateral,
        max_index_deviation: params.max_index_deviation,
    };
    let prep = prepare(&ex, &m, &a, &req, now)?;

    let n = m.oracle_count();
    let report = read_index(&m, &ex, ctx.remaining_accounts, now)?;
    let (index, fallback) = match resolve_index(&mut m, &report, now, prep.reducing) {
        // M-3: a feed dead past the fallback limit never traps a position: closing it in full
        // needs no price of this market (nothing of it is left to value)
        Err(e) if prep.full_close && m.last_index > 0 => {
            msg!("closing in full without a live index ({:?}); last index {}", e, m.last_index);
            (Price(m.last_index), true)
        }
        r => r?,
    };
    let by_delegate = a.is_delegate(&signer);
    let mid_before = if by_delegate {
        check_delegate_limit(side, params.limit_price, index, Rate(m.delegate_band))?;
        check_delegate_cooldown(&a, side, now, m.sample_period)?;
        check_vamm_at_rest(&m, side, now)?;
        m.vamm().price().or_core()?
    } else {
        Price(0)
    };
    let t = trade(
        &ex,
        &mut m,
        &mut a,
        &key,
        &req,
        &prep,
        index,
        fallback,
        &ctx.remaining_accounts[n..],
        now,
        &Given::default(),
    )?;
    if by_delegate {
        // M-2: a delegate's own impact on the curve is bounded (what a back-run could take)
        check_delegate_impact(t.r.fill.avg_price, mid_before, Rate(m.delegate_band))?;
        a.delegate_trade_time = now;
        a.delegate_trade_side = if side == Side::Long { 1 } else { 2 };
    }
    let seq = m.next_seq()?;
    emit_trade(&t, seq, &key, m.market_index, fallback, by_delegate);
    if a.has_orders() {
        crate::engine::orders::cancel_reduce_only_of_closed(&mut a, &key, m.market_index, 0)?;
    }
    Ok(())
}
