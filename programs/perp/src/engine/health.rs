//! Health of a margin group (cross part of an account, or one isolated position).

use super::prices::MarketView;
use crate::error::{CoreResultExt, PerpError};
use crate::state::{MarginAccount, MAX_POSITIONS};
use anchor_lang::prelude::*;
use perp_core::margin::Health;
use perp_core::Quote;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Cross,
    Isolated(usize),
}

/// Views by position slot (funding already settled, so nothing is owed).
pub type Views = [Option<MarketView>; MAX_POSITIONS];

pub fn group_health(acct: &MarginAccount, group: Group, views: &Views) -> Result<Health> {
    match group {
        Group::Isolated(i) => {
            let p = &acct.positions[i];
            let mut h = Health::new(Quote(p.isolated_collateral));
            if p.base != 0 {
                let v = views[i].ok_or(PerpError::MissingMarketAccount)?;
                h.add_position(&p.state(), v.mark, Quote::ZERO, v.tiers()).or_core()?;
            }
            Ok(h)
        }
        Group::Cross => {
            let mut h = Health::new(Quote(acct.cross_collateral));
            for (i, p) in acct.positions.iter().enumerate() {
                if !p.in_use() || p.is_isolated() || p.base == 0 {
                    continue;
                }
                let v = views[i].ok_or(PerpError::MissingMarketAccount)?;
                h.add_position(&p.state(), v.mark, Quote::ZERO, v.tiers()).or_core()?;
            }
            Ok(h)
        }
    }
}

/// The group a slot belongs to.
pub fn group_of(acct: &MarginAccount, slot: usize) -> Group {
    if acct.positions[slot].is_isolated() {
        Group::Isolated(slot)
    } else {
        Group::Cross
    }
}

/// Requires equity >= initial requirement, logging the numbers when it fails.
pub fn require_initial(acct: &MarginAccount, group: Group, views: &Views) -> Result<()> {
    let h = group_health(acct, group, views)?;
    if h.equity < h.initial {
        msg!("{:?}: equity {} < initial margin {}", group, h.equity, h.initial);
        return err!(PerpError::InsufficientMargin);
    }
    Ok(())
}

/// Requires equity >= 0 (the group is not underwater).
pub fn require_solvent(acct: &MarginAccount, group: Group, views: &Views) -> Result<()> {
    let h = group_health(acct, group, views)?;
    if h.equity.is_negative() {
        msg!("{:?}: equity {} below zero", group, h.equity);
        return err!(PerpError::AccountUnderwater);
    }
    Ok(())
}
