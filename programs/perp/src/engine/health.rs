//! Health of a margin group (the cross part of an account, or one isolated position), from each
//! position's part computed where its market is at hand: the primary market's from its live view,
//! other markets' from their cached index (read-only accounts, funding owed counted, not settled).

use super::prices::MarketView;
use crate::error::{CoreResultExt, PerpError};
use crate::state::{MarginAccount, Position, MAX_POSITIONS};
use anchor_lang::prelude::*;
use perp_core::margin::Health;
use perp_core::{Price, Quote};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Cross,
    Isolated(usize),
}

/// Each slot's part of its group's health, `None` where not computed, and the part of the
/// account's listed collateral (cross only; `None` until the collateral accounts were read).
#[derive(Clone, Copy, Debug, Default)]
pub struct Parts {
    pub pos: [Option<Health>; MAX_POSITIONS],
    pub collateral: Option<Health>,
    /// What the listed collateral is worth at its cached prices, however old (no weight): a
    /// deficit is passed on only when this is dust.
    pub collateral_worth: Quote,
}

impl core::ops::Index<usize> for Parts {
    type Output = Option<Health>;
    fn index(&self, i: usize) -> &Option<Health> {
        &self.pos[i]
    }
}

impl core::ops::IndexMut<usize> for Parts {
    fn index_mut(&mut self, i: usize) -> &mut Option<Health> {
        &mut self.pos[i]
    }
}

impl Parts {
    pub fn iter(&self) -> core::slice::Iter<'_, Option<Health>> {
        self.pos.iter()
    }
}

/// A collateral holding's part of cross health: its maintenance value counts as equity (and as
/// equity without profit: it is an asset, not a gain), and the gap to its initial value as an
/// initial requirement, so `equity - initial` counts it at its initial value and
/// `equity - maintenance` at its maintenance value.
pub fn collateral_part(v: &perp_core::collateral::CollateralValue) -> Result<Health> {
    Ok(Health {
        equity: v.maintenance,
        equity_without_profit: v.maintenance,
        initial: v.maintenance.checked_sub(v.initial).or_core()?,
        maintenance: Quote::ZERO,
        notional: Quote::ZERO,
    })
}

/// A position's part at `view`'s mark with `owed` funding (positive = owes). A bankrupt position
/// counts at its stored bankruptcy price with no requirement: that is where it will close.
pub fn position_part(p: &Position, view: &MarketView, owed: Quote) -> Result<Health> {
    position_part_at(p, view.mark, view.tiers(), owed, true)
}

/// [`position_part`] from a mark and the market's tiers; `initial: false` skips the initial
/// requirement (`perp_core::margin::NOT_COMPUTED`: such a part fails every initial check).
pub fn position_part_at(
    p: &Position,
    mark: Price,
    tiers: &[perp_core::margin::Tier],
    owed: Quote,
    initial: bool,
) -> Result<Health> {
    if p.is_bankrupt() {
        let mut h = Health::default();
        let v = p.state().upnl(Price(p.bankruptcy_price)).or_core()?.checked_sub(owed).or_core()?;
        h.equity = v;
        h.equity_without_profit = v.min(Quote::ZERO);
        return Ok(h);
    }
    if initial {
        Health::of_position(&p.state(), mark, owed, tiers).or_core()
    } else {
        Health::of_position_maintenance(&p.state(), mark, owed, tiers).or_core()
    }
}

/// True when slot `i` belongs to `group`.
pub fn in_group(acct: &MarginAccount, group: Group, i: usize) -> bool {
    let p = &acct.positions[i];
    p.in_use()
        && match group {
            Group::Isolated(s) => s == i,
            Group::Cross => !p.is_isolated(),
        }
}

/// The group's health: its settlement collateral, the listed collateral it holds (cross), and the
/// part of every position in it.
pub fn group_health(acct: &MarginAccount, group: Group, parts: &Parts) -> Result<Health> {
    let collateral = match group {
        Group::Isolated(i) => acct.positions[i].isolated_collateral,
        Group::Cross => acct.cross_collateral,
    };
    let mut h = Health::new(Quote(collateral));
    if group == Group::Cross && acct.has_collateral() {
        h.merge(parts.collateral.as_ref().ok_or(PerpError::MissingCollateralAccount)?).or_core()?;
    }
    for (i, part) in parts.iter().enumerate() {
        if !in_group(acct, group, i) || acct.positions[i].base == 0 {
            continue;
        }
        h.merge(part.as_ref().ok_or(PerpError::MissingMarketAccount)?).or_core()?;
    }
    Ok(h)
}

/// Sum of the losses at the mark (funding owed included) of the group's positions that are not
/// already bankrupt: what a deficit is attributed over.
pub fn group_losses(acct: &MarginAccount, group: Group, parts: &Parts) -> Result<Quote> {
    let mut total = Quote::ZERO;
    for (i, part) in parts.iter().enumerate() {
        let p = &acct.positions[i];
        if !in_group(acct, group, i) || p.base == 0 || p.is_bankrupt() {
            continue;
        }
        let part = part.as_ref().ok_or(PerpError::MissingMarketAccount)?;
        total = total.checked_add(part.equity.min(Quote::ZERO).checked_neg().or_core()?).or_core()?;
    }
    Ok(total)
}

/// The group a slot belongs to.
pub fn group_of(acct: &MarginAccount, slot: usize) -> Group {
    if acct.positions[slot].is_isolated() {
        Group::Isolated(slot)
    } else {
        Group::Cross
    }
}

/// The group an order or a trade in `market_index` belongs to: the isolated position's there,
/// else cross (a market with no position opens a cross one).
pub fn group_of_market(acct: &MarginAccount, market_index: u16) -> Group {
    match acct.find(market_index) {
        Some(i) if acct.positions[i].is_isolated() => Group::Isolated(i),
        _ => Group::Cross,
    }
}

/// True when the group holds a bankrupt position.
pub fn group_is_bankrupt(acct: &MarginAccount, group: Group) -> bool {
    (0..MAX_POSITIONS).any(|i| in_group(acct, group, i) && acct.positions[i].is_bankrupt())
}

/// Requires `equity - not_counted >= initial requirement`, logging the numbers when it fails.
/// `not_counted` is the favourable fill-to-mark gap of an opening fill (never collateral).
pub fn require_initial(acct: &MarginAccount, group: Group, parts: &Parts, not_counted: Quote) -> Result<()> {
    let h = group_health(acct, group, parts)?;
    require_initial_known(&h)?;
    let equity = h.equity.checked_sub(not_counted).or_core()?;
    if equity < h.initial {
        msg!("{:?}: equity {} (fill gain {} not counted) < initial margin {}", group, h.equity, not_counted, h.initial);
        return err!(PerpError::InsufficientMargin);
    }
    Ok(())
}

/// Refuses a health whose initial requirement was not computed (a part made for reducing or
/// liquidating, `perp_core::margin::NOT_COMPUTED`): never decide new risk or a withdrawal on it.
pub fn require_initial_known(h: &Health) -> Result<()> {
    require!(h.initial < perp_core::margin::NOT_COMPUTED, PerpError::MathOverflow);
    Ok(())
}

/// Requires equity >= 0 (the group is not underwater).
pub fn require_solvent(acct: &MarginAccount, group: Group, parts: &Parts) -> Result<()> {
    let h = group_health(acct, group, parts)?;
    if h.equity.is_negative() {
        msg!("{:?}: equity {} below zero", group, h.equity);
        return err!(PerpError::AccountUnderwater);
    }
    Ok(())
}
