//! The in-process bank of solana-program-test as a [`Chain`], with the perp program registered as
//! a native processor and the real SPL Token program. Used by the tests, the keeper's tests and
//! the simulator.
//!
//! A bank has no `getProgramAccounts`; this backend keeps its own account index instead, the way
//! an RPC node indexes accounts: every account written by a transaction it processes (and every
//! account set directly) is recorded, and [`Chain::program_accounts`] filters that set by owner,
//! size and discriminator. Share one `BankChain` (it is `Clone`) between all actors, as they would
//! share one RPC node.

use crate::chain::{
    decode_transaction_error, decode_transaction_error_with_logs, with_budget, AccountData, Chain, ChainError,
    ChainResult, SendOptions,
};
use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use solana_account::Account;
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_program_test::{processor, BanksClient, BanksClientError, ProgramTest, ProgramTestContext};
use solana_signer::Signer;
use solana_transaction::Transaction;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

fn process_instruction(
    program_id: &Pubkey,
    accounts: &[AccountInfo],
    data: &[u8],
) -> anchor_lang::solana_program::entrypoint::ProgramResult {
    // Anchor's entry wants one lifetime for the slice and its elements; the runtime gives two.
    let accounts: &[AccountInfo] = unsafe { core::mem::transmute::<&[AccountInfo], &[AccountInfo]>(accounts) };
    perp::entry(program_id, accounts, data)
}

/// Where the SBF build of the program is, when the tests should run it instead of the native
/// processor: `PERP_SBF=1` (the `target/deploy/perp.so` that `scripts/build-sbf` writes) or
/// `PERP_SBF=<dir holding perp.so>`.
pub fn sbf_dir() -> Option<std::path::PathBuf> {
    let v = std::env::var("PERP_SBF").ok().filter(|v| !v.is_empty() && v != "0")?;
    Some(if v == "1" { crate::data::repo_root().join("target/deploy") } else { std::path::PathBuf::from(v) })
}

/// The perp program: by default a native processor; with `PERP_SBF` set, the SBF `.so` run in the
/// SBF VM (see [`sbf_dir`]). SPL Token always runs as its real BPF program.
pub fn program_test() -> ProgramTest {
    if let Some(dir) = sbf_dir() {
        assert!(dir.join("perp.so").is_file(), "PERP_SBF: no perp.so in {} (run scripts/build-sbf)", dir.display());
        // solana-program-test finds `perp.so` there
        std::env::set_var("SBF_OUT_DIR", &dir);
        let mut pt = ProgramTest::new("perp", perp::ID, None);
        pt.prefer_bpf(true);
        return pt;
    }
    let mut pt = ProgramTest::new("perp", perp::ID, processor!(process_instruction));
    pt.prefer_bpf(false);
    pt
}

struct State {
    slot: u64,
    now: i64,
    index: BTreeSet<Pubkey>,
    /// Indexed keys last seen owned by another program (skipped by scans until written again).
    foreign: BTreeSet<Pubkey>,
    /// Warp to a new slot before every transaction (so identical transactions never collide).
    slot_per_send: bool,
    /// Otherwise: counts the slot's transactions, to make each unique (see `send`).
    nonce: u64,
    /// The current slot's clock and blockhash (both change only when the slot does).
    clock: Option<anchor_lang::prelude::Clock>,
    blockhash: Option<[u8; 32]>,
    /// Accounts as last read. An account changes only in a transaction that writes it or by
    /// `set_account`: both drop it here. Sysvars (which warps change) are never kept.
    cache: HashMap<Pubkey, Option<AccountData>>,
    /// Logs of the successful transactions since `record_logs(true)` (taken by `take_logs`).
    recorded: Option<Vec<TxLog>>,
}

static RECORD_NEW: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Banks started from now on keep their transactions' logs from their first transaction
/// ([`BankChain::record_logs`]): a replay written into the indexer needs every event.
pub fn record_logs_of_new_banks(on: bool) {
    RECORD_NEW.store(on, std::sync::atomic::Ordering::SeqCst);
}

/// A landed transaction's log, as an indexer reads it from `getTransaction`.
#[derive(Clone, Debug)]
pub struct TxLog {
    pub signature: String,
    pub slot: u64,
    /// The bank's clock when it ran (unix seconds).
    pub block_time: i64,
    pub logs: Vec<String>,
}

#[derive(Clone)]
pub struct BankChain {
    ctx: Arc<Mutex<ProgramTestContext>>,
    client: BanksClient,
    payer: Arc<Keypair>,
    state: Arc<Mutex<State>>,
}

fn transport(e: impl std::fmt::Display) -> ChainError {
    ChainError::Transport(e.to_string())
}

fn from_banks(e: BanksClientError) -> ChainError {
    match e {
        BanksClientError::TransactionError(t) => decode_transaction_error(&t),
        BanksClientError::SimulationError { err, logs, .. } => decode_transaction_error_with_logs(&err, &logs),
        other => transport(other),
    }
}

impl BankChain {
    /// Starts a bank at unix time `now`.
    pub async fn start(now: i64) -> BankChain {
        Self::from_program_test(program_test(), now).await
    }

    pub async fn from_program_test(pt: ProgramTest, now: i64) -> BankChain {
        let ctx = pt.start_with_context().await;
        let client = ctx.banks_client.clone();
        let payer = Arc::new(ctx.payer.insecure_clone());
        let slot = client.clone().get_root_slot().await.unwrap_or(0);
        let chain = BankChain {
            ctx: Arc::new(Mutex::new(ctx)),
            client,
            payer,
            state: Arc::new(Mutex::new(State {
                slot,
                now,
                index: BTreeSet::new(),
                foreign: BTreeSet::new(),
                slot_per_send: true,
                nonce: 0,
                clock: None,
                blockhash: None,
                cache: HashMap::new(),
                recorded: RECORD_NEW.load(std::sync::atomic::Ordering::SeqCst).then(Vec::new),
            })),
        };
        chain.set_time(now).await;
        chain
    }

    /// Starts (or stops and drops) keeping the log of every successful transaction. Only the
    /// SBF build logs events: natively Anchor's `sol_log_data` is a no-op ([`sbf_dir`]).
    pub fn record_logs(&self, on: bool) {
        self.state.lock().unwrap().recorded = on.then(Vec::new);
    }

    /// The logs kept since the last call, oldest first.
    pub fn take_logs(&self) -> Vec<TxLog> {
        self.state.lock().unwrap().recorded.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The bank's funded payer.
    pub fn payer(&self) -> Keypair {
        self.payer.insecure_clone()
    }

    /// When false, transactions share the current slot until [`BankChain::next_slot`] (faster
    /// for simulations that advance time themselves, and lighter: the test bank keeps every rooted
    /// slot's writes, about 170 KB per slot in the replay). Each transaction then carries a
    /// compute-unit price of its own (a few lamports of fee) unless it sets one, so the same
    /// instruction sent twice in a slot is two transactions, not a duplicate.
    pub fn set_slot_per_send(&self, on: bool) {
        self.state.lock().unwrap().slot_per_send = on;
    }

    pub fn now(&self) -> i64 {
        self.state.lock().unwrap().now
    }

    /// Sets the bank clock's unix time (kept across slots).
    pub async fn set_time(&self, now: i64) {
        let cached = {
            let mut s = self.state.lock().unwrap();
            s.now = now;
            s.clock.clone()
        };
        let mut clock = match cached {
            Some(c) => c,
            None => self.client.clone().get_sysvar().await.expect("clock sysvar"),
        };
        clock.unix_timestamp = now;
        self.ctx.lock().unwrap().set_sysvar(&clock);
        self.state.lock().unwrap().clock = Some(clock);
    }

    /// Moves to the next slot (new blockhash), keeping the clock.
    pub async fn next_slot(&self) {
        let (slot, now) = {
            let mut s = self.state.lock().unwrap();
            s.slot += 1;
            s.nonce = 0;
            s.clock = None;
            s.blockhash = None;
            (s.slot, s.now)
        };
        self.ctx.lock().unwrap().warp_to_slot(slot).expect("warp");
        self.set_time(now).await;
    }

    /// Writes an account directly (oracle feeds, fixtures) and indexes it.
    pub fn set_account(&self, key: Pubkey, owner: Pubkey, data: Vec<u8>) {
        let acc = Account { lamports: 10_000_000_000, data, owner, executable: false, rent_epoch: 0 };
        self.ctx.lock().unwrap().set_account(&key, &acc.into());
        let mut s = self.state.lock().unwrap();
        s.index.insert(key);
        s.foreign.remove(&key);
        s.cache.remove(&key);
    }

    /// SOL from the payer to `to`.
    pub async fn fund(&self, to: &Pubkey, lamports: u64) -> ChainResult<()> {
        let payer = self.payer();
        let ix = solana_system_interface::instruction::transfer(&payer.pubkey(), to, lamports);
        self.send(&[ix], &[&payer], &SendOptions::default()).await.map(|_| ())
    }

    /// A new SPL mint with `decimals`, `authority` as mint authority.
    pub async fn create_mint(&self, authority: &Pubkey, decimals: u8) -> ChainResult<Pubkey> {
        let mint = Keypair::new();
        let payer = self.payer();
        let rent = self.client.clone().get_rent().await.map_err(transport)?;
        let len = spl_token_interface::state::Mint::LEN;
        let create = solana_system_interface::instruction::create_account(
            &payer.pubkey(),
            &mint.pubkey(),
            rent.minimum_balance(len),
            len as u64,
            &spl_token_interface::ID,
        );
        let init = spl_token_interface::instruction::initialize_mint2(
            &spl_token_interface::ID,
            &mint.pubkey(),
            authority,
            None,
            decimals,
        )
        .map_err(transport)?;
        self.send(&[create, init], &[&payer, &mint], &SendOptions::default()).await?;
        Ok(mint.pubkey())
    }

    /// A token account of `owner` for `mint`, with `amount` minted by `mint_authority`.
    pub async fn token_account(
        &self,
        mint: &Pubkey,
        owner: &Pubkey,
        amount: u64,
        mint_authority: &Keypair,
    ) -> ChainResult<Pubkey> {
        let acc = Keypair::new();
        let payer = self.payer();
        let rent = self.client.clone().get_rent().await.map_err(transport)?;
        let len = spl_token_interface::state::Account::LEN;
        let mut ixs = vec![
            solana_system_interface::instruction::create_account(
                &payer.pubkey(),
                &acc.pubkey(),
                rent.minimum_balance(len),
                len as u64,
                &spl_token_interface::ID,
            ),
            spl_token_interface::instruction::initialize_account3(&spl_token_interface::ID, &acc.pubkey(), mint, owner)
                .map_err(transport)?,
        ];
        if amount > 0 {
            ixs.push(
                spl_token_interface::instruction::mint_to(
                    &spl_token_interface::ID,
                    mint,
                    &acc.pubkey(),
                    &mint_authority.pubkey(),
                    &[],
                    amount,
                )
                .map_err(transport)?,
            );
            self.send(&ixs, &[&payer, &acc, mint_authority], &SendOptions::default()).await?;
        } else {
            self.send(&ixs, &[&payer, &acc], &SendOptions::default()).await?;
        }
        Ok(acc.pubkey())
    }

    /// Token balance of an SPL token account.
    pub async fn token_balance(&self, key: &Pubkey) -> ChainResult<u64> {
        let a =
            self.account(key).await?.ok_or_else(|| ChainError::Account(format!("token account {key} not found")))?;
        spl_token_interface::state::Account::unpack(&a.data)
            .map(|t| t.amount)
            .map_err(|e| ChainError::Account(e.to_string()))
    }

    pub async fn balance(&self, key: &Pubkey) -> ChainResult<u64> {
        self.client.clone().get_balance(*key).await.map_err(transport)
    }
}

/// The owner of the sysvar accounts.
const SYSVAR_OWNER: Pubkey = anchor_lang::pubkey!("Sysvar1111111111111111111111111111111111111");

impl Chain for BankChain {
    async fn account(&self, key: &Pubkey) -> ChainResult<Option<AccountData>> {
        if let Some(a) = self.state.lock().unwrap().cache.get(key) {
            return Ok(a.clone());
        }
        let a = self.client.clone().get_account(*key).await.map_err(transport)?;
        let a = a.map(|a| AccountData { owner: a.owner, lamports: a.lamports, data: a.data });
        if a.as_ref().is_none_or(|a| a.owner != SYSVAR_OWNER) {
            self.state.lock().unwrap().cache.insert(*key, a.clone());
        }
        Ok(a)
    }

    async fn accounts(&self, keys: &[Pubkey]) -> ChainResult<Vec<Option<AccountData>>> {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            out.push(self.account(k).await?);
        }
        Ok(out)
    }

    async fn program_accounts(&self, discriminator: &[u8], data_len: usize) -> ChainResult<Vec<(Pubkey, Vec<u8>)>> {
        let keys: Vec<Pubkey> = {
            let s = self.state.lock().unwrap();
            s.index.difference(&s.foreign).copied().collect()
        };
        let mut out = Vec::new();
        let mut foreign = Vec::new();
        for k in keys {
            match self.account(&k).await? {
                Some(a) if a.owner == perp::ID && a.data.len() == data_len && a.data.starts_with(discriminator) => {
                    out.push((k, a.data));
                }
                Some(a) if a.owner == perp::ID => {}
                Some(_) => foreign.push(k),
                None => {}
            }
        }
        self.state.lock().unwrap().foreign.extend(foreign);
        Ok(out)
    }

    async fn send(&self, ixs: &[Instruction], signers: &[&Keypair], opts: &SendOptions) -> ChainResult<String> {
        if self.state.lock().unwrap().slot_per_send {
            self.next_slot().await;
        }
        let payer = signers.first().ok_or_else(|| transport("no signer to pay the fee"))?;
        let mut ixs = with_budget(ixs, opts);
        if opts.priority_fee_micro_lamports.is_none() {
            let mut s = self.state.lock().unwrap();
            if !s.slot_per_send {
                s.nonce += 1;
                let unique = solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_price(s.nonce);
                ixs.insert(0, unique);
            }
        }
        let cached = self.state.lock().unwrap().blockhash;
        let bh = match cached {
            Some(b) => b,
            None => {
                let b = self.client.clone().get_latest_blockhash().await.map_err(transport)?.to_bytes();
                self.state.lock().unwrap().blockhash = Some(b);
                b
            }
        };
        let tx = Transaction::new_signed_with_payer(&ixs, Some(&payer.pubkey()), signers, bh.into());
        let sig = tx.signatures[0].to_string();
        let written: Vec<Pubkey> = tx
            .message
            .account_keys
            .iter()
            .enumerate()
            .filter(|(i, _)| tx.message.is_maybe_writable(*i, None))
            .map(|(_, k)| *k)
            .collect();
        // executed on the working bank at once (`process_transaction` would hand it to the bank's
        // thread and poll for its status, sleeping about a millisecond per transaction)
        let result = self.client.clone().process_transaction_with_metadata(tx).await;
        let mut s = self.state.lock().unwrap();
        // a failed transaction still charges its fee payer
        for k in &written {
            s.cache.remove(k);
        }
        let processed = result.map_err(from_banks)?;
        if let Err(e) = processed.result {
            let logs = processed.metadata.map(|m| m.log_messages).unwrap_or_default();
            return Err(decode_transaction_error_with_logs(&e, &logs));
        }
        for k in written {
            s.foreign.remove(&k);
            s.index.insert(k);
        }
        let (slot, block_time) = (s.slot, s.now);
        if let Some(rec) = s.recorded.as_mut() {
            let logs = processed.metadata.map(|m| m.log_messages).unwrap_or_default();
            rec.push(TxLog { signature: sig.clone(), slot, block_time, logs });
        }
        Ok(sig)
    }

    async fn unix_time(&self) -> ChainResult<i64> {
        Ok(self.now())
    }
}

/// The bytes of an upgradeable-loader `ProgramData` account whose upgrade authority is
/// `authority` (slot 0, no program bytes). `initialize_exchange` accepts only the upgrade
/// authority; a native or `bpf_loader` test program has no such account, so tests and the
/// simulator write one at [`crate::pda::program_data`].
pub fn program_data_bytes(authority: &Pubkey) -> Vec<u8> {
    let mut v = Vec::with_capacity(45);
    v.extend_from_slice(&3u32.to_le_bytes()); // UpgradeableLoaderState::ProgramData
    v.extend_from_slice(&0u64.to_le_bytes()); // slot
    v.push(1); // Some(authority)
    v.extend_from_slice(authority.as_ref());
    v
}

/// A ready exchange on a fresh bank: 6-decimal collateral mint, exchange and vaults, the Pyth
/// program ids of mainnet. Markets and funded users are added with its methods.
pub struct Bootstrap {
    pub chain: BankChain,
    pub admin: Keypair,
    pub mint: Pubkey,
}

/// A funded user with a margin account (id 0).
pub struct BankUser {
    pub kp: Keypair,
    pub token: Pubkey,
    pub account: Pubkey,
}

impl BankUser {
    pub fn key(&self) -> Pubkey {
        self.kp.pubkey()
    }
}

impl Bootstrap {
    pub async fn new(now: i64, fee_insurance_share: i64) -> ChainResult<Bootstrap> {
        let chain = BankChain::start(now).await;
        let admin = Keypair::new();
        chain.fund(&admin.pubkey(), 100_000_000_000).await?;
        let mint = chain.create_mint(&admin.pubkey(), 6).await?;
        let params = perp::instructions::ExchangeParams {
            fee_insurance_share,
            pyth_legacy_program: crate::oracle_data::PYTH_LEGACY_PROGRAM,
            pyth_receiver_program: crate::oracle_data::PYTH_RECEIVER_PROGRAM,
            timelock_delay: 0,
        };
        chain.set_account(
            crate::pda::program_data(),
            anchor_lang::solana_program::bpf_loader_upgradeable::ID,
            program_data_bytes(&admin.pubkey()),
        );
        chain
            .send(&[crate::ix::initialize_exchange(admin.pubkey(), mint, params)], &[&admin], &SendOptions::default())
            .await?;
        Ok(Bootstrap { chain, admin, mint })
    }

    pub async fn create_market(
        &self,
        index: u16,
        params: perp::state::MarketParams,
        base_reserve: u128,
        peg: perp_core::Price,
    ) -> ChainResult<()> {
        let ex = crate::chain::fetch_exchange(&self.chain).await?;
        let id = ex.proposal_count;
        let a = self.admin.pubkey();
        let action = perp::state::AdminAction::CreateMarket { market_index: index, params, base_reserve, peg: peg.0 };
        self.chain.send(&[crate::ix::propose(a, id, action)], &[&self.admin], &SendOptions::default()).await?;
        let ix = crate::ix::execute_create_market(a, id, a, index);
        self.chain.send(&[ix], &[&self.admin], &SendOptions::default()).await.map(|_| ())
    }

    /// A user with `wallet` collateral tokens, `deposit` of which go into a new margin account.
    pub async fn user(&self, wallet: u64, deposit: u64) -> ChainResult<BankUser> {
        self.user_with(Keypair::new(), wallet, deposit).await
    }

    /// [`Bootstrap::user`] with a given keypair (a replay derives them from its seed, so account
    /// order, and with it the keeper's order, is the same every run).
    pub async fn user_with(&self, kp: Keypair, wallet: u64, deposit: u64) -> ChainResult<BankUser> {
        self.chain.fund(&kp.pubkey(), 1_000_000_000).await?;
        let token = self.chain.token_account(&self.mint, &kp.pubkey(), wallet, &self.admin).await?;
        let account = crate::pda::margin_account(&kp.pubkey(), 0);
        self.chain.send(&[crate::ix::create_margin_account(kp.pubkey(), 0)], &[&kp], &SendOptions::default()).await?;
        if deposit > 0 {
            self.chain
                .send(&[crate::ix::deposit(kp.pubkey(), account, token, deposit)], &[&kp], &SendOptions::default())
                .await?;
        }
        Ok(BankUser { kp, token, account })
    }

    /// Conservation: `(collateral vault, accounts + pools, insurance vault, insurance ledger)`.
    pub async fn conservation(&self) -> ChainResult<Conservation> {
        crate::chain::conservation(&self.chain).await
    }
}

pub use crate::chain::Conservation;
