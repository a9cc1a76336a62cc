//! Share accounting, pure integer math (no accounts, no Solana calls).
//!
//! A vault's assets are the equity of its perp margin account (cross collateral plus unrealized
//! PnL less funding owed, at the program's own marks). Shares are priced with a virtual offset (as
//! OpenZeppelin's ERC-4626 does): `VIRTUAL_SHARES` shares backed by `VIRTUAL_ASSETS` that nobody
//! owns, so the first depositor cannot inflate the share price to round later deposits to zero.
//!
//! Rules (each checked by the tests below and by the integration tests):
//! 1. shares minted = floor(amount x (S + VS) / (E + VA)): rounded down, in the holders' favour;
//! 2. amount paid   = floor(shares x (E + VA) / (S + VS)): rounded down, in the holders' favour;
//! 3. nothing is minted against a vault whose equity is negative (it is being liquidated or is
//!    bankrupt), and shares of such a vault are worth 0;
//! 4. a deposit followed by a withdrawal of the shares it minted never pays out more than it put in.

/// Shares units of a virtual holder (so one micro-USDC buys 1,000 share units at the start).
pub const VIRTUAL_SHARES: u128 = 1_000;
/// Assets (quote raw, micro-USDC) of the virtual holder.
pub const VIRTUAL_ASSETS: u128 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareError {
    /// The vault's equity is negative: no deposits until it recovers.
    Insolvent,
    /// The result does not fit 64 bits.
    Overflow,
}

/// Shares minted for depositing `amount` into a vault with equity `equity` and `total` shares.
pub fn shares_for_deposit(amount: u64, equity: i64, total: u64) -> Result<u64, ShareError> {
    if equity < 0 {
        return Err(ShareError::Insolvent);
    }
    let num = amount as u128 * (total as u128 + VIRTUAL_SHARES);
    let den = equity as u128 + VIRTUAL_ASSETS;
    u64::try_from(num / den).map_err(|_| ShareError::Overflow)
}

/// Quote paid for redeeming `shares` of `total` from a vault with equity `equity` (0 when the
/// equity is negative).
pub fn assets_for_shares(shares: u64, equity: i64, total: u64) -> Result<u64, ShareError> {
    if shares > total {
        return Err(ShareError::Overflow);
    }
    let e = equity.max(0) as u128 + VIRTUAL_ASSETS;
    let out = shares as u128 * e / (total as u128 + VIRTUAL_SHARES);
    u64::try_from(out).map_err(|_| ShareError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_deposit_and_round_trip() {
        let s = shares_for_deposit(1_000_000, 0, 0).unwrap();
        assert_eq!(s, 1_000_000_000);
        // equity now 1 USDC, total s: all of it back, less the virtual holder's rounding
        let back = assets_for_shares(s, 1_000_000, s).unwrap();
        assert!((999_999..=1_000_000).contains(&back), "{back}");
    }

    #[test]
    fn profit_and_loss_are_shared_pro_rata() {
        let a = shares_for_deposit(1_000_000_000, 0, 0).unwrap();
        let b = shares_for_deposit(3_000_000_000, 1_000_000_000, a).unwrap();
        let total = a + b;
        // the vault gains 20 %
        let e = 4_800_000_000;
        let pa = assets_for_shares(a, e, total).unwrap();
        let pb = assets_for_shares(b, e, total).unwrap();
        assert!((1_199_999_000..=1_200_000_000).contains(&pa), "{pa}");
        assert!((3_599_999_000..=3_600_000_000).contains(&pb), "{pb}");
        assert!(pa + pb <= e as u64);
    }

    #[test]
    fn insolvent_vault_takes_no_deposit_and_pays_nothing() {
        assert_eq!(shares_for_deposit(5, -1, 10), Err(ShareError::Insolvent));
        assert_eq!(assets_for_shares(10, -100, 10), Ok(0));
        assert_eq!(assets_for_shares(11, 100, 10), Err(ShareError::Overflow));
    }

    /// Rule 4 over a grid: deposit then redeem never gains, whatever the state.
    #[test]
    fn deposit_then_redeem_never_gains() {
        let mut checked = 0;
        for &e in &[0i64, 1, 7, 999, 1_000_000, 123_456_789, 10_000_000_000_000] {
            for &t in &[0u64, 1, 1_000, 999_999_999, 10_000_000_000_000_000] {
                for &a in &[1u64, 2, 999, 1_000_000, 50_000_000_000] {
                    let Ok(s) = shares_for_deposit(a, e, t) else { continue };
                    let back = assets_for_shares(s, e + a as i64, t + s).unwrap();
                    assert!(back <= a, "e {e} t {t} a {a}: {s} shares back {back}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 150);
    }

    /// The donation attack of ERC-4626 vaults: a first depositor of 1 unit who then raises the
    /// equity by a large amount does not round a victim's deposit to zero shares.
    #[test]
    fn inflated_first_share_does_not_zero_later_deposits() {
        let s = shares_for_deposit(1, 0, 0).unwrap();
        assert_eq!(s, 1_000);
        let victim = shares_for_deposit(1_000_000_000, 1 + 1_000_000_000, s).unwrap();
        assert!(victim > 0);
        let paid = assets_for_shares(victim, 2_000_000_001, s + victim).unwrap();
        assert!(paid > 999_000_000, "victim keeps {paid}");
    }
}
