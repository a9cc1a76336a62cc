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
/// - a liquidation or a collateral sale: refreshed within the slots (neither a liquidator nor
///   the account can act on an old price), maintenance at the account-favourable of the index
///   and its time-weighted value (a wick refreshed into the cache does not liquidate anyone); a
///   price older than [`MAX_FALLBACK_AGE`] (a feed dead for hours, which nobody could refresh)
///   counts nothing for the decision, but `liquidate` never passes a deficit on while the
///   account holds any collateral;
/// - a reducing fill deciding whether the account is liquidatable: as a liquidation without the
///   refresh (never stricter than one);
/// - reducing: the cache within [`MAX_FALLBACK_AGE`], else nothing (reducing needs no margin).
pub fn holding_value(c: &Collateral, amount: u64, need: PriceNeed, now: i64, slot: u64) -> Result<CollateralValue> {
    let age = now.saturating_sub(c.last_price_time);
    let live = c.last_price > 0 && age <= c.max_age;
    let dead = c.last_price == 0 || age > MAX_FALLBACK_AGE;
    let refreshed = slot.saturating_sub(c.last_price_slot) <= REFRESH_SLOTS;
    let nothing = CollateralValue::default();
    let liquidating = matches!(need, PriceNeed::Liquidation | PriceNeed::CollateralSale | PriceNeed::Lenient);
    match need {
        PriceNeed::Tolerant if dead => return Ok(nothing),
        PriceNeed::Tolerant => {}
        _ if liquidating && dead => {
            msg!("collateral {} has had no price for {} s: counted as nothing", c.collateral_index, age);
            return Ok(nothing);
        }
        _ if !live => {
            msg!(
                "collateral {} price is {} s old (limit {} s): refresh_collateral first",
                c.collateral_index,
                age,
                c.max_age
            );
            return err!(PerpError::StaleCollateralPrice);
        }
        _ => {}
    }
    if matches!(need, PriceNeed::Withdraw | PriceNeed::Liquidation | PriceNeed::CollateralSale) && !refreshed {
        msg!(
            "collateral {} price was last refreshed in slot {}, {} slots ago: prepend refresh_collateral",
            c.collateral_index,
            c.last_price_slot,
            slot.saturating_sub(c.last_price_slot)
        );
        return err!(PerpError::IndexNotRefreshed);
    }
    let index = Price(c.last_price);
    let twap = c.twap_now(now)?;
    let valued = if liquidating { index.max(twap) } else { index };
    collateral_value(amount, &c.risk(), valued, index.min(twap), c.status != collateral_status::WITHDRAW_ONLY).or_core()
}
