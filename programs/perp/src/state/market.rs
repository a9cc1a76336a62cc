//! A perpetual market: oracle set and index filters, vAMM, funding state, margin tiers, fees,
//! open interest and the market's PnL and fee pools.

use super::wide::{WideI128, WideU128};
use crate::error::{CoreResultExt, PerpError};
use anchor_lang::prelude::*;
use core::mem::size_of;
use perp_core::funding::{FundingIndices, FundingParams};
use perp_core::index::{IndexConfig, IndexMethod};
use perp_core::liquidation::LiquidationFees;
use perp_core::margin::{Tier, MAX_TIERS};
use perp_core::mark::MarkMethod;
use perp_core::twap::ImpactTwap;
use perp_core::vamm::Vamm;
use perp_core::{Base, FundingIndex, Price, Quote, Rate, Round};

pub const MARKET_SEED: &[u8] = b"market";
pub const MAX_ORACLES: usize = 8;

/// Oracle account kinds.
pub mod oracle_kind {
    pub const NONE: u8 = 0;
    /// Legacy Pyth v2 push price account (owner: the Pyth oracle program).
    pub const PYTH_LEGACY: u8 = 1;
    /// Pyth pull-oracle `PriceUpdateV2` account (owner: the Pyth receiver program).
    pub const PYTH_PULL: u8 = 2;
}

/// Market status.
pub mod market_status {
    pub const ACTIVE: u8 = 0;
    /// Only trades that reduce a position.
    pub const REDUCE_ONLY: u8 = 1;
    /// No new risk, no liquidation and no auto-deleveraging while in force (at most
    /// [`crate::state::MAX_PAUSE`] seconds, then it acts as reduce-only); closing positions,
    /// funding, settlement, deposits and withdrawals always work.
    pub const PAUSED: u8 = 2;
}

#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct OracleSource {
    pub key: Pubkey,
    /// Pyth feed id (pull accounts); ignored for legacy accounts.
    pub feed_id: [u8; 32],
    /// Weight for the volume-weighted index method.
    pub weight: u64,
    pub kind: u8,
    pub _pad: [u8; 7],
}

#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct TierData {
    /// Notional cap in quote raw units (`i64::MAX` = unbounded).
    pub cap: i64,
    pub imr: i64,
    pub mmr: i64,
}

#[account(zero_copy)]
#[derive(Debug)]
pub struct Market {
    pub name: [u8; 16],
    pub oracles: [OracleSource; MAX_ORACLES],
    pub tiers: [TierData; MAX_TIERS],

    // vAMM
    pub base_reserve: WideU128,
    pub k: WideU128,
    pub peg: u64,

    // index
    pub max_age: i64,
    pub max_conf: i64,
    pub max_deviation: i64,
    /// How old the last valid index may be for risk-reducing instructions when too few sources
    /// survive (seconds).
    pub fallback_max_age: i64,
    pub last_index: u64,
    /// Publish time of the oldest reading behind `last_index` (not the time it was cached).
    pub last_index_time: i64,

    // funding
    pub funding_interval: i64,
    pub sample_period: i64,
    pub interest: i64,
    pub funding_clamp: i64,
    /// Absolute cap on |F| per interval (mandatory, at most the first tier's MMR).
    pub funding_cap: i64,
    pub premium_sum: WideI128,
    pub premium_seconds: i64,
    pub last_sample_time: i64,
    pub next_funding_time: i64,
    pub last_funding_rate: i64,
    pub last_funding_time: i64,
    pub cum_funding_long: WideI128,
    pub cum_funding_short: WideI128,

    // the vAMM's impact prices, time-weighted over `sample_period` (perp_core::twap)
    pub twap_bid: u64,
    pub twap_ask: u64,
    pub twap_time: i64,

    // risk parameters
    pub impact_notional: i64,
    pub taker_fee: i64,
    pub liquidation_fee: i64,
    pub liquidator_share: i64,
    /// Partial liquidation must leave equity >= maintenance x (1 + buffer).
    pub liquidation_buffer: i64,
    /// Positions (and remainders) smaller than this base size are closed in full.
    pub min_position: i64,
    /// A delegate's order needs a limit price within this fraction of the index.
    pub delegate_band: i64,
    /// Largest age (s) of another market's cached index when the account withdraws.
    pub withdraw_max_age: i64,

    // open interest and pools (quote raw)
    pub oi_long: i64,
    pub oi_short: i64,
    /// Realized PnL and funding settle against this pool (signed: negative means traders have
    /// realized more than they have paid in so far; backed by open positions' unrealized losses).
    pub pnl_pool: i64,
    /// Trading fees (after the insurance share) and the vAMM's funding share; never negative.
    pub fee_pool: i64,
    pub total_fees: i64,
    pub total_volume: WideU128,
    /// Bad debt socialized over this market's open interest (lifetime).
    pub socialized_loss: i64,
    /// Bad debt beyond the per-position cap and the fee pool, left in the PnL pool (lifetime).
    pub unbacked_loss: i64,

    // this market's share of the insurance fund (held in the insurance vault)
    /// The market's insurance ledger: what the insurance fund holds for this market.
    pub insurance_fund: i64,
    /// Tokens owed between the vaults, moved by `sweep_insurance`: positive = fees sitting in the
    /// collateral vault that belong to the insurance vault; negative = draws already credited to
    /// accounts that the insurance vault still has to send to the collateral vault.
    pub insurance_pending: i64,
    pub insurance_total_in: u64,
    pub insurance_total_out: u64,

    // auto-deleveraging
    /// Rounds opened on this market so far (the next round is this + 1).
    pub adl_round_counter: u64,
    /// The ADL round open on this market (0 = none).
    pub adl_round: u64,
    /// While `status` is PAUSED: when the pause lapses (status then acts as reduce-only).
    pub paused_until: i64,
    /// No new pause of this market may begin before this time.
    pub pause_cooldown_until: i64,

    pub open_positions_long: u32,
    pub open_positions_short: u32,
    /// Accounts with a bankrupt position in this market (new risk pauses while > 0).
    pub bankrupt_accounts: u32,
    /// Distinct counterparty-side positions counted by the open round's scans (kept equal to the
    /// number of those positions still open: a counted position that closes is uncounted).
    pub adl_scanned: u32,
    /// Bumped by every parameter change: a proposal made against older parameters cannot run.
    pub params_version: u32,
    pub market_index: u16,
    pub max_leverage: u16,
    pub num_oracles: u8,
    pub num_tiers: u8,
    pub min_sources: u8,
    pub index_method: u8,
    pub mark_method: u8,
    pub status: u8,
    /// Accept partially verified pull updates with at least `min_signatures` guardian signatures
    /// (otherwise `Full` is required).
    pub allow_partial_verification: u8,
    pub min_signatures: u8,
    pub bump: u8,
    /// Counterparty side of the open round: 1 = longs, 2 = shorts.
    pub adl_side: u8,
    pub _pad1: [u8; 6],
    /// Share of the fee pool one repeg may spend (rate; 0 = repegs off).
    pub repeg_budget: i64,
    /// Smallest |vAMM mid - index| / index at which a repeg may run (rate).
    pub repeg_threshold: i64,
    pub last_repeg_time: i64,
    /// Lifetime fee-pool spending on repegs (negative: repegs earned the pool more than they cost).
    pub total_repeg_cost: i64,
    /// Repeg spending is budgeted per funding interval: the window's start, what it may spend
    /// (`repeg_budget` x the fee pool when it opened) and what it has spent.
    pub repeg_window_start: i64,
    pub repeg_window_budget: i64,
    pub repeg_window_spent: i64,

    // oracle guard rails for liquidation, deficit recognition and ADL (parameters)
    /// Largest `conf / price` of any used oracle source (rate).
    pub liquidation_max_conf: i64,
    /// Largest `|index - EMA| / EMA` (the sources' own moving averages) at which the live index is
    /// used as it is; beyond it, the index and its time-weighted value are taken, whichever favours
    /// the account being liquidated (rate).
    pub max_ema_divergence: i64,
    /// Largest open interest (the larger side's notional at the index) per unit of this market's
    /// insurance fund, for new risk (rate; 0 = no bound).
    pub max_oi_per_insurance: i64,

    /// The cached index time-weighted over `sample_period` (perp_core::twap): a new print has no
    /// weight in its own second.
    pub index_twap: u64,
    pub index_twap_time: i64,
    /// Slot of the last refresh of the cached index from a live reading.
    pub last_index_slot: u64,
    /// Unbacked loss not yet repaid: insurance deposits and profits realized in this market repay
    /// it first, and no new risk is taken here while it is positive.
    pub unbacked_outstanding: i64,
    /// Socialized charge per unit of base already put on each side in the open bankruptcy episode
    /// (funding-index units); the episode ends, and these reset, when no bankrupt account is left.
    pub episode_social_long: WideI128,
    pub episode_social_short: WideI128,
    /// Bankrupt long and short positions open (their sum is `bankrupt_accounts` when each account
    /// holds one): while a side has one, the other side's profit is held for ADL.
    pub bankrupt_long: u16,
    pub bankrupt_short: u16,
    pub _pad2: [u8; 4],
    // resting orders (perp_core::orders)
    /// Paid by an order's owner to whoever fills it (or cancels it expired or unfillable), quote
    /// raw; reserved when the order is placed.
    pub filler_reward: i64,
    /// An order's average fill stays within this fraction of the index (rate; 0 = orders off).
    pub order_band: i64,
    /// An order fills, and a trigger fires, only while the index is within this fraction of its
    /// time-weighted value (rate).
    pub trigger_max_divergence: i64,
    /// Sequence number of the last event of this market's stream (`events::Stream::Market`).
    pub event_seq: u64,
    // pro-rata auto-deleveraging (perp_core::haircut): one pool per counterparty side, 0 = longs,
    // 1 = shorts
    /// The pool's haircut index (fraction of stamped profit owed, 10^18 = all of it).
    pub haircut_index: [WideI128; 2],
    /// The side's pool before the current one (positions stamped then settle against it until
    /// the next scan restamps them).
    pub haircut_prev_index: [WideI128; 2],
    /// Profit stamped in the current pool and still held (quote raw): what the next deficit is
    /// spread over.
    pub haircut_profit: [i64; 2],
    /// Lifetime deficit the pools took, and what accounts have paid of it (quote raw).
    pub haircut_absorbed: i64,
    pub haircut_collected: i64,
    /// ADL round of each side's current and previous pool.
    pub haircut_round: [u32; 2],
    pub haircut_prev_round: [u32; 2],
    /// `perp_core::haircut::AdlPolicy`: 0 = ranked queue, 1 = pro rata on positive PnL.
    pub adl_policy: u8,
    pub _pad3: [u8; 7],
    pub _reserved: [u8; 96],
}

pub const MARKET_SIZE: usize = 1824;
const _: () = assert!(size_of::<TierData>() == size_of::<Tier>());
const _: () = assert!(core::mem::align_of::<TierData>() == core::mem::align_of::<Tier>());
const _: () = assert!(core::mem::offset_of!(TierData, imr) == core::mem::offset_of!(Tier, imr));
const _: () = assert!(core::mem::offset_of!(TierData, mmr) == core::mem::offset_of!(Tier, mmr));
const _: () = assert!(size_of::<Market>() == MARKET_SIZE);

impl Market {
    pub fn index_config(&self) -> IndexConfig {
        IndexConfig {
            max_age: self.max_age,
            max_conf: Rate(self.max_conf),
            max_deviation: Rate(self.max_deviation),
            min_sources: self.min_sources,
            method: if self.index_method == 1 { IndexMethod::VolumeWeighted } else { IndexMethod::Median },
        }
    }

    pub fn mark_method(&self) -> MarkMethod {
        if self.mark_method == 1 {
            MarkMethod::ImpactMedian
        } else {
            MarkMethod::FundingBasis
        }
    }

    pub fn funding_params(&self) -> FundingParams {
        FundingParams {
            interest: Rate(self.interest),
            clamp: Rate(self.funding_clamp),
            cap: Some(Rate(self.funding_cap)),
        }
    }

    /// The pull-oracle verification the market accepts: `None` = full only, `Some(n)` = partial
    /// with at least `n` guardian signatures.
    pub fn partial_min_signatures(&self) -> Option<u8> {
        (self.allow_partial_verification != 0).then_some(self.min_signatures.max(1))
    }

    /// True while the admin's pause of this market is in force (it lapses at `paused_until`).
    pub fn is_paused(&self, now: i64) -> bool {
        self.status == market_status::PAUSED && now < self.paused_until
    }

    /// True when only risk-reducing orders are accepted (reduce-only, or paused, in force or lapsed).
    pub fn is_reduce_only(&self) -> bool {
        self.status == market_status::REDUCE_ONLY || self.status == market_status::PAUSED
    }

    /// The time-weighted impact prices as stored (brought up to date by `engine::prices`).
    pub fn stored_twap(&self) -> ImpactTwap {
        ImpactTwap { bid: Price(self.twap_bid), ask: Price(self.twap_ask), time: self.twap_time }
    }

    pub fn set_twap(&mut self, t: &ImpactTwap) {
        self.twap_bid = t.bid.0;
        self.twap_ask = t.ask.0;
        self.twap_time = t.time;
    }

    /// The first tier's maintenance rate: the per-position cap on socialized losses.
    pub fn first_mmr(&self) -> Rate {
        Rate(self.tiers[0].mmr)
    }

    /// Books `amount` (>= 0) into this market's insurance fund out of the collateral vault (a fee):
    /// the tokens move at the next sweep.
    pub fn insurance_in(&mut self, amount: Quote) -> Result<()> {
        let ovf = || error!(PerpError::MathOverflow);
        require!(amount.0 >= 0, PerpError::MathOverflow);
        self.insurance_fund = self.insurance_fund.checked_add(amount.0).ok_or_else(ovf)?;
        self.insurance_pending = self.insurance_pending.checked_add(amount.0).ok_or_else(ovf)?;
        self.insurance_total_in = self.insurance_total_in.saturating_add(amount.0 as u64);
        Ok(())
    }

    /// Draws `amount` (>= 0, at most the fund) from this market's insurance fund into the
    /// collateral vault's ledgers: the tokens move at the next sweep.
    pub fn insurance_draw(&mut self, amount: Quote) -> Result<()> {
        let ovf = || error!(PerpError::MathOverflow);
        require!(amount.0 >= 0 && amount.0 <= self.insurance_fund, PerpError::MathOverflow);
        self.insurance_fund -= amount.0;
        self.insurance_pending = self.insurance_pending.checked_sub(amount.0).ok_or_else(ovf)?;
        self.insurance_total_out = self.insurance_total_out.saturating_add(amount.0 as u64);
        Ok(())
    }

    /// Tokens of this market's insurance fund sitting in the insurance vault.
    pub fn insurance_in_vault(&self) -> i128 {
        self.insurance_fund as i128 - self.insurance_pending as i128
    }

    pub fn liquidation_fees(&self) -> LiquidationFees {
        LiquidationFees { fee_rate: Rate(self.liquidation_fee), liquidator_share: Rate(self.liquidator_share) }
    }

    /// Tiers in use (the stored count, never more than the array holds).
    pub fn tier_count(&self) -> usize {
        (self.num_tiers as usize).min(MAX_TIERS)
    }

    /// Oracle sources in use (the stored count, never more than the array holds).
    pub fn oracle_count(&self) -> usize {
        (self.num_oracles as usize).min(MAX_ORACLES)
    }

    /// The market's tiers as perp-core's type, read in place (no copy).
    pub fn tier_slice(&self) -> &[Tier] {
        let n = self.tier_count();
        // SAFETY: TierData and perp_core::margin::Tier are both three i64 fields in this order,
        // `repr(C)` (Tier's fields are `repr(transparent)` i64 newtypes): same size, alignment and
        // layout (asserted below), and every bit pattern is valid for both.
        unsafe { core::slice::from_raw_parts(self.tiers.as_ptr() as *const Tier, n) }
    }

    /// The tiers as perp-core sees them (only the first `num_tiers` are meaningful).
    pub fn tiers(&self) -> [Tier; MAX_TIERS] {
        let mut t = [Tier::default(); MAX_TIERS];
        for (i, d) in self.tiers.iter().enumerate().take(self.tier_count()) {
            t[i] = Tier { cap: Quote(d.cap), imr: Rate(d.imr), mmr: Rate(d.mmr) };
        }
        t
    }

    pub fn vamm(&self) -> Vamm {
        Vamm { base_reserve: self.base_reserve.get(), k: self.k.get(), peg: Price(self.peg) }
    }

    pub fn set_vamm(&mut self, v: &Vamm) {
        self.base_reserve.set(v.base_reserve);
        self.k.set(v.k);
        self.peg = v.peg.0;
    }

    pub fn funding_indices(&self) -> FundingIndices {
        FundingIndices {
            long: FundingIndex(self.cum_funding_long.get()),
            short: FundingIndex(self.cum_funding_short.get()),
        }
    }

    pub fn set_funding_indices(&mut self, f: &FundingIndices) {
        self.cum_funding_long.set(f.long.0);
        self.cum_funding_short.set(f.short.0);
    }

    pub fn name_str(&self) -> &str {
        let end = self.name.iter().position(|b| *b == 0).unwrap_or(self.name.len());
        core::str::from_utf8(&self.name[..end]).unwrap_or("?")
    }

    /// Adds a signed amount to the PnL pool (positive = the pool receives).
    pub fn pnl_pool_add(&mut self, q: Quote) -> Result<()> {
        self.pnl_pool = self.pnl_pool.checked_add(q.0).ok_or(PerpError::MathOverflow)?;
        Ok(())
    }

    /// Updates open interest and position counts for a position going from `old` to `new` size.
    pub fn update_open_interest(&mut self, old: Base, new: Base) -> Result<()> {
        let ovf = || error!(PerpError::MathOverflow);
        let (ol, os) = (old.0.max(0), (-old.0).max(0));
        let (nl, ns) = (new.0.max(0), (-new.0).max(0));
        self.oi_long = self.oi_long.checked_sub(ol).and_then(|v| v.checked_add(nl)).ok_or_else(ovf)?;
        self.oi_short = self.oi_short.checked_sub(os).and_then(|v| v.checked_add(ns)).ok_or_else(ovf)?;
        let count = |was: i64, now: i64, c: &mut u32| {
            if was == 0 && now != 0 {
                *c = c.saturating_add(1);
            } else if was != 0 && now == 0 {
                *c = c.saturating_sub(1);
            }
        };
        count(ol, nl, &mut self.open_positions_long);
        count(os, ns, &mut self.open_positions_short);
        require!(self.oi_long >= 0 && self.oi_short >= 0, PerpError::MathOverflow);
        Ok(())
    }

    /// Caches a live index reading: first the time-weighted index takes the previous value for
    /// the seconds it held, so the new print counts only from the next second on.
    pub fn cache_index(&mut self, index: Price, oldest_publish: i64, now: i64, slot: u64) -> Result<()> {
        if self.last_index > 0 {
            let elapsed = if self.index_twap_time == 0 { self.sample_period } else { now - self.index_twap_time };
            if self.index_twap == 0 {
                self.index_twap = self.last_index;
            } else if elapsed > 0 && self.index_twap != self.last_index {
                let t = perp_core::twap::twap_update(
                    Price(self.index_twap),
                    Price(self.last_index),
                    elapsed,
                    self.sample_period.max(1),
                )
                .or_core()?;
                self.index_twap = t.0;
            }
            self.index_twap_time = now.max(self.index_twap_time);
        }
        self.last_index = index.0;
        // the cache is as old as the oldest reading behind it, never re-stamped with `now`
        self.last_index_time = oldest_publish.min(now);
        self.last_index_slot = slot;
        Ok(())
    }

    /// The time-weighted index as of `now` (the cached index has held since the last update).
    pub fn index_twap_now(&self, now: i64) -> Result<Price> {
        if self.index_twap == 0 {
            return Ok(Price(self.last_index));
        }
        perp_core::twap::twap_update(
            Price(self.index_twap),
            Price(self.last_index),
            now - self.index_twap_time,
            self.sample_period.max(1),
        )
        .or_core()
    }

    /// The part of a realized `pnl` that repays this market's outstanding unbacked loss before the
    /// account is credited: a profit realized here first fills the hole the market left in the
    /// shared vault (it stays in the PnL pool), so the hole is borne by this market's winners and
    /// never by another market's depositors. Returns the haircut (0 without a hole or a profit).
    pub fn profit_haircut(&mut self, pnl: Quote) -> Quote {
        if pnl.0 <= 0 || self.unbacked_outstanding <= 0 {
            return Quote::ZERO;
        }
        let h = pnl.0.min(self.unbacked_outstanding);
        self.unbacked_outstanding -= h;
        Quote(h)
    }

    /// Repays the outstanding unbacked loss from this market's insurance fund, as far as it goes
    /// (the tokens follow at the next sweep). Returns the amount repaid.
    pub fn repay_unbacked_from_insurance(&mut self) -> Result<Quote> {
        let d = Quote(self.unbacked_outstanding.min(self.insurance_fund).max(0));
        if d.0 > 0 {
            self.insurance_draw(d)?;
            self.pnl_pool_add(d)?;
            self.unbacked_outstanding -= d.0;
        }
        Ok(d)
    }

    /// New risk needs the larger side's open interest (notional at `index`) within
    /// `max_oi_per_insurance` times this market's insurance fund (when the bound is set).
    pub fn check_oi_bound(&self, index: Price) -> Result<()> {
        if self.max_oi_per_insurance <= 0 {
            return Ok(());
        }
        let oi = Base(self.oi_long.max(self.oi_short)).notional_at(index, Round::Up).or_core()?;
        let room =
            Quote(self.insurance_fund.max(0)).mul_rate(Rate(self.max_oi_per_insurance), Round::Down).or_core()?;
        if oi > room {
            msg!(
                "open interest {} > {} x the insurance fund {}",
                oi,
                Rate(self.max_oi_per_insurance),
                Quote(self.insurance_fund)
            );
            return err!(PerpError::OpenInterestCap);
        }
        Ok(())
    }

    /// True when a position of this sign is a counterparty of an open bankruptcy (a short while a
    /// long is bankrupt, and the reverse): its profit is held for auto-deleveraging.
    /// Should the per-side counts not add up to `bankrupt_accounts` (a market upgraded from the
    /// single count during an open bankruptcy), both sides are held until the episode ends.
    pub fn held_for_adl(&self, base: i64) -> bool {
        let sides = u32::from(self.bankrupt_long) + u32::from(self.bankrupt_short);
        if sides != self.bankrupt_accounts {
            return base != 0 && self.bankrupt_accounts > 0;
        }
        (base < 0 && self.bankrupt_long > 0) || (base > 0 && self.bankrupt_short > 0)
    }

    /// Socialized charge per unit already put on a side in the open bankruptcy episode.
    pub fn episode_social(&self, longs: bool) -> FundingIndex {
        FundingIndex(if longs { self.episode_social_long.get() } else { self.episode_social_short.get() })
    }

    pub fn set_episode_social(&mut self, longs: bool, v: FundingIndex) {
        if longs {
            self.episode_social_long.set(v.0);
        } else {
            self.episode_social_short.set(v.0);
        }
    }

    /// Open positions on a side (1 = long, 2 = short).
    pub fn open_positions(&self, side: u8) -> u32 {
        if side == 1 {
            self.open_positions_long
        } else {
            self.open_positions_short
        }
    }

    /// Keeps the open ADL round's count right when a position changes: a counted position that
    /// closes or flips is no longer counted.
    pub fn on_position_change(&mut self, stamp: u32, old: Base, new: Base) {
        if self.adl_round == 0 || stamp != self.adl_round as u32 {
            return;
        }
        let side_of = |b: Base| {
            if b.0 > 0 {
                1
            } else if b.0 < 0 {
                2
            } else {
                0
            }
        };
        if side_of(old) == self.adl_side && side_of(new) != self.adl_side {
            self.adl_scanned = self.adl_scanned.saturating_sub(1);
        }
    }

    /// What a repeg may spend now and the window it spends from: a new window opens one funding
    /// interval after the last (its budget `repeg_budget` x the fee pool then). What is left of
    /// it is never more than `repeg_budget` x the fee pool now (a pool drained by a socialized
    /// loss, or a budget cut, applies at once) nor than the fee pool itself. Returns
    /// `(budget, window_start, window_budget, window_spent)`.
    pub fn repeg_budget_now(&self, now: i64) -> Result<(Quote, i64, i64, i64)> {
        let (start, budget, spent) =
            if self.repeg_window_start == 0 || now.saturating_sub(self.repeg_window_start) >= self.funding_interval {
                let b = Quote(self.fee_pool.max(0)).mul_rate(Rate(self.repeg_budget), Round::Down).or_core()?;
                (now, b.0, 0)
            } else {
                (self.repeg_window_start, self.repeg_window_budget, self.repeg_window_spent)
            };
        let cap_now = Quote(self.fee_pool.max(0)).mul_rate(Rate(self.repeg_budget.max(0)), Round::Down).or_core()?;
        let left = budget.saturating_sub(spent).min(cap_now.0).clamp(0, self.fee_pool.max(0));
        Ok((Quote(left), start, budget, spent))
    }

    /// The most one repeg may move the peg, as a fraction of it: `perp_core::repeg::max_step` of
    /// the taker fee (just under twice it). A trade, a repeg and the closing trade in one slot pay
    /// the fee on both legs, at least the move.
    pub fn repeg_max_step(&self) -> Rate {
        perp_core::repeg::max_step(Rate(self.taker_fee))
    }

    /// Largest notional a position may reach with new risk: the last finite tier cap.
    pub fn max_notional(&self) -> Quote {
        let n = self.tier_count();
        if n == 0 {
            return Quote(i64::MAX);
        }
        Quote(self.tiers[n - 1].cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytemuck::Zeroable;

    /// 1,000 USDC in the fee pool, 10% per hour-long window.
    fn market() -> Market {
        let mut m = Market::zeroed();
        m.fee_pool = 1_000_000_000;
        m.repeg_budget = 100_000_000;
        m.funding_interval = 3_600;
        m
    }

    #[test]
    fn repeg_budget_window_by_hand() {
        let mut m = market();
        // a new window: 10% of 1,000 USDC
        assert_eq!(m.repeg_budget_now(1_000).unwrap(), (Quote(100_000_000), 1_000, 100_000_000, 0));
        // 60 USDC spent in it: 40 left until one interval after its start
        (m.repeg_window_start, m.repeg_window_budget, m.repeg_window_spent) = (1_000, 100_000_000, 60_000_000);
        m.fee_pool = 940_000_000;
        assert_eq!(m.repeg_budget_now(4_599).unwrap().0, Quote(40_000_000));
        // the next window: 10% of the pool then
        assert_eq!(m.repeg_budget_now(4_600).unwrap(), (Quote(94_000_000), 4_600, 94_000_000, 0));
    }

    #[test]
    fn repeg_budget_follows_a_drained_pool_and_a_cut_at_once() {
        let mut m = market();
        (m.repeg_window_start, m.repeg_window_budget, m.repeg_window_spent) = (1_000, 100_000_000, 0);
        // a socialized loss took the pool to 150 USDC: 10% of it, not the window's 100
        m.fee_pool = 150_000_000;
        assert_eq!(m.repeg_budget_now(2_000).unwrap().0, Quote(15_000_000));
        // the admin cuts the budget to 1%: it applies inside the window
        m.fee_pool = 1_000_000_000;
        m.repeg_budget = 10_000_000;
        assert_eq!(m.repeg_budget_now(2_000).unwrap().0, Quote(10_000_000));
        // an empty or negative pool pays nothing
        m.fee_pool = -5;
        assert_eq!(m.repeg_budget_now(2_000).unwrap().0, Quote(0));
    }
}
