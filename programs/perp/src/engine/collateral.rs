//! Listed collateral in margin checks: what a holding counts for, from the collateral's cached
//! price (refreshed by `refresh_collateral`), by what the instruction decides.

use super::markets::{PriceNeed, REFRESH_SLOTS};
use crate::error::{CoreResultExt, PerpError};
use crate::state::{collateral_status, Collateral};
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

/// How long past its `max_age` a collateral's cached price may be before it counts as dead for a
/// liquidation (nothing, instead of holding the liquidation until it is fresh): 15 minutes, as the
/// markets' fallback ages run (a keeper refreshes every collateral each pass; nobody leaves a live
/// feed unrefreshed this long but to attack).
pub const COLLATERAL_FALLBACK_AGE: i64 = 900;

/// A deficit is passed on while the account still holds collateral worth less than this at its
/// cached prices (1 quote unit): dust cannot hold the waterfall.
pub const COLLATERAL_DUST: perp_core::Quote = perp_core::Quote(1_000_000);

/// What `amount` of `c` counts for, as `need` requires the price:
/// - new risk: the cached price within `max_age` (`StaleCollateralPrice`), initial at the lower
///   of it and its time-weighted value;
/// - a withdrawal: also refreshed within [`REFRESH_SLOTS`] (`IndexNotRefreshed`);
/// - a liquidation: refreshed within the slots (neither a liquidator nor the account can act on an
///   old price), maintenance at the account-favourable of the index and its time-weighted value (a
///   wick refreshed into the cache liquidates nobody); a price more than
///   [`COLLATERAL_FALLBACK_AGE`] past its `max_age` (a dead feed) counts nothing; in between the
///   liquidation waits (`StaleCollateralPrice`), as a market's late feed makes it wait;
/// - a reducing fill deciding whether the account is liquidatable: as a liquidation, without the
///   refresh, and a late price counts as cached (a stop is never held by a late feed);
/// - reducing: the cache unless dead, then nothing (reducing needs no margin).
pub fn holding_value(c: &Collateral, amount: u64, need: PriceNeed, now: i64, slot: u64) -> Result<CollateralValue> {
    let age = now.saturating_sub(c.last_price_time);
    let live = c.last_price > 0 && age <= c.max_age;
    let dead = c.last_price == 0 || age > c.max_age.saturating_add(COLLATERAL_FALLBACK_AGE);
    let refreshed = slot.saturating_sub(c.last_price_slot) <= REFRESH_SLOTS;
    let nothing = CollateralValue::default();
    let liquidating = matches!(need, PriceNeed::Liquidation | PriceNeed::Lenient);
    match need {
        PriceNeed::Tolerant | PriceNeed::Lenient | PriceNeed::Liquidation if dead => {
            msg!("collateral {} has had no price for {} s: counted as nothing", c.collateral_index, age);
            return Ok(nothing);
        }
        PriceNeed::Tolerant | PriceNeed::Lenient => {}
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
    let twap = c.twap_now(now)?;
    let valued = if liquidating { index.max(twap) } else { index };
    collateral_value(amount, &c.risk(), valued, index.min(twap), c.status != collateral_status::WITHDRAW_ONLY).or_core()
}
