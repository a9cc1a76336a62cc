use anchor_lang::prelude::*;

pub const VAULT_SEED: &[u8] = b"vault";
/// The system-owned PDA that owns the vault's perp margin account and its token account.
pub const AUTHORITY_SEED: &[u8] = b"authority";
pub const TOKEN_SEED: &[u8] = b"vault_token";
pub const DEPOSITOR_SEED: &[u8] = b"depositor";
pub const MAX_VAULT_MARKETS: usize = 8;
/// The vault's perp margin account id (its authority holds exactly one).
pub const VAULT_ACCOUNT_ID: u16 = 0;

/// A managed vault: depositors' USDC in one perp margin account that the manager trades within
/// the limits below, enforced by this program on every trade.
#[account(zero_copy)]
#[repr(C)]
pub struct Vault {
    pub manager: Pubkey,
    /// The perp margin account (owner: `authority`, id 0).
    pub margin_account: Pubkey,
    /// USDC staging account (deposits pass through it on their way to perp).
    pub token_account: Pubkey,
    pub collateral_mint: Pubkey,
    pub total_shares: u64,
    /// Maximum cross notional / equity after a risk-adding trade, 1e9 = 1x.
    pub max_leverage: u64,
    /// Maximum |position| per allowed market (base raw), same order as `markets`.
    pub max_position: [u64; MAX_VAULT_MARKETS],
    pub markets: [u16; MAX_VAULT_MARKETS],
    pub market_count: u8,
    pub bump: u8,
    pub authority_bump: u8,
    pub token_bump: u8,
    pub vault_id: u16,
    pub _pad: [u8; 2],
    /// Seconds a deposit stays before its depositor may redeem (funding and price-jump sniping).
    pub lockup: i64,
    /// Largest average-price impact of one vault order on the vAMM (rate, 10^9 = 100%; at most a
    /// quarter of the market's delegate band applies whatever is set here).
    pub max_impact: u64,
    /// Largest traded notional per day as a multiple of the vault's equity (rate, 10^9 = 1x),
    /// over a day-long window that decays linearly.
    pub max_turnover: u64,
    /// Notional traded in the window (quote raw) as of `turnover_time`.
    pub turnover_used: u64,
    pub turnover_time: i64,
    /// Time and direction (1 = buy, 2 = sell) of the last vault order.
    pub last_trade_time: i64,
    pub last_trade_dir: u8,
    pub _pad2: [u8; 7],
    pub _reserved: [u8; 8],
}
pub const VAULT_SIZE: usize = 296;
const _: () = assert!(core::mem::size_of::<Vault>() == VAULT_SIZE);

impl Vault {
    /// The window's traded notional at `now` (linear decay over [`TURNOVER_WINDOW`]).
    pub fn turnover_at(&self, now: i64) -> u64 {
        let dt = now.saturating_sub(self.turnover_time).clamp(0, TURNOVER_WINDOW) as u128;
        (self.turnover_used as u128 * (TURNOVER_WINDOW as u128 - dt) / TURNOVER_WINDOW as u128) as u64
    }

    /// Slot of `market_index` among the allowed markets.
    pub fn market_slot(&self, market_index: u16) -> Option<usize> {
        self.markets[..self.market_count as usize].iter().position(|m| *m == market_index)
    }
}

/// One depositor's shares of one vault.
#[account(zero_copy)]
#[repr(C)]
pub struct Depositor {
    pub vault: Pubkey,
    pub owner: Pubkey,
    pub shares: u64,
    /// Lifetime totals (quote raw), for display.
    pub deposited: u64,
    pub withdrawn: u64,
    /// Unix time of the last deposit (the lockup runs from it).
    pub last_deposit: i64,
    pub bump: u8,
    pub _pad: [u8; 7],
}
pub const DEPOSITOR_SIZE: usize = 104;
const _: () = assert!(core::mem::size_of::<Depositor>() == DEPOSITOR_SIZE);

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct VaultParams {
    /// Allowed perp market indices (1 to 8, distinct).
    pub markets: Vec<u16>,
    /// Maximum |position| in each (base raw, > 0).
    pub max_position: Vec<u64>,
    /// Maximum leverage after a risk-adding trade or a withdrawal, 1e9 = 1x (> 0, at most 100x).
    pub max_leverage: u64,
    /// Seconds after a deposit before its depositor may redeem (0 to 7 days).
    pub lockup: i64,
    /// Largest average-price impact of one order (rate, 10^9 = 100%), in (0, 2.5%]; a quarter of
    /// the market's delegate band caps it further.
    pub max_impact: u64,
    /// Largest notional traded per day as a multiple of equity (rate, 10^9 = 1x), in (0, 10x].
    pub max_turnover: u64,
}

/// Largest `max_impact` a vault may set (2.5%).
pub const MAX_VAULT_IMPACT: u64 = 25_000_000;
/// Largest `max_turnover` a vault may set (10x equity per day).
pub const MAX_VAULT_TURNOVER: u64 = 10_000_000_000;
/// The turnover window (seconds).
pub const TURNOVER_WINDOW: i64 = 86_400;

pub const MAX_VAULT_LEVERAGE: u64 = 100_000_000_000;
pub const MAX_LOCKUP: i64 = 7 * 86_400;

impl VaultParams {
    pub fn validate(&self) -> bool {
        let n = self.markets.len();
        (1..=MAX_VAULT_MARKETS).contains(&n)
            && self.max_position.len() == n
            && self.max_position.iter().all(|m| *m > 0 && *m <= i64::MAX as u64)
            && self.max_leverage > 0
            && self.max_leverage <= MAX_VAULT_LEVERAGE
            && (0..=MAX_LOCKUP).contains(&self.lockup)
            && (1..=MAX_VAULT_IMPACT).contains(&self.max_impact)
            && (1..=MAX_VAULT_TURNOVER).contains(&self.max_turnover)
            && (0..n).all(|i| !self.markets[..i].contains(&self.markets[i]))
    }
}
