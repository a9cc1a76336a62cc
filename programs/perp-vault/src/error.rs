use anchor_lang::prelude::*;

#[error_code]
pub enum VaultError {
    #[msg("market not allowed by this vault")]
    MarketNotAllowed,
    #[msg("position would exceed the vault's maximum for this market")]
    PositionLimit,
    #[msg("leverage would exceed the vault's maximum")]
    LeverageLimit,
    #[msg("a vault order needs a limit price within the market's delegate band of the index")]
    LimitOutsideBand,
    #[msg("vault parameters invalid (1 to 8 distinct markets, a maximum position for each, leverage 0 to 100x, lockup 0 to 7 days, impact 0 to 2.5%, turnover 0 to 10x a day)")]
    InvalidParams,
    #[msg("amount or shares must be positive")]
    ZeroAmount,
    #[msg("more shares than the depositor holds")]
    InsufficientShares,
    #[msg("the vault's equity is negative: no deposits")]
    VaultInsolvent,
    #[msg("amount too large")]
    Overflow,
    #[msg("the deposit buys no shares")]
    NoShares,
    #[msg("a market of the vault's positions was not refreshed this second: prepend perp update_funding")]
    MarketNotFresh,
    #[msg("market account not one of the vault's positions or not a perp market")]
    WrongMarketAccount,
    #[msg("the vAMM is away from its time-weighted impact prices: moved in this second, no vault order now")]
    VammDisplaced,
    #[msg("the depositor's last deposit is still locked up")]
    LockedUp,
    #[msg("the vault's account is below maintenance or bankrupt: no deposits")]
    VaultLiquidatable,
    #[msg("the vault's own token account cannot receive a withdrawal")]
    WrongTokenAccount,
    #[msg("a vault order may move the vAMM at most the vault's impact limit (and a quarter of the delegate band): trade a smaller size")]
    ImpactLimit,
    #[msg("a vault order against the direction of the previous one must wait one sample period")]
    ReversalTooSoon,
    #[msg("the vault's traded notional over the last day would exceed its turnover limit")]
    TurnoverLimit,
}

impl From<crate::shares::ShareError> for VaultError {
    fn from(e: crate::shares::ShareError) -> Self {
        match e {
            crate::shares::ShareError::Insolvent => VaultError::VaultInsolvent,
            crate::shares::ShareError::Overflow => VaultError::Overflow,
        }
    }
}
