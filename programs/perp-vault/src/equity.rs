//! The vault's equity and leverage, from the perp program's own health code: the cross group of
//! its margin account (the vault never opens isolated positions), each position valued at its
//! market's mark from the cached index, funding owed counted, exactly as perp values it.
//!
//! Freshness: a deposit or withdrawal prices shares, so every position's market index must be at
//! most [`SHARE_PRICE_MAX_AGE`] seconds old (perp `update_funding` first in the same transaction;
//! the index time is the oldest publish time of its sources, so "this second" would often be
//! unreachable); otherwise someone could deposit at a price the market has already left and
//! withdraw after the refresh. A trade's leverage check accepts the market's own `max_age`, as
//! perp does for new risk.

use crate::error::VaultError;
use anchor_lang::prelude::*;
use anchor_lang::Discriminator;
use perp::engine::funding::funding_owed;
use perp::engine::health::{group_health, position_part_at, Group, Parts};
use perp::engine::prices::mark_price;
use perp::state::{MarginAccount, Market};
use perp_core::margin::Health;
use perp_core::Price;

fn read<T: bytemuck::Pod + Discriminator>(info: &AccountInfo) -> Result<T> {
    require_keys_eq!(*info.owner, perp::ID, VaultError::WrongMarketAccount);
    let data = info.try_borrow_data()?;
    let n = core::mem::size_of::<T>();
    require!(data.len() >= 8 + n && data[..8] == *T::DISCRIMINATOR, VaultError::WrongMarketAccount);
    Ok(bytemuck::pod_read_unaligned(&data[8..8 + n]))
}

/// A perp market account, copied (boxed: it is 1.5 KB).
pub fn read_market(info: &AccountInfo) -> Result<Box<Market>> {
    read::<Market>(info).map(Box::new)
}

/// A perp margin account, copied.
pub fn read_margin(info: &AccountInfo) -> Result<Box<MarginAccount>> {
    read::<MarginAccount>(info).map(Box::new)
}

/// Oldest index (seconds) that prices shares.
pub const SHARE_PRICE_MAX_AGE: i64 = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Every index at most [`SHARE_PRICE_MAX_AGE`] old (share pricing).
    SharePrice,
    /// Within each market's `max_age` (a trade's leverage check).
    MaxAge,
}

/// Health of the cross group of `acct` from `markets` (perp market accounts; markets it does not
/// hold are ignored, every cross position must be covered).
pub fn vault_health(acct: &MarginAccount, markets: &[&AccountInfo], now: i64, fresh: Freshness) -> Result<Health> {
    let mut parts: Parts = Default::default();
    for info in markets {
        let m = read_market(info)?;
        let Some(slot) = acct.find(m.market_index) else {
            continue;
        };
        let p = &acct.positions[slot];
        if p.base == 0 {
            continue;
        }
        // the vault opens cross positions only; an isolated one would be left out of the equity
        require!(!p.is_isolated(), VaultError::WrongMarketAccount);
        let ok = match fresh {
            Freshness::SharePrice => now.saturating_sub(m.last_index_time) <= SHARE_PRICE_MAX_AGE,
            Freshness::MaxAge => now.saturating_sub(m.last_index_time) <= m.max_age,
        };
        if !ok || m.last_index == 0 {
            msg!("market {} index is from {}, now {}", m.market_index, m.last_index_time, now);
            return err!(VaultError::MarketNotFresh);
        }
        let owed = funding_owed(&m, p)?;
        let mark = mark_price(&m, Price(m.last_index), now)?;
        parts[slot] = Some(position_part_at(p, mark, m.tier_slice(), owed, true)?);
    }
    for (i, p) in acct.positions.iter().enumerate() {
        if p.in_use() && !p.is_isolated() && p.base != 0 && parts[i].is_none() {
            msg!("missing market account for market {}", p.market_index);
            return err!(VaultError::WrongMarketAccount);
        }
    }
    group_health(acct, Group::Cross, &parts)
}

/// Cross notional / equity, 1e9 = 1x; `u64::MAX` when the equity is not positive.
pub fn leverage(h: &Health) -> u64 {
    if h.equity.0 <= 0 {
        return if h.notional.0 == 0 { 0 } else { u64::MAX };
    }
    let l = h.notional.0 as u128 * 1_000_000_000 / h.equity.0 as u128;
    u64::try_from(l).unwrap_or(u64::MAX)
}
