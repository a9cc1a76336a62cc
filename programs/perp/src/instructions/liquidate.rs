use crate::engine::adl::close_off_curve;
use crate::engine::funding::settle_position;
use crate::engine::health::{
    group_health, group_losses, group_of, position_part, require_initial, require_solvent, Group,
};
use crate::engine::markets::{load_other_markets, Holder, PriceNeed};
use crate::engine::prices::{guarded_index, view};
use crate::error::{CoreResultExt, PerpError};
use crate::events::EventStream;
use crate::events::{AccountBankrupt, LiquidationExecuted};
use crate::oracle::{read_index_guarded, resolve_index};
use crate::state::*;
use anchor_lang::prelude::*;
use perp_core::takeover::{attribute_deficit, deficit_price, takeover_penalty, takeover_quote};
use perp_core::{Base, Quote, Rate, Round};

/// Liquidation writes the market and the two margin accounts: the exchange is read-only and no
/// tokens move (the insurance fund's part is booked in the market's ledger).
#[derive(Accounts)]
pub struct Liquidate<'info> {
    pub liquidator: Signer<'info>,
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    /// The account being liquidated.
    #[account(mut)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    /// The liquidator's own margin account: takes over the position (cross) and receives the reward.
    #[account(mut, constraint = liquidator_account.key() != margin_account.key() @ PerpError::SelfLiquidation)]
    pub liquidator_account: AccountLoader<'info, MarginAccount>,
}

/// Permissionless liquidation by takeover (`perp_core::takeover`). Allowed when the position's
/// margin group has equity below maintenance at the mark, from a live index for this market
/// within the oracle guard rails (`engine::prices::guarded_index`: confidence, divergence from the
/// sources' moving average) and other markets' cached indexes (within their `max_age`, or older
/// than their `fallback_max_age` and valued conservatively; in between, refresh them first). The liquidator's account
/// takes over `max_base` (0 = all) of the position at the mark, the vAMM untouched; the penalty
/// (liquidation fee on the closed notional) comes only out of the group's remaining equity, the
/// liquidator's share as its reward, the rest to the market's insurance fund. A partial takeover
/// must leave the group at or above maintenance x (1 + buffer); a remainder below the market's
/// minimum size, or any takeover from a group under water, is taken in full. An under-water
/// group's deficit is attributed to its losing markets pro rata; this market's insurance fund pays
/// this market's part, and when it cannot pay all of it, it pays what it holds and nothing trades:
/// the position is flagged bankrupt with the deficit price of what is left, and auto-deleveraging
/// takes over. The liquidator's account must then pass
/// its own margin check (initial margin when its position grew).
///
/// Remaining accounts: the market's oracles, then (read-only) the markets of the liquidated
/// group's other positions and of the liquidator's other cross positions, each once.
pub fn handler<'info>(ctx: Context<'info, Liquidate<'info>>, max_base: u64) -> Result<()> {
    let now = crate::engine::now()?;
    let key = ctx.accounts.margin_account.key();
    let liquidator_key = ctx.accounts.liquidator_account.key();
    let ex = ctx.accounts.exchange.load()?;
    let mut m = ctx.accounts.market.load_mut()?;
    let mut a = ctx.accounts.margin_account.load_mut()?;
    let mut l = ctx.accounts.liquidator_account.load_mut()?;
    // only the owner puts its account at risk by taking positions over (not its delegate)
    l.authorize_owner(&ctx.accounts.liquidator.key())?;
    // nobody liquidates an account it controls (owner or delegate of both)
    require!(!l.shares_control_with(&a), PerpError::SelfLiquidation);
    require!(!l.is_bankrupt(), PerpError::AccountBankrupt);
    let idx = m.market_index;
    let slot = a.find(idx).ok_or(PerpError::NoPosition)?;
    require!(!a.positions[slot].is_bankrupt(), PerpError::AccountBankrupt);
    require!(a.positions[slot].base != 0, PerpError::NoPosition);
    require!(!m.is_paused(now), PerpError::MarketPaused);

    // liquidations need a live index: a stale price must not liquidate anyone
    let n = m.oracle_count();
    let (report, guard) = read_index_guarded(&m, &ex, ctx.remaining_accounts, now)?;
    let (live, _) = resolve_index(&mut m, &report, now, false)?;
    // oracle guard rails: a wide print is refused, and a print far from its sources' moving
    // average counts only as far as its time-weighted value goes (in the victim's favour)
    let index = guarded_index(&m, &guard, live, a.positions[slot].base > 0, now)?;
    settle_position(&mut a, &key, slot, &mut m)?;
    if a.has_orders() {
        let g = group_of(&a, slot);
        crate::engine::orders::cancel_for_liquidation(&mut a, &key, g, false)?;
    }
    let lslot = l.find_or_open(idx, false)?;
    require!(!l.positions[lslot].is_isolated(), PerpError::PositionModeMismatch);
    settle_position(&mut l, &liquidator_key, lslot, &mut m)?;
    let group = group_of(&a, slot);
    let (mut vparts, mut lparts, not_fresh) = {
        let mut holders = [
            Holder::new(&a, Some((group, PriceNeed::Liquidation))),
            Holder::new(&l, Some((Group::Cross, PriceNeed::Adding))),
        ];
        load_other_markets(&ctx.remaining_accounts[n..], Some(idx), &mut holders, now)?;
        let [h0, h1] = holders;
        (h0.parts, h1.parts, h0.not_fresh)
    };
    let v = view(&m, index, now)?;
    let mark = v.mark;
    vparts[slot] = Some(position_part(&a.positions[slot], &v, Quote::ZERO)?);
    let mut h = group_health(&a, group, &vparts)?;
    if h.equity.is_negative() && a.has_orders() {
        // under water: the group's stops go too, their rewards toward the deficit
        if crate::engine::orders::cancel_for_liquidation(&mut a, &key, group, true)? > 0 {
            h = group_health(&a, group, &vparts)?;
        }
    }
    {
        // the group's stops' rewards count toward the decision whether or not they are cancelled
        let mut hd = h;
        let kept = crate::engine::orders::reduce_only_rewards(&a, group);
        hd.equity = hd.equity.checked_add(Quote(i64::try_from(kept).unwrap_or(i64::MAX))).or_core()?;
        if !hd.is_liquidatable() {
            msg!("{:?}: equity {} >= maintenance {}", group, hd.equity, h.maintenance);
            return err!(PerpError::NotLiquidatable);
        }
    }

    // size: all of it when asked, when the rest would be dust, or when the group is under water
    let pos = a.positions[slot].state();
    let full = pos.base.abs().or_core()?;
    let mut size = if max_base == 0 { full } else { Base(full.0.min(i64::try_from(max_base).unwrap_or(i64::MAX))) };
    if full.0 - size.0 < m.min_position || h.equity.is_negative() {
        size = full;
    }

    // the group's deficit: this market's part is paid by its insurance fund, or ADL takes over
    let mut draw = Quote::ZERO;
    if h.equity.is_negative() {
        // listed collateral with a price is sold for settlement first (liquidate_collateral): the
        // waterfall only pays a deficit that what the account holds cannot
        // (whatever its price's age: collateral a dead feed makes count as nothing is still worth
        // something to whoever holds it, and the insurance fund does not pay a deficit it could
        // cover; dust worth less than one quote unit cannot hold the waterfall)
        let held = vparts.collateral_worth;
        if group == Group::Cross && held >= crate::engine::collateral::COLLATERAL_DUST {
            msg!(
                "the cross group is under water and holds collateral worth {}",
                vparts.collateral.map(|c| c.equity.0).unwrap_or(0)
            );
            return err!(PerpError::LiquidateCollateralFirst);
        }
        // a deficit is paid out (insurance) or passed on (ADL) only on fresh prices of every other
        // market of the group: a lagging or stale price could overstate it
        if not_fresh {
            msg!("the group is under water: refresh its other markets (update_funding) to recognize the deficit");
            return err!(PerpError::StaleCachedIndex);
        }
        let deficit = h.equity.checked_neg().or_core()?;
        let last = !a
            .positions
            .iter()
            .enumerate()
            .any(|(i, p)| i != slot && p.in_use() && p.base != 0 && !p.is_bankrupt() && group_of(&a, i) == group);
        let here = pos.upnl(mark).or_core()?.min(Quote::ZERO).checked_neg().or_core()?;
        let losses = group_losses(&a, group, &vparts)?;
        let part = attribute_deficit(deficit, here, losses, last).or_core()?;
        if part.0 > m.insurance_fund {
            // the fund pays what it can (N-7); what is left is the bankruptcy's, for ADL
            let paid = Quote(m.insurance_fund.max(0));
            if paid.0 > 0 {
                m.insurance_draw(paid)?;
                a.add_collateral(Some(slot), paid)?;
            }
            let left = part.checked_sub(paid).or_core()?;
            let pb = deficit_price(&pos, mark, left).or_core()?;
            a.positions[slot].flags |= position_flags::BANKRUPT;
            a.positions[slot].bankruptcy_price = pb.0;
            crate::engine::haircut::leave_pool(&mut a, slot, &mut m);
            l.release_if_empty(lslot)?;
            m.bankrupt_accounts = m.bankrupt_accounts.checked_add(1).ok_or(PerpError::MathOverflow)?;
            if pos.base.0 > 0 {
                m.bankrupt_long = m.bankrupt_long.checked_add(1).ok_or(PerpError::MathOverflow)?;
            } else {
                m.bankrupt_short = m.bankrupt_short.checked_add(1).ok_or(PerpError::MathOverflow)?;
            }
            msg!("bankrupt: deficit {} of {}; the insurance fund paid {}, {} left for ADL", part, deficit, paid, left);
            emit!(AccountBankrupt {
                seq: m.next_seq()?,
                margin_account: key,
                market_index: idx,
                base: pos.base.0,
                bankruptcy_price: pb.0,
                deficit: left.0,
                insurance_fund: m.insurance_fund,
                insurance_draw: paid.0,
            });
            return Ok(());
        }
        draw = part;
    }

    // the takeover at the mark: one quote amount for both sides, the vAMM untouched
    let closed = Base(size.0 * pos.base.signum());
    let x = takeover_quote(closed, mark).or_core()?;
    let vout = close_off_curve(&mut a, &key, slot, &mut m, Base(-closed.0), x, false)?;
    let l_old = l.positions[lslot].base;
    // the liquidator's side is its own choice: a profit it realizes by netting pays the market's
    // unbacked-loss haircut like any order of its own (F-3)
    let lout = close_off_curve(&mut l, &liquidator_key, lslot, &mut m, closed, x.checked_neg().or_core()?, true)?;
    // no dust left on either side (N-12): a partial takeover leaves the victim 0 or at least the
    // minimum; the liquidator is left 0, at least the minimum, less of the dust it already held, or
    // the victim's whole dust position (which must stay liquidatable by anyone)
    let vb = vout.position.base.0;
    if vb != 0 && vb.abs() < m.min_position {
        msg!("a partial takeover may leave 0 or at least {}, not {}", Base(m.min_position), vout.position.base);
        return err!(PerpError::PartialLiquidationTooSmall);
    }
    let lb = lout.position.base.0;
    let shrinking_dust = lb.signum() == l_old.signum() && lb.abs() <= l_old.abs() && l_old.abs() < m.min_position;
    let whole_dust = vb == 0 && pos.base.0.abs() < m.min_position;
    if lb != 0 && lb.abs() < m.min_position && !shrinking_dust && !whole_dust {
        msg!("the liquidator would hold {}, below the minimum {}", lout.position.base, Base(m.min_position));
        return err!(PerpError::PositionTooSmall);
    }
    if lout.realized.is_positive() && m.held_for_adl(l_old) {
        // netting a held counterparty position against a takeover would take its profit out of
        // the bankruptcy's reach (N-4, through the back door)
        msg!("the liquidator's position is held for ADL: its profit {} cannot be realized now", lout.realized);
        return err!(PerpError::ProfitHeldForAdl);
    }
    if draw.is_positive() {
        m.insurance_draw(draw)?;
        a.add_collateral(Some(slot), draw)?;
    }
    vparts[slot] =
        if vout.position.base.0 != 0 { Some(position_part(&a.positions[slot], &v, Quote::ZERO)?) } else { None };
    let after = group_health(&a, group, &vparts)?;
    let penalty = takeover_penalty(after.equity, closed.notional_at(mark, Round::Up).or_core()?, &m.liquidation_fees())
        .or_core()?;
    let paid = penalty.reward.checked_add(penalty.insurance_fee).or_core()?;
    a.add_collateral(Some(slot), paid.checked_neg().or_core()?)?;
    l.cross_collateral = l.cross_collateral.checked_add(penalty.reward.0).ok_or(PerpError::MathOverflow)?;
    m.insurance_in(penalty.insurance_fee)?;

    if vout.position.base.0 != 0 {
        // a partial takeover must bring the group back above maintenance plus the buffer
        let h2 = group_health(&a, group, &vparts)?;
        let need = h2.maintenance.mul_rate(Rate(RATE_ONE + m.liquidation_buffer), Round::Up).or_core()?;
        if h2.equity < need {
            msg!("after a partial takeover: equity {} < maintenance x (1 + buffer) {}", h2.equity, need);
            return err!(PerpError::PartialLiquidationTooSmall);
        }
    }

    // the liquidator carries what it took over like any position of its own
    lparts[lslot] =
        if lout.position.base.0 != 0 { Some(position_part(&l.positions[lslot], &v, Quote::ZERO)?) } else { None };
    if lout.opened.0 > 0 {
        let notional = lout.position.notional(mark).or_core()?;
        if notional > m.max_notional() {
            msg!("liquidator's notional {} > max {}", notional, m.max_notional());
            return err!(PerpError::MaxPositionExceeded);
        }
        require_initial(&l, Group::Cross, &lparts, Quote::ZERO)?;
    } else {
        require_solvent(&l, Group::Cross, &lparts)?;
    }
    let isolated = a.positions[slot].is_isolated();
    a.release_if_empty(slot)?;
    l.release_if_empty(lslot)?;

    emit!(LiquidationExecuted {
        seq: m.next_seq()?,
        margin_account: key,
        liquidator: liquidator_key,
        market_index: idx,
        closed_base: closed.0,
        mark_price: mark.0,
        index_price: index.0,
        realized_pnl: vout.realized.0,
        liquidator_reward: penalty.reward.0,
        insurance_fee: penalty.insurance_fee.0,
        insurance_draw: draw.0,
        remaining_base: vout.position.base.0,
        isolated,
        insurance_fund: m.insurance_fund,
    });
    if a.has_orders() {
        crate::engine::orders::cancel_reduce_only_of_closed(&mut a, &key, idx, 0)?;
    }
    Ok(())
}

const RATE_ONE: i64 = perp_core::units::RATE_PRECISION;
