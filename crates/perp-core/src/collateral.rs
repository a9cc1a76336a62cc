//! Collateral other than the settlement mint: what a deposit of it is worth in margin, and how
//! much of it a collateral liquidation sells.
//!
//! Units: a token amount is raw (10^-decimals of one token); a price is quote per whole token,
//! 10^-6 ([`Price`]); values are quote raw (10^-6); weights and rates are 10^-9 ([`Rate`]).
//!
//! - value: `amount x price / 10^decimals`, rounded down (an asset is never worth more than it is).
//! - maintenance value: value at the index x maintenance weight, rounded down.
//! - initial value: value at `min(index, time-weighted index)` x `min(initial weight, size
//!   weight)`, rounded down, where the size weight is `1.1 / (1 + imf x sqrt(value in whole quote
//!   units))` (Drift's size discount, taken on the value rather than on the token count so one
//!   `imf` means the same for every mint; the square root is rounded up).
//! - a sale at liquidation: the account sells at `index x (1 - discount)` (credit rounded down),
//!   the liquidator pays `index x (1 - discount x liquidator_share)` (rounded up) and the
//!   difference goes to the insurance fund.

use crate::error::{CoreError, CoreResult};
use crate::units::{div_round, mul_div_u128, Price, Quote, Rate, Round, RATE_PRECISION};

/// Largest token decimals accepted (the value formula divides by `10^decimals`).
pub const MAX_DECIMALS: u8 = 12;

/// Constant of the size discount: `1.1` at rate precision.
pub const SIZE_WEIGHT_NUMERATOR: i64 = 1_100_000_000;

/// Risk parameters of one collateral mint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CollateralRisk {
    pub decimals: u8,
    /// Weight of the value for initial margin (new risk, withdrawals), in [0, maintenance].
    pub initial_weight: Rate,
    /// Weight of the value for maintenance margin (liquidation), in [initial, 1).
    pub maintenance_weight: Rate,
    /// Size discount factor per `sqrt(value in whole quote units)` (0 = none).
    pub imf: Rate,
}

/// A holding's contribution to margin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CollateralValue {
    /// Counted toward maintenance (and equity).
    pub maintenance: Quote,
    /// Counted toward initial margin; never above `maintenance`.
    pub initial: Quote,
}

fn pow10(decimals: u8) -> CoreResult<u128> {
    if decimals > MAX_DECIMALS {
        return Err(CoreError::InvalidParameter("collateral decimals above 12"));
    }
    Ok(10u128.pow(decimals as u32))
}

/// `amount x price / 10^decimals`, quote raw.
pub fn token_value(amount: u64, decimals: u8, price: Price, round: Round) -> CoreResult<Quote> {
    let v = mul_div_u128(amount as u128, price.0 as u128, pow10(decimals)?, round)?;
    Ok(Quote(i64::try_from(v).map_err(|_| CoreError::Overflow)?))
}

/// Tokens (raw) worth `value` at `price`: `value x 10^decimals / price`.
pub fn tokens_for_value(value: Quote, decimals: u8, price: Price, round: Round) -> CoreResult<u64> {
    if value.0 < 0 {
        return Err(CoreError::InvalidParameter("negative value"));
    }
    if price.is_zero() {
        return Err(CoreError::DivisionByZero);
    }
    let t = mul_div_u128(value.0 as u128, pow10(decimals)?, price.0 as u128, round)?;
    u64::try_from(t).map_err(|_| CoreError::Overflow)
}

/// Smallest `s` with `s * s >= n`.
pub fn ceil_sqrt(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let mut s = isqrt_floor(n);
    if (s as u128) * (s as u128) < n as u128 {
        s += 1;
    }
    s
}

fn isqrt_floor(n: u64) -> u64 {
    // Newton's method on integers: converges from above to floor(sqrt(n))
    if n < 2 {
        return n;
    }
    let mut x = n;
    let mut y = x / 2 + 1;
    while y < x {
        x = y;
        y = (x + n / x) / 2;
    }
    x
}

/// The initial weight after the size discount: `min(weight, 1.1 / (1 + imf x sqrt(value / 10^6)))`,
/// rounded down.
pub fn size_weight(weight: Rate, imf: Rate, value: Quote) -> CoreResult<Rate> {
    if imf.0 <= 0 || value.0 <= 0 {
        return Ok(weight);
    }
    // sqrt(value_raw / 10^6) = sqrt(value_raw) / 10^3, so
    // 1.1 / (1 + imf/10^9 x s/10^3) = 1.1 x 10^12 / (10^12 + imf x s), at rate precision:
    let s = ceil_sqrt(value.0 as u64) as u128;
    let den = 1_000_000_000_000u128 + (imf.0 as u128) * s;
    let w = mul_div_u128(SIZE_WEIGHT_NUMERATOR as u128, 1_000_000_000_000, den, Round::Down)?;
    Ok(Rate((w as i64).min(weight.0)))
}

/// What `amount` of a collateral is worth in margin: at the index for maintenance, at `strict`
/// (the lower of the index and its time-weighted value) with the size-discounted initial weight
/// for initial margin. `initial_allowed: false` (a withdraw-only collateral) counts nothing for
/// initial margin.
pub fn collateral_value(
    amount: u64,
    risk: &CollateralRisk,
    index: Price,
    strict: Price,
    initial_allowed: bool,
) -> CoreResult<CollateralValue> {
    let at_index = token_value(amount, risk.decimals, index, Round::Down)?;
    let maintenance = at_index.mul_rate(risk.maintenance_weight, Round::Down)?;
    let initial = if initial_allowed {
        let at_strict = token_value(amount, risk.decimals, strict.min(index), Round::Down)?;
        let w = size_weight(risk.initial_weight, risk.imf, at_strict)?;
        at_strict.mul_rate(w, Round::Down)?.min(maintenance)
    } else {
        Quote::ZERO
    };
    Ok(CollateralValue { maintenance, initial })
}

/// Terms of a collateral liquidation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaleTerms {
    /// The index the sale executes at (before the discount).
    pub price: Price,
    /// The price the account's holding is valued at for maintenance (the account-favourable of
    /// the index and its time-weighted value; at least `price`).
    pub value_price: Price,
    pub decimals: u8,
    pub maintenance_weight: Rate,
    /// The account sells at `price x (1 - discount)`.
    pub discount: Rate,
    /// Share of the discount that goes to the liquidator; the rest to the insurance fund.
    pub liquidator_share: Rate,
}

/// One collateral liquidation's amounts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CollateralSale {
    /// Tokens (raw) moved from the account to the liquidator.
    pub tokens: u64,
    /// Settlement credited to the account: `tokens x price x (1 - discount)`, rounded down.
    pub to_account: Quote,
    /// Settlement the liquidator pays: `tokens x price x (1 - discount x share)`, rounded up.
    pub from_liquidator: Quote,
    /// `from_liquidator - to_account`, to the insurance fund.
    pub to_insurance: Quote,
}

/// Amounts for selling exactly `tokens` on `terms`.
pub fn sale_of(tokens: u64, terms: &SaleTerms) -> CoreResult<CollateralSale> {
    let value = |rate: i64, round: Round| -> CoreResult<Quote> {
        let v = mul_div_u128(
            (tokens as u128) * (terms.price.0 as u128),
            rate as u128,
            pow10(terms.decimals)? * RATE_PRECISION as u128,
            round,
        )?;
        Ok(Quote(i64::try_from(v).map_err(|_| CoreError::Overflow)?))
    };
    let one = RATE_PRECISION;
    let liq_discount = terms.discount.mul_rate_of(terms.liquidator_share)?;
    let to_account = value(one - terms.discount.0, Round::Down)?;
    let from_liquidator = value(one - liq_discount, Round::Up)?;
    let to_insurance = from_liquidator.checked_sub(to_account)?;
    Ok(CollateralSale { tokens, to_account, from_liquidator, to_insurance })
}

/// The sale that brings an account's equity up by `shortfall` (its target less its equity), and
/// no further: each token sold adds `price x (1 - discount) - value_price x maintenance weight`
/// to the equity less the target, so it sells `ceil(shortfall / that)` tokens (no bound from the
/// target when a token adds nothing: the index has fallen far below its time-weighted value), at
/// most `balance`, at most `max_tokens` (the liquidator's bound), and at most what raises `owed`
/// (the settlement the account lacks: selling more would only swap one asset for another at a
/// loss).
pub fn collateral_liquidation(
    shortfall: Quote,
    owed: Quote,
    balance: u64,
    max_tokens: u64,
    terms: &SaleTerms,
) -> CoreResult<CollateralSale> {
    if RATE_PRECISION - terms.discount.0 - terms.maintenance_weight.0 <= 0
        || terms.discount.0 < 0
        || terms.price.is_zero()
        || terms.value_price < terms.price
    {
        return Err(CoreError::InvalidParameter("discount + maintenance weight must be below 1"));
    }
    if shortfall.0 <= 0 || owed.0 <= 0 {
        return Ok(CollateralSale::default());
    }
    // per token, at rate x price precision: price x (1 - d) - value_price x w
    let credit = (terms.price.0 as u128) * (RATE_PRECISION - terms.discount.0) as u128;
    let given_up = (terms.value_price.0 as u128) * terms.maintenance_weight.0 as u128;
    let for_target = if credit > given_up {
        mul_div_u128(
            shortfall.0 as u128,
            pow10(terms.decimals)? * RATE_PRECISION as u128,
            credit - given_up,
            Round::Up,
        )?
    } else {
        u128::MAX
    };
    let sell_price = (terms.price.0 as u128) * (RATE_PRECISION - terms.discount.0) as u128;
    let for_owed =
        mul_div_u128(owed.0 as u128, pow10(terms.decimals)? * RATE_PRECISION as u128, sell_price, Round::Up)?;
    let tokens = for_target.min(for_owed).min(balance as u128).min(max_tokens as u128);
    sale_of(tokens as u64, terms)
}

/// A collateral holding beside a position, for [`liquidation_price_with_holding`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holding {
    pub amount: u64,
    pub decimals: u8,
    pub maintenance_weight: Rate,
    /// Its price now; ignored when it `tracks` the market (its price is then the market's).
    pub price: Price,
    /// The collateral is the market's own asset (wBTC for a BTC perp): its price moves with it.
    pub tracks: bool,
}

/// The liquidation price of a position whose account holds `settlement` (quote, may be negative)
/// and a collateral holding: the price where `settlement + upnl + holding's maintenance value`
/// meets the maintenance requirement. A holding that does not move with the market counts as a
/// fixed amount (`crate::liquidation::liquidation_price` on the sum); one that does moves with
/// the price searched (a long backed by its own asset liquidates nearer its entry). The search
/// is over whole raw prices, with the program's roundings (value down, requirement up); `None`
/// when no price from 1 raw unit to 10^12 liquidates it.
pub fn liquidation_price_with_holding(
    pos: &crate::margin::PositionState,
    settlement: Quote,
    tiers: &[crate::margin::Tier],
    h: &Holding,
) -> CoreResult<Option<Price>> {
    if pos.base.0 == 0 {
        return Err(CoreError::ZeroSize);
    }
    crate::margin::validate_tiers(tiers)?;
    let value = |p: Price| -> CoreResult<Quote> {
        let at = if h.tracks { p } else { h.price };
        token_value(h.amount, h.decimals, at, Round::Down)?.mul_rate(h.maintenance_weight, Round::Down)
    };
    if !h.tracks {
        let c = settlement.checked_add(value(h.price)?)?;
        return Ok(crate::liquidation::liquidation_price(pos, c, tiers)?.map(|l| l.price));
    }
    let liq = |p: Price| -> CoreResult<bool> {
        let equity = settlement.checked_add(pos.upnl(p)?)?.checked_add(value(p)?)?;
        let mm = crate::margin::requirement(tiers, pos.notional(p)?, crate::margin::MarginKind::Maintenance)?;
        Ok(equity < mm)
    };
    const TOP: u64 = 1_000_000_000_000_000_000;
    let long = pos.base.0 > 0;
    // a long (or a short backed by its own asset, whose value rises with the price too) is
    // liquidated below some price, a short above it; find which end liquidates
    let (lo_liq, hi_liq) = (liq(Price(1))?, liq(Price(TOP))?);
    let below = match (lo_liq, hi_liq) {
        (false, false) => return Ok(None),
        (true, true) => return Ok(Some(Price(if long { TOP } else { 1 }))),
        (true, false) => true,
        (false, true) => false,
    };
    let (mut lo, mut hi) = (1u64, TOP);
    // invariant: liq(lo) == below, liq(hi) != below
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if liq(Price(mid))? == below {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(Some(Price(if below { lo } else { hi })))
}

impl Rate {
    /// `self x other`, rounded down, as a raw rate.
    fn mul_rate_of(self, other: Rate) -> CoreResult<i64> {
        let v = div_round(crate::wide::mul_i64(self.0, other.0), RATE_PRECISION as i128, Round::Down)?;
        i64::try_from(v).map_err(|_| CoreError::Overflow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USD: i64 = 1_000_000;
    const R: i64 = RATE_PRECISION;

    #[test]
    fn values_across_decimals_by_hand() {
        // 1.5 SOL (9 decimals) at 150.25 = 225.375 USD
        assert_eq!(token_value(1_500_000_000, 9, Price(150_250_000), Round::Down).unwrap(), Quote(225_375_000));
        // 0.01 BTC (8 decimals) at 60,000 = 600 USD
        assert_eq!(token_value(1_000_000, 8, Price(60_000 * USD as u64), Round::Down).unwrap(), Quote(600 * USD));
        // 3 raw USDC (6 decimals) at 0.87 = 2.61 raw, down to 2
        assert_eq!(token_value(3, 6, Price(870_000), Round::Down).unwrap(), Quote(2));
        assert_eq!(token_value(3, 6, Price(870_000), Round::Up).unwrap(), Quote(3));
        assert_eq!(tokens_for_value(Quote(600 * USD), 8, Price(60_000 * USD as u64), Round::Down).unwrap(), 1_000_000);
        assert!(token_value(1, 13, Price(1), Round::Down).is_err());
    }

    #[test]
    fn ceil_sqrt_is_exact() {
        for n in [0u64, 1, 2, 3, 4, 15, 16, 17, 1 << 40, (1 << 40) + 1, u64::MAX, u64::MAX - 1] {
            let s = ceil_sqrt(n) as u128;
            assert!(s * s >= n as u128, "{n}");
            assert!(s == 0 || (s - 1) * (s - 1) < n as u128, "{n}");
        }
    }

    #[test]
    fn size_weight_by_hand() {
        // imf 0.001 per sqrt(USD); 1,000,000 USD -> sqrt 1,000 -> 1.1 / (1 + 1) = 0.55
        let w = size_weight(Rate(800_000_000), Rate(1_000_000), Quote(1_000_000 * USD)).unwrap();
        assert_eq!(w, Rate(550_000_000));
        // small holdings keep their weight: 10,000 USD -> 1.1 / 1.1 = 1 > 0.8
        assert_eq!(size_weight(Rate(800_000_000), Rate(1_000_000), Quote(10_000 * USD)).unwrap(), Rate(800_000_000));
        assert_eq!(size_weight(Rate(800_000_000), Rate(0), Quote(i64::MAX)).unwrap(), Rate(800_000_000));
        // never increases with size
        let mut last = Rate(R);
        for v in [1, 1_000, 1_000_000, 1 << 40, 1 << 55, i64::MAX] {
            let w = size_weight(Rate(R), Rate(1_000_000), Quote(v)).unwrap();
            assert!(w <= last);
            last = w;
        }
    }

    #[test]
    fn collateral_value_prices_initial_strictly() {
        let risk = CollateralRisk {
            decimals: 9,
            initial_weight: Rate(800_000_000),
            maintenance_weight: Rate(900_000_000),
            imf: Rate(0),
        };
        // 10 SOL, index 100, time-weighted 110: maintenance 1,000 x 0.9; initial 1,000 x 0.8
        let v =
            collateral_value(10_000_000_000, &risk, Price(100 * USD as u64), Price(110 * USD as u64), true).unwrap();
        assert_eq!(v, CollateralValue { maintenance: Quote(900 * USD), initial: Quote(800 * USD) });
        // time-weighted 90 (a spike up): initial at 90
        let v = collateral_value(10_000_000_000, &risk, Price(100 * USD as u64), Price(90 * USD as u64), true).unwrap();
        assert_eq!(v.initial, Quote(720 * USD));
        let v =
            collateral_value(10_000_000_000, &risk, Price(100 * USD as u64), Price(90 * USD as u64), false).unwrap();
        assert_eq!(v.initial, Quote::ZERO);
    }

    fn terms() -> SaleTerms {
        SaleTerms {
            price: Price(100 * USD as u64),
            value_price: Price(100 * USD as u64),
            decimals: 9,
            maintenance_weight: Rate(900_000_000),
            discount: Rate(50_000_000),
            liquidator_share: Rate(500_000_000),
        }
    }

    #[test]
    fn sale_amounts_by_hand() {
        // 1 SOL at 100: account gets 95, liquidator pays 97.5, insurance 2.5
        let s = sale_of(1_000_000_000, &terms()).unwrap();
        assert_eq!(s.to_account, Quote(95 * USD));
        assert_eq!(s.from_liquidator, Quote(97_500_000));
        assert_eq!(s.to_insurance, Quote(2_500_000));
        // one raw unit: 10^-7 USD -> account 0, liquidator pays 1 raw (rounded up)
        let s = sale_of(1, &terms()).unwrap();
        assert_eq!((s.to_account, s.from_liquidator), (Quote(0), Quote(1)));
    }

    #[test]
    fn liquidation_sells_just_enough() {
        // each SOL adds 100 x (1 - 0.05 - 0.9) = 5 to equity - target: 12 short -> 2.4 SOL
        let s =
            collateral_liquidation(Quote(12 * USD), Quote(1_000 * USD), 10_000_000_000, u64::MAX, &terms()).unwrap();
        assert_eq!(s.tokens, 2_400_000_000);
        assert_eq!(s.to_account, Quote(228 * USD));
        // the gain in equity covers the shortfall: credit - maintenance value given up
        let lost = token_value(s.tokens, 9, Price(100 * USD as u64), Round::Up)
            .unwrap()
            .mul_rate(Rate(900_000_000), Round::Up)
            .unwrap();
        assert!(s.to_account.0 - lost.0 >= 12 * USD);
        // bounded by what the account owes: 50 owed -> ceil(50 / 95) SOL
        let s = collateral_liquidation(Quote(12 * USD), Quote(50 * USD), 10_000_000_000, u64::MAX, &terms()).unwrap();
        assert_eq!(s.tokens, 526_315_790);
        assert!(s.to_account >= Quote(50 * USD) && s.to_account.0 < 50 * USD + 100);
        // by the balance and the liquidator's bound
        let s = collateral_liquidation(Quote(12 * USD), Quote(1_000 * USD), 1_000_000_000, u64::MAX, &terms()).unwrap();
        assert_eq!(s.tokens, 1_000_000_000);
        let s = collateral_liquidation(Quote(12 * USD), Quote(1_000 * USD), 10_000_000_000, 7, &terms()).unwrap();
        assert_eq!(s.tokens, 7);
        // nothing when nothing is short or owed
        assert_eq!(collateral_liquidation(Quote(0), Quote(5), 10, 10, &terms()).unwrap().tokens, 0);
        assert_eq!(collateral_liquidation(Quote(5), Quote(0), 10, 10, &terms()).unwrap().tokens, 0);
        let mut bad = terms();
        bad.discount = Rate(100_000_000);
        assert!(collateral_liquidation(Quote(5), Quote(5), 10, 10, &bad).is_err());
    }

    #[test]
    fn liquidation_after_a_fall_below_the_time_weighted_value() {
        // valued at 104 (time-weighted), sold at 100: a token adds 95 - 93.6 = 1.4 -> 12 / 1.4
        let mut t = terms();
        t.value_price = Price(104 * USD as u64);
        let s = collateral_liquidation(Quote(12 * USD), Quote(1_000 * USD), 100 * 1_000_000_000, u64::MAX, &t).unwrap();
        assert_eq!(s.tokens, 8_571_428_572);
        // valued at 110: a token adds nothing toward the target; only what is owed bounds the sale
        t.value_price = Price(110 * USD as u64);
        let s = collateral_liquidation(Quote(12 * USD), Quote(95 * USD), 100 * 1_000_000_000, u64::MAX, &t).unwrap();
        assert_eq!(s.tokens, 1_000_000_000);
        // a valuation below the sale price is refused (the account-favourable price is the higher)
        t.value_price = Price(99 * USD as u64);
        assert!(collateral_liquidation(Quote(12 * USD), Quote(95 * USD), 10, 10, &t).is_err());
    }

    #[test]
    fn a_long_backed_by_its_own_asset_liquidates_nearer() {
        use crate::margin::{PositionState, Tier, UNBOUNDED};
        use crate::Base;
        let tiers = [Tier { cap: UNBOUNDED, imr: Rate(20_000_000), mmr: Rate(10_000_000) }];
        // 1 BTC long at 20,000 on 10,000 borrowed, backed by 0.6 wBTC at 0.9
        let pos = PositionState { base: Base(1_000_000_000), quote_entry: Quote(-20_000 * USD) };
        let h = |tracks| Holding {
            amount: 60_000_000,
            decimals: 8,
            maintenance_weight: Rate(900_000_000),
            price: Price(20_000 * USD as u64),
            tracks,
        };
        // by hand: tracking, 1.54 p - 30,000 < 0.01 p below 19,607.84; fixed, p - 19,200 < 0.01 p
        // below 19,393.94
        let with = liquidation_price_with_holding(&pos, Quote(-10_000 * USD), &tiers, &h(true)).unwrap().unwrap();
        let without = liquidation_price_with_holding(&pos, Quote(-10_000 * USD), &tiers, &h(false)).unwrap().unwrap();
        assert!((19_607_840_000..=19_607_850_000).contains(&with.0), "{with:?}");
        assert!((19_393_930_000..=19_393_950_000).contains(&without.0), "{without:?}");
        // a short backed by the asset it is short is hedged: no price liquidates it
        let short = PositionState { base: Base(-500_000_000), quote_entry: Quote(10_000 * USD) };
        assert_eq!(liquidation_price_with_holding(&short, Quote(-1_000 * USD), &tiers, &h(true)).unwrap(), None);
    }

    #[test]
    fn liquidation_never_pays_the_liquidator_less_than_the_account_gets() {
        for tokens in [0u64, 1, 2, 3, 999, 1_000_000_007, u32::MAX as u64] {
            for decimals in [6u8, 8, 9] {
                let mut t = terms();
                t.decimals = decimals;
                let s = sale_of(tokens, &t).unwrap();
                assert!(s.to_insurance.0 >= 0);
                // the account never gets more than the tokens' value less the discount
                let fair = token_value(tokens, decimals, t.price, Round::Down).unwrap();
                assert!(s.to_account <= fair);
            }
        }
    }
}
