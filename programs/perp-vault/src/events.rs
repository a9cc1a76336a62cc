use anchor_lang::prelude::*;

#[event]
pub struct VaultCreated {
    pub vault: Pubkey,
    pub manager: Pubkey,
    pub margin_account: Pubkey,
}

#[event]
pub struct VaultDeposited {
    pub vault: Pubkey,
    pub owner: Pubkey,
    pub amount: u64,
    pub shares: u64,
    /// The vault's equity before the deposit (quote raw).
    pub equity: i64,
    pub total_shares: u64,
}

#[event]
pub struct VaultWithdrawn {
    pub vault: Pubkey,
    pub owner: Pubkey,
    pub shares: u64,
    pub amount: u64,
    pub equity: i64,
    pub total_shares: u64,
}

#[event]
pub struct VaultTraded {
    pub vault: Pubkey,
    pub market_index: u16,
    pub new_base: i64,
    /// Cross notional / equity after the trade, 1e9 = 1x (0 when reduce-only).
    pub leverage: u64,
}
