//! The collateral registry: mints other than the settlement mint that count as cross margin.
//!
//! Each listed mint has its own account (`[COLLATERAL_SEED, index]`, indices 1, 2, ... in listing
//! order; 0 is the settlement mint) and its own vault (`[MINT_VAULT_SEED, index]`), an oracle set
//! read by the same median-index rules as markets, weights, a size discount, a deposit cap and a
//! status. Listing and every loosening go through the timelocked proposals; the admin may tighten
//! some of them at once (`tighten_collateral`).

use super::params::{validate_oracle_set, OracleParams};
use super::{OracleSource, MAX_ORACLES};
use crate::error::PerpError;
use anchor_lang::prelude::*;
use core::mem::size_of;
use perp_core::collateral::{CollateralRisk, SaleTerms};
use perp_core::index::{IndexConfig, IndexMethod};
use perp_core::units::RATE_PRECISION;
use perp_core::{Price, Rate};

pub const COLLATERAL_SEED: &[u8] = b"collateral";
pub const MINT_VAULT_SEED: &[u8] = b"mint_vault";
/// Mints the exchange may list besides the settlement mint. Each is an account a margin check
/// reads, so the bound keeps the accounts of a transaction bounded; 8 covers the assets traders
/// post on Solana perps today (SOL, its liquid staking tokens, wBTC, wETH, a second and third
/// stablecoin) with room for one more.
pub const MAX_COLLATERALS: u16 = 8;
/// Listed mints one margin account may hold at once (each a slot of 16 bytes and an account every
/// margin check of the account reads: the compute budget of a trade grows with them).
pub const MAX_ACCOUNT_COLLATERALS: usize = 4;
/// A collateral liquidation sells until the account's equity reaches its maintenance requirement
/// times `1 + this` (10%), as a partial takeover must.
pub const COLLATERAL_TARGET_BUFFER: i64 = RATE_PRECISION / 10;

pub mod collateral_status {
    /// Deposits, withdrawals; counts for initial and maintenance margin.
    pub const ACTIVE: u8 = 0;
    /// No new deposits; still counts for both.
    pub const REDUCE_ONLY: u8 = 1;
    /// No new deposits and nothing for initial margin (it backs no new risk and no withdrawal of
    /// another asset); still counts for maintenance, so nobody is liquidated by the change.
    pub const WITHDRAW_ONLY: u8 = 2;
}

#[account(zero_copy)]
#[derive(Debug)]
pub struct Collateral {
    pub mint: Pubkey,
    /// The PDA token account holding every account's balance of this mint.
    pub vault: Pubkey,
    pub oracles: [OracleSource; MAX_ORACLES],
    pub max_age: i64,
    pub max_conf: i64,
    pub max_deviation: i64,
    /// Window (s) of the time-weighted price initial margin uses.
    pub sample_period: i64,
    pub initial_weight: i64,
    pub maintenance_weight: i64,
    /// Size discount factor per `sqrt(value in whole quote units)` (`perp_core::collateral`).
    pub imf: i64,
    /// A liquidated account sells at `price x (1 - discount)`.
    pub liquidation_discount: i64,
    /// Share of the discount the liquidator keeps; the rest goes to the insurance fund.
    pub liquidator_share: i64,
    /// Largest sum of all accounts' balances (raw tokens).
    pub deposit_cap: u64,
    /// Sum of all accounts' balances (raw tokens): what the vault holds.
    pub total_deposits: u64,
    /// Cached index (quote per whole token, 10^-6), refreshed by `refresh_collateral`.
    pub last_price: u64,
    /// Publish time of the oldest reading behind the cached price.
    pub last_price_time: i64,
    pub last_price_slot: u64,
    pub price_twap: u64,
    pub price_twap_time: i64,
    pub params_version: u32,
    pub collateral_index: u16,
    pub decimals: u8,
    pub status: u8,
    pub num_oracles: u8,
    pub min_sources: u8,
    pub index_method: u8,
    pub allow_partial_verification: u8,
    pub min_signatures: u8,
    pub bump: u8,
    pub vault_bump: u8,
    pub _pad: [u8; 1],
    /// The market whose insurance fund takes this collateral's liquidation share and covers a
    /// debt its sale leaves behind.
    pub insurance_market: u16,
    pub _pad2: [u8; 6],
    /// Its symbol, as clients show it (e.g. "SOL"), zero-padded.
    pub name: [u8; 16],
    pub _reserved: [u8; 104],
}

pub const COLLATERAL_SIZE: usize = 976;
const _: () = assert!(size_of::<Collateral>() == COLLATERAL_SIZE);

/// A listed mint's parameters as the admin proposes them.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct CollateralParams {
    /// Its symbol (e.g. "SOL"), zero-padded.
    pub name: [u8; 16],
    pub oracles: Vec<OracleParams>,
    pub max_age: i64,
    pub max_conf: i64,
    pub max_deviation: i64,
    pub min_sources: u8,
    /// 0 = median, 1 = volume-weighted.
    pub index_method: u8,
    pub allow_partial_verification: bool,
    pub min_signatures: u8,
    /// Window (s) of the time-weighted price, in [10 s, 1 day].
    pub sample_period: i64,
    /// In [0, maintenance_weight].
    pub initial_weight: i64,
    /// In [initial_weight, 0.98], and `maintenance_weight + liquidation_discount <= 0.99`.
    pub maintenance_weight: i64,
    /// In [0, 0.01] per sqrt(quote unit).
    pub imf: i64,
    /// In (0, 0.2].
    pub liquidation_discount: i64,
    /// In [0, 1].
    pub liquidator_share: i64,
    /// Raw tokens.
    pub deposit_cap: u64,
    pub status: u8,
    /// The market whose insurance fund backs this collateral (an existing market).
    pub insurance_market: u16,
}

fn bad(what: &str) -> Error {
    msg!("invalid collateral parameter: {}", what);
    error!(PerpError::InvalidCollateralParams)
}

impl CollateralParams {
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
        )
        .inspect_err(|_| msg!("in the collateral's oracle set"))?;
        let r = RATE_PRECISION;
        if self.sample_period < 10 || self.sample_period > 86_400 {
            return Err(bad("sample_period must be in [10 s, 1 day]"));
        }
        if self.maintenance_weight < 0 || self.maintenance_weight > r / 100 * 98 {
            return Err(bad("maintenance_weight must be in [0, 0.98]"));
        }
        if self.initial_weight < 0 || self.initial_weight > self.maintenance_weight {
            return Err(bad("initial_weight must be in [0, maintenance_weight]"));
        }
        if self.imf < 0 || self.imf > r / 100 {
            return Err(bad("imf must be in [0, 0.01]"));
        }
        if self.liquidation_discount <= 0 || self.liquidation_discount > r / 5 {
            return Err(bad("liquidation_discount must be in (0, 0.2]"));
        }
        // each token sold must raise the account's equity: price x (1 - discount - weight) > 0
        if self.maintenance_weight + self.liquidation_discount > r / 100 * 99 {
            return Err(bad("maintenance_weight + liquidation_discount must be at most 0.99"));
        }
        if self.liquidator_share < 0 || self.liquidator_share > r {
            return Err(bad("liquidator_share must be in [0, 1]"));
        }
        if self.status > collateral_status::WITHDRAW_ONLY {
            return Err(bad("status must be 0 (active), 1 (reduce-only) or 2 (withdraw-only)"));
        }
        Ok(())
    }

    /// Writes the parameters (never the mint, vault, balances or cached price).
    pub fn apply(&self, c: &mut Collateral) {
        c.name = self.name;
        c.oracles = Default::default();
        for (i, o) in self.oracles.iter().enumerate() {
            c.oracles[i] =
                OracleSource { key: o.key, feed_id: o.feed_id, weight: o.weight, kind: o.kind, _pad: [0; 7] };
        }
        c.num_oracles = self.oracles.len() as u8;
        c.max_age = self.max_age;
        c.max_conf = self.max_conf;
        c.max_deviation = self.max_deviation;
        c.min_sources = self.min_sources;
        c.index_method = self.index_method;
        c.allow_partial_verification = self.allow_partial_verification as u8;
        c.min_signatures = self.min_signatures;
        c.sample_period = self.sample_period;
        c.initial_weight = self.initial_weight;
        c.maintenance_weight = self.maintenance_weight;
        c.imf = self.imf;
        c.liquidation_discount = self.liquidation_discount;
        c.liquidator_share = self.liquidator_share;
        c.deposit_cap = self.deposit_cap;
        c.status = self.status;
        c.insurance_market = self.insurance_market;
    }

    /// Checks what needs the exchange: the insurance market exists.
    pub fn validate_with(&self, ex: &crate::state::Exchange) -> Result<()> {
        if self.insurance_market >= ex.market_count {
            return Err(bad("insurance_market must be an existing market"));
        }
        Ok(())
    }
}

/// What the admin may change at once, without the timelock: each only ever toward safety. The
/// maintenance weight is not among them: lowering it instantly would make accounts liquidatable
/// at the stroke of a stolen key (the liquidator's discount its prize).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct CollateralTightening {
    /// At most the current value.
    pub initial_weight: i64,
    /// At least the current value (at most 0.01).
    pub imf: i64,
    /// At most the current value.
    pub deposit_cap: u64,
    /// At least as strict as the current one (active < reduce-only < withdraw-only).
    pub status: u8,
}

impl Collateral {
    /// The symbol without its zero padding.
    pub fn name_str(&self) -> &str {
        let n = self.name.iter().position(|b| *b == 0).unwrap_or(self.name.len());
        core::str::from_utf8(&self.name[..n]).unwrap_or("")
    }

    pub fn index_config(&self) -> IndexConfig {
        IndexConfig {
            max_age: self.max_age,
            max_conf: Rate(self.max_conf),
            max_deviation: Rate(self.max_deviation),
            min_sources: self.min_sources,
            method: if self.index_method == 1 { IndexMethod::VolumeWeighted } else { IndexMethod::Median },
        }
    }

    pub fn oracle_count(&self) -> usize {
        (self.num_oracles as usize).min(MAX_ORACLES)
    }

    pub fn partial_min_signatures(&self) -> Option<u8> {
        (self.allow_partial_verification != 0).then_some(self.min_signatures.max(1))
    }

    pub fn risk(&self) -> CollateralRisk {
        CollateralRisk {
            decimals: self.decimals,
            initial_weight: Rate(self.initial_weight),
            maintenance_weight: Rate(self.maintenance_weight),
            imf: Rate(self.imf),
        }
    }

    pub fn sale_terms(&self, price: Price, value_price: Price) -> SaleTerms {
        SaleTerms {
            price,
            value_price,
            decimals: self.decimals,
            maintenance_weight: Rate(self.maintenance_weight),
            discount: Rate(self.liquidation_discount),
            liquidator_share: Rate(self.liquidator_share),
        }
    }

    /// Caches a fresh index, bringing the time-weighted price up to `now` first (as markets do).
    pub fn cache_price(&mut self, price: Price, oldest_publish: i64, now: i64, slot: u64) -> Result<()> {
        if self.last_price > 0 {
            self.price_twap = self.twap_now(now)?.0;
            self.price_twap_time = now.max(self.price_twap_time);
        } else {
            self.price_twap = price.0;
            self.price_twap_time = now;
        }
        self.last_price = price.0;
        self.last_price_time = oldest_publish.min(now);
        self.last_price_slot = slot;
        Ok(())
    }

    /// The time-weighted price as of `now` (the cached price has held since the last update).
    pub fn twap_now(&self, now: i64) -> Result<Price> {
        if self.price_twap == 0 {
            return Ok(Price(self.last_price));
        }
        let elapsed = now.saturating_sub(self.price_twap_time);
        if elapsed <= 0 || self.price_twap == self.last_price {
            return Ok(Price(self.price_twap));
        }
        perp_core::twap::twap_update(Price(self.price_twap), Price(self.last_price), elapsed, self.sample_period.max(1))
            .map_err(crate::error::core_error)
    }

    /// Applies an instant tightening, refusing anything that loosens.
    pub fn tighten(&mut self, t: &CollateralTightening) -> Result<()> {
        if t.initial_weight < 0 || t.initial_weight > self.initial_weight {
            return Err(bad("an instant change may only lower initial_weight (raise it by proposal)"));
        }
        if t.imf < self.imf || t.imf > RATE_PRECISION / 100 {
            return Err(bad("an instant change may only raise imf, up to 0.01"));
        }
        if t.deposit_cap > self.deposit_cap {
            return Err(bad("an instant change may only lower deposit_cap"));
        }
        if t.status < self.status || t.status > collateral_status::WITHDRAW_ONLY {
            return Err(bad("an instant change may only make the status stricter"));
        }
        self.initial_weight = t.initial_weight;
        self.imf = t.imf;
        self.deposit_cap = t.deposit_cap;
        self.status = t.status;
        self.params_version = self.params_version.wrapping_add(1);
        Ok(())
    }
}
