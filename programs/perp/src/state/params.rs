//! Market parameters as the admin supplies them, validated with perp-core's rules.

use crate::error::PerpError;
use crate::state::{oracle_kind, Market, MAX_ORACLES};
use anchor_lang::prelude::*;
use perp_core::funding::FundingParams;
use perp_core::index::IndexConfig;
use perp_core::liquidation::LiquidationFees;
use perp_core::margin::{validate_tiers, Tier, MAX_TIERS};
use perp_core::units::RATE_PRECISION;
use perp_core::{Quote, Rate};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct OracleParams {
    pub kind: u8,
    pub key: Pubkey,
    pub feed_id: [u8; 32],
    pub weight: u64,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierParams {
    /// Notional cap, quote raw (`i64::MAX` for unbounded).
    pub cap: i64,
    pub imr: i64,
    pub mmr: i64,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct MarketParams {
    pub name: [u8; 16],
    pub oracles: Vec<OracleParams>,
    pub max_age: i64,
    pub max_conf: i64,
    pub max_deviation: i64,
    pub min_sources: u8,
    /// 0 = median, 1 = volume-weighted.
    pub index_method: u8,
    pub allow_partial_verification: bool,
    /// Guardian signatures a partially verified pull update needs (when partial updates are
    /// allowed; 13 is the Wormhole quorum).
    pub min_signatures: u8,
    pub fallback_max_age: i64,
    pub funding_interval: i64,
    pub sample_period: i64,
    pub interest: i64,
    pub funding_clamp: i64,
    /// Absolute cap on |F| per interval: mandatory, in (0, first tier's MMR].
    pub funding_cap: i64,
    /// 0 = funding basis, 1 = median(index, impact bid, impact ask).
    pub mark_method: u8,
    pub tiers: Vec<TierParams>,
    pub impact_notional: i64,
    pub max_leverage: u16,
    pub taker_fee: i64,
    pub liquidation_fee: i64,
    pub liquidator_share: i64,
    pub liquidation_buffer: i64,
    pub min_position: i64,
    /// A delegate's order must carry a limit within this fraction of the index, in (0, 0.1].
    pub delegate_band: i64,
    /// Largest age (s) of another market's cached index when withdrawing, in [1, max_age].
    pub withdraw_max_age: i64,
    /// Share of the fee pool one repeg may spend, in [0, 0.5] (0 = repegs off).
    pub repeg_budget: i64,
    /// Smallest relative gap between the vAMM's mid and the index that allows a repeg, in
    /// (0, 0.5] when repegs are on.
    pub repeg_threshold: i64,
    /// Largest `conf / price` of a used oracle source for liquidation, deficit recognition and
    /// ADL, in (0, max_conf].
    pub liquidation_max_conf: i64,
    /// Largest divergence of the index from its sources' moving averages (Pyth's EMA) at which
    /// liquidations use the live index as it is, in (0, 0.25]; beyond it they use the index or its
    /// time-weighted value, whichever favours the liquidated account.
    pub max_ema_divergence: i64,
    /// New risk only while the larger side's open interest (notional at the index) is at most this
    /// multiple of the market's insurance fund (rate, 10^9 = 1x; 0 = no bound; at most 10,000x).
    pub max_oi_per_insurance: i64,
    /// Paid by an order's owner to its filler, quote raw, in [0, 10 quote units] (reserved at
    /// placement).
    pub filler_reward: i64,
    /// Order fills average within this fraction of the index, in (0, 0.1].
    pub order_band: i64,
    /// Orders fill, and triggers fire, only while the index is within this fraction of its
    /// time-weighted value, in (0, 0.25].
    pub trigger_max_divergence: i64,
    /// Auto-deleveraging: 0 = the ranked queue, 1 = pro rata on the opposite side's positive PnL
    /// (`perp_core::haircut`). Changed only when no bankruptcy or ADL round is open.
    pub adl_policy: u8,
}

/// Largest filler reward: 10 quote units.
pub const MAX_FILLER_REWARD: i64 = 10 * perp_core::units::QUOTE_PRECISION;

/// Largest `max_age` (s): an index older than this is not a price.
pub const MAX_INDEX_AGE: i64 = 3_600;
/// Largest `fallback_max_age` (s): a cache older than this values a position at a haircut only.
pub const MAX_FALLBACK_AGE: i64 = 6 * 3_600;
/// Shortest sample period (s) with the impact-median mark (M-9: the mark follows the vAMM's
/// time-weighted impact prices, which a push held for one period moves all the way).
pub const MIN_IMPACT_MARK_PERIOD: i64 = 300;

/// Shortest funding sample period: the vAMM's impact prices are time-weighted over it.
pub const MIN_SAMPLE_PERIOD: i64 = 10;

fn bad(what: &str) -> Error {
    msg!("invalid market parameter: {}", what);
    error!(PerpError::InvalidMarketParams)
}

/// The checks every oracle set (a market's, a collateral's) passes: 1 to 8 distinct Pyth sources,
/// a quorum they can meet, the index filters perp-core accepts, an age of at most an hour.
#[allow(clippy::too_many_arguments)]
pub fn validate_oracle_set(
    oracles: &[OracleParams],
    max_age: i64,
    max_conf: i64,
    max_deviation: i64,
    min_sources: u8,
    index_method: u8,
    allow_partial_verification: bool,
    min_signatures: u8,
) -> Result<()> {
    let n = oracles.len();
    if n == 0 || n > MAX_ORACLES {
        return Err(bad("between 1 and 8 oracles"));
    }
    for (i, o) in oracles.iter().enumerate() {
        if o.kind != oracle_kind::PYTH_LEGACY && o.kind != oracle_kind::PYTH_PULL {
            return Err(bad("oracle kind must be 1 (Pyth legacy) or 2 (Pyth pull)"));
        }
        if oracles[..i].iter().any(|p| p.key == o.key) {
            return Err(bad("oracle keys must be distinct"));
        }
    }
    if min_sources as usize > n {
        return Err(bad("min_sources exceeds the number of oracles"));
    }
    if index_method == 1 && oracles.iter().any(|o| o.weight == 0) {
        return Err(bad("a volume-weighted index needs every oracle's weight > 0"));
    }
    if index_method > 1 {
        return Err(bad("index_method must be 0 or 1"));
    }
    IndexConfig {
        max_age,
        max_conf: Rate(max_conf),
        max_deviation: Rate(max_deviation),
        min_sources,
        method: perp_core::index::IndexMethod::Median,
    }
    .validate()
    .map_err(|e| bad(&format!("{e}")))?;
    if max_age > MAX_INDEX_AGE {
        return Err(bad("max_age must be at most 3,600 s"));
    }
    if allow_partial_verification && (min_signatures == 0 || min_signatures > 19) {
        return Err(bad("min_signatures must be in 1..=19 when partial verification is allowed"));
    }
    Ok(())
}

impl MarketParams {
    pub fn validate(&self) -> Result<()> {
        validate_oracle_set(
            &self.oracles,
            self.max_age,
            self.max_conf,
            self.max_deviation,
            self.min_sources,
            self.index_method,
            self.allow_partial_verification,
            self.min_signatures,
        )?;
        if self.mark_method > 1 {
            return Err(bad("mark_method must be 0 or 1"));
        }
        if self.fallback_max_age < 0 || self.fallback_max_age > MAX_FALLBACK_AGE {
            return Err(bad("fallback_max_age must be in 0 ..= 21,600 s"));
        }
        if self.funding_interval <= 0 || self.funding_interval > 7 * 86_400 {
            return Err(bad("funding_interval must be in 1 s ..= 7 days"));
        }
        if self.sample_period < MIN_SAMPLE_PERIOD || self.sample_period > self.funding_interval {
            return Err(bad("sample_period must be in 10 s ..= funding_interval"));
        }
        if self.mark_method == 1 && self.sample_period < MIN_IMPACT_MARK_PERIOD {
            return Err(bad("the impact-median mark needs sample_period >= 300 s"));
        }
        FundingParams {
            interest: Rate(self.interest),
            clamp: Rate(self.funding_clamp),
            cap: Some(Rate(self.funding_cap)),
        }
        .validate()
        .map_err(|e| bad(&format!("{e}")))?;
        if self.tiers.len() > MAX_TIERS {
            return Err(bad("at most 12 tiers"));
        }
        let tiers: Vec<Tier> =
            self.tiers.iter().map(|t| Tier { cap: Quote(t.cap), imr: Rate(t.imr), mmr: Rate(t.mmr) }).collect();
        validate_tiers(&tiers).map_err(|e| bad(&format!("{e}")))?;
        if self.max_leverage == 0 {
            return Err(bad("max_leverage must be >= 1"));
        }
        if tiers.iter().any(|t| (t.imr.0 as i128) * (self.max_leverage as i128) < RATE_PRECISION as i128) {
            return Err(bad("every tier's IMR must be at least 1 / max_leverage"));
        }
        if self.impact_notional <= 0 {
            return Err(bad("impact_notional must be > 0"));
        }
        if self.taker_fee < 0 || self.taker_fee > RATE_PRECISION / 10 {
            return Err(bad("taker_fee must be in [0, 0.1]"));
        }
        LiquidationFees { fee_rate: Rate(self.liquidation_fee), liquidator_share: Rate(self.liquidator_share) }
            .validate()
            .map_err(|e| bad(&format!("{e}")))?;
        if self.liquidation_fee >= tiers[0].mmr.0 {
            return Err(bad("liquidation_fee must be below the first tier's MMR"));
        }
        // the funding-basis mark steps by the rate at each funding event: at most 3/4 of the first
        // tier's maintenance rate (Binance's cap), so one event cannot take a position from
        // healthy to liquidatable on its own
        if self.funding_cap <= 0 || (self.funding_cap as i128) * 4 > (tiers[0].mmr.0 as i128) * 3 {
            return Err(bad("funding_cap is mandatory: in (0, 0.75 x the first tier's MMR]"));
        }
        if self.delegate_band <= 0 || self.delegate_band > RATE_PRECISION / 10 {
            return Err(bad("delegate_band must be in (0, 0.1]"));
        }
        if self.withdraw_max_age < 1 || self.withdraw_max_age > self.max_age {
            return Err(bad("withdraw_max_age must be in 1 s ..= max_age"));
        }
        if self.liquidation_buffer < 0 || self.liquidation_buffer > RATE_PRECISION {
            return Err(bad("liquidation_buffer must be in [0, 1]"));
        }
        if self.min_position < 0 || self.min_position > 1_000 * perp_core::units::BASE_PRECISION {
            return Err(bad("min_position must be in [0, 1,000 base units]"));
        }
        if self.liquidation_max_conf <= 0 || self.liquidation_max_conf > self.max_conf {
            return Err(bad("liquidation_max_conf must be in (0, max_conf]"));
        }
        if self.max_ema_divergence <= 0 || self.max_ema_divergence > RATE_PRECISION / 4 {
            return Err(bad("max_ema_divergence must be in (0, 0.25]"));
        }
        if self.max_oi_per_insurance < 0 || self.max_oi_per_insurance > 10_000 * RATE_PRECISION {
            return Err(bad("max_oi_per_insurance must be in [0, 10,000] (0 = no bound)"));
        }
        if self.filler_reward < 0 || self.filler_reward > MAX_FILLER_REWARD {
            return Err(bad("filler_reward must be in [0, 10 quote units]"));
        }
        if self.order_band <= 0 || self.order_band > RATE_PRECISION / 10 {
            return Err(bad("order_band must be in (0, 0.1]"));
        }
        if self.trigger_max_divergence <= 0 || self.trigger_max_divergence > RATE_PRECISION / 4 {
            return Err(bad("trigger_max_divergence must be in (0, 0.25]"));
        }
        if perp_core::haircut::AdlPolicy::from_u8(self.adl_policy).is_err() {
            return Err(bad("adl_policy must be 0 (ranked) or 1 (pro rata)"));
        }
        if self.repeg_budget < 0 || self.repeg_budget > RATE_PRECISION / 2 {
            return Err(bad("repeg_budget must be in [0, 0.5]"));
        }
        if self.repeg_threshold < 0
            || self.repeg_threshold > RATE_PRECISION / 2
            || (self.repeg_budget > 0 && self.repeg_threshold == 0)
        {
            return Err(bad("repeg_threshold must be in (0, 0.5] (0 only with repegs off)"));
        }
        Ok(())
    }

    /// Writes the parameters into the market (vAMM, funding state, pools are left alone).
    pub fn apply(&self, m: &mut Market) {
        m.name = self.name;
        m.oracles = Default::default();
        for (i, o) in self.oracles.iter().enumerate() {
            m.oracles[i].key = o.key;
            m.oracles[i].feed_id = o.feed_id;
            m.oracles[i].weight = o.weight;
            m.oracles[i].kind = o.kind;
        }
        m.num_oracles = self.oracles.len() as u8;
        m.max_age = self.max_age;
        m.max_conf = self.max_conf;
        m.max_deviation = self.max_deviation;
        m.min_sources = self.min_sources;
        m.index_method = self.index_method;
        m.allow_partial_verification = self.allow_partial_verification as u8;
        m.min_signatures = self.min_signatures;
        m.fallback_max_age = self.fallback_max_age;
        m.funding_interval = self.funding_interval;
        m.sample_period = self.sample_period;
        m.interest = self.interest;
        m.funding_clamp = self.funding_clamp;
        m.funding_cap = self.funding_cap;
        m.mark_method = self.mark_method;
        m.tiers = Default::default();
        for (i, t) in self.tiers.iter().enumerate() {
            m.tiers[i].cap = t.cap;
            m.tiers[i].imr = t.imr;
            m.tiers[i].mmr = t.mmr;
        }
        m.num_tiers = self.tiers.len() as u8;
        m.impact_notional = self.impact_notional;
        m.max_leverage = self.max_leverage;
        m.taker_fee = self.taker_fee;
        m.liquidation_fee = self.liquidation_fee;
        m.liquidator_share = self.liquidator_share;
        m.liquidation_buffer = self.liquidation_buffer;
        m.min_position = self.min_position;
        m.delegate_band = self.delegate_band;
        m.withdraw_max_age = self.withdraw_max_age;
        m.repeg_budget = self.repeg_budget;
        m.repeg_threshold = self.repeg_threshold;
        m.liquidation_max_conf = self.liquidation_max_conf;
        m.max_ema_divergence = self.max_ema_divergence;
        m.max_oi_per_insurance = self.max_oi_per_insurance;
        m.filler_reward = self.filler_reward;
        m.order_band = self.order_band;
        m.trigger_max_divergence = self.trigger_max_divergence;
        m.adl_policy = self.adl_policy;
    }

    /// Checks against the market's vAMM: the impact notional must stay well inside the curve's
    /// depth (at most a tenth of its quote side at the peg, so the impact prices always exist), and
    /// the minimum position must be worth less than the first tier's cap.
    pub fn validate_with_vamm(&self, vamm: &perp_core::vamm::Vamm) -> Result<()> {
        let depth = perp_core::Base(i64::try_from(vamm.base_reserve).unwrap_or(i64::MAX))
            .value_at(vamm.peg, perp_core::Round::Down)
            .map_err(|_| bad("vAMM depth out of range"))?;
        if (self.impact_notional as i128) * 10 > depth.0 as i128 {
            msg!("impact_notional {} > a tenth of the vAMM's depth {}", Quote(self.impact_notional), depth);
            return Err(bad("impact_notional must be at most a tenth of the vAMM's depth"));
        }
        let min_value = perp_core::Base(self.min_position)
            .value_at(vamm.peg, perp_core::Round::Up)
            .map_err(|_| bad("min_position out of range"))?;
        if let Some(t) = self.tiers.first() {
            if min_value.0 > t.cap {
                return Err(bad("min_position must be worth less than the first tier's cap"));
            }
        }
        Ok(())
    }

    /// The parameters a market holds now (the inverse of [`MarketParams::apply`]).
    pub fn from_market(m: &Market) -> MarketParams {
        let oracles = m.oracles[..m.oracle_count()]
            .iter()
            .map(|o| OracleParams { kind: o.kind, key: o.key, feed_id: o.feed_id, weight: o.weight })
            .collect();
        let tiers =
            m.tiers[..m.tier_count()].iter().map(|t| TierParams { cap: t.cap, imr: t.imr, mmr: t.mmr }).collect();
        MarketParams {
            name: m.name,
            oracles,
            max_age: m.max_age,
            max_conf: m.max_conf,
            max_deviation: m.max_deviation,
            min_sources: m.min_sources,
            index_method: m.index_method,
            allow_partial_verification: m.allow_partial_verification != 0,
            min_signatures: m.min_signatures,
            fallback_max_age: m.fallback_max_age,
            funding_interval: m.funding_interval,
            sample_period: m.sample_period,
            interest: m.interest,
            funding_clamp: m.funding_clamp,
            funding_cap: m.funding_cap,
            mark_method: m.mark_method,
            tiers,
            impact_notional: m.impact_notional,
            max_leverage: m.max_leverage,
            taker_fee: m.taker_fee,
            liquidation_fee: m.liquidation_fee,
            liquidator_share: m.liquidator_share,
            liquidation_buffer: m.liquidation_buffer,
            min_position: m.min_position,
            delegate_band: m.delegate_band,
            withdraw_max_age: m.withdraw_max_age,
            repeg_budget: m.repeg_budget,
            repeg_threshold: m.repeg_threshold,
            liquidation_max_conf: m.liquidation_max_conf,
            max_ema_divergence: m.max_ema_divergence,
            max_oi_per_insurance: m.max_oi_per_insurance,
            filler_reward: m.filler_reward,
            order_band: m.order_band,
            trigger_max_divergence: m.trigger_max_divergence,
            adl_policy: m.adl_policy,
        }
    }

    /// True when replacing `current` by these parameters only tightens new risk: initial margin
    /// rates raised (each at most doubled, and never beyond four times the tier's maintenance
    /// rate nor 50%: maintenance rates change only through the timelock, so a chain of instant
    /// changes in one transaction stops there too), the maximum leverage lowered, and/or
    /// repegs cut back (budget lowered, threshold raised), everything else (oracles, filters,
    /// funding, maintenance rates, caps, fees) unchanged. Such a change applies at once; any
    /// other change must go through the timelock. (Raising a maintenance rate is not instant: it
    /// would make existing positions liquidatable at once.)
    pub fn only_tightens(&self, current: &MarketParams) -> bool {
        if self.tiers.len() != current.tiers.len() || self.max_leverage > current.max_leverage {
            return false;
        }
        // raised, but at most doubled and at most 50%: an instant change cannot make margin
        // (a liquidator's included) unobtainable
        let bounded = |n: &TierParams, c: &TierParams| {
            n.imr >= c.imr
                && n.imr <= c.imr.saturating_mul(2)
                && n.imr <= RATE_PRECISION / 2
                && n.imr <= c.mmr.saturating_mul(4)
        };
        if !self.tiers.iter().zip(&current.tiers).all(|(n, c)| n.imr == c.imr || bounded(n, c)) {
            return false;
        }
        let mut relaxed = self.clone();
        relaxed.max_leverage = current.max_leverage;
        // repegs may be cut back or stopped at once (budget down, threshold up)
        if self.repeg_budget <= current.repeg_budget {
            relaxed.repeg_budget = current.repeg_budget;
        }
        if self.repeg_threshold >= current.repeg_threshold {
            relaxed.repeg_threshold = current.repeg_threshold;
        }
        for (n, c) in relaxed.tiers.iter_mut().zip(&current.tiers) {
            n.imr = c.imr;
        }
        relaxed == *current
    }
}
