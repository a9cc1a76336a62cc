//! Listed collateral as a trader and a keeper see it, valued by the program's own functions
//! (`perp::engine::collateral::holding_value`, `perp::engine::health::collateral_part`), and the
//! cross liquidation price of a position with the collateral counted: a collateral that moves
//! with the position's market (it shares an oracle account with it, as wBTC with a BTC perp)
//! moves with the price searched, so a long backed by its own asset liquidates nearer.

use crate::preview::{parts_for, settled, MarketState};
use perp::engine::collateral::holding_value;
use perp::engine::health::{collateral_part, group_health, position_part_at, Group};
use perp::engine::markets::PriceNeed;
use perp::state::{Collateral, MarginAccount};
use perp_core::collateral::{collateral_value, token_value, CollateralValue};
use perp_core::margin::Health;
use perp_core::{Price, Quote, Round};
use std::collections::BTreeMap;

/// Listed collateral by index.
pub type Collaterals = BTreeMap<u16, Collateral>;

/// One holding of the account, as shown.
#[derive(Clone, Debug)]
pub struct Holding {
    pub collateral_index: u16,
    pub amount: u64,
    pub decimals: u8,
    /// The cached index (quote per whole token).
    pub price: Price,
    /// `amount x price`.
    pub value: Quote,
    /// What it counts for (maintenance, initial), as a new trade would value it now; zero when
    /// the program would refuse its price (shown, never overstated).
    pub counted: CollateralValue,
    pub initial_weight: i64,
    pub maintenance_weight: i64,
    pub status: u8,
}

/// What `amount` of `c` counts for by `need` as the program values it with a just-refreshed
/// price; `None` when the program would refuse the price.
pub fn holding_counts(c: &Collateral, amount: u64, need: PriceNeed, now: i64) -> Option<CollateralValue> {
    holding_value(c, amount, need, now, c.last_price_slot).ok()
}

/// The account's holdings.
pub fn holdings(acct: &MarginAccount, collaterals: &Collaterals, now: i64) -> Vec<Holding> {
    acct.collaterals
        .iter()
        .filter(|b| b.collateral_index != 0 && b.amount > 0)
        .filter_map(|b| {
            let c = collaterals.get(&b.collateral_index)?;
            let price = Price(c.last_price);
            Some(Holding {
                collateral_index: b.collateral_index,
                amount: b.amount,
                decimals: c.decimals,
                price,
                value: token_value(b.amount, c.decimals, price, Round::Down).unwrap_or_default(),
                counted: holding_counts(c, b.amount, PriceNeed::Adding, now).unwrap_or_default(),
                initial_weight: c.initial_weight,
                maintenance_weight: c.maintenance_weight,
                status: c.status,
            })
        })
        .collect()
}

/// The cross part of the account's collateral by `need` (a holding whose price the program would
/// refuse, or whose collateral is missing from `collaterals`, counts nothing).
pub fn collateral_health(acct: &MarginAccount, collaterals: &Collaterals, need: PriceNeed, now: i64) -> Health {
    let mut h = Health::default();
    for b in acct.collaterals.iter().filter(|b| b.collateral_index != 0 && b.amount > 0) {
        let Some(c) = collaterals.get(&b.collateral_index) else {
            continue;
        };
        if let Some(part) = holding_counts(c, b.amount, need, now).and_then(|v| collateral_part(&v).ok()) {
            let _ = h.merge(&part);
        }
    }
    h
}

/// The market a collateral moves with: the first one sharing an oracle account with it.
pub fn tracked_market(c: &Collateral, markets: &BTreeMap<u16, MarketState>) -> Option<u16> {
    let keys = crate::collateral::oracle_keys(c);
    markets
        .iter()
        .find(|(_, m)| m.market.oracles[..m.market.oracle_count()].iter().any(|o| keys.contains(&o.key)))
        .map(|(i, _)| *i)
}

/// The cross group's health with the position in `slot` at mark `p` and every collateral that
/// moves with its market repriced in proportion (maintenance at the repriced value), the rest as
/// they stand.
fn cross_health_at(
    a: &MarginAccount,
    slot: usize,
    p: Price,
    markets: &BTreeMap<u16, MarketState>,
    collaterals: &Collaterals,
    now: i64,
) -> Option<Health> {
    let pos = &a.positions[slot];
    let ms = markets.get(&pos.market_index)?;
    let mut parts = parts_for(a, markets);
    parts[slot] = Some(position_part_at(pos, p, ms.view.tiers(), Quote::ZERO, true).ok()?);
    let mut ch = Health::default();
    for b in a.collaterals.iter().filter(|b| b.collateral_index != 0 && b.amount > 0) {
        let Some(c) = collaterals.get(&b.collateral_index) else {
            continue;
        };
        let v = if tracked_market(c, markets) == Some(pos.market_index) && ms.view.mark.0 > 0 {
            let moved =
                Price(((c.last_price as u128) * (p.0 as u128) / (ms.view.mark.0 as u128)).min(u64::MAX as u128) as u64);
            collateral_value(b.amount, &c.risk(), moved, moved, true).ok()?
        } else {
            holding_counts(c, b.amount, PriceNeed::Tolerant, now).unwrap_or_default()
        };
        ch.merge(&collateral_part(&v).ok()?).ok()?;
    }
    parts.collateral = Some(ch);
    group_health(a, Group::Cross, &parts).ok()
}

/// The cross position's liquidation price with the account's collateral counted (funding owed
/// settled first): the price of its market at which the cross group reaches maintenance, every
/// other market where it stands and collateral that moves with the market moving with it. `None`
/// when no price from 1 raw unit to 1,000 x the mark liquidates it (or the slot is not cross).
pub fn cross_liquidation_price(
    acct: &MarginAccount,
    slot: usize,
    markets: &BTreeMap<u16, MarketState>,
    collaterals: &Collaterals,
    now: i64,
) -> Option<Price> {
    let a = settled(acct, markets);
    let pos = a.positions[slot];
    if !pos.in_use() || pos.is_isolated() || pos.base == 0 {
        return None;
    }
    let mark = markets.get(&pos.market_index)?.view.mark;
    let liq = |p: Price| cross_health_at(&a, slot, p, markets, collaterals, now).map(|h| h.is_liquidatable());
    if pos.base > 0 {
        // the highest price at or below the mark that liquidates
        if liq(mark)? {
            return Some(mark);
        }
        if !liq(Price(1))? {
            return None;
        }
        let (mut lo, mut hi) = (1u64, mark.0); // liq(lo), !liq(hi)
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if liq(Price(mid))? {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(Price(lo))
    } else {
        // the lowest price at or above the mark that liquidates
        if liq(mark)? {
            return Some(mark);
        }
        let top = mark.0.saturating_mul(1_000);
        if !liq(Price(top))? {
            return None;
        }
        let (mut lo, mut hi) = (mark.0, top); // !liq(lo), liq(hi)
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if liq(Price(mid))? {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(Price(hi))
    }
}
