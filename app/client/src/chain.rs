//! The small chain interface everything above the program talks to, with two backends: a real
//! cluster over JSON-RPC ([`crate::rpc::RpcChain`], feature `rpc`) and the in-process bank of
//! solana-program-test ([`crate::bank::BankChain`], feature `bank`).

use crate::decode::decode;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::Discriminator;
use perp::state::{Exchange, MarginAccount, Market};
use solana_keypair::Keypair;
use solana_transaction_error::TransactionError;
use std::fmt;

/// An account as the chain returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountData {
    pub owner: Pubkey,
    pub lamports: u64,
    pub data: Vec<u8>,
}

/// Transaction options a keeper sets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// Compute-unit limit (a `SetComputeUnitLimit` instruction is prepended when set).
    pub compute_unit_limit: Option<u32>,
    /// Priority fee in micro-lamports per compute unit (`SetComputeUnitPrice`).
    pub priority_fee_micro_lamports: Option<u64>,
}

/// A decoded program error: `PerpError` name and message, or an Anchor framework code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramError {
    pub code: u32,
    pub name: String,
    pub message: String,
}

#[derive(Clone, Debug)]
pub enum ChainError {
    /// The node could not be reached or answered badly; retrying may help.
    Transport(String),
    /// The transaction was processed (or refused by the node's preflight) and failed. `reason`
    /// is the short decoded cause: the program error's name, or the runtime's (e.g.
    /// `ComputationalBudgetExceeded`, `BlockhashNotFound`, `InsufficientFundsForFee`).
    Failed { error: String, reason: String, program_error: Option<ProgramError> },
    /// An account is missing or not of the expected type.
    Account(String),
}

impl ChainError {
    /// The program error's name, if the failure was one.
    pub fn program_error_name(&self) -> Option<&str> {
        match self {
            ChainError::Failed { program_error: Some(p), .. } => Some(&p.name),
            _ => None,
        }
    }
    pub fn is_transport(&self) -> bool {
        matches!(self, ChainError::Transport(_))
    }
    /// The short decoded cause (`Transport` and `Account` for those kinds).
    pub fn reason(&self) -> &str {
        match self {
            ChainError::Transport(_) => "Transport",
            ChainError::Account(_) => "Account",
            ChainError::Failed { reason, .. } => reason,
        }
    }
    /// A failure of the fee payer or the transaction as a whole, not of the accounts it acts on:
    /// unreachable node, unknown blockhash, fee payer without funds.
    pub fn is_payer_or_node(&self) -> bool {
        matches!(
            self.reason(),
            "Transport"
                | "BlockhashNotFound"
                | "InsufficientFundsForFee"
                | "AccountNotFound"
                | "InsufficientFundsForRent"
        )
    }
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainError::Transport(e) => write!(f, "transport: {e}"),
            ChainError::Failed { program_error: Some(p), .. } => write!(f, "{} ({}): {}", p.name, p.code, p.message),
            ChainError::Failed { error, reason, .. } => write!(f, "{reason}: transaction failed: {error}"),
            ChainError::Account(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ChainError {}

/// Turns a transaction error into a [`ChainError`] with the program error decoded.
pub fn decode_transaction_error(e: &TransactionError) -> ChainError {
    let program_error = match e {
        TransactionError::InstructionError(_, solana_instruction::error::InstructionError::Custom(code)) => {
            Some(match perp::error::from_code(*code) {
                Some(pe) => ProgramError { code: *code, name: pe.name(), message: pe.to_string() },
                None => ProgramError {
                    code: *code,
                    name: anchor_name(*code),
                    message: format!("custom program error {code}"),
                },
            })
        }
        _ => None,
    };
    let reason = match (&program_error, e) {
        (Some(p), _) => p.name.clone(),
        (None, TransactionError::InstructionError(_, ie)) => variant_name(&format!("{ie:?}")),
        (None, e) => variant_name(&format!("{e:?}")),
    };
    ChainError::Failed { error: e.to_string(), reason, program_error }
}

/// [`decode_transaction_error`], with the transaction's logs: the VM reports a compute meter
/// that ran out between syscalls as `ProgramFailedToComplete` (as it does a panic), and only its
/// log says which ("... failed: exceeded CUs meter at BPF instruction"); that case is decoded as
/// `ComputationalBudgetExceeded`, so a sender can raise the limit.
pub fn decode_transaction_error_with_logs(e: &TransactionError, logs: &[String]) -> ChainError {
    let mut decoded = decode_transaction_error(e);
    if let ChainError::Failed { reason, .. } = &mut decoded {
        if reason == "ProgramFailedToComplete" && logs.iter().any(|l| is_meter_exhausted(l)) {
            *reason = "ComputationalBudgetExceeded".into();
        }
    }
    decoded
}

/// The runtime's line for a program whose meter ran out in the VM (not a line the program logged).
fn is_meter_exhausted(line: &str) -> bool {
    line.starts_with("Program ")
        && !line.starts_with("Program log:")
        && !line.starts_with("Program data:")
        && line.ends_with(" failed: exceeded CUs meter at BPF instruction")
}

/// `Foo(..)` / `Foo { .. }` / `Foo` -> `Foo`.
fn variant_name(debug: &str) -> String {
    debug.split(['(', ' ', '{']).next().unwrap_or(debug).to_string()
}

fn anchor_name(code: u32) -> String {
    match code {
        2000..=2999 => format!("AnchorConstraint{code}"),
        3000..=3999 => format!("AnchorAccount{code}"),
        _ => format!("Custom{code}"),
    }
}

pub type ChainResult<T> = Result<T, ChainError>;

/// What the keeper, CLI and simulator need from a chain.
#[allow(async_fn_in_trait)]
pub trait Chain {
    async fn account(&self, key: &Pubkey) -> ChainResult<Option<AccountData>>;
    async fn accounts(&self, keys: &[Pubkey]) -> ChainResult<Vec<Option<AccountData>>>;
    /// The program's accounts of one type: `getProgramAccounts` with a data-size filter and a
    /// memcmp filter on the 8-byte discriminator.
    async fn program_accounts(&self, discriminator: &[u8], data_len: usize) -> ChainResult<Vec<(Pubkey, Vec<u8>)>>;
    /// Signs (the first signer pays the fee) and sends one transaction, waiting for it to land.
    async fn send(&self, ixs: &[Instruction], signers: &[&Keypair], opts: &SendOptions) -> ChainResult<String>;
    /// The cluster's clock (unix seconds).
    async fn unix_time(&self) -> ChainResult<i64>;
}

/// Prepends the compute-budget instructions the options ask for.
pub fn with_budget(ixs: &[Instruction], opts: &SendOptions) -> Vec<Instruction> {
    use solana_compute_budget_interface::ComputeBudgetInstruction;
    let mut out = Vec::with_capacity(ixs.len() + 2);
    if let Some(units) = opts.compute_unit_limit {
        out.push(ComputeBudgetInstruction::set_compute_unit_limit(units));
    }
    if let Some(price) = opts.priority_fee_micro_lamports {
        out.push(ComputeBudgetInstruction::set_compute_unit_price(price));
    }
    out.extend_from_slice(ixs);
    out
}

fn typed<T: bytemuck::Pod + Discriminator>(key: &Pubkey, a: Option<AccountData>) -> ChainResult<T> {
    let a = a.ok_or_else(|| ChainError::Account(format!("account {key} not found")))?;
    if a.owner != perp::ID {
        return Err(ChainError::Account(format!("account {key} is not owned by the perp program")));
    }
    decode(&a.data).map_err(|e| ChainError::Account(format!("account {key}: {e}")))
}

pub async fn fetch_exchange<C: Chain>(c: &C) -> ChainResult<Exchange> {
    let k = crate::pda::exchange();
    typed(&k, c.account(&k).await?)
}

pub async fn fetch_market<C: Chain>(c: &C, index: u16) -> ChainResult<Market> {
    let k = crate::pda::market(index);
    typed(&k, c.account(&k).await?)
}

/// Every market, in index order.
pub async fn fetch_markets<C: Chain>(c: &C) -> ChainResult<Vec<Market>> {
    let ex = fetch_exchange(c).await?;
    let keys: Vec<Pubkey> = (0..ex.market_count).map(crate::pda::market).collect();
    let accs = c.accounts(&keys).await?;
    keys.iter().zip(accs).map(|(k, a)| typed(k, a)).collect()
}

/// Every listed collateral, by index.
pub async fn fetch_collaterals<C: Chain>(c: &C) -> ChainResult<crate::collateral_view::Collaterals> {
    let ex = fetch_exchange(c).await?;
    let keys: Vec<Pubkey> = (1..=ex.collateral_count).map(crate::pda::collateral).collect();
    let accs = c.accounts(&keys).await?;
    keys.iter()
        .zip(accs)
        .map(|(k, a)| typed::<perp::state::Collateral>(k, a).map(|col| (col.collateral_index, col)))
        .collect()
}

pub async fn fetch_margin<C: Chain>(c: &C, key: &Pubkey) -> ChainResult<MarginAccount> {
    typed(key, c.account(key).await?)
}

/// Every margin account of the program (`getProgramAccounts` with filters).
pub async fn fetch_all_margin_accounts<C: Chain>(c: &C) -> ChainResult<Vec<(Pubkey, MarginAccount)>> {
    let raw = c.program_accounts(MarginAccount::DISCRIMINATOR, 8 + perp::state::MARGIN_ACCOUNT_SIZE).await?;
    raw.into_iter()
        .map(|(k, d)| decode(&d).map(|a| (k, a)).map_err(|e| ChainError::Account(format!("margin account {k}: {e}"))))
        .collect()
}

/// Reads the oracle accounts of a market (for off-chain index and mark computation).
pub async fn fetch_oracles<C: Chain>(c: &C, m: &Market) -> ChainResult<Vec<Option<AccountData>>> {
    c.accounts(&crate::ix::market_oracles(m)).await
}

/// Conservation, read from any chain: the collateral vault holds what the ledgers owe (accounts'
/// collateral + each market's PnL pool, fee pool and pending insurance), the insurance vault what
/// the markets' insurance funds hold.
pub async fn conservation<C: Chain>(c: &C) -> ChainResult<Conservation> {
    let accounts = fetch_all_margin_accounts(c).await?;
    let markets = fetch_markets(c).await?;
    let owed: i128 = accounts.iter().map(|(_, a)| a.total_collateral()).sum::<i128>()
        + markets.iter().map(|m| m.pnl_pool as i128 + m.fee_pool as i128 + m.insurance_pending as i128).sum::<i128>();
    let mut mints = Vec::new();
    for (ci, col) in fetch_collaterals(c).await? {
        let held: u128 = accounts.iter().map(|(_, a)| a.collateral_balance(ci) as u128).sum();
        mints.push(MintConservation {
            collateral_index: ci,
            vault: token_balance(c, &col.vault).await? as u128,
            registry: col.total_deposits as u128,
            balances: held,
        });
    }
    Ok(Conservation {
        collateral_vault: token_balance(c, &crate::pda::collateral_vault()).await? as i128,
        ledgers: owed,
        insurance_vault: token_balance(c, &crate::pda::insurance_vault()).await? as i128,
        insurance_ledger: markets.iter().map(|m| m.insurance_in_vault()).sum(),
        mints,
    })
}

/// One listed mint's conservation: its vault holds the registry's total, which is the sum of the
/// accounts' balances (raw tokens).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MintConservation {
    pub collateral_index: u16,
    pub vault: u128,
    pub registry: u128,
    pub balances: u128,
}

/// The balance of an SPL token account (amount at bytes 64..72).
pub async fn token_balance<C: Chain>(c: &C, key: &Pubkey) -> ChainResult<u64> {
    let a = c.account(key).await?.ok_or_else(|| ChainError::Account(format!("token account {key} not found")))?;
    let d = a.data.get(64..72).ok_or_else(|| ChainError::Account(format!("{key} is not a token account")))?;
    Ok(u64::from_le_bytes(d.try_into().unwrap()))
}

/// The conservation equalities, with both sides: the settlement mint's two and one per listed
/// mint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conservation {
    /// Tokens in the collateral vault.
    pub collateral_vault: i128,
    /// Σ accounts' collateral + Σ markets' (PnL pool + fee pool + pending insurance).
    pub ledgers: i128,
    /// Tokens in the insurance vault.
    pub insurance_vault: i128,
    /// Σ markets' (insurance fund - pending insurance).
    pub insurance_ledger: i128,
    pub mints: Vec<MintConservation>,
}

impl Conservation {
    pub fn holds(&self) -> bool {
        self.collateral_vault == self.ledgers
            && self.insurance_vault == self.insurance_ledger
            && self.mints.iter().all(|m| m.vault == m.registry && m.registry == m.balances)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use solana_instruction::error::InstructionError;

    #[test]
    fn a_compute_meter_that_ran_out_in_the_vm_is_decoded_as_such() {
        let e = TransactionError::InstructionError(1, InstructionError::ProgramFailedToComplete);
        let vm = [
            "Program PerpXXX invoke [1]".to_string(),
            "Program PerpXXX consumed 2000 of 2000 compute units".to_string(),
            "Program PerpXXX failed: exceeded CUs meter at BPF instruction".to_string(),
        ];
        assert_eq!(decode_transaction_error_with_logs(&e, &vm).reason(), "ComputationalBudgetExceeded");
        // a panic is also ProgramFailedToComplete: left as it is
        let panic = ["Program PerpXXX failed: SBF program panicked".to_string()];
        assert_eq!(decode_transaction_error_with_logs(&e, &panic).reason(), "ProgramFailedToComplete");
        // what a program logs itself is not the runtime's word
        let forged = [
            "Program log: Program PerpXXX failed: exceeded CUs meter at BPF instruction".to_string(),
            "Program PerpXXX failed: SBF program panicked".to_string(),
        ];
        assert_eq!(decode_transaction_error_with_logs(&e, &forged).reason(), "ProgramFailedToComplete");
        assert_eq!(decode_transaction_error_with_logs(&e, &[]).reason(), "ProgramFailedToComplete");
        // the runtime's own budget error is unchanged
        let budget = TransactionError::InstructionError(0, InstructionError::ComputationalBudgetExceeded);
        assert_eq!(decode_transaction_error_with_logs(&budget, &[]).reason(), "ComputationalBudgetExceeded");
    }
}
