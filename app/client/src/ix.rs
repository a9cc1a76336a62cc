//! Instruction builders for every program instruction, PDAs included.
//!
//! Remaining-account conventions (the program checks every one):
//! - instructions that price the primary market take its oracle accounts first, in the market's
//!   configured order (read-only);
//! - instructions that check a margin group take the market account of every other position of
//!   that group after that, read-only (funding owed is counted, not settled), each once; markets
//!   the account holds but the check does not need are accepted and ignored;
//! - `settle_funding` alone takes the markets writable (it settles them).

use crate::pda;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use anchor_lang::{InstructionData, ToAccountMetas};
use perp::instructions::{ExchangeParams, OrderParams};
use perp::state::{AdminAction, MarketParams};

pub(crate) fn build(
    accounts: impl ToAccountMetas,
    data: impl InstructionData,
    remaining: Vec<AccountMeta>,
) -> Instruction {
    let mut metas = accounts.to_account_metas(None);
    metas.extend(remaining);
    Instruction { program_id: perp::ID, accounts: metas, data: data.data() }
}

/// Read-only metas for oracle accounts.
pub fn oracle_metas(oracles: &[Pubkey]) -> Vec<AccountMeta> {
    oracles.iter().map(|k| AccountMeta::new_readonly(*k, false)).collect()
}

/// Read-only metas for market accounts.
pub fn market_metas(markets: &[u16]) -> Vec<AccountMeta> {
    markets.iter().map(|m| AccountMeta::new_readonly(pda::market(*m), false)).collect()
}

/// Writable metas for market accounts (`settle_funding`).
pub fn market_metas_writable(markets: &[u16]) -> Vec<AccountMeta> {
    markets.iter().map(|m| AccountMeta::new(pda::market(*m), false)).collect()
}

pub fn initialize_exchange(admin: Pubkey, collateral_mint: Pubkey, params: ExchangeParams) -> Instruction {
    build(
        perp::accounts::InitializeExchange {
            admin,
            exchange: pda::exchange(),
            collateral_mint,
            collateral_vault: pda::collateral_vault(),
            insurance_vault: pda::insurance_vault(),
            program_data: pda::program_data(),
            token_program: anchor_spl::token::ID,
            system_program: anchor_lang::system_program::ID,
        },
        perp::instruction::InitializeExchange { params },
        vec![],
    )
}

/// Proposes a timelocked admin action as proposal `id` (the exchange's `proposal_count`).
pub fn propose(admin: Pubkey, id: u64, action: AdminAction) -> Instruction {
    build(
        perp::accounts::Propose {
            admin,
            exchange: pda::exchange(),
            proposal: pda::proposal(id),
            system_program: anchor_lang::system_program::ID,
        },
        perp::instruction::Propose { action },
        vec![],
    )
}

pub fn cancel_proposal(admin: Pubkey, id: u64) -> Instruction {
    build(
        perp::accounts::CancelProposal { admin, exchange: pda::exchange(), proposal: pda::proposal(id) },
        perp::instruction::CancelProposal {},
        vec![],
    )
}

pub fn set_timelock_delay(admin: Pubkey, delay: i64) -> Instruction {
    build(
        perp::accounts::SetTimelockDelay { admin, exchange: pda::exchange() },
        perp::instruction::SetTimelockDelay { delay },
        vec![],
    )
}

/// Executes proposal `id` (an `UpdateMarket` of `market_index`); `proposer` gets its rent back.
pub fn execute_update_market(executor: Pubkey, id: u64, proposer: Pubkey, market_index: u16) -> Instruction {
    build(
        perp::accounts::ExecuteUpdateMarket {
            executor,
            exchange: pda::exchange(),
            proposal: pda::proposal(id),
            proposer,
            market: pda::market(market_index),
        },
        perp::instruction::ExecuteUpdateMarket {},
        vec![],
    )
}

/// Executes proposal `id` (a `CreateMarket` of `market_index`); `payer` pays the market's rent.
pub fn execute_create_market(payer: Pubkey, id: u64, proposer: Pubkey, market_index: u16) -> Instruction {
    build(
        perp::accounts::ExecuteCreateMarket {
            payer,
            exchange: pda::exchange(),
            proposal: pda::proposal(id),
            proposer,
            market: pda::market(market_index),
            adl_round: pda::adl_round(market_index),
            system_program: anchor_lang::system_program::ID,
        },
        perp::instruction::ExecuteCreateMarket { market_index },
        vec![],
    )
}

/// Executes proposal `id` (`SetAdmin` or `SetExchangeConfig`).
pub fn execute_exchange_action(executor: Pubkey, id: u64, proposer: Pubkey) -> Instruction {
    build(
        perp::accounts::ExecuteExchangeAction {
            executor,
            exchange: pda::exchange(),
            proposal: pda::proposal(id),
            proposer,
        },
        perp::instruction::ExecuteExchangeAction {},
        vec![],
    )
}

pub fn update_market(admin: Pubkey, market_index: u16, params: MarketParams) -> Instruction {
    build(
        perp::accounts::UpdateMarket { admin, exchange: pda::exchange(), market: pda::market(market_index) },
        perp::instruction::UpdateMarket { params },
        vec![],
    )
}

pub fn set_pause(admin: Pubkey, pause_flags: u16) -> Instruction {
    build(
        perp::accounts::SetPause { admin, exchange: pda::exchange() },
        perp::instruction::SetPause { pause_flags },
        vec![],
    )
}

pub fn set_market_status(admin: Pubkey, market_index: u16, status: u8) -> Instruction {
    build(
        perp::accounts::SetMarketStatus { admin, exchange: pda::exchange(), market: pda::market(market_index) },
        perp::instruction::SetMarketStatus { status },
        vec![],
    )
}

pub fn create_margin_account(owner: Pubkey, account_id: u16) -> Instruction {
    build(
        perp::accounts::CreateMarginAccount {
            owner,
            margin_account: pda::margin_account(&owner, account_id),
            system_program: anchor_lang::system_program::ID,
        },
        perp::instruction::CreateMarginAccount { account_id },
        vec![],
    )
}

pub fn deposit(authority: Pubkey, margin_account: Pubkey, user_token: Pubkey, amount: u64) -> Instruction {
    build(
        perp::accounts::Deposit {
            authority,
            exchange: pda::exchange(),
            margin_account,
            user_token,
            collateral_vault: pda::collateral_vault(),
            token_program: anchor_spl::token::ID,
        },
        perp::instruction::Deposit { amount },
        vec![],
    )
}

/// `position_markets`: the market of every open position of the account.
pub fn withdraw(
    owner: Pubkey,
    margin_account: Pubkey,
    user_token: Pubkey,
    amount: u64,
    position_markets: &[u16],
) -> Instruction {
    build(
        perp::accounts::Withdraw {
            owner,
            exchange: pda::exchange(),
            margin_account,
            user_token,
            collateral_vault: pda::collateral_vault(),
            token_program: anchor_spl::token::ID,
        },
        perp::instruction::Withdraw { amount },
        market_metas(position_markets),
    )
}

fn order_accounts(authority: Pubkey, margin_account: Pubkey, market_index: u16) -> perp::accounts::PlaceMarketOrder {
    perp::accounts::PlaceMarketOrder {
        authority,
        exchange: pda::exchange(),
        market: pda::market(market_index),
        margin_account,
    }
}

/// `oracles`: the market's oracle accounts in order; `other_markets`: the markets of the
/// account's other positions in the order's margin group ([`position_markets`] works too).
pub fn place_market_order(
    authority: Pubkey,
    margin_account: Pubkey,
    market_index: u16,
    oracles: &[Pubkey],
    other_markets: &[u16],
    params: OrderParams,
) -> Instruction {
    let mut rem = oracle_metas(oracles);
    rem.extend(market_metas(other_markets));
    build(order_accounts(authority, margin_account, market_index), perp::instruction::PlaceMarketOrder { params }, rem)
}

pub fn close_position(
    authority: Pubkey,
    margin_account: Pubkey,
    market_index: u16,
    oracles: &[Pubkey],
    other_markets: &[u16],
    limit_price: u64,
) -> Instruction {
    let mut rem = oracle_metas(oracles);
    rem.extend(market_metas(other_markets));
    build(
        order_accounts(authority, margin_account, market_index),
        perp::instruction::ClosePosition { limit_price },
        rem,
    )
}

pub fn move_isolated_collateral(
    authority: Pubkey,
    margin_account: Pubkey,
    market_index: u16,
    amount: i64,
    position_markets: &[u16],
) -> Instruction {
    build(
        perp::accounts::MoveIsolatedCollateral { authority, exchange: pda::exchange(), margin_account },
        perp::instruction::MoveIsolatedCollateral { market_index, amount },
        market_metas(position_markets),
    )
}

pub fn set_delegate(owner: Pubkey, margin_account: Pubkey, delegate: Pubkey) -> Instruction {
    build(perp::accounts::SetDelegate { owner, margin_account }, perp::instruction::SetDelegate { delegate }, vec![])
}

pub fn close_margin_account(owner: Pubkey, margin_account: Pubkey) -> Instruction {
    build(
        perp::accounts::CloseMarginAccount { owner, margin_account },
        perp::instruction::CloseMarginAccount {},
        vec![],
    )
}

pub fn update_funding(market_index: u16, oracles: &[Pubkey]) -> Instruction {
    build(
        perp::accounts::UpdateFunding { exchange: pda::exchange(), market: pda::market(market_index) },
        perp::instruction::UpdateFunding {},
        oracle_metas(oracles),
    )
}

pub fn settle_funding(margin_account: Pubkey, position_markets: &[u16]) -> Instruction {
    build(
        perp::accounts::SettleFunding { margin_account },
        perp::instruction::SettleFunding {},
        market_metas_writable(position_markets),
    )
}

/// Tops up market `market_index`'s share of the insurance fund.
pub fn deposit_insurance(depositor: Pubkey, depositor_token: Pubkey, market_index: u16, amount: u64) -> Instruction {
    build(
        perp::accounts::DepositInsurance {
            depositor,
            exchange: pda::exchange(),
            market: pda::market(market_index),
            depositor_token,
            insurance_vault: pda::insurance_vault(),
            token_program: anchor_spl::token::ID,
        },
        perp::instruction::DepositInsurance { amount },
        vec![],
    )
}

/// Moves market `market_index`'s pending insurance amount between the vaults.
pub fn sweep_insurance(market_index: u16) -> Instruction {
    build(
        perp::accounts::SweepInsurance {
            exchange: pda::exchange(),
            market: pda::market(market_index),
            collateral_vault: pda::collateral_vault(),
            insurance_vault: pda::insurance_vault(),
            token_program: anchor_spl::token::ID,
        },
        perp::instruction::SweepInsurance {},
        vec![],
    )
}

/// Liquidates (takes over) the account's position in `market_index`; `max_base` 0 takes it all.
/// `oracles`: the market's oracles; `other_markets`: the liquidated group's other markets and the
/// liquidator's other cross markets, each once ([`liquidation_markets`]).
#[allow(clippy::too_many_arguments)]
pub fn liquidate(
    liquidator: Pubkey,
    liquidator_account: Pubkey,
    margin_account: Pubkey,
    market_index: u16,
    oracles: &[Pubkey],
    other_markets: &[u16],
    max_base: u64,
) -> Instruction {
    let mut rem = oracle_metas(oracles);
    rem.extend(market_metas(other_markets));
    build(
        perp::accounts::Liquidate {
            liquidator,
            exchange: pda::exchange(),
            market: pda::market(market_index),
            margin_account,
            liquidator_account,
        },
        perp::instruction::Liquidate { max_base },
        rem,
    )
}

/// Opens an ADL round for the counterparties of `bankrupt_account`'s bankrupt position.
pub fn begin_adl_round(market_index: u16, oracles: &[Pubkey], bankrupt_account: Pubkey) -> Instruction {
    build(
        perp::accounts::BeginAdlRound {
            exchange: pda::exchange(),
            market: pda::market(market_index),
            adl_round: pda::adl_round(market_index),
            bankrupt_account,
        },
        perp::instruction::BeginAdlRound {},
        oracle_metas(oracles),
    )
}

/// Counts margin accounts into the open round.
pub fn adl_scan(market_index: u16, accounts: &[Pubkey]) -> Instruction {
    build(
        perp::accounts::AdlScan { market: pda::market(market_index), adl_round: pda::adl_round(market_index) },
        perp::instruction::AdlScan {},
        accounts.iter().map(|k| AccountMeta::new(*k, false)).collect(),
    )
}

/// Deleverages the bankrupt account against `candidates`, which must be the round's next ranked
/// entries in order; `oracles`: the market's oracles (the price is bounded by the live mark).
pub fn auto_deleverage(
    market_index: u16,
    oracles: &[Pubkey],
    bankrupt_account: Pubkey,
    candidates: &[Pubkey],
) -> Instruction {
    let mut rem = oracle_metas(oracles);
    rem.extend(candidates.iter().map(|k| AccountMeta::new(*k, false)));
    build(
        perp::accounts::AutoDeleverage {
            exchange: pda::exchange(),
            market: pda::market(market_index),
            adl_round: pda::adl_round(market_index),
            bankrupt_account,
        },
        perp::instruction::AutoDeleverage {},
        rem,
    )
}

/// The last resort once no ranked candidate is left (closes at the live mark).
pub fn resolve_bankruptcy(market_index: u16, oracles: &[Pubkey], bankrupt_account: Pubkey) -> Instruction {
    build(
        perp::accounts::ResolveBankruptcy {
            exchange: pda::exchange(),
            market: pda::market(market_index),
            adl_round: pda::adl_round(market_index),
            bankrupt_account,
        },
        perp::instruction::ResolveBankruptcy {},
        oracle_metas(oracles),
    )
}

/// Moves market `market_index`'s vAMM peg toward the index (permissionless; `oracles`: the
/// market's oracles).
pub fn repeg(market_index: u16, oracles: &[Pubkey]) -> Instruction {
    build(
        perp::accounts::Repeg { exchange: pda::exchange(), market: pda::market(market_index) },
        perp::instruction::Repeg {},
        oracle_metas(oracles),
    )
}

/// Oracle keys of a decoded market, in order.
pub fn market_oracles(m: &perp::state::Market) -> Vec<Pubkey> {
    m.oracles[..m.oracle_count()].iter().map(|o| o.key).collect()
}

/// Markets of a decoded account's open positions, excluding `primary`.
pub fn position_markets(a: &perp::state::MarginAccount, primary: Option<u16>) -> Vec<u16> {
    a.positions.iter().filter(|p| p.in_use() && Some(p.market_index) != primary).map(|p| p.market_index).collect()
}

/// Markets of a decoded account's cross positions, excluding `primary`: what a cross order, a
/// withdrawal or a move into an isolated position needs.
pub fn cross_markets(a: &perp::state::MarginAccount, primary: Option<u16>) -> Vec<u16> {
    a.positions
        .iter()
        .filter(|p| p.in_use() && !p.is_isolated() && Some(p.market_index) != primary)
        .map(|p| p.market_index)
        .collect()
}

/// The other markets a liquidation of `victim`'s position in `primary` needs: the liquidated
/// group's (none for an isolated position) and the liquidator's cross positions', each once.
pub fn liquidation_markets(
    victim: &perp::state::MarginAccount,
    liquidator: &perp::state::MarginAccount,
    primary: u16,
) -> Vec<u16> {
    let isolated = victim.find(primary).is_some_and(|s| victim.positions[s].is_isolated());
    let mut out = if isolated { vec![] } else { cross_markets(victim, Some(primary)) };
    for m in cross_markets(liquidator, Some(primary)) {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

/// The most a transaction may weigh on the wire (a legacy transaction, signatures included).
pub const MAX_TX_BYTES: usize = 1232;
/// What a sender's two compute-budget instructions (limit and price) add to a transaction.
pub const COMPUTE_BUDGET_BYTES: usize = 32 + 2 * 12;

/// The serialized size of a legacy transaction carrying `ixs`, paid by `payer` (one signature per
/// distinct signer): header, account keys, blockhash, compact instructions. A sender that adds
/// compute-budget instructions adds [`COMPUTE_BUDGET_BYTES`].
pub fn legacy_tx_size(ixs: &[Instruction], payer: &Pubkey) -> usize {
    let compact = |n: usize| {
        if n < 0x80 {
            1
        } else if n < 0x4000 {
            2
        } else {
            3
        }
    };
    let mut keys = std::collections::BTreeSet::from([*payer]);
    let mut signers = std::collections::BTreeSet::from([*payer]);
    let mut body = compact(ixs.len());
    for i in ixs {
        keys.insert(i.program_id);
        for a in &i.accounts {
            keys.insert(a.pubkey);
            if a.is_signer {
                signers.insert(a.pubkey);
            }
        }
        body += 1 + compact(i.accounts.len()) + i.accounts.len() + compact(i.data.len()) + i.data.len();
    }
    compact(signers.len()) + 64 * signers.len() + 3 + compact(keys.len()) + 32 * keys.len() + 32 + body
}

/// Splits `ixs` into consecutive groups, each small enough for one transaction paid by `payer`
/// with compute-budget instructions added (an instruction too big on its own gets a group of its
/// own, which the node will refuse).
pub fn pack_transactions(ixs: &[Instruction], payer: &Pubkey) -> Vec<Vec<Instruction>> {
    let mut out: Vec<Vec<Instruction>> = Vec::new();
    let mut cur: Vec<Instruction> = Vec::new();
    for i in ixs {
        cur.push(i.clone());
        if cur.len() > 1 && legacy_tx_size(&cur, payer) + COMPUTE_BUDGET_BYTES > MAX_TX_BYTES {
            let last = cur.pop().expect("pushed");
            out.push(std::mem::replace(&mut cur, vec![last]));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// The computed size is the real serialized size of a signed legacy transaction.
    #[test]
    fn legacy_tx_size_matches_a_serialized_transaction() {
        let payer = Pubkey::new_unique();
        let oracles: Vec<Pubkey> = (0..3).map(|_| Pubkey::new_unique()).collect();
        for n in 1..=8u16 {
            let mut ixs: Vec<Instruction> = (0..n).map(|m| update_funding(m, &oracles)).collect();
            ixs.push(liquidate(payer, Pubkey::new_unique(), Pubkey::new_unique(), 0, &oracles, &[1, 2], 0));
            // unsigned: one default signature per required signer, the same bytes as signed
            let tx = solana_transaction::Transaction::new_with_payer(&ixs, Some(&payer));
            let real = bincode::serialize(&tx).unwrap().len();
            assert_eq!(legacy_tx_size(&ixs, &payer), real, "{n} refreshes and a liquidation");
        }
    }

    /// Packed groups each fit, keep the order and lose nothing.
    #[test]
    fn refreshes_are_packed_into_transactions_that_fit() {
        let payer = Pubkey::new_unique();
        let ixs: Vec<Instruction> =
            (0..8u16).map(|m| update_funding(m, &(0..3).map(|_| Pubkey::new_unique()).collect::<Vec<_>>())).collect();
        assert!(legacy_tx_size(&ixs, &payer) > MAX_TX_BYTES, "8 markets of 3 oracles do not fit in one");
        let packs = pack_transactions(&ixs, &payer);
        assert!(packs.len() > 1);
        for p in &packs {
            assert!(legacy_tx_size(p, &payer) + COMPUTE_BUDGET_BYTES <= MAX_TX_BYTES);
        }
        let flat: Vec<Instruction> = packs.concat();
        assert_eq!(flat, ixs);
    }
}
