//! Test harness: the perp program running natively inside solana-program-test's bank, with the
//! real SPL Token program, real-layout Pyth accounts, a settable clock, and the conservation check.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use perp::instructions::{ExchangeParams, OrderParams, OrderSide, OrderType, PlaceOrderParams};
use perp::state::{Exchange, MarginAccount, Market, MarketParams, OracleParams, TierParams};
use perp_client::{decode::decode, ix, oracle_data, pda};
use perp_core::Price;
use solana_account::Account;
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_program_test::{BanksClientError, ProgramTestContext};
use solana_signer::Signer;
use solana_transaction::Transaction;

pub use solana_keypair::Keypair as Kp;
pub use solana_program_test;

pub mod pro_rata;
pub mod sol;
pub mod world;

pub const USDC: u64 = 1_000_000;
pub const BTC: i64 = 1_000_000_000;
/// Price raw units for a whole-dollar price.
pub const fn usd(p: u64) -> Price {
    Price(p * 1_000_000)
}

/// Genesis time of the test bank's clock (2023-03-10T00:00:00Z, the replay window's start).
pub const T0: i64 = 1_678_406_400;

/// The program under test, registered as a native processor (shared with the client's bank).
pub use perp_client::bank::program_test;

pub struct User {
    pub kp: Keypair,
    pub token: Pubkey,
    pub account: Pubkey,
}

impl User {
    pub fn key(&self) -> Pubkey {
        self.kp.pubkey()
    }
}

pub struct Env {
    pub ctx: ProgramTestContext,
    pub admin: Keypair,
    pub mint: Pubkey,
    pub now: i64,
    /// Every margin account created through the harness (for the conservation check).
    pub accounts: Vec<Pubkey>,
    pub markets: Vec<u16>,
    slot: u64,
    /// On the SBF build: the logs of every successful transaction sent through the harness, for
    /// the event-stream check (natively the program logs no events).
    pub logs: Vec<Vec<String>>,
}

/// The shape of a market most tests use: BTC-like, 1-hour funding, seed-document tiers.
pub fn default_market_params(oracles: Vec<OracleParams>) -> MarketParams {
    let mut name = [0u8; 16];
    name[..8].copy_from_slice(b"BTC-PERP");
    MarketParams {
        name,
        min_sources: 1,
        oracles,
        max_age: 60,
        max_conf: 20_000_000,      // 2%
        max_deviation: 50_000_000, // 5%
        index_method: 0,
        allow_partial_verification: false,
        min_signatures: 13,
        fallback_max_age: 600,
        funding_interval: 3600,
        sample_period: 60,
        interest: 12_500,       // 0.00125% per hour (~0.01% per 8 h)
        funding_clamp: 500_000, // 0.05%
        funding_cap: 7_500_000, // 0.75% per interval (Binance: 0.75 x the first tier's MMR)
        mark_method: 0,
        tiers: vec![
            TierParams { cap: 50_000 * USDC as i64, imr: 20_000_000, mmr: 10_000_000 },
            TierParams { cap: 250_000 * USDC as i64, imr: 40_000_000, mmr: 20_000_000 },
            TierParams { cap: 1_000_000 * USDC as i64, imr: 100_000_000, mmr: 50_000_000 },
            TierParams { cap: 10_000_000 * USDC as i64, imr: 200_000_000, mmr: 100_000_000 },
        ],
        impact_notional: 10_000 * USDC as i64,
        max_leverage: 50,
        taker_fee: 500_000,         // 0.05%
        liquidation_fee: 5_000_000, // 0.5%
        liquidator_share: 500_000_000,
        liquidation_buffer: 100_000_000, // 10%
        min_position: 1_000_000,         // 0.001 base
        delegate_band: 10_000_000,       // 1%
        withdraw_max_age: 15,
        repeg_budget: 0,
        repeg_threshold: 0,
        liquidation_max_conf: 5_000_000, // 0.5%
        max_ema_divergence: 10_000_000,  // 1%
        max_oi_per_insurance: 0,
        filler_reward: 20_000,              // 0.02 USDC
        order_band: 10_000_000,             // 1%
        trigger_max_divergence: 20_000_000, // 2%
        adl_policy: 0,
    }
}

/// A resting order of `size` (raw base): limit kinds take `limit`, trigger kinds `trigger`
/// (0 where not used); stops and take-profits reduce-only, as the clients place them.
pub fn resting(order_type: OrderType, side: OrderSide, size: i64, limit: Price, trigger: Price) -> PlaceOrderParams {
    PlaceOrderParams {
        order_type,
        side,
        size: size as u64,
        limit_price: limit.0,
        trigger_price: trigger.0,
        max_slippage: 0,
        reduce_only: order_type != OrderType::Limit,
        expiry: 0,
        client_order_id: 0,
    }
}

pub fn legacy_oracle(key: Pubkey) -> OracleParams {
    OracleParams { kind: perp::state::oracle_kind::PYTH_LEGACY, key, feed_id: [0; 32], weight: 1 }
}

pub fn pull_oracle(key: Pubkey, feed_id: [u8; 32]) -> OracleParams {
    OracleParams { kind: perp::state::oracle_kind::PYTH_PULL, key, feed_id, weight: 1 }
}

pub fn order(side: OrderSide, size: i64) -> OrderParams {
    OrderParams {
        side,
        size: size as u64,
        limit_price: 0,
        reduce_only: false,
        isolated: false,
        isolated_collateral: 0,
        max_index_deviation: 0,
    }
}

impl Env {
    /// Starts a bank with the program and SPL Token, creates a 6-decimal mint and the exchange
    /// (the admin being the program's upgrade authority, the timelock zero).
    pub async fn new() -> Env {
        Env::new_with(program_test()).await
    }

    /// The exchange parameters `new` uses: 20% of taker fees to insurance, mainnet Pyth owners.
    pub fn exchange_params() -> ExchangeParams {
        ExchangeParams {
            fee_insurance_share: 200_000_000,
            pyth_legacy_program: oracle_data::PYTH_LEGACY_PROGRAM,
            pyth_receiver_program: oracle_data::PYTH_RECEIVER_PROGRAM,
            timelock_delay: 0,
        }
    }

    /// A bank with the program, SPL Token, a funded admin and a 6-decimal mint; no exchange.
    pub async fn bare() -> Env {
        Env::bare_with(program_test()).await
    }

    /// [`Env::new`] on a bank with more programs (e.g. an integrator's, for CPI tests).
    pub async fn new_with(pt: solana_program_test::ProgramTest) -> Env {
        let mut env = Env::bare_with(pt).await;
        let admin = env.admin.insecure_clone();
        env.set_program_data(&admin.pubkey());
        env.send(&[ix::initialize_exchange(admin.pubkey(), env.mint, Env::exchange_params())], &[&admin])
            .await
            .unwrap();
        env
    }

    /// [`Env::bare`] on the given bank.
    pub async fn bare_with(pt: solana_program_test::ProgramTest) -> Env {
        let ctx = pt.start_with_context().await;
        let admin = Keypair::new();
        let payer = ctx.payer.insecure_clone();
        // fund the admin
        let fund = solana_system_interface::instruction::transfer(&payer.pubkey(), &admin.pubkey(), 100_000_000_000);
        let bh = ctx.banks_client.get_latest_blockhash().await.unwrap();
        let tx = Transaction::new_signed_with_payer(&[fund], Some(&payer.pubkey()), &[&payer], bh);
        ctx.banks_client.process_transaction(tx).await.unwrap();
        let slot = ctx.banks_client.get_root_slot().await.unwrap();
        let mut env =
            Env { ctx, admin, mint: Pubkey::default(), now: T0, accounts: vec![], markets: vec![], slot, logs: vec![] };
        env.set_clock(T0).await;
        env.mint = env.create_mint().await;
        env
    }

    pub fn payer(&self) -> Keypair {
        self.ctx.payer.insecure_clone()
    }

    /// Sets the bank clock's unix time (and keeps it there for later transactions).
    pub async fn set_clock(&mut self, unix_timestamp: i64) {
        self.now = unix_timestamp;
        let mut clock: anchor_lang::prelude::Clock = self.ctx.banks_client.get_sysvar().await.unwrap();
        clock.unix_timestamp = unix_timestamp;
        self.ctx.set_sysvar(&clock);
    }

    /// Advances the clock by `secs`, and the slot as a cluster would (400 ms slots).
    pub async fn advance(&mut self, secs: i64) {
        self.slot += (secs.max(0) as u64) * 5 / 2;
        let t = self.now + secs;
        self.set_clock(t).await;
    }

    /// Sends one transaction on a fresh slot (so identical transactions are never deduplicated),
    /// paid by the test payer, at the harness clock.
    pub async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), BanksClientError> {
        let tx = self.next_tx(ixs, signers).await?;
        if perp_client::bank::sbf_dir().is_none() {
            return self.ctx.banks_client.process_transaction(tx).await;
        }
        let r = self.ctx.banks_client.process_transaction_with_metadata(tx).await?;
        r.result.clone().map_err(BanksClientError::TransactionError)?;
        self.logs.push(r.metadata.map(|m| m.log_messages).unwrap_or_default());
        Ok(())
    }

    /// On the SBF build: every event of every transaction sent through the harness decodes, and
    /// each stream's numbers run 1, 2, 3, ... up to the number its account holds (the exchange,
    /// each market, each margin account). Natively (no events) it checks nothing.
    pub async fn assert_event_streams(&mut self) {
        use perp_client::events::{events_from_logs, StreamKey};
        if perp_client::bank::sbf_dir().is_none() {
            return;
        }
        let mut last: std::collections::BTreeMap<StreamKey, u64> = Default::default();
        for (t, logs) in self.logs.iter().enumerate() {
            let parsed = events_from_logs(logs, &perp::ID);
            assert!(!parsed.truncated, "transaction {t}: log truncated");
            for e in parsed.events {
                let e = e.unwrap_or_else(|err| panic!("transaction {t}: undecodable event: {err}"));
                let seen = last.entry(e.stream()).or_insert(0);
                let restart = matches!(e, perp_client::events::Event::MarginAccountCreated(_)) && e.seq() == 1;
                assert!(
                    e.seq() == *seen + 1 || restart,
                    "transaction {t}: {} is number {} of {:?}, after {}",
                    e.name(),
                    e.seq(),
                    e.stream(),
                    seen
                );
                *seen = e.seq();
            }
        }
        for (stream, seq) in last {
            let held = match stream {
                StreamKey::Exchange => self.exchange().await.event_seq,
                StreamKey::Market(i) => self.market(i).await.event_seq,
                StreamKey::Account(k) => match self.account_data(&k).await {
                    Some(d) if !d.is_empty() => decode::<MarginAccount>(&d).unwrap().event_seq as u64,
                    _ => continue, // closed
                },
            };
            assert_eq!(held, seq, "{stream:?}: the account holds {held}, the log's last event is {seq}");
        }
    }

    /// A transaction signed by the payer and `signers` for a fresh slot at the harness clock.
    async fn next_tx(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<Transaction, BanksClientError> {
        self.slot += 1;
        self.ctx.warp_to_slot(self.slot).unwrap();
        let t = self.now;
        self.set_clock(t).await;
        let payer = self.payer();
        let bh = self.ctx.banks_client.get_latest_blockhash().await?;
        let mut all: Vec<&Keypair> = vec![&payer];
        all.extend_from_slice(signers);
        Ok(Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &all, bh))
    }

    /// Like [`Env::send`], returning the transaction's metadata (logs, compute units consumed).
    /// True when the transaction would succeed now (simulated: nothing is committed).
    pub async fn would_succeed(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> bool {
        let Ok(tx) = self.next_tx(ixs, signers).await else { return false };
        match self.ctx.banks_client.simulate_transaction(tx).await {
            Ok(r) => r.result.is_some_and(|x| x.is_ok()),
            Err(_) => false,
        }
    }

    pub async fn send_with_metadata(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<solana_program_test::BanksTransactionResultWithMetadata, BanksClientError> {
        let tx = self.next_tx(ixs, signers).await?;
        let r = self.ctx.banks_client.process_transaction_with_metadata(tx).await?;
        if r.result.is_ok() && perp_client::bank::sbf_dir().is_some() {
            self.logs.push(r.metadata.as_ref().map(|m| m.log_messages.clone()).unwrap_or_default());
        }
        Ok(r)
    }

    pub async fn account_data(&mut self, key: &Pubkey) -> Option<Vec<u8>> {
        self.ctx.banks_client.get_account(*key).await.unwrap().map(|a| a.data)
    }

    pub async fn exchange(&mut self) -> Exchange {
        decode(&self.account_data(&pda::exchange()).await.expect("exchange")).unwrap()
    }

    pub async fn market(&mut self, i: u16) -> Market {
        decode(&self.account_data(&pda::market(i)).await.expect("market")).unwrap()
    }

    pub async fn margin(&mut self, key: &Pubkey) -> MarginAccount {
        decode(&self.account_data(key).await.expect("margin account")).unwrap()
    }

    pub async fn token_balance(&mut self, key: &Pubkey) -> u64 {
        let d = self.account_data(key).await.expect("token account");
        spl_token_interface::state::Account::unpack(&d).unwrap().amount
    }

    async fn create_mint(&mut self) -> Pubkey {
        self.create_mint_with(6, None).await
    }

    /// A token account of `owner` for the collateral mint, with `amount` minted into it.
    pub async fn token_account(&mut self, owner: &Pubkey, amount: u64) -> Pubkey {
        let acc = Keypair::new();
        let rent = self.ctx.banks_client.get_rent().await.unwrap();
        let payer = self.payer();
        let create = solana_system_interface::instruction::create_account(
            &payer.pubkey(),
            &acc.pubkey(),
            rent.minimum_balance(spl_token_interface::state::Account::LEN),
            spl_token_interface::state::Account::LEN as u64,
            &spl_token_interface::ID,
        );
        let init = spl_token_interface::instruction::initialize_account3(
            &spl_token_interface::ID,
            &acc.pubkey(),
            &self.mint,
            owner,
        )
        .unwrap();
        let mut ixs = vec![create, init];
        if amount > 0 {
            ixs.push(
                spl_token_interface::instruction::mint_to(
                    &spl_token_interface::ID,
                    &self.mint,
                    &acc.pubkey(),
                    &self.admin.pubkey(),
                    &[],
                    amount,
                )
                .unwrap(),
            );
        }
        let admin = self.admin.insecure_clone();
        if amount > 0 {
            self.send(&ixs, &[&acc, &admin]).await.unwrap();
        } else {
            self.send(&ixs, &[&acc]).await.unwrap();
        }
        acc.pubkey()
    }

    /// A funded user with a margin account (id 0) and `deposit` collateral in it.
    pub async fn user(&mut self, wallet: u64, deposit: u64) -> User {
        let kp = Keypair::new();
        let fund = solana_system_interface::instruction::transfer(&self.payer().pubkey(), &kp.pubkey(), 1_000_000_000);
        self.send(&[fund], &[]).await.unwrap();
        let token = self.token_account(&kp.pubkey(), wallet).await;
        let account = pda::margin_account(&kp.pubkey(), 0);
        self.send(&[ix::create_margin_account(kp.pubkey(), 0)], &[&kp]).await.unwrap();
        self.accounts.push(account);
        if deposit > 0 {
            self.send(&[ix::deposit(kp.pubkey(), account, token, deposit)], &[&kp]).await.unwrap();
        }
        User { kp, token, account }
    }

    /// A second margin account (`id`) of `user`'s, with `deposit` from the user's token account.
    pub async fn second_account(&mut self, user: &User, id: u16, deposit: u64) -> Pubkey {
        let a = pda::margin_account(&user.key(), id);
        let kp = user.kp.insecure_clone();
        self.send(&[ix::create_margin_account(user.key(), id)], &[&kp]).await.unwrap();
        if deposit > 0 {
            self.send(&[ix::deposit(user.key(), a, user.token, deposit)], &[&kp]).await.unwrap();
        }
        self.accounts.push(a);
        a
    }

    /// Creates market `i` with `params`, a vAMM of `depth` base units pegged at `peg`.
    pub async fn create_market(&mut self, i: u16, params: MarketParams, depth: u64, peg: Price) {
        let admin = self.admin.insecure_clone();
        let reserve = depth as u128 * BTC as u128;
        let action =
            perp::state::AdminAction::CreateMarket { market_index: i, params, base_reserve: reserve, peg: peg.0 };
        let id = self.propose(action).await.unwrap();
        self.send(&[ix::execute_create_market(admin.pubkey(), id, admin.pubkey(), i)], &[&admin]).await.unwrap();
        self.markets.push(i);
    }

    /// Writes the program's upgradeable-loader data account with `authority` as upgrade authority.
    pub fn set_program_data(&mut self, authority: &Pubkey) {
        let data = perp_client::bank::program_data_bytes(authority);
        self.set_raw_account(pda::program_data(), data, anchor_lang::solana_program::bpf_loader_upgradeable::ID);
    }

    /// Proposes `action` and, when the timelock is 0, leaves it ready; returns the proposal id.
    pub async fn propose(&mut self, action: perp::state::AdminAction) -> Result<u64, BanksClientError> {
        let id = self.exchange().await.proposal_count;
        let admin = self.admin.insecure_clone();
        self.send(&[ix::propose(admin.pubkey(), id, action)], &[&admin]).await?;
        Ok(id)
    }

    /// A market parameter change through the timelock (propose, then execute: the harness's
    /// exchange has a zero delay unless a test raises it).
    pub async fn update_market(&mut self, i: u16, params: MarketParams) -> Result<(), BanksClientError> {
        let version = self.market(i).await.params_version;
        let id = self.propose(perp::state::AdminAction::UpdateMarket { market_index: i, params, version }).await?;
        let admin = self.admin.insecure_clone();
        self.send(&[ix::execute_update_market(admin.pubkey(), id, admin.pubkey(), i)], &[&admin]).await
    }

    /// Writes a legacy Pyth price account owned by the Pyth oracle program.
    pub fn set_legacy_oracle(&mut self, key: Pubkey, price: Price, conf: Price, publish_time: i64) {
        let data = oracle_data::legacy_account(oracle_data::LEGACY_TEMPLATE, price, conf, publish_time);
        self.set_raw_account(key, data, oracle_data::PYTH_LEGACY_PROGRAM);
    }

    /// A legacy price account whose moving average (`ema_price`) is `ema`, not the price.
    pub fn set_legacy_oracle_ema(&mut self, key: Pubkey, price: Price, conf: Price, publish_time: i64, ema: Price) {
        let data = oracle_data::legacy_account_with_ema(oracle_data::LEGACY_TEMPLATE, price, conf, publish_time, ema);
        self.set_raw_account(key, data, oracle_data::PYTH_LEGACY_PROGRAM);
    }

    /// Writes a `PriceUpdateV2` account owned by the Pyth receiver program.
    pub fn set_pull_oracle(
        &mut self,
        key: Pubkey,
        feed_id: [u8; 32],
        price: Price,
        conf: Price,
        publish_time: i64,
        full: bool,
    ) {
        let data = oracle_data::pull_account(feed_id, price, conf, publish_time, full);
        self.set_raw_account(key, data, oracle_data::PYTH_RECEIVER_PROGRAM);
    }

    pub fn set_raw_account(&mut self, key: Pubkey, data: Vec<u8>, owner: Pubkey) {
        let acc = Account { lamports: 10_000_000_000, data, owner, executable: false, rent_epoch: 0 };
        self.ctx.set_account(&key, &acc.into());
    }

    /// Market order helper: the market's oracles and the account's other markets are looked up.
    pub async fn order_ix(&mut self, user: &User, market: u16, params: OrderParams) -> Instruction {
        let m = self.market(market).await;
        let a = self.margin(&user.account).await;
        let mut i = ix::place_market_order(
            user.key(),
            user.account,
            market,
            &ix::market_oracles(&m),
            &ix::position_markets(&a, Some(market)),
            params,
        );
        i.accounts.extend(perp_client::collateral::collateral_metas(&perp_client::collateral::held(&a)));
        i
    }

    pub async fn trade(&mut self, user: &User, market: u16, params: OrderParams) -> Result<(), BanksClientError> {
        let i = self.order_ix(user, market, params).await;
        let kp = user.kp.insecure_clone();
        self.send(&[i], &[&kp]).await
    }

    pub async fn close(&mut self, user: &User, market: u16) -> Result<(), BanksClientError> {
        let m = self.market(market).await;
        let a = self.margin(&user.account).await;
        let mut i = ix::close_position(
            user.key(),
            user.account,
            market,
            &ix::market_oracles(&m),
            &ix::position_markets(&a, Some(market)),
            0,
        );
        i.accounts.extend(perp_client::collateral::collateral_metas(&perp_client::collateral::held(&a)));
        let kp = user.kp.insecure_clone();
        self.send(&[i], &[&kp]).await
    }

    /// `place_order` for `user` (the cross markets it holds are looked up).
    pub async fn place_ix(&mut self, user: &User, market: u16, params: PlaceOrderParams) -> Instruction {
        let a = self.margin(&user.account).await;
        let mut i =
            perp_client::orders::place_order(user.key(), user.account, market, &ix::cross_markets(&a, None), params);
        i.accounts.extend(perp_client::collateral::collateral_metas(&perp_client::collateral::held(&a)));
        i
    }

    pub async fn place(&mut self, user: &User, market: u16, params: PlaceOrderParams) -> Result<(), BanksClientError> {
        let i = self.place_ix(user, market, params).await;
        let kp = user.kp.insecure_clone();
        self.send(&[i], &[&kp]).await
    }

    /// `fill_order` of `owner_account`'s order `order_id` on `market` by `filler` (reward to its
    /// own margin account).
    pub async fn fill_ix(&mut self, filler: &User, owner_account: Pubkey, market: u16, order_id: u64) -> Instruction {
        let m = self.market(market).await;
        let a = self.margin(&owner_account).await;
        let mut i = perp_client::orders::fill_order(
            filler.key(),
            filler.account,
            owner_account,
            market,
            &ix::market_oracles(&m),
            &ix::position_markets(&a, Some(market)),
            order_id,
        );
        i.accounts.extend(perp_client::collateral::collateral_metas(&perp_client::collateral::held(&a)));
        i
    }

    pub async fn fill(
        &mut self,
        filler: &User,
        owner_account: Pubkey,
        market: u16,
        order_id: u64,
    ) -> Result<(), BanksClientError> {
        let i = self.fill_ix(filler, owner_account, market, order_id).await;
        let kp = filler.kp.insecure_clone();
        self.send(&[i], &[&kp]).await
    }

    /// Sweeps market `i`'s pending insurance amount between the vaults.
    pub async fn sweep(&mut self, i: u16) -> Result<(), BanksClientError> {
        self.send(&[ix::sweep_insurance(i)], &[]).await
    }

    /// The market's insurance ledger.
    pub async fn insurance(&mut self, i: u16) -> i64 {
        self.market(i).await.insurance_fund
    }

    pub async fn crank_funding(&mut self, market: u16) -> Result<(), BanksClientError> {
        let m = self.market(market).await;
        self.send(&[ix::update_funding(market, &ix::market_oracles(&m))], &[]).await
    }

    /// Conservation: the collateral vault holds exactly the sum of every account's collateral
    /// (cross and isolated) plus every market's PnL pool, fee pool and pending insurance amount;
    /// the insurance vault holds exactly the markets' insurance ledgers less what is pending.
    /// Panics with the numbers otherwise.
    pub async fn assert_conservation(&mut self) {
        self.assert_event_streams().await;
        let mut owed: i128 = 0;
        for key in self.accounts.clone() {
            if let Some(d) = self.account_data(&key).await {
                if d.is_empty() {
                    continue;
                }
                let a: MarginAccount = decode(&d).unwrap();
                owed += a.total_collateral();
            }
        }
        let mut pools: i128 = 0;
        let mut insurance: i128 = 0;
        for i in self.markets.clone() {
            let m = self.market(i).await;
            pools += m.pnl_pool as i128 + m.fee_pool as i128 + m.insurance_pending as i128;
            insurance += m.insurance_in_vault();
        }
        let vault = self.token_balance(&pda::collateral_vault()).await as i128;
        assert_eq!(vault, owed + pools, "collateral vault {} != accounts {} + pools {}", vault, owed, pools);
        let ins = self.token_balance(&pda::insurance_vault()).await as i128;
        assert_eq!(ins, insurance, "insurance vault != the markets' insurance ledgers");
        // per listed mint: its vault holds exactly the registry's total and the accounts' balances
        for ci in 1..=self.exchange().await.collateral_count {
            let c = self.collateral(ci).await;
            let mut held: u128 = 0;
            for key in self.accounts.clone() {
                if let Some(d) = self.account_data(&key).await {
                    if !d.is_empty() {
                        let a: MarginAccount = decode(&d).unwrap();
                        held += a.collateral_balance(ci) as u128;
                    }
                }
            }
            let vault = self.token_balance(&c.vault).await as u128;
            assert_eq!(vault, held, "collateral {} vault {} != accounts' balances {}", ci, vault, held);
            assert_eq!(vault, c.total_deposits as u128, "collateral {} vault != registry total", ci);
        }
    }

    pub async fn collateral(&mut self, i: u16) -> perp::state::Collateral {
        decode(&self.account_data(&pda::collateral(i)).await.expect("collateral")).unwrap()
    }

    /// A classic SPL mint with `decimals`, the admin as mint authority, `freeze` as freeze authority.
    pub async fn create_mint_with(&mut self, decimals: u8, freeze: Option<&Pubkey>) -> Pubkey {
        let mint = Keypair::new();
        let rent = self.ctx.banks_client.get_rent().await.unwrap();
        let payer = self.payer();
        let create = solana_system_interface::instruction::create_account(
            &payer.pubkey(),
            &mint.pubkey(),
            rent.minimum_balance(spl_token_interface::state::Mint::LEN),
            spl_token_interface::state::Mint::LEN as u64,
            &spl_token_interface::ID,
        );
        let init = spl_token_interface::instruction::initialize_mint2(
            &spl_token_interface::ID,
            &mint.pubkey(),
            &self.admin.pubkey(),
            freeze,
            decimals,
        )
        .unwrap();
        self.send(&[create, init], &[&mint]).await.unwrap();
        mint.pubkey()
    }

    /// A token account of `owner` for `mint` (the admin its mint authority) holding `amount`.
    pub async fn token_account_of(&mut self, mint: &Pubkey, owner: &Pubkey, amount: u64) -> Pubkey {
        let saved = self.mint;
        self.mint = *mint;
        let acc = self.token_account(owner, amount).await;
        self.mint = saved;
        acc
    }

    /// Lists `mint` as the next collateral through a proposal (executed at once when the
    /// timelock is 0); returns its index.
    pub async fn list_collateral(
        &mut self,
        mint: Pubkey,
        params: perp::state::CollateralParams,
    ) -> Result<u16, BanksClientError> {
        let ci = self.exchange().await.collateral_count + 1;
        let id = self.propose(perp::state::AdminAction::ListCollateral { collateral_index: ci, mint, params }).await?;
        let admin = self.admin.insecure_clone();
        self.send(
            &[perp_client::collateral::execute_list_collateral(admin.pubkey(), id, admin.pubkey(), mint, ci)],
            &[&admin],
        )
        .await?;
        Ok(ci)
    }

    /// Refreshes collateral `ci`'s cached price from its oracles.
    pub async fn refresh_collateral(&mut self, ci: u16) -> Result<(), BanksClientError> {
        let c = self.collateral(ci).await;
        self.send(&[perp_client::collateral::refresh(&c)], &[]).await
    }
}

/// Collateral parameters the tests start from: one legacy oracle, Drift's SOL weights (0.8
/// initial, 0.9 maintenance), no size discount, a 5% liquidation discount half of which goes to
/// the liquidator, and a cap of `cap` raw tokens.
pub fn collateral_params(oracle: Pubkey, cap: u64) -> perp::state::CollateralParams {
    perp::state::CollateralParams {
        name: *b"SOL\0\0\0\0\0\0\0\0\0\0\0\0\0",
        oracles: vec![legacy_oracle(oracle)],
        max_age: 60,
        max_conf: 20_000_000,
        max_deviation: 50_000_000,
        min_sources: 1,
        index_method: 0,
        allow_partial_verification: false,
        min_signatures: 0,
        sample_period: 600,
        initial_weight: 800_000_000,
        maintenance_weight: 900_000_000,
        imf: 0,
        liquidation_discount: 50_000_000,
        liquidator_share: 500_000_000,
        deposit_cap: cap,
        status: 0,
        insurance_market: 0,
    }
}

/// The program error code inside a failed transaction, if it is a custom program error.
pub fn error_code(e: &BanksClientError) -> Option<u32> {
    use solana_instruction::error::InstructionError;
    use solana_transaction_error::TransactionError;
    if let BanksClientError::TransactionError(TransactionError::InstructionError(_, ie))
    | BanksClientError::SimulationError { err: TransactionError::InstructionError(_, ie), .. } = e
    {
        if let InstructionError::Custom(c) = ie {
            return Some(*c);
        }
    }
    None
}

/// Asserts a transaction failed with the given program error.
#[track_caller]
pub fn assert_error(r: Result<(), BanksClientError>, expected: perp::error::PerpError) {
    let want = 6000 + expected as u32;
    match r {
        Ok(()) => panic!("expected {:?}, transaction succeeded", expected),
        Err(e) => assert_eq!(error_code(&e), Some(want), "expected {:?} ({}), got {:?}", expected, want, e),
    }
}

/// Asserts a transaction failed with an Anchor framework error code (e.g. 2006 ConstraintSeeds).
#[track_caller]
pub fn assert_anchor_error(r: Result<(), BanksClientError>, code: u32) {
    match r {
        Ok(()) => panic!("expected anchor error {code}, transaction succeeded"),
        Err(e) => assert_eq!(error_code(&e), Some(code), "expected anchor error {code}, got {e:?}"),
    }
}
