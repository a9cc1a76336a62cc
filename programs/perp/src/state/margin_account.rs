//! A trader's margin account: cross collateral and up to 8 positions, each cross or isolated.

use super::collateral::MAX_ACCOUNT_COLLATERALS;
use super::wide::WideI128;
use crate::error::PerpError;
use anchor_lang::prelude::*;
use core::mem::size_of;
use perp_core::margin::PositionState;
use perp_core::{Base, FundingIndex, Quote};

pub const MARGIN_ACCOUNT_SEED: &[u8] = b"margin";
pub const MAX_POSITIONS: usize = 8;
/// Open orders per account: a stop-loss and a take-profit for each of the 8 positions would need
/// 16, but a bracket is placed per position only while it is open, and every slot costs 88 bytes
/// of rent on every account; 8 covers a bracket on 4 positions or a ladder of limits, and a
/// trader who needs more opens a second account (account_id).
pub const MAX_ORDERS: usize = 8;

pub mod position_flags {
    pub const IN_USE: u8 = 1 << 0;
    pub const ISOLATED: u8 = 1 << 1;
    /// Liquidation found the position's group under water beyond what the market's insurance
    /// fund could cover: it awaits auto-deleveraging at its stored bankruptcy price.
    pub const BANKRUPT: u8 = 1 << 2;
}

#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Position {
    /// Signed base size (long > 0), 10^-9.
    pub base: i64,
    /// Signed quote flow at entry (`-cost` long, `+proceeds` short), 10^-6.
    pub quote_entry: i64,
    /// Collateral held by this position alone (isolated positions only), 10^-6.
    pub isolated_collateral: i64,
    /// The side's cumulative funding index when funding was last settled.
    pub funding_snapshot: WideI128,
    /// While bankrupt: the price at which it is closed, where it leaves the counterparties exactly
    /// the deficit the insurance fund could not cover (`perp_core::takeover::deficit_price`).
    pub bankruptcy_price: u64,
    /// Pro-rata ADL (`perp_core::haircut`): the profit at the round's mark stamped by the scan of
    /// round `adl_round` (scaled down when the position shrinks), quote raw; 0 = in no pool.
    pub haircut_profit: i64,
    /// What the position has paid of that stamp's haircut (quote raw).
    pub haircut_paid: i64,
    /// Last ADL scan round that counted this position.
    pub adl_round: u32,
    pub market_index: u16,
    pub flags: u8,
    pub _pad: u8,
}

pub mod order_flags {
    pub const IN_USE: u8 = 1 << 0;
    pub const REDUCE_ONLY: u8 = 1 << 1;
    /// A trigger order whose trigger has fired: it now rests as a limit (or market) order.
    pub const TRIGGERED: u8 = 1 << 2;
    /// Placed while the account was short of initial margin (a reduce-only order needs only
    /// maintenance): its reward pays a filler only for a fill; cancelled, it returns to the account.
    pub const BELOW_INITIAL: u8 = 1 << 3;
}

/// A resting order (`perp_core::orders`). Placing one reserves the market's filler reward from
/// cross collateral; the filler who fills, or cancels an expired or unfillable order, gets it; the
/// owner's own cancel returns it.
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Order {
    /// Unique per account, never reused (from `MarginAccount::next_order_id`).
    pub order_id: u64,
    /// Chosen by the trader (0 = none; otherwise unique among the account's open orders).
    pub client_order_id: u64,
    /// What is left to fill, raw base (10^-9).
    pub size: u64,
    /// Filled so far, raw base.
    pub filled: u64,
    /// Limit kinds: worst average fill price, raw (10^-6).
    pub limit_price: u64,
    /// Trigger kinds: the index price that fires the order, raw.
    pub trigger_price: u64,
    /// Market kinds: largest distance of the average fill from the index (rate; 0 = the market's
    /// band).
    pub max_slippage: u64,
    /// The filler reward reserved for this order, quote raw.
    pub reward: u64,
    /// Unix time from which the order can no longer fill (0 = good until cancelled).
    pub expiry: i64,
    pub placed_time: i64,
    pub market_index: u16,
    /// `perp_core::orders::OrderKind` as u8.
    pub kind: u8,
    /// 1 = buy (long), 2 = sell (short).
    pub side: u8,
    pub flags: u8,
    pub _pad: [u8; 3],
}

#[account(zero_copy)]
#[derive(Debug)]
pub struct MarginAccount {
    pub owner: Pubkey,
    /// May deposit, trade within the market's delegate band of the index, close, and move
    /// collateral between positions; may never withdraw, liquidate the account or change the
    /// delegate.
    pub delegate: Pubkey,
    /// Collateral shared by all cross positions (signed: funding or a liquidation can push it
    /// below zero, which the liquidation waterfall resolves).
    pub cross_collateral: i64,
    pub total_deposits: u64,
    pub total_withdrawals: u64,
    pub realized_pnl: i64,
    pub funding_paid: i64,
    pub fees_paid: i64,
    pub account_id: u16,
    pub bump: u8,
    pub flags: u8,
    /// Sequence number of the last event of this account's stream (`events::Stream::Account`).
    pub event_seq: u32,
    pub positions: [Position; MAX_POSITIONS],
    /// Time of the delegate's last order on this account (M-2: a delegate order against the
    /// direction of the previous one waits one sample period).
    pub delegate_trade_time: i64,
    /// Direction of that order: 1 = buy, 2 = sell (0 = none yet).
    pub delegate_trade_side: u8,
    pub _pad2: [u8; 7],
    /// The id the next order placed gets (ids start at 1).
    pub next_order_id: u64,
    /// Sum of the rewards reserved by open orders: taken out of cross collateral, not margin,
    /// still the account's until a filler earns it (conservation counts it).
    pub order_reserve: u64,
    pub orders: [Order; MAX_ORDERS],
    /// Balances of listed collateral mints (cross margin only), one slot per mint held.
    pub collaterals: [CollateralBalance; MAX_ACCOUNT_COLLATERALS],
}

/// A balance of a listed collateral mint (`state::Collateral`), raw tokens of that mint.
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct CollateralBalance {
    pub amount: u64,
    /// The mint's index in the registry (1, 2, ...; 0 = free slot).
    pub collateral_index: u16,
    pub _pad: [u8; 6],
}

pub const POSITION_SIZE: usize = 72;
pub const ORDER_SIZE: usize = 88;
pub const COLLATERAL_BALANCE_SIZE: usize = 16;
pub const MARGIN_ACCOUNT_SIZE: usize =
    728 + MAX_ORDERS * ORDER_SIZE + MAX_ACCOUNT_COLLATERALS * COLLATERAL_BALANCE_SIZE;
const _: () = assert!(size_of::<CollateralBalance>() == COLLATERAL_BALANCE_SIZE);
const _: () = assert!(size_of::<Order>() == ORDER_SIZE);
const _: () = assert!(size_of::<Position>() == POSITION_SIZE);
const _: () = assert!(size_of::<MarginAccount>() == MARGIN_ACCOUNT_SIZE);

impl Order {
    pub fn in_use(&self) -> bool {
        self.flags & order_flags::IN_USE != 0
    }
    pub fn reduce_only(&self) -> bool {
        self.flags & order_flags::REDUCE_ONLY != 0
    }
    pub fn triggered(&self) -> bool {
        self.flags & order_flags::TRIGGERED != 0
    }
    pub fn vamm_side(&self) -> perp_core::vamm::Side {
        if self.side == 1 {
            perp_core::vamm::Side::Long
        } else {
            perp_core::vamm::Side::Short
        }
    }
    /// The order as `perp_core::orders` sees it.
    pub fn spec(&self) -> core::result::Result<perp_core::orders::OrderSpec, perp_core::CoreError> {
        Ok(perp_core::orders::OrderSpec {
            kind: perp_core::orders::OrderKind::from_u8(self.kind)?,
            side: self.vamm_side(),
            limit: perp_core::Price(self.limit_price),
            trigger: perp_core::Price(self.trigger_price),
            slippage: perp_core::Rate(i64::try_from(self.max_slippage).unwrap_or(i64::MAX)),
        })
    }
    /// True when the order can no longer fill at `now`.
    pub fn expired(&self, now: i64) -> bool {
        self.expiry != 0 && now >= self.expiry
    }
}

impl Position {
    pub fn in_use(&self) -> bool {
        self.flags & position_flags::IN_USE != 0
    }
    pub fn is_isolated(&self) -> bool {
        self.flags & position_flags::ISOLATED != 0
    }
    pub fn is_bankrupt(&self) -> bool {
        self.flags & position_flags::BANKRUPT != 0
    }
    pub fn state(&self) -> PositionState {
        PositionState { base: Base(self.base), quote_entry: Quote(self.quote_entry) }
    }
    pub fn set_state(&mut self, s: &PositionState) {
        self.base = s.base.0;
        self.quote_entry = s.quote_entry.0;
    }
    pub fn snapshot(&self) -> FundingIndex {
        FundingIndex(self.funding_snapshot.get())
    }
}

impl MarginAccount {
    /// The owner, or the delegate when one is set, may trade.
    pub fn authorize_trader(&self, signer: &Pubkey) -> Result<()> {
        let ok = self.owner == *signer || self.is_delegate(signer);
        require!(ok, PerpError::Unauthorized);
        Ok(())
    }

    /// True when `signer` is this account's delegate (and not its owner).
    pub fn is_delegate(&self, signer: &Pubkey) -> bool {
        self.delegate != Pubkey::default() && self.delegate == *signer && self.owner != *signer
    }

    /// True when one key controls both accounts (as owner or delegate of either): such accounts
    /// may not liquidate each other.
    pub fn shares_control_with(&self, other: &MarginAccount) -> bool {
        let keys = |a: &MarginAccount| [a.owner, a.delegate];
        keys(self).iter().any(|k| *k != Pubkey::default() && keys(other).contains(k))
    }

    /// Only the owner may withdraw, delegate or close.
    pub fn authorize_owner(&self, signer: &Pubkey) -> Result<()> {
        if self.owner != *signer {
            return if self.delegate == *signer { err!(PerpError::OwnerOnly) } else { err!(PerpError::Unauthorized) };
        }
        Ok(())
    }

    /// Slot of the position in `market_index`, if any.
    pub fn find(&self, market_index: u16) -> Option<usize> {
        self.positions.iter().position(|p| p.in_use() && p.market_index == market_index)
    }

    /// Slot for `market_index`, opening an empty one if needed.
    pub fn find_or_open(&mut self, market_index: u16, isolated: bool) -> Result<usize> {
        if let Some(i) = self.find(market_index) {
            return Ok(i);
        }
        let i = self.positions.iter().position(|p| !p.in_use()).ok_or(PerpError::TooManyPositions)?;
        self.positions[i] = Position {
            market_index,
            flags: position_flags::IN_USE | if isolated { position_flags::ISOLATED } else { 0 },
            ..Position::default()
        };
        Ok(i)
    }

    /// Frees a slot whose position is closed, returning isolated collateral to cross.
    pub fn release_if_empty(&mut self, i: usize) -> Result<()> {
        let p = self.positions[i];
        if p.in_use() && p.base == 0 {
            self.cross_collateral =
                self.cross_collateral.checked_add(p.isolated_collateral).ok_or(PerpError::MathOverflow)?;
            self.positions[i] = Position::default();
        }
        Ok(())
    }

    pub fn add_collateral(&mut self, slot: Option<usize>, q: Quote) -> Result<()> {
        let target = match slot {
            Some(i) if self.positions[i].is_isolated() => &mut self.positions[i].isolated_collateral,
            _ => &mut self.cross_collateral,
        };
        *target = target.checked_add(q.0).ok_or(PerpError::MathOverflow)?;
        Ok(())
    }

    pub fn has_positions(&self) -> bool {
        self.positions.iter().any(|p| p.in_use())
    }

    /// True while any position awaits auto-deleveraging: the account cannot withdraw or add risk
    /// (it may still reduce positions outside the bankrupt position's margin group).
    pub fn is_bankrupt(&self) -> bool {
        self.positions.iter().any(|p| p.in_use() && p.is_bankrupt())
    }

    /// Total collateral held by the account (cross, every isolated position and the rewards its
    /// open orders reserve), for the conservation check.
    pub fn total_collateral(&self) -> i128 {
        self.cross_collateral as i128
            + self.order_reserve as i128
            + self.positions.iter().filter(|p| p.in_use()).map(|p| p.isolated_collateral as i128).sum::<i128>()
    }

    /// Slot of the open order with this id.
    pub fn find_order(&self, order_id: u64) -> Option<usize> {
        self.orders.iter().position(|o| o.in_use() && o.order_id == order_id)
    }

    pub fn has_orders(&self) -> bool {
        self.orders.iter().any(|o| o.in_use())
    }

    /// Removes the order in `slot` and returns its reserved reward (to be credited by the caller).
    pub fn take_order(&mut self, slot: usize) -> Result<u64> {
        let reward = self.orders[slot].reward;
        self.order_reserve = self.order_reserve.checked_sub(reward).ok_or(PerpError::MathOverflow)?;
        self.orders[slot] = Order::default();
        Ok(reward)
    }

    /// Credits `amount` of a released reward to cross collateral.
    pub fn credit_cross(&mut self, amount: u64) -> Result<()> {
        let amt = i64::try_from(amount).map_err(|_| PerpError::MathOverflow)?;
        self.cross_collateral = self.cross_collateral.checked_add(amt).ok_or(PerpError::MathOverflow)?;
        Ok(())
    }

    /// True when the account holds any listed collateral.
    pub fn has_collateral(&self) -> bool {
        self.collaterals.iter().any(|c| c.collateral_index != 0 && c.amount > 0)
    }

    /// Slot of the balance of collateral `index`, if any.
    pub fn find_collateral(&self, index: u16) -> Option<usize> {
        self.collaterals.iter().position(|c| c.collateral_index == index && index != 0)
    }

    /// The account's balance of collateral `index` (0 when it holds none).
    pub fn collateral_balance(&self, index: u16) -> u64 {
        self.find_collateral(index).map_or(0, |i| self.collaterals[i].amount)
    }

    /// Adds `amount` to the balance of collateral `index`, taking a free slot if needed.
    pub fn credit_collateral(&mut self, index: u16, amount: u64) -> Result<()> {
        let i = match self.find_collateral(index) {
            Some(i) => i,
            None => {
                let i = self
                    .collaterals
                    .iter()
                    .position(|c| c.collateral_index == 0)
                    .ok_or(PerpError::TooManyCollaterals)?;
                self.collaterals[i] = CollateralBalance { amount: 0, collateral_index: index, _pad: [0; 6] };
                i
            }
        };
        let c = &mut self.collaterals[i];
        c.amount = c.amount.checked_add(amount).ok_or(PerpError::MathOverflow)?;
        Ok(())
    }

    /// Takes `amount` from the balance of collateral `index`, freeing the slot at zero.
    pub fn debit_collateral(&mut self, index: u16, amount: u64) -> Result<()> {
        let i = self.find_collateral(index).ok_or(PerpError::InsufficientCollateralBalance)?;
        let c = &mut self.collaterals[i];
        c.amount = c.amount.checked_sub(amount).ok_or(PerpError::InsufficientCollateralBalance)?;
        if c.amount == 0 {
            self.collaterals[i] = CollateralBalance::default();
        }
        Ok(())
    }
}
