//! Applying a fill to a position: new size, new entry, realized PnL.
//!
//! A position keeps `quote_entry`, the signed quote flow of its opening trades (`-cost` for a
//! long, `+proceeds` for a short). Reducing by a fraction `x/|size|` releases the same fraction of
//! `quote_entry`, rounded down, so realized PnL `= fill quote + released entry` is rounded down
//! (in the protocol's favour) and the remainder keeps the rest exactly: no quote is lost or made.

use crate::error::{CoreError, CoreResult};
use crate::margin::PositionState;
use crate::units::{div_round, mul_div, Base, Quote, Round};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FillOutcome {
    pub position: PositionState,
    /// PnL realized by the reducing part of the fill (zero if the fill only adds).
    pub realized: Quote,
    /// Size closed (>= 0).
    pub closed: Base,
    /// Size opened in the fill's direction (>= 0), including the new side of a flip.
    pub opened: Base,
}

/// Applies a fill (`base` received, `quote` received; a buy has base > 0, quote < 0).
pub fn apply_fill(pos: PositionState, base: Base, quote: Quote) -> CoreResult<FillOutcome> {
    if base.is_zero() {
        return Err(CoreError::ZeroSize);
    }
    let same_dir = pos.base.is_zero() || pos.base.signum() == base.signum();
    if same_dir {
        return Ok(FillOutcome {
            position: PositionState {
                base: pos.base.checked_add(base)?,
                quote_entry: pos.quote_entry.checked_add(quote)?,
            },
            realized: Quote::ZERO,
            closed: Base::ZERO,
            opened: base.abs()?,
        });
    }
    let held = pos.base.abs()?;
    let traded = base.abs()?;
    if traded <= held {
        // reduce (or close exactly)
        let released = Quote(
            i64::try_from(mul_div(pos.quote_entry.0 as i128, traded.0 as i128, held.0 as i128, Round::Down)?)
                .map_err(|_| CoreError::Overflow)?,
        );
        return Ok(FillOutcome {
            position: PositionState {
                base: pos.base.checked_add(base)?,
                quote_entry: pos.quote_entry.checked_sub(released)?,
            },
            realized: quote.checked_add(released)?,
            closed: traded,
            opened: Base::ZERO,
        });
    }
    // flip: the part of the fill that closes `held` realizes against the whole entry
    let closing_quote = div_round(crate::wide::mul_i64(quote.0, held.0), traded.0 as i128, Round::Down)?;
    let closing_quote = Quote(i64::try_from(closing_quote).map_err(|_| CoreError::Overflow)?);
    Ok(FillOutcome {
        position: PositionState { base: pos.base.checked_add(base)?, quote_entry: quote.checked_sub(closing_quote)? },
        realized: closing_quote.checked_add(pos.quote_entry)?,
        closed: held,
        opened: traded.checked_sub(held)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BTC: i64 = 1_000_000_000;
    const USD: i64 = 1_000_000;

    #[test]
    fn open_add_reduce_close_flip() {
        let p = PositionState::default();
        let a = apply_fill(p, Base(BTC), Quote(-20_000 * USD)).unwrap();
        assert_eq!(a.position, PositionState { base: Base(BTC), quote_entry: Quote(-20_000 * USD) });
        let b = apply_fill(a.position, Base(BTC), Quote(-22_000 * USD)).unwrap();
        assert_eq!(b.position.entry_price().unwrap().0, 21_000 * USD as u64);
        // sell 0.5 at 23,000: releases a quarter of -42,000 -> realized 11,500 - 10,500 = 1,000
        let c = apply_fill(b.position, Base(-BTC / 2), Quote(11_500 * USD)).unwrap();
        assert_eq!(c.realized, Quote(1_000 * USD));
        assert_eq!(c.position.quote_entry, Quote(-31_500 * USD));
        // sell 3.5 at 20,000: closes 1.5 (realize 30,000 - 31,500 = -1,500), opens 2 short at 20,000
        let d = apply_fill(c.position, Base(-3 * BTC - BTC / 2), Quote(70_000 * USD)).unwrap();
        assert_eq!(d.realized, Quote(-1_500 * USD));
        assert_eq!(d.position, PositionState { base: Base(-2 * BTC), quote_entry: Quote(40_000 * USD) });
        assert_eq!(d.closed, Base(3 * BTC / 2));
        assert_eq!(d.opened, Base(2 * BTC));
    }

    proptest! {
        /// Splitting a close into pieces never realizes more than closing at once, and the
        /// released entry plus the remaining entry always equals the original entry.
        #[test]
        fn reductions_conserve_entry(size in 1i64..1_000_000_000_000, entry in 1i64..1_000_000_000_000,
                                     cut in 1i64..1_000_000_000_000, price_q in 0i64..1_000_000_000_000) {
            let cut = cut.min(size);
            let p = PositionState { base: Base(size), quote_entry: Quote(-entry) };
            let r = apply_fill(p, Base(-cut), Quote(price_q)).unwrap();
            // released = realized - fill quote
            let released = r.realized.0 - price_q;
            prop_assert_eq!(released + r.position.quote_entry.0, -entry);
            // rounding is against the trader: released <= exact share
            prop_assert!((released as i128) * (size as i128) <= -(entry as i128) * (cut as i128));
        }
    }
}
