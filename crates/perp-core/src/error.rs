//! The one error type of the risk engine. Each variant says what an operator or trader can do.

use core::fmt;

/// Why a source was excluded from the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// `age > max_age` (seconds), or a publish time in the future beyond tolerance.
    Stale { age: i64, max_age: i64 },
    /// `conf / price > max_conf` (rates in 10^-9).
    LowConfidence { conf_ratio: i64, max_conf: i64 },
    /// `|price - median| / median > max_deviation` (rates in 10^-9).
    Outlier { deviation: i64, max_deviation: i64 },
    /// The source reported no usable price (zero/negative, not trading, unreadable account).
    Invalid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoreError {
    /// A checked operation would overflow its integer type.
    Overflow,
    DivisionByZero,
    /// A price computed or supplied is negative or zero.
    NegativePrice,
    /// A decimal number could not be read.
    Parse,
    /// A decimal number has more decimal places than the quantity's precision.
    TooPrecise {
        decimals: u32,
    },
    /// Fewer index sources survived the filters than the market requires.
    TooFewSources {
        valid: u8,
        required: u8,
        stale: u8,
        low_confidence: u8,
        outliers: u8,
        invalid: u8,
    },
    /// More sources supplied than the engine handles ([`crate::index::MAX_SOURCES`]).
    TooManySources,
    /// Volume-weighted index requested but every surviving source has zero weight.
    ZeroTotalWeight,
    /// Margin tiers are empty, not strictly increasing, or have MMR >= IMR / rates out of (0, 1].
    InvalidTiers(TierProblem),
    /// A configuration parameter is out of its allowed range; the string names it.
    InvalidParameter(&'static str),
    /// The trade size is zero.
    ZeroSize,
    /// The vAMM cannot fill this size (it would exhaust the base reserve).
    InsufficientLiquidity,
    /// The position is not liquidatable, or no liquidation price exists in range.
    NoLiquidationPrice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TierProblem {
    Empty,
    TooMany,
    CapsNotIncreasing { tier: u8 },
    MaintenanceNotBelowInitial { tier: u8 },
    RateOutOfRange { tier: u8 },
    RatesDecreasing { tier: u8 },
    LastCapNotUnbounded,
}

pub type CoreResult<T> = Result<T, CoreError>;

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::units::Decimal;
        match *self {
            DropReason::Stale { age, max_age } if age < 0 => {
                write!(
                    f,
                    "published {} s in the future (more than {} s ahead; max age {} s)",
                    age.unsigned_abs(),
                    crate::index::MAX_FUTURE_SKEW,
                    max_age
                )
            }
            DropReason::Stale { age, max_age } => {
                write!(f, "stale: age {} s > max {} s", age, max_age)
            }
            DropReason::LowConfidence { conf_ratio, max_conf } => write!(
                f,
                "low confidence: conf/price {} > max {}",
                Decimal::new(conf_ratio as i128, 9),
                Decimal::new(max_conf as i128, 9)
            ),
            DropReason::Outlier { deviation, max_deviation } => write!(
                f,
                "outlier: deviation from median {} > max {}",
                Decimal::new(deviation as i128, 9),
                Decimal::new(max_deviation as i128, 9)
            ),
            DropReason::Invalid => write!(f, "invalid: no usable price"),
        }
    }
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CoreError::Overflow => write!(f, "arithmetic overflow: an amount is out of range"),
            CoreError::DivisionByZero => write!(f, "division by zero: a divisor (size, price or weight) is zero"),
            CoreError::NegativePrice => write!(f, "price must be positive"),
            CoreError::Parse => write!(f, "not a decimal number"),
            CoreError::TooPrecise { decimals } => {
                write!(f, "too many decimal places: at most {} allowed", decimals)
            }
            CoreError::TooFewSources { valid, required, stale, low_confidence, outliers, invalid } => write!(
                f,
                "too few index sources: {} valid < {} required (dropped: {} stale, {} low confidence, {} outliers, {} invalid)",
                valid, required, stale, low_confidence, outliers, invalid
            ),
            CoreError::TooManySources => write!(f, "too many index sources (max {})", crate::index::MAX_SOURCES),
            CoreError::ZeroTotalWeight => write!(f, "volume-weighted index: every surviving source has zero weight"),
            CoreError::InvalidTiers(p) => write!(f, "invalid margin tiers: {}", p),
            CoreError::InvalidParameter(name) => write!(f, "invalid parameter: {}", name),
            CoreError::ZeroSize => write!(f, "size must not be zero"),
            CoreError::InsufficientLiquidity => write!(f, "the vAMM cannot fill this size"),
            CoreError::NoLiquidationPrice => write!(f, "no liquidation price in range"),
        }
    }
}

impl fmt::Display for TierProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TierProblem::Empty => write!(f, "no tiers given"),
            TierProblem::TooMany => write!(f, "more than {} tiers", crate::margin::MAX_TIERS),
            TierProblem::CapsNotIncreasing { tier } => {
                write!(f, "tier {} cap is not above the previous cap", tier)
            }
            TierProblem::MaintenanceNotBelowInitial { tier } => {
                write!(f, "tier {} maintenance rate is not below its initial rate", tier)
            }
            TierProblem::RateOutOfRange { tier } => {
                write!(f, "tier {} rate is not in (0, 1]", tier)
            }
            TierProblem::RatesDecreasing { tier } => {
                write!(f, "tier {} rates are lower than the previous tier's", tier)
            }
            TierProblem::LastCapNotUnbounded => {
                write!(f, "the last tier's cap must be unbounded (inf)")
            }
        }
    }
}
