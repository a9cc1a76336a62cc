//! Instruction builders of the collateral registry and of deposits, withdrawals and
//! liquidations of listed collateral. Margin checks of an account that holds listed collateral
//! take each of its collateral accounts among the remaining accounts ([`collateral_metas`]), in
//! any order among the markets.

use crate::ix::{build, market_metas, oracle_metas};
use crate::pda;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use perp::state::CollateralTightening;

/// Read-only metas for listed collateral accounts.
pub fn collateral_metas(indices: &[u16]) -> Vec<AccountMeta> {
    indices.iter().map(|i| AccountMeta::new_readonly(pda::collateral(*i), false)).collect()
}

/// The collateral indices an account holds (what its cross margin checks need).
pub fn held(acct: &perp::state::MarginAccount) -> Vec<u16> {
    acct.collaterals.iter().filter(|c| c.collateral_index != 0 && c.amount > 0).map(|c| c.collateral_index).collect()
}

/// The oracle accounts of a decoded collateral, in its configured order.
pub fn oracle_keys(c: &perp::state::Collateral) -> Vec<Pubkey> {
    c.oracles[..c.oracle_count()].iter().map(|o| o.key).collect()
}

/// `refresh_collateral` of a decoded collateral (its oracles looked up).
pub fn refresh(c: &perp::state::Collateral) -> Instruction {
    refresh_collateral(c.collateral_index, &oracle_keys(c))
}

/// The markets a collateral sale's checks read: every cross market of the account sold and of the
/// liquidator, each once.
pub fn sale_markets(victim: &perp::state::MarginAccount, liquidator: &perp::state::MarginAccount) -> Vec<u16> {
    let mut out = crate::ix::cross_markets(victim, None);
    for m in crate::ix::cross_markets(liquidator, None) {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

/// Executes a `ListCollateral` proposal `id` for `mint` as `collateral_index`.
pub fn execute_list_collateral(
    payer: Pubkey,
    id: u64,
    proposer: Pubkey,
    mint: Pubkey,
    collateral_index: u16,
) -> Instruction {
    build(
        perp::accounts::ExecuteListCollateral {
            payer,
            exchange: pda::exchange(),
            proposal: pda::proposal(id),
            proposer,
            mint,
            collateral: pda::collateral(collateral_index),
            vault: pda::mint_vault(&mint),
            token_program: anchor_spl::token::ID,
            system_program: anchor_lang::system_program::ID,
        },
        perp::instruction::ExecuteListCollateral { collateral_index },
        vec![],
    )
}

/// Executes an `UpdateCollateral` proposal `id`.
pub fn execute_update_collateral(executor: Pubkey, id: u64, proposer: Pubkey, collateral_index: u16) -> Instruction {
    build(
        perp::accounts::ExecuteUpdateCollateral {
            executor,
            exchange: pda::exchange(),
            proposal: pda::proposal(id),
            proposer,
            collateral: pda::collateral(collateral_index),
        },
        perp::instruction::ExecuteUpdateCollateral {},
        vec![],
    )
}

/// Admin: an instant tightening.
pub fn tighten_collateral(admin: Pubkey, collateral_index: u16, tightening: CollateralTightening) -> Instruction {
    build(
        perp::accounts::TightenCollateral {
            admin,
            exchange: pda::exchange(),
            collateral: pda::collateral(collateral_index),
        },
        perp::instruction::TightenCollateral { tightening },
        vec![],
    )
}

/// Anyone: reads the collateral's `oracles` (its configured order) and caches its index.
pub fn refresh_collateral(collateral_index: u16, oracles: &[Pubkey]) -> Instruction {
    build(
        perp::accounts::RefreshCollateral { exchange: pda::exchange(), collateral: pda::collateral(collateral_index) },
        perp::instruction::RefreshCollateral {},
        oracle_metas(oracles),
    )
}

/// Deposits `amount` raw tokens of collateral `collateral_index` (mint `mint`).
pub fn deposit_collateral(
    authority: Pubkey,
    margin_account: Pubkey,
    collateral_index: u16,
    mint: &Pubkey,
    user_token: Pubkey,
    amount: u64,
) -> Instruction {
    build(
        perp::accounts::DepositCollateral {
            authority,
            exchange: pda::exchange(),
            margin_account,
            collateral: pda::collateral(collateral_index),
            user_token,
            vault: pda::mint_vault(mint),
            token_program: anchor_spl::token::ID,
        },
        perp::instruction::DepositCollateral { amount },
        vec![],
    )
}

/// Withdraws listed collateral; `cross_markets` and `other_collateral` are the account's cross
/// positions' markets and its other collateral (refreshed within a few slots).
#[allow(clippy::too_many_arguments)]
pub fn withdraw_collateral(
    owner: Pubkey,
    margin_account: Pubkey,
    collateral_index: u16,
    mint: &Pubkey,
    user_token: Pubkey,
    amount: u64,
    cross_markets: &[u16],
    other_collateral: &[u16],
) -> Instruction {
    let mut rem = market_metas(cross_markets);
    rem.extend(collateral_metas(other_collateral));
    build(
        perp::accounts::WithdrawCollateral {
            owner,
            exchange: pda::exchange(),
            margin_account,
            collateral: pda::collateral(collateral_index),
            user_token,
            vault: pda::mint_vault(mint),
            token_program: anchor_spl::token::ID,
        },
        perp::instruction::WithdrawCollateral { amount },
        rem,
    )
}

/// Liquidates up to `max_tokens` of `margin_account`'s collateral `collateral_index` (mint
/// `mint`): the liquidator pays from `liquidator_account`'s settlement balance and receives the
/// tokens in `liquidator_token` (a token account of the mint); `market_index` must be the
/// collateral's insurance market. `markets` and `other_collateral`: every cross market and other
/// collateral either account holds.
#[allow(clippy::too_many_arguments)]
pub fn liquidate_collateral(
    liquidator: Pubkey,
    margin_account: Pubkey,
    liquidator_account: Pubkey,
    collateral_index: u16,
    mint: &Pubkey,
    liquidator_token: Pubkey,
    market_index: u16,
    max_tokens: u64,
    markets: &[u16],
    other_collateral: &[u16],
) -> Instruction {
    let mut rem = market_metas(markets);
    rem.extend(collateral_metas(other_collateral));
    build(
        perp::accounts::LiquidateCollateral {
            liquidator,
            exchange: pda::exchange(),
            margin_account,
            liquidator_account,
            collateral: pda::collateral(collateral_index),
            market: pda::market(market_index),
            vault: pda::mint_vault(mint),
            liquidator_token,
            token_program: anchor_spl::token::ID,
        },
        perp::instruction::LiquidateCollateral { max_tokens },
        rem,
    )
}

/// The keeper's token account for a collateral mint: derived from its key with a seed
/// (`create_account_with_seed`), so it needs no other signer and is found again after a restart.
pub fn seeded_token_account(owner: &Pubkey, collateral_index: u16) -> (Pubkey, String) {
    let seed = format!("perp-collateral-{collateral_index}");
    let key = Pubkey::create_with_seed(owner, &seed, &anchor_spl::token::ID).expect("seed length");
    (key, seed)
}

/// Creates [`seeded_token_account`] for `mint` (paid and signed by `owner`).
pub fn create_seeded_token_account(
    owner: &Pubkey,
    collateral_index: u16,
    mint: &Pubkey,
    rent: u64,
) -> Vec<Instruction> {
    let (key, seed) = seeded_token_account(owner, collateral_index);
    vec![
        solana_system_interface::instruction::create_account_with_seed(
            owner,
            &key,
            owner,
            &seed,
            rent,
            165,
            &anchor_spl::token::ID,
        ),
        spl_token_interface::instruction::initialize_account3(&anchor_spl::token::ID, &key, mint, owner)
            .expect("initialize_account3"),
    ]
}
