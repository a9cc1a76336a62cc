//! The margin account's other markets, passed in remaining accounts after the primary market's
//! oracles: each is loaded, the account's position there has its funding settled, and a price
//! view is built from the market's cached index (refreshed by every instruction that reads that
//! market's oracles, and at least every sample period by the funding crank).

use super::funding::settle_position;
use super::health::Views;
use super::prices::view;
use crate::error::PerpError;
use crate::state::{MarginAccount, Market};
use anchor_lang::prelude::*;
use perp_core::Price;

/// How fresh other markets' cached index must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriceNeed {
    /// Settlement only: no prices are read.
    None,
    /// Risk-reducing instructions: up to the market's fallback age.
    Reducing,
    /// Risk-adding instructions: within the market's `max_age`.
    Adding,
}

/// Settles funding and builds views for every position not in `primary`.
pub fn settle_other_markets<'info>(
    acct: &mut MarginAccount,
    key: &Pubkey,
    primary: Option<u16>,
    accounts: &'info [AccountInfo<'info>],
    now: i64,
    need: PriceNeed,
    views: &mut Views,
) -> Result<()> {
    let mut seen = [false; crate::state::MAX_POSITIONS];
    for info in accounts {
        let loader = AccountLoader::<Market>::try_from(info)?;
        let mut m = loader.load_mut()?;
        if Some(m.market_index) == primary {
            return err!(PerpError::UnexpectedMarketAccount);
        }
        let slot = acct.find(m.market_index).ok_or(PerpError::UnexpectedMarketAccount)?;
        require!(!seen[slot], PerpError::UnexpectedMarketAccount);
        seen[slot] = true;
        settle_position(acct, key, slot, &mut m)?;
        if need == PriceNeed::None {
            continue;
        }
        let age = now.saturating_sub(m.last_index_time);
        let limit = if need == PriceNeed::Reducing { m.fallback_max_age.max(m.max_age) } else { m.max_age };
        if m.last_index == 0 || age > limit {
            msg!("market {} cached index is {} s old (limit {} s)", m.market_index, age, limit);
            return err!(PerpError::StaleCachedIndex);
        }
        views[slot] = Some(view(&m, Price(m.last_index), now)?);
    }
    for (i, p) in acct.positions.iter().enumerate() {
        if p.in_use() && Some(p.market_index) != primary && !seen[i] {
            msg!("missing market account for market {}", p.market_index);
            return err!(PerpError::MissingMarketAccount);
        }
    }
    Ok(())
}
