//! Size-tiered margin, equity and account health.
//!
//! A market has up to [`MAX_TIERS`] tiers `(cap_i, IMR_i, MMR_i)` by position notional
//! (`|size| x mark`, quote). The requirement is computed the way Binance publishes it for USD-M
//! futures: `requirement = notional x rate_k - amount_k`, where `k` is the tier the notional falls in
//! (`cap_{k-1} < notional <= cap_k`) and the tier amount ("cum") is
//! `amount_k = amount_{k-1} + cap_{k-1} x (rate_k - rate_{k-1})`, `amount_0 = 0`.
//! This is exactly the incremental sum over tiers (each slice of notional at its own rate), so the
//! requirement is continuous at every boundary. Notional above the last cap continues at the last
//! tier's rates (markets use the last cap as the maximum position notional for new risk).
//!
//! Rounding: notional for requirements rounds up, the requirement itself rounds up (one division
//! at the end of an exact integer computation); unrealized PnL rounds down.

use crate::error::{CoreError, CoreResult, TierProblem};
use crate::units::{div_round, Base, Price, Quote, Rate, Round, RATE_PRECISION};

pub const MAX_TIERS: usize = 12;

/// The cap value meaning "no upper bound".
pub const UNBOUNDED: Quote = Quote(i64::MAX);

/// Laid out as three `i64` (`repr(C)`), so a program can view its stored tiers in place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Tier {
    /// Upper bound of the notional in this tier (inclusive), quote. [`UNBOUNDED`] for the last.
    pub cap: Quote,
    /// Initial margin rate.
    pub imr: Rate,
    /// Maintenance margin rate.
    pub mmr: Rate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarginKind {
    Initial,
    Maintenance,
}

impl Tier {
    fn rate(&self, kind: MarginKind) -> i128 {
        match kind {
            MarginKind::Initial => self.imr.0 as i128,
            MarginKind::Maintenance => self.mmr.0 as i128,
        }
    }
}

/// Checks tiers: 1..=8 tiers, caps strictly increasing, rates in (0, 1], MMR < IMR in each tier,
/// rates non-decreasing from tier to tier.
pub fn validate_tiers(tiers: &[Tier]) -> CoreResult<()> {
    if tiers.is_empty() {
        return Err(CoreError::InvalidTiers(TierProblem::Empty));
    }
    if tiers.len() > MAX_TIERS {
        return Err(CoreError::InvalidTiers(TierProblem::TooMany));
    }
    for (i, t) in tiers.iter().enumerate() {
        let tier = i as u8;
        let in_range = |r: Rate| r.0 > 0 && r.0 <= RATE_PRECISION;
        if !in_range(t.imr) || !in_range(t.mmr) {
            return Err(CoreError::InvalidTiers(TierProblem::RateOutOfRange { tier }));
        }
        if t.mmr >= t.imr {
            return Err(CoreError::InvalidTiers(TierProblem::MaintenanceNotBelowInitial { tier }));
        }
        if t.cap.0 <= 0 {
            return Err(CoreError::InvalidTiers(TierProblem::CapsNotIncreasing { tier }));
        }
        if i > 0 {
            let p = &tiers[i - 1];
            if t.cap <= p.cap {
                return Err(CoreError::InvalidTiers(TierProblem::CapsNotIncreasing { tier }));
            }
            if t.imr < p.imr || t.mmr < p.mmr {
                return Err(CoreError::InvalidTiers(TierProblem::RatesDecreasing { tier }));
            }
        }
    }
    Ok(())
}

/// Index of the tier a notional falls in (`cap_{k-1} < notional <= cap_k`; the last tier beyond).
pub fn tier_index(tiers: &[Tier], notional: Quote) -> usize {
    tiers.iter().position(|t| notional <= t.cap).unwrap_or(tiers.len().saturating_sub(1))
}

/// The tier amount `amount_k` at rate precision x quote (exact, not yet divided by 10^9).
fn tier_amount_scaled(tiers: &[Tier], k: usize, kind: MarginKind) -> CoreResult<i128> {
    let mut amount: i128 = 0;
    for i in 1..=k {
        let step = tiers[i].rate(kind) - tiers[i - 1].rate(kind);
        amount = amount
            .checked_add(crate::wide::mul_i64(
                tiers[i - 1].cap.0,
                i64::try_from(step).map_err(|_| CoreError::Overflow)?,
            ))
            .ok_or(CoreError::Overflow)?;
    }
    Ok(amount)
}

/// The published tier amount ("maintenance amount" / "cum"), in quote, rounded down. `k` must be
/// the index of one of the tiers.
pub fn tier_amount(tiers: &[Tier], k: usize, kind: MarginKind) -> CoreResult<Quote> {
    if k >= tiers.len() {
        return Err(CoreError::InvalidParameter("tier index out of range"));
    }
    let v = div_round(tier_amount_scaled(tiers, k, kind)?, RATE_PRECISION as i128, Round::Down)?;
    Ok(Quote(i64::try_from(v).map_err(|_| CoreError::Overflow)?))
}

/// Requirement for a notional: `ceil(notional x rate_k - amount_k)`.
pub fn requirement(tiers: &[Tier], notional: Quote, kind: MarginKind) -> CoreResult<Quote> {
    if tiers.is_empty() {
        return Err(CoreError::InvalidTiers(TierProblem::Empty));
    }
    if notional.0 <= 0 {
        return Ok(Quote::ZERO);
    }
    let k = tier_index(tiers, notional);
    let rate = i64::try_from(tiers[k].rate(kind)).map_err(|_| CoreError::Overflow)?;
    let scaled = crate::wide::mul_i64(notional.0, rate)
        .checked_sub(tier_amount_scaled(tiers, k, kind)?)
        .ok_or(CoreError::Overflow)?;
    let v = div_round(scaled, RATE_PRECISION as i128, Round::Up)?;
    Ok(Quote(i64::try_from(v).map_err(|_| CoreError::Overflow)?))
}

/// Both requirements of a notional, `(initial, maintenance)`, from one pass over the tiers
/// (equal to two calls of [`requirement`]; the health checks' hot path).
pub fn requirements(tiers: &[Tier], notional: Quote) -> CoreResult<(Quote, Quote)> {
    if tiers.is_empty() {
        return Err(CoreError::InvalidTiers(TierProblem::Empty));
    }
    if notional.0 <= 0 {
        return Ok((Quote::ZERO, Quote::ZERO));
    }
    let k = tier_index(tiers, notional);
    let (mut ai, mut am): (i128, i128) = (0, 0);
    for i in 1..=k {
        let cap = tiers[i - 1].cap.0;
        let di = tiers[i].imr.0.checked_sub(tiers[i - 1].imr.0).ok_or(CoreError::Overflow)?;
        let dm = tiers[i].mmr.0.checked_sub(tiers[i - 1].mmr.0).ok_or(CoreError::Overflow)?;
        ai = ai.checked_add(crate::wide::mul_i64(cap, di)).ok_or(CoreError::Overflow)?;
        am = am.checked_add(crate::wide::mul_i64(cap, dm)).ok_or(CoreError::Overflow)?;
    }
    let one = |rate: i64, amount: i128| -> CoreResult<Quote> {
        let scaled = crate::wide::mul_i64(notional.0, rate).checked_sub(amount).ok_or(CoreError::Overflow)?;
        let v = div_round(scaled, RATE_PRECISION as i128, Round::Up)?;
        Ok(Quote(i64::try_from(v).map_err(|_| CoreError::Overflow)?))
    };
    Ok((one(tiers[k].imr.0, ai)?, one(tiers[k].mmr.0, am)?))
}

/// The same requirement summed slice by slice (each part of the notional at its tier's rate).
/// Kept as the definition the tier-amount formula is checked against.
pub fn requirement_incremental(tiers: &[Tier], notional: Quote, kind: MarginKind) -> CoreResult<Quote> {
    let mut scaled: i128 = 0;
    let mut floor: i128 = 0;
    let n = notional.0 as i128;
    for (i, t) in tiers.iter().enumerate() {
        if n <= floor {
            break;
        }
        let top = if i + 1 == tiers.len() { n } else { n.min(t.cap.0 as i128) };
        scaled = (top - floor)
            .checked_mul(t.rate(kind))
            .and_then(|slice| scaled.checked_add(slice))
            .ok_or(CoreError::Overflow)?;
        floor = t.cap.0 as i128;
    }
    let v = div_round(scaled, RATE_PRECISION as i128, Round::Up)?;
    Ok(Quote(i64::try_from(v).map_err(|_| CoreError::Overflow)?))
}

/// A position as the risk engine sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PositionState {
    /// Signed size (long > 0).
    pub base: Base,
    /// Signed quote flow at entry: `-cost` for a long, `+proceeds` for a short.
    /// Unrealized PnL at price `p` is `base x p + quote_entry`.
    pub quote_entry: Quote,
}

impl PositionState {
    pub fn upnl(&self, mark: Price) -> CoreResult<Quote> {
        self.base.value_at(mark, Round::Down)?.checked_add(self.quote_entry)
    }
    /// Notional for requirements (rounded up).
    pub fn notional(&self, mark: Price) -> CoreResult<Quote> {
        self.base.notional_at(mark, Round::Up)
    }
    /// Entry value `|quote_entry|`.
    pub fn entry_value(&self) -> CoreResult<Quote> {
        self.quote_entry.abs()
    }
    /// Average entry price `|quote_entry| / |base|`.
    pub fn entry_price(&self) -> CoreResult<Price> {
        self.quote_entry.per_base(self.base, Round::Down)
    }
    pub fn requirement(&self, tiers: &[Tier], mark: Price, kind: MarginKind) -> CoreResult<Quote> {
        requirement(tiers, self.notional(mark)?, kind)
    }
}

/// The initial requirement of a part computed without it ([`Health::of_position_maintenance`]):
/// 2^59 raw (about 5.8e11 USDC), more than any equity, and 8 of them still fit an `i64`.
pub const NOT_COMPUTED: Quote = Quote(1 << 59);

/// Health of a margin group: one isolated position with its own collateral, or the cross part
/// of an account (cross collateral and every cross position).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Health {
    /// Collateral + unrealized PnL - funding owed.
    pub equity: Quote,
    /// Equity counting only losses (positive unrealized PnL excluded): the base for withdrawals.
    pub equity_without_profit: Quote,
    pub initial: Quote,
    pub maintenance: Quote,
    pub notional: Quote,
}

impl Health {
    pub fn new(collateral: Quote) -> Health {
        Health { equity: collateral, equity_without_profit: collateral, ..Health::default() }
    }

    /// Adds one position at `mark`, with `funding_owed` (positive = the position owes).
    pub fn add_position(
        &mut self,
        p: &PositionState,
        mark: Price,
        funding_owed: Quote,
        tiers: &[Tier],
    ) -> CoreResult<()> {
        let upnl = p.upnl(mark)?.checked_sub(funding_owed)?;
        self.equity = self.equity.checked_add(upnl)?;
        self.equity_without_profit = self.equity_without_profit.checked_add(upnl.min(Quote::ZERO))?;
        let notional = p.notional(mark)?;
        self.notional = self.notional.checked_add(notional)?;
        let (im, mm) = requirements(tiers, notional)?;
        self.initial = self.initial.checked_add(im)?;
        self.maintenance = self.maintenance.checked_add(mm)?;
        Ok(())
    }

    /// One position's part of a group's health for checks that never look at the initial
    /// requirement (maintenance, solvency, liquidation): the initial requirement is not computed
    /// and set to [`NOT_COMPUTED`], larger than any equity, so such a part can never pass an
    /// initial-margin check by mistake. Saves the initial tier computation.
    pub fn of_position_maintenance(
        p: &PositionState,
        mark: Price,
        funding_owed: Quote,
        tiers: &[Tier],
    ) -> CoreResult<Health> {
        let upnl = p.upnl(mark)?.checked_sub(funding_owed)?;
        let notional = p.notional(mark)?;
        Ok(Health {
            equity: upnl,
            equity_without_profit: upnl.min(Quote::ZERO),
            initial: NOT_COMPUTED,
            maintenance: requirement(tiers, notional, MarginKind::Maintenance)?,
            notional,
        })
    }

    /// One position's part of a group's health (no collateral), to be merged into the group's.
    pub fn of_position(p: &PositionState, mark: Price, funding_owed: Quote, tiers: &[Tier]) -> CoreResult<Health> {
        let mut h = Health::default();
        h.add_position(p, mark, funding_owed, tiers)?;
        Ok(h)
    }

    /// Adds a part computed elsewhere (e.g. a position in another market).
    pub fn merge(&mut self, o: &Health) -> CoreResult<()> {
        self.equity = self.equity.checked_add(o.equity)?;
        self.equity_without_profit = self.equity_without_profit.checked_add(o.equity_without_profit)?;
        self.initial = self.initial.checked_add(o.initial)?;
        self.maintenance = self.maintenance.checked_add(o.maintenance)?;
        self.notional = self.notional.checked_add(o.notional)?;
        Ok(())
    }

    /// Liquidatable: equity strictly below the maintenance requirement.
    pub fn is_liquidatable(&self) -> bool {
        self.equity < self.maintenance
    }

    /// Bankrupt: equity below zero.
    pub fn is_bankrupt(&self) -> bool {
        self.equity.is_negative()
    }

    /// Equity minus initial requirement (may be negative): what new positions can use.
    pub fn free_collateral(&self) -> CoreResult<Quote> {
        self.equity.checked_sub(self.initial)
    }

    /// What may leave the account: loss-only equity minus the initial requirement, at most the
    /// collateral itself, never negative.
    pub fn withdrawable(&self, collateral: Quote) -> CoreResult<Quote> {
        Ok(self.equity_without_profit.checked_sub(self.initial)?.min(collateral).max(Quote::ZERO))
    }

    /// Margin ratio as Binance defines it: `maintenance / equity` (liquidation at >= 1).
    /// `None` when equity is zero or negative (the ratio is unbounded).
    pub fn margin_ratio(&self) -> CoreResult<Option<Rate>> {
        if self.equity.0 <= 0 {
            return Ok(None);
        }
        Ok(Some(self.maintenance.ratio(self.equity, Round::Up)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const USD: i64 = 1_000_000;

    /// The seed document's illustrative table (caps in USD here): 0-50k 1%/0.5%, 50k-250k 2%/1%,
    /// 250k-1M 5%/2.5%, above 10%/5%.
    pub(crate) fn seed_tiers() -> [Tier; 4] {
        [
            Tier { cap: Quote(50_000 * USD), imr: Rate(10_000_000), mmr: Rate(5_000_000) },
            Tier { cap: Quote(250_000 * USD), imr: Rate(20_000_000), mmr: Rate(10_000_000) },
            Tier { cap: Quote(1_000_000 * USD), imr: Rate(50_000_000), mmr: Rate(25_000_000) },
            Tier { cap: UNBOUNDED, imr: Rate(100_000_000), mmr: Rate(50_000_000) },
        ]
    }

    #[test]
    fn tier_amounts_match_hand_computation() {
        let t = seed_tiers();
        // amount_1 = 50k x (1% - 0.5%) = 250; amount_2 = 250 + 250k x 1.5% = 4,000; amount_3 = 4,000 + 1M x 2.5% = 29,000
        assert_eq!(tier_amount(&t, 0, MarginKind::Maintenance).unwrap(), Quote(0));
        assert_eq!(tier_amount(&t, 1, MarginKind::Maintenance).unwrap(), Quote(250 * USD));
        assert_eq!(tier_amount(&t, 2, MarginKind::Maintenance).unwrap(), Quote(4_000 * USD));
        assert_eq!(tier_amount(&t, 3, MarginKind::Maintenance).unwrap(), Quote(29_000 * USD));
        // 300k notional: 50k x 0.5% + 200k x 1% + 50k x 2.5% = 250 + 2,000 + 1,250 = 3,500 = 300k x 2.5% - 4,000
        assert_eq!(requirement(&t, Quote(300_000 * USD), MarginKind::Maintenance).unwrap(), Quote(3_500 * USD));
        assert_eq!(requirement(&t, Quote(300_000 * USD), MarginKind::Initial).unwrap(), Quote(7_000 * USD));
        // continuous at a boundary: 50k -> 250 either side
        assert_eq!(requirement(&t, Quote(50_000 * USD), MarginKind::Maintenance).unwrap(), Quote(250 * USD));
        assert_eq!(requirement(&t, Quote(50_000 * USD + 1), MarginKind::Maintenance).unwrap(), Quote(250 * USD + 1));
    }

    #[test]
    fn binance_published_btcusdt_brackets() {
        // Binance USD-M BTCUSDT brackets as published (2023): 0-50k 0.4%/cum 0, 50k-250k 0.5%/cum 50,
        // 250k-3M 1%/cum 1,300, 3M-15M 2.5%/cum 46,300 (IMR 1/125, 1/100, 1/50, 1/20).
        let t = [
            Tier { cap: Quote(50_000 * USD), imr: Rate(8_000_000), mmr: Rate(4_000_000) },
            Tier { cap: Quote(250_000 * USD), imr: Rate(10_000_000), mmr: Rate(5_000_000) },
            Tier { cap: Quote(3_000_000 * USD), imr: Rate(20_000_000), mmr: Rate(10_000_000) },
            Tier { cap: Quote(15_000_000 * USD), imr: Rate(50_000_000), mmr: Rate(25_000_000) },
        ];
        validate_tiers(&t).unwrap();
        assert_eq!(tier_amount(&t, 1, MarginKind::Maintenance).unwrap(), Quote(50 * USD));
        assert_eq!(tier_amount(&t, 2, MarginKind::Maintenance).unwrap(), Quote(1_300 * USD));
        assert_eq!(tier_amount(&t, 3, MarginKind::Maintenance).unwrap(), Quote(46_300 * USD));
    }

    /// `tier_amount` with `k` past the last tier indexed out of bounds; `requirement_incremental`
    /// on unvalidated tiers multiplied and summed unchecked.
    #[test]
    fn regression_tier_amount_and_incremental_out_of_range() {
        let t = seed_tiers();
        assert_eq!(
            tier_amount(&t, 4, MarginKind::Initial),
            Err(CoreError::InvalidParameter("tier index out of range"))
        );
        assert_eq!(
            tier_amount(&[], 0, MarginKind::Initial),
            Err(CoreError::InvalidParameter("tier index out of range"))
        );
        let huge = [
            Tier { cap: Quote(i64::MAX), imr: Rate(i64::MAX), mmr: Rate(i64::MAX) },
            Tier { cap: Quote(i64::MIN), imr: Rate(i64::MAX), mmr: Rate(i64::MAX) },
        ];
        assert_eq!(requirement_incremental(&huge, Quote(i64::MAX), MarginKind::Initial), Err(CoreError::Overflow));
    }

    #[test]
    fn tier_validation() {
        let mut t = seed_tiers();
        validate_tiers(&t).unwrap();
        assert_eq!(validate_tiers(&[]), Err(CoreError::InvalidTiers(TierProblem::Empty)));
        t[1].cap = t[0].cap;
        assert_eq!(validate_tiers(&t), Err(CoreError::InvalidTiers(TierProblem::CapsNotIncreasing { tier: 1 })));
        let mut t = seed_tiers();
        t[2].mmr = t[2].imr;
        assert_eq!(
            validate_tiers(&t),
            Err(CoreError::InvalidTiers(TierProblem::MaintenanceNotBelowInitial { tier: 2 }))
        );
        let mut t = seed_tiers();
        t[3].imr = Rate(2 * RATE_PRECISION);
        assert_eq!(validate_tiers(&t), Err(CoreError::InvalidTiers(TierProblem::RateOutOfRange { tier: 3 })));
        let mut t = seed_tiers();
        t[1].mmr = Rate(1_000_000);
        assert_eq!(validate_tiers(&t), Err(CoreError::InvalidTiers(TierProblem::RatesDecreasing { tier: 1 })));
        assert!(validate_tiers(&[Tier::default(); 9]).is_err());
    }

    #[test]
    fn health_of_a_long() {
        let t = seed_tiers();
        // 1 BTC long from 60,000 with 6,000 collateral, mark 55,000: upnl -5,000, equity 1,000;
        // notional 55,000 is in tier 2: MM = 55,000 x 1% - 250 = 300, IM = 55,000 x 2% - 500 = 600
        let p = PositionState { base: Base(1_000_000_000), quote_entry: Quote(-60_000 * USD) };
        let mut h = Health::new(Quote(6_000 * USD));
        h.add_position(&p, Price(55_000 * 1_000_000), Quote(0), &t).unwrap();
        assert_eq!(h.equity, Quote(1_000 * USD));
        assert_eq!(h.maintenance, Quote(300 * USD));
        assert_eq!(h.initial, Quote(600 * USD));
        assert!(!h.is_liquidatable());
        assert_eq!(h.free_collateral().unwrap(), Quote(400 * USD));
        assert_eq!(h.withdrawable(Quote(6_000 * USD)).unwrap(), Quote(400 * USD));
        assert_eq!(h.margin_ratio().unwrap(), Some(Rate(300_000_000)));
        // a profit is not withdrawable: at 70,000, IM = 70,000 x 2% - 500 = 900
        let mut h = Health::new(Quote(6_000 * USD));
        h.add_position(&p, Price(70_000 * 1_000_000), Quote(0), &t).unwrap();
        assert_eq!(h.equity, Quote(16_000 * USD));
        assert_eq!(h.withdrawable(Quote(6_000 * USD)).unwrap(), Quote(5_100 * USD));
    }

    fn arb_tiers() -> impl Strategy<Value = std::vec::Vec<Tier>> {
        proptest::collection::vec((1i64..1_000_000, 1i64..50_000_000, 1i64..50_000_000), 1..=MAX_TIERS).prop_map(
            |steps| {
                let mut cap = 0i64;
                let mut mmr = 0i64;
                let mut imr = 0i64;
                let n = steps.len();
                steps
                    .iter()
                    .enumerate()
                    .map(|(i, (dc, dm, gap))| {
                        cap += dc * USD;
                        mmr = (mmr + dm).min(RATE_PRECISION / 2);
                        imr = (mmr + gap).max(imr).min(RATE_PRECISION);
                        Tier { cap: if i + 1 == n { UNBOUNDED } else { Quote(cap) }, imr: Rate(imr), mmr: Rate(mmr) }
                    })
                    .collect()
            },
        )
    }

    proptest! {
        /// The tier-amount formula equals the incremental definition for every notional, and the
        /// requirement is continuous and non-decreasing.
        #[test]
        fn tier_amount_formula_is_incremental(tiers in arb_tiers(), n in 0i64..100_000_000_000_000) {
            prop_assume!(validate_tiers(&tiers).is_ok());
            for kind in [MarginKind::Initial, MarginKind::Maintenance] {
                let a = requirement(&tiers, Quote(n), kind).unwrap();
                prop_assert_eq!(a, requirement_incremental(&tiers, Quote(n), kind).unwrap());
                let b = requirement(&tiers, Quote(n + 1), kind).unwrap();
                prop_assert!(b >= a && b.0 - a.0 <= 1, "jump at {}: {:?} -> {:?}", n, a, b);
            }
            prop_assert!(requirement(&tiers, Quote(n), MarginKind::Maintenance).unwrap() <= requirement(&tiers, Quote(n), MarginKind::Initial).unwrap());
            prop_assert_eq!(
                requirements(&tiers, Quote(n)).unwrap(),
                (requirement(&tiers, Quote(n), MarginKind::Initial).unwrap(), requirement(&tiers, Quote(n), MarginKind::Maintenance).unwrap())
            );
        }
    }
}
