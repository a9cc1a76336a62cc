//! The margin accounts' other markets, passed read-only in remaining accounts after the primary
//! market's oracles. Nothing is written to them: each position there gets its part of its group's
//! health from the market's cached index, with the funding it owes counted (it is settled the next
//! time the position's own market is touched, or by `settle_funding`). So instructions in
//! different markets never write-lock each other's market accounts.

use super::collateral::{holding_value, is_collateral};
use super::funding::position_owed;
use super::health::{collateral_part, in_group, position_part, position_part_at, Group, Parts};
use super::prices::{mark_price, view};
use crate::error::{CoreResultExt, PerpError};
use crate::state::{Collateral, MarginAccount, Market, MAX_ACCOUNT_COLLATERALS, MAX_POSITIONS};
use anchor_lang::prelude::*;
use perp_core::margin::{requirement, tier_index, MarginKind};
use perp_core::takeover::stale_valuation_price;
use perp_core::{Price, Quote};

/// A withdrawal or a liquidation values each other market at its cached index only when that
/// cache was read from the oracles within this many slots (about 1.6 s): a price move the oracles
/// already show cannot be withdrawn against, nor a victim's loss hidden or a recovered one acted on,
/// through a cache that missed it. Refreshing in the same transaction, or in one just before (an
/// account in many markets cannot fit every refresh in one transaction), both work.
pub const REFRESH_SLOTS: u64 = 4;

/// How fresh another market's cached index must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriceNeed {
    /// New risk: within the market's `max_age`, else `StaleCachedIndex`.
    Adding,
    /// Withdrawals: refreshed within [`REFRESH_SLOTS`] (`IndexNotRefreshed`) from
    /// readings within the market's `withdraw_max_age` (`StaleCachedIndex`), valued at the
    /// exchange-favourable of the cache and its time-weighted value.
    Withdraw,
    /// Reducing risk, which a stale market must never block: up to the market's
    /// `fallback_max_age` (a feed that is late, not dead) the cached index counts as usual; older,
    /// the position is valued conservatively (its unrealized profit dropped, its loss taken at the
    /// cached index moved against it by its tier's maintenance rate).
    Tolerant,
    /// Liquidation: refreshed within [`REFRESH_SLOTS`] (`IndexNotRefreshed`: the liquidator
    /// cannot choose to act on an old cache, M-5, nor let a loss hide in one), valued at the
    /// account-favourable of the cache and its time-weighted value (a wick cached by another
    /// market's crank does not liquidate anyone, F-1); a market whose feed is late cannot be
    /// refreshed, so its accounts wait (at most its `fallback_max_age`); older than that (a dead
    /// feed) the position is valued conservatively, as for `Tolerant`, so a dead market never
    /// shields an account.
    Liquidation,
    /// A fill that only reduces, deciding whether the account is liquidatable first: as
    /// `Tolerant`, but valued at the account-favourable of the cache and its time-weighted value
    /// (as `Liquidation`, without its refresh requirement), so the check is never stricter than a
    /// liquidation's and a stop cannot be refused while a liquidation is refused too.
    Lenient,
}

/// One margin account whose other markets are needed: the positions of `group` outside the
/// primary market must all get a part (`need: None` = none are needed, markets it holds are
/// accepted and ignored).
pub struct Holder<'a> {
    pub acct: &'a MarginAccount,
    pub need: Option<(Group, PriceNeed)>,
    pub parts: Parts,
    /// Some part came from a cache older than its market's `withdraw_max_age`: good enough to
    /// decide a liquidation, not to recognize a deficit (a lagging price could overstate it).
    pub not_fresh: bool,
}

impl<'a> Holder<'a> {
    pub fn new(acct: &'a MarginAccount, need: Option<(Group, PriceNeed)>) -> Self {
        Holder { acct, need, parts: Default::default(), not_fresh: false }
    }
}

/// A position's part from a market that is not the instruction's primary one.
fn cached_part(
    m: &Market,
    p: &crate::state::Position,
    need: PriceNeed,
    now: i64,
    slot: u64,
) -> Result<perp_core::margin::Health> {
    let owed = position_owed(m, p)?;
    let age = now.saturating_sub(m.last_index_time);
    let limit = match need {
        PriceNeed::Adding | PriceNeed::Liquidation => m.max_age,
        PriceNeed::Withdraw => m.withdraw_max_age,
        PriceNeed::Tolerant | PriceNeed::Lenient => m.max_age.max(m.fallback_max_age),
    };
    if m.last_index == 0 {
        msg!("market {} has no index yet", m.market_index);
        return err!(PerpError::StaleCachedIndex);
    }
    let dead = age > m.max_age.max(m.fallback_max_age);
    let liquidating = need == PriceNeed::Liquidation;
    let must_refresh = need == PriceNeed::Withdraw || (liquidating && !dead);
    if must_refresh && slot.saturating_sub(m.last_index_slot) > REFRESH_SLOTS {
        msg!(
            "market {} index was last refreshed in slot {}, {} slots before this one: prepend update_funding",
            m.market_index,
            m.last_index_slot,
            slot.saturating_sub(m.last_index_slot)
        );
        return err!(PerpError::IndexNotRefreshed);
    }
    let tolerant = liquidating || matches!(need, PriceNeed::Tolerant | PriceNeed::Lenient);
    if age <= limit || (liquidating && !dead) {
        // A liquidation values the cache at the account-favourable of it and its time-weighted
        // value, a withdrawal at the exchange-favourable one: a wick cached by another market's
        // crank moves neither (the guard rails of the primary market, for the others).
        let cached = Price(m.last_index);
        let long = p.base > 0;
        let price = match need {
            PriceNeed::Liquidation | PriceNeed::Withdraw | PriceNeed::Lenient => {
                let twap = m.index_twap_now(now)?;
                if long == (need != PriceNeed::Withdraw) {
                    cached.max(twap)
                } else {
                    cached.min(twap)
                }
            }
            _ => cached,
        };
        let mark = mark_price(m, price, now)?;
        // reducing and liquidating never look at the initial requirement
        // (a liquidation refreshed within the slots may still read sources up to `max_age` old, a
        // little past it by now: counted as they are, loss included; recognizing a deficit needs
        // readings within `withdraw_max_age`, `Holder::not_fresh`)
        return position_part_at(p, mark, m.tier_slice(), owed, !tolerant);
    }
    if !tolerant {
        msg!(
            "market {} cached index is {} s old (limit {} s); run update_funding on it first",
            m.market_index,
            age,
            limit
        );
        return err!(PerpError::StaleCachedIndex);
    }
    // conservative: against the position by its tier's maintenance rate, no profit
    let cached = Price(m.last_index);
    let v = view(m, cached, now)?;
    let st = p.state();
    let mmr = v.tiers()[tier_index(v.tiers(), st.notional(cached).or_core()?)].mmr;
    let price = stale_valuation_price(cached, st.base.is_positive(), mmr).or_core()?;
    let mut haircut = v;
    haircut.mark = price;
    let mut part = position_part(p, &haircut, owed)?;
    part.equity = part.equity.min(Quote::ZERO);
    part.equity_without_profit = part.equity_without_profit.min(Quote::ZERO);
    msg!("market {} cached index is {} s old: valued at {} with no profit", m.market_index, age, price);
    // the requirement stays the one at the haircut price (at least the one at the cached index)
    let mm = requirement(v.tiers(), st.notional(cached).or_core()?, MarginKind::Maintenance).or_core()?;
    part.maintenance = part.maintenance.max(mm);
    Ok(part)
}

/// Loads the markets and listed collateral in `accounts` (read-only) and fills each holder's
/// parts. Every market must be one a holder has a position in, every collateral one a holder
/// holds, each given once, and not the primary market; every position and every collateral
/// balance a holder's cross group needs must be covered (`MissingMarketAccount`,
/// `MissingCollateralAccount` otherwise).
pub fn load_other_markets<'info>(
    accounts: &'info [AccountInfo<'info>],
    primary: Option<u16>,
    holders: &mut [Holder],
    now: i64,
) -> Result<()> {
    load_other_markets_with(accounts, primary, None, holders, now)
}

/// The holders' holding of one listed collateral: its part of every cross group that needs it.
fn apply_collateral(c: &Collateral, holders: &mut [Holder], now: i64, slot: u64) -> Result<bool> {
    let mut held = false;
    for h in holders.iter_mut() {
        let amount = h.acct.collateral_balance(c.collateral_index);
        if amount == 0 {
            continue;
        }
        held = true;
        if let Some((Group::Cross, need)) = h.need {
            let v = holding_value(c, amount, need, now, slot)?;
            let part = collateral_part(&v)?;
            h.parts.collateral.get_or_insert_with(Default::default).merge(&part).or_core()?;
            let worth =
                perp_core::collateral::token_value(amount, c.decimals, Price(c.last_price), perp_core::Round::Down)
                    .or_core()?;
            h.parts.collateral_worth = h.parts.collateral_worth.checked_add(worth).or_core()?;
        }
    }
    Ok(held)
}

/// [`load_other_markets`] with one collateral account the instruction already holds (counted as
/// if it were among `accounts`, which may then not repeat it).
pub fn load_other_markets_with<'info>(
    accounts: &'info [AccountInfo<'info>],
    primary: Option<u16>,
    primary_collateral: Option<&Collateral>,
    holders: &mut [Holder],
    now: i64,
) -> Result<()> {
    let mut seen = [u16::MAX; 2 * MAX_POSITIONS];
    let mut seen_collateral = [0u16; 2 * MAX_ACCOUNT_COLLATERALS];
    let (mut n_markets, mut n_collateral) = (0usize, 0usize);
    let clock_slot =
        if holders.iter().any(|h| matches!(h.need, Some((_, PriceNeed::Withdraw | PriceNeed::Liquidation)))) {
            Clock::get()?.slot
        } else {
            0
        };
    for h in holders.iter_mut() {
        if matches!(h.need, Some((Group::Cross, _))) {
            h.parts.collateral = Some(Default::default());
        }
    }
    if let Some(c) = primary_collateral {
        seen_collateral[0] = c.collateral_index;
        n_collateral = 1;
        apply_collateral(c, holders, now, clock_slot)?;
    }
    for info in accounts.iter() {
        if is_collateral(info) {
            let loader = AccountLoader::<Collateral>::try_from(info)?;
            let c = loader.load()?;
            let ci = c.collateral_index;
            if n_collateral == seen_collateral.len() || seen_collateral[..n_collateral].contains(&ci) {
                return err!(PerpError::UnexpectedMarketAccount);
            }
            seen_collateral[n_collateral] = ci;
            n_collateral += 1;
            if !apply_collateral(&c, holders, now, clock_slot)? {
                msg!("collateral {} is not one the accounts hold", ci);
                return err!(PerpError::UnexpectedMarketAccount);
            }
            continue;
        }
        let loader = AccountLoader::<Market>::try_from(info)?;
        let m = loader.load()?;
        let idx = m.market_index;
        if Some(idx) == primary || n_markets == seen.len() || seen[..n_markets].contains(&idx) {
            return err!(PerpError::UnexpectedMarketAccount);
        }
        seen[n_markets] = idx;
        n_markets += 1;
        let mut held = false;
        for h in holders.iter_mut() {
            let Some(slot) = h.acct.find(idx) else {
                continue;
            };
            held = true;
            if let Some((group, need)) = h.need {
                if in_group(h.acct, group, slot) && h.acct.positions[slot].base != 0 {
                    h.not_fresh |= now.saturating_sub(m.last_index_time) > m.withdraw_max_age;
                    h.parts[slot] = Some(cached_part(&m, &h.acct.positions[slot], need, now, clock_slot)?);
                }
            }
        }
        if !held {
            msg!("market {} is not one the accounts hold", idx);
            return err!(PerpError::UnexpectedMarketAccount);
        }
    }
    for h in holders.iter() {
        let Some((group, _)) = h.need else {
            continue;
        };
        for (i, p) in h.acct.positions.iter().enumerate() {
            if in_group(h.acct, group, i) && p.base != 0 && Some(p.market_index) != primary && h.parts[i].is_none() {
                msg!("missing market account for market {}", p.market_index);
                return err!(PerpError::MissingMarketAccount);
            }
        }
        if group == Group::Cross {
            for b in h.acct.collaterals.iter() {
                if b.collateral_index != 0
                    && b.amount > 0
                    && !seen_collateral[..n_collateral].contains(&b.collateral_index)
                {
                    msg!("missing collateral account for collateral {}", b.collateral_index);
                    return err!(PerpError::MissingCollateralAccount);
                }
            }
        }
    }
    Ok(())
}

/// `settle_funding` only: settles every position's funding into its (writable) market.
pub fn settle_all_markets<'info>(
    acct: &mut MarginAccount,
    key: &Pubkey,
    accounts: &'info [AccountInfo<'info>],
) -> Result<()> {
    let mut seen = [false; MAX_POSITIONS];
    for info in accounts {
        let loader = AccountLoader::<Market>::try_from(info)?;
        let mut m = loader.load_mut()?;
        let slot = acct.find(m.market_index).ok_or(PerpError::UnexpectedMarketAccount)?;
        require!(!seen[slot], PerpError::UnexpectedMarketAccount);
        seen[slot] = true;
        super::funding::settle_position(acct, key, slot, &mut m)?;
    }
    for (i, p) in acct.positions.iter().enumerate() {
        if p.in_use() && !seen[i] {
            msg!("missing market account for market {}", p.market_index);
            return err!(PerpError::MissingMarketAccount);
        }
    }
    Ok(())
}
