//! Listed collateral in margin checks: what a holding counts for, from the collateral's cached
//! price (refreshed by `refresh_collateral`), by what the instruction decides.

use super::markets::{PriceNeed, REFRESH_SLOTS};
use crate::error::{CoreResultExt, PerpError};
use crate::state::{collateral_status, Collateral, MAX_FALLBACK_AGE};
use anchor_lang::prelude::*;
use perp_core::collateral::{collateral_value, CollateralValue};
use perp_core::Price;

/// True when `info` is a collateral account of this program (by owner and discriminator).
pub fn is_collateral(info: &AccountInfo) -> bool {
    if *info.owner != crate::ID {
        return false;
    }
    let Ok(d) = info.try_borrow_data() else {
        return false;
    };
    d.len() >= 8 && d[..8] == *<Collateral as anchor_lang::Discriminator>::DISCRIMINATOR
}

/// What `amount` of `c` counts for, as `need` requires the price:
/// - new risk: the cached price within `max_age` (`StaleCollateralPrice`), initial at the lower
///   of it and its time-weighted value;
/// - a withdrawal: also refreshed within [`REFRESH_SLOTS`] (`IndexNotRefreshed`);
/// - a liquidation: refreshed within the slots while the feed is live (so neither a liquidator
///   nor the account can act on an old price); a price older than [`MAX_FALLBACK_AGE`] (a dead
///   feed) counts nothing, so a dead collateral never shields an account; in between it waits;
/// - reducing: within `max_age`, else nothing (conservative, it never blocks a reduction that
///   needs no margin).
pub fn holding_value(
    c: &Collateral,
    amount: u64,
    need: PriceNeed,
    now: i64,
    slot: u64,
) -> Result<CollateralValue> {
    let age = now.saturating_sub(c.last_price_time);
    let live = c.last_price > 0 && age <= c.max_age;
    let refreshed = slot.saturating_sub(c.last_price_slot) <= REFRESH_SLOTS;
    let nothing = CollateralValue::default();
    match need {
        PriceNeed::Adding | PriceNeed::Withdraw => {
            if !live {
                msg!("collateral {} price is {} s old (limit {} s): refresh_collateral first", c.collateral_index, age, c.max_age);
                return err!(PerpError::StaleCollateralPrice);
            }
        }
        PriceNeed::Liquidation => {
            if c.last_price == 0 || age > MAX_FALLBACK_AGE {
                msg!("collateral {} has no price for {} s: counted as nothing", c.collateral_index, age);
                return Ok(nothing);
            }
            if !live {
                msg!("collateral {} price is {} s old: its holders wait for its feed", c.collateral_index, age);
                return err!(PerpError::StaleCollateralPrice);
            }
        }
        PriceNeed::Tolerant | PriceNeed::Lenient => {
            if !live {
                return Ok(nothing);
            }
        }
    }
    if matches!(need, PriceNeed::Withdraw | PriceNeed::Liquidation) && !refreshed {
        msg!(
            "collateral {} price was last refreshed in slot {}, {} slots ago: prepend refresh_collateral",
            c.collateral_index,
            c.last_price_slot,
            slot.saturating_sub(c.last_price_slot)
        );
        return err!(PerpError::IndexNotRefreshed);
    }
    let index = Price(c.last_price);
    let strict = index.min(c.twap_now(now)?);
    collateral_value(amount, &c.risk(), index, strict, c.status != collateral_status::WITHDRAW_ONLY).or_core()
}
