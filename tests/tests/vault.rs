//! The CPI example program (`programs/perp-vault`) with the perp program in one bank: a managed
//! vault whose authority PDA owns a perp margin account. Deposits, the manager's trades through
//! CPI and the vault's limits, PnL shared on withdrawal, direct perp calls on the vault's account
//! refused, and the vault's account liquidated by a keeper like any other.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{InstructionData, ToAccountMetas};
use perp::error::PerpError;
use perp::instructions::OrderSide;
use perp_client::{ix, pda};
use perp_tests::*;
use perp_vault::error::VaultError;
use perp_vault::instructions::TradeParams;
use perp_vault::state::{Depositor, Vault, VaultParams, AUTHORITY_SEED, DEPOSITOR_SEED, TOKEN_SEED, VAULT_SEED};
use solana_keypair::Keypair;
use solana_program_test::processor;
use solana_signer::Signer;

fn vault_entry(
    program_id: &Pubkey,
    accounts: &[anchor_lang::prelude::AccountInfo],
    data: &[u8],
) -> anchor_lang::solana_program::entrypoint::ProgramResult {
    // Anchor's entry wants one lifetime for the slice and its elements; the runtime gives two.
    let accounts: &[anchor_lang::prelude::AccountInfo] = unsafe {
        core::mem::transmute::<&[anchor_lang::prelude::AccountInfo], &[anchor_lang::prelude::AccountInfo]>(accounts)
    };
    perp_vault::entry(program_id, accounts, data)
}

/// The vault's addresses.
struct V {
    vault: Pubkey,
    authority: Pubkey,
    token: Pubkey,
    margin: Pubkey,
    manager: Keypair,
}

fn vault_pda(manager: &Pubkey, id: u16) -> Pubkey {
    Pubkey::find_program_address(&[VAULT_SEED, manager.as_ref(), &id.to_le_bytes()], &perp_vault::ID).0
}

fn depositor_pda(vault: &Pubkey, owner: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[DEPOSITOR_SEED, vault.as_ref(), owner.as_ref()], &perp_vault::ID).0
}

fn vix(accounts: impl ToAccountMetas, data: impl InstructionData, remaining: &[Pubkey]) -> Instruction {
    let mut metas = accounts.to_account_metas(None);
    metas.extend(
        remaining.iter().map(|k| anchor_lang::solana_program::instruction::AccountMeta::new_readonly(*k, false)),
    );
    Instruction { program_id: perp_vault::ID, accounts: metas, data: data.data() }
}

impl V {
    fn flow(&self, owner: Pubkey, owner_token: Pubkey) -> perp_vault::accounts::VaultFlow {
        perp_vault::accounts::VaultFlow {
            owner,
            vault: self.vault,
            depositor: depositor_pda(&self.vault, &owner),
            owner_token,
            token_account: self.token,
            authority: self.authority,
            exchange: pda::exchange(),
            margin_account: self.margin,
            collateral_vault: pda::collateral_vault(),
            perp_program: perp::ID,
            token_program: anchor_spl::token::ID,
        }
    }
}

struct T {
    env: Env,
    oracle: Pubkey,
    v: V,
}

impl T {
    /// A bank with both programs, one BTC market at 20,000 and a vault allowed market 0 only,
    /// at most 2 BTC and 3x, no lockup.
    async fn new() -> T {
        T::with(VaultParams {
            markets: vec![0],
            max_position: vec![2 * BTC as u64],
            max_leverage: 3_000_000_000,
            lockup: 0,
            max_impact: 25_000_000,
            max_turnover: 10_000_000_000,
        })
        .await
    }

    async fn with(params: VaultParams) -> T {
        let mut pt = perp_client::bank::program_test();
        // with PERP_SBF both programs run as their .so (scripts/build-sbf builds both), so the CPI
        // runs in the SBF VM end to end
        match perp_client::bank::sbf_dir() {
            Some(dir) => {
                assert!(dir.join("perp_vault.so").is_file(), "PERP_SBF: no perp_vault.so in {}", dir.display());
                pt.add_program("perp_vault", perp_vault::ID, None);
            }
            None => pt.add_program("perp_vault", perp_vault::ID, processor!(vault_entry)),
        }
        let mut env = Env::new_with(pt).await;
        let oracle = Keypair::new().pubkey();
        env.set_legacy_oracle(oracle, usd(20_000), usd(10), T0);
        env.create_market(0, default_market_params(vec![legacy_oracle(oracle)]), 1_000, usd(20_000)).await;
        let manager = Keypair::new();
        let fund =
            solana_system_interface::instruction::transfer(&env.payer().pubkey(), &manager.pubkey(), 1_000_000_000);
        env.send(&[fund], &[]).await.unwrap();
        let vault = vault_pda(&manager.pubkey(), 0);
        let authority = Pubkey::find_program_address(&[AUTHORITY_SEED, vault.as_ref()], &perp_vault::ID).0;
        let token = Pubkey::find_program_address(&[TOKEN_SEED, vault.as_ref()], &perp_vault::ID).0;
        let margin = pda::margin_account(&authority, 0);
        let v = V { vault, authority, token, margin, manager };
        let mut t = T { env, oracle, v };
        t.init_vault(params).await.unwrap();
        t.env.accounts.push(margin);
        t
    }

    async fn init_vault(&mut self, params: VaultParams) -> Result<(), solana_program_test::BanksClientError> {
        let i = vix(
            perp_vault::accounts::InitializeVault {
                manager: self.v.manager.pubkey(),
                vault: self.v.vault,
                authority: self.v.authority,
                token_account: self.v.token,
                collateral_mint: self.env.mint,
                exchange: pda::exchange(),
                margin_account: self.v.margin,
                perp_program: perp::ID,
                token_program: anchor_spl::token::ID,
                system_program: anchor_lang::system_program::ID,
            },
            perp_vault::instruction::InitializeVault { vault_id: 0, params },
            &[],
        );
        let m = self.v.manager.insecure_clone();
        self.env.send(&[i], &[&m]).await
    }

    /// A depositor with `wallet` USDC and an open share record.
    async fn depositor(&mut self, wallet: u64) -> User {
        let u = self.env.user(wallet, 0).await;
        let i = vix(
            perp_vault::accounts::OpenDepositor {
                owner: u.key(),
                vault: self.v.vault,
                depositor: depositor_pda(&self.v.vault, &u.key()),
                system_program: anchor_lang::system_program::ID,
            },
            perp_vault::instruction::OpenDepositor {},
            &[],
        );
        self.env.send(&[i], &[&u.kp]).await.unwrap();
        u
    }

    /// `update_funding` for market 0 then the vault instruction (share pricing wants the index of
    /// this second).
    async fn refreshed(
        &mut self,
        i: Instruction,
        signer: &Keypair,
    ) -> Result<(), solana_program_test::BanksClientError> {
        let crank = ix::update_funding(0, &[self.oracle]);
        self.env.send(&[crank, i], &[signer]).await
    }

    fn position_markets(&self, held: bool) -> Vec<Pubkey> {
        if held {
            vec![pda::market(0)]
        } else {
            vec![]
        }
    }

    async fn held(&mut self) -> bool {
        let a = self.env.margin(&self.v.margin).await;
        a.find(0).is_some()
    }

    async fn deposit(&mut self, u: &User, amount: u64) -> Result<(), solana_program_test::BanksClientError> {
        let held = self.held().await;
        let i = vix(
            self.v.flow(u.key(), u.token),
            perp_vault::instruction::Deposit { amount },
            &self.position_markets(held),
        );
        let kp = u.kp.insecure_clone();
        self.refreshed(i, &kp).await
    }

    async fn withdraw(&mut self, u: &User, shares: u64) -> Result<(), solana_program_test::BanksClientError> {
        let held = self.held().await;
        let i = vix(
            self.v.flow(u.key(), u.token),
            perp_vault::instruction::Withdraw { shares },
            &self.position_markets(held),
        );
        let kp = u.kp.insecure_clone();
        self.refreshed(i, &kp).await
    }

    fn trade_ix(&self, signer: Pubkey, p: TradeParams) -> Instruction {
        vix(
            perp_vault::accounts::Trade {
                manager: signer,
                vault: self.v.vault,
                authority: self.v.authority,
                exchange: pda::exchange(),
                market: pda::market(p.market_index),
                margin_account: self.v.margin,
                perp_program: perp::ID,
            },
            perp_vault::instruction::Trade { params: p },
            &[self.oracle],
        )
    }

    async fn trade(&mut self, p: TradeParams) -> Result<(), solana_program_test::BanksClientError> {
        let m = self.v.manager.insecure_clone();
        let i = self.trade_ix(m.pubkey(), p);
        self.env.send(&[i], &[&m]).await
    }

    async fn shares(&mut self, u: &User) -> u64 {
        let d = self.env.account_data(&depositor_pda(&self.v.vault, &u.key())).await.unwrap();
        bytemuck::pod_read_unaligned::<Depositor>(&d[8..]).shares
    }

    async fn vault(&mut self) -> Vault {
        let d = self.env.account_data(&self.v.vault).await.unwrap();
        bytemuck::pod_read_unaligned::<Vault>(&d[8..])
    }

    async fn set_price(&mut self, p: u64) {
        let now = self.env.now;
        self.env.set_legacy_oracle(self.oracle, usd(p), usd(10), now);
    }
}

fn long(size: i64, limit: u64) -> TradeParams {
    TradeParams { market_index: 0, side: OrderSide::Long, size: size as u64, limit_price: limit, reduce_only: false }
}

fn vault_err(r: Result<(), solana_program_test::BanksClientError>, e: VaultError) {
    assert_anchor_error(r, 6000 + e as u32);
}

#[tokio::test(flavor = "current_thread")]
async fn vault_deposit_trade_pnl_withdraw() {
    let mut t = T::new().await;
    let alice = t.depositor(20_000 * USDC).await;
    let bob = t.depositor(20_000 * USDC).await;
    t.deposit(&alice, 10_000 * USDC).await.unwrap();
    t.deposit(&bob, 5_000 * USDC).await.unwrap();
    let (sa, sb) = (t.shares(&alice).await, t.shares(&bob).await);
    assert_eq!(sa, 10_000 * USDC * 1_000);
    // the vault is flat: bob's 5,000 buys exactly half of alice's shares (less the virtual unit)
    assert!((sa / 2).abs_diff(sb) <= 1_000, "{sa} {sb}");
    assert_eq!(t.vault().await.total_shares, sa + sb);
    let a = t.env.margin(&t.v.margin).await;
    assert_eq!(a.cross_collateral, 15_000 * USDC as i64);
    assert_eq!(a.owner, t.v.authority);
    assert_eq!(t.env.token_balance(&t.v.token).await, 0, "deposits pass straight through");
    t.env.assert_conservation().await;

    // the manager goes long 1 BTC through the vault (CPI into perp)
    t.trade(long(BTC, 20_100_000_000)).await.unwrap();
    let a = t.env.margin(&t.v.margin).await;
    assert_eq!(a.positions[0].base, BTC);
    t.env.assert_conservation().await;

    // BTC +10 %: the index moves and a whale's buying takes the vAMM with it (a vAMM perp pays
    // PnL at the vAMM's price, and the vault's band keeps orders near the index)
    t.env.advance(60).await;
    t.set_price(22_000).await;
    let whale = t.env.user(400_000 * USDC, 300_000 * USDC).await;
    t.env.trade(&whale, 0, order(OrderSide::Long, 47 * BTC)).await.unwrap();
    let vamm = t.env.market(0).await.vamm().price().unwrap();
    assert!((21_900_000_000..22_300_000_000).contains(&vamm.0), "vAMM at {vamm:?}");
    // a redemption now pays no unrealized profit (perp would not let it out either): bob takes
    // back a fifth of his shares for at most a fifth of his deposit
    let before_b = t.env.token_balance(&bob.token).await;
    t.withdraw(&bob, sb / 5).await.unwrap();
    let part = t.env.token_balance(&bob.token).await - before_b;
    assert!(part <= 1_000 * USDC && part > 990 * USDC, "bob's fifth {part}");
    let sb = sb - sb / 5;
    // the vault's order waits until the whale's trade has weight in the time-weighted prices
    vault_err(
        t.trade(TradeParams {
            market_index: 0,
            side: OrderSide::Short,
            size: BTC as u64,
            limit_price: 21_800_000_000,
            reduce_only: true,
        })
        .await,
        VaultError::VammDisplaced,
    );
    t.env.advance(61).await;
    t.set_price(22_000).await;
    // the manager closes; the vault realizes the profit
    let close = TradeParams {
        market_index: 0,
        side: OrderSide::Short,
        size: BTC as u64,
        limit_price: 21_800_000_000,
        reduce_only: true,
    };
    t.trade(close).await.unwrap();
    let a = t.env.margin(&t.v.margin).await;
    assert!(!a.positions[0].in_use());
    let equity = a.cross_collateral;
    assert!(equity > 14_000 * USDC as i64 + 1_900 * USDC as i64, "equity {equity}");
    t.env.assert_conservation().await;

    // both withdraw everything: each gets the pro-rata share of the equity, profit included
    let before_a = t.env.token_balance(&alice.token).await;
    t.withdraw(&alice, sa).await.unwrap();
    let got_a = t.env.token_balance(&alice.token).await - before_a;
    let expect_a = (equity as u128 * sa as u128 / (sa + sb) as u128) as u64;
    assert!(got_a <= expect_a && expect_a - got_a <= 1, "alice {got_a} vs {expect_a}");
    assert!(got_a > 10_000 * USDC + 1_200 * USDC, "alice made ~2/3 of the profit: {got_a}");
    let before_b = t.env.token_balance(&bob.token).await;
    t.withdraw(&bob, sb).await.unwrap();
    let got_b = t.env.token_balance(&bob.token).await - before_b;
    assert!(got_b > 4_000 * USDC + 500 * USDC, "bob {got_b}");
    // what is left is the virtual holder's rounding, a few micro-USDC at most
    let left = t.env.margin(&t.v.margin).await.cross_collateral;
    assert!((0..=3).contains(&left), "left {left}");
    assert_eq!(t.vault().await.total_shares, 0);
    assert_eq!(t.shares(&alice).await, 0);
    t.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn vault_limits_refuse_trades() {
    let mut t = T::new().await;
    let alice = t.depositor(20_000 * USDC).await;
    t.deposit(&alice, 10_000 * USDC).await.unwrap();
    // 3x of 10,000 is 30,000: 2 BTC at 20,000 (40,000) is over the leverage limit
    vault_err(t.trade(long(2 * BTC, 20_100_000_000)).await, VaultError::LeverageLimit);
    // over the position limit (2 BTC), with enough equity for the leverage
    t.deposit(&alice, 10_000 * USDC).await.unwrap();
    vault_err(t.trade(long(2 * BTC + 1_000_000, 20_100_000_000)).await, VaultError::PositionLimit);
    // no limit price, or one outside the 1 % band around the index
    vault_err(t.trade(long(BTC, 0)).await, VaultError::LimitOutsideBand);
    vault_err(t.trade(long(BTC, 20_300_000_000)).await, VaultError::LimitOutsideBand);
    let short = TradeParams {
        market_index: 0,
        side: OrderSide::Short,
        size: BTC as u64,
        limit_price: 19_700_000_000,
        reduce_only: false,
    };
    vault_err(t.trade(short).await, VaultError::LimitOutsideBand);
    // a market the vault does not allow (market 1 exists in perp)
    let o1 = Keypair::new().pubkey();
    t.env.set_legacy_oracle(o1, usd(20_000), usd(10), t.env.now);
    t.env.create_market(1, default_market_params(vec![legacy_oracle(o1)]), 1_000, usd(20_000)).await;
    let mut p = long(BTC / 10, 20_100_000_000);
    p.market_index = 1;
    vault_err(t.trade(p).await, VaultError::MarketNotAllowed);
    // market 1's account under the allowed index 0
    let m = t.v.manager.insecure_clone();
    let mut i = t.trade_ix(m.pubkey(), long(BTC / 10, 20_100_000_000));
    i.accounts[4].pubkey = pda::market(1);
    vault_err(t.env.send(&[i], &[&m]).await, VaultError::MarketNotAllowed);
    // nothing traded
    let a = t.env.margin(&t.v.margin).await;
    assert!(a.positions.iter().all(|p| !p.in_use()));
    assert_eq!(a.cross_collateral, 20_000 * USDC as i64);
    // within every limit it trades
    t.trade(long(BTC, 20_100_000_000)).await.unwrap();
    assert_eq!(t.env.margin(&t.v.margin).await.positions[0].base, BTC);
    t.env.assert_conservation().await;
}

/// Nobody but the vault program can move the vault's perp account: not the manager calling perp
/// directly (an order, a withdrawal to himself, a delegate), not another signer calling the
/// vault's trade.
#[tokio::test(flavor = "current_thread")]
async fn attack_direct_calls_on_the_vault_account_are_refused() {
    let mut t = T::new().await;
    let alice = t.depositor(20_000 * USDC).await;
    t.deposit(&alice, 10_000 * USDC).await.unwrap();
    let m = t.v.manager.insecure_clone();
    let mtoken = t.env.token_account(&m.pubkey(), 0).await;
    // the manager's own order in perp on the vault's account
    let o = ix::place_market_order(m.pubkey(), t.v.margin, 0, &[t.oracle], &[], order(OrderSide::Long, BTC));
    assert_error(t.env.send(&[o], &[&m]).await, PerpError::Unauthorized);
    // a withdrawal of the vault's collateral to the manager
    let w = ix::withdraw(m.pubkey(), t.v.margin, mtoken, 1_000 * USDC, &[]);
    assert_error(t.env.send(&[w], &[&m]).await, PerpError::Unauthorized);
    // making himself the delegate
    let d = ix::set_delegate(m.pubkey(), t.v.margin, m.pubkey());
    assert_error(t.env.send(&[d], &[&m]).await, PerpError::Unauthorized);
    // someone else calling the vault's trade
    let eve = Keypair::new();
    let i = t.trade_ix(eve.pubkey(), long(BTC / 10, 20_100_000_000));
    let r = t.env.send(&[i], &[&eve]).await;
    assert_anchor_error(r, anchor_lang::error::ErrorCode::ConstraintHasOne as u32);
    // redeeming into the vault's own staging account (the USDC would be stranded there)
    let mut i = vix(t.v.flow(alice.key(), t.v.token), perp_vault::instruction::Withdraw { shares: 1_000 }, &[]);
    i.accounts[3].is_writable = true;
    vault_err(t.env.send(&[i], &[&alice.kp]).await, VaultError::WrongTokenAccount);
    // eve deposits into alice's share record, then redeems from it (has_one owner)
    let eve_u = t.depositor(10_000 * USDC).await;
    let mut flow = t.v.flow(eve_u.key(), eve_u.token);
    flow.depositor = depositor_pda(&t.v.vault, &alice.key());
    let i = vix(flow, perp_vault::instruction::Deposit { amount: 1_000 * USDC }, &[]);
    let r = t.env.send(&[i], &[&eve_u.kp]).await;
    assert_anchor_error(r, anchor_lang::error::ErrorCode::ConstraintHasOne as u32);
    let mut flow = t.v.flow(eve_u.key(), eve_u.token);
    flow.depositor = depositor_pda(&t.v.vault, &alice.key());
    let i = vix(flow, perp_vault::instruction::Withdraw { shares: 1_000 }, &[]);
    let r = t.env.send(&[i], &[&eve_u.kp]).await;
    assert_anchor_error(r, anchor_lang::error::ErrorCode::ConstraintHasOne as u32);
    // a second share record for the same depositor
    let again = vix(
        perp_vault::accounts::OpenDepositor {
            owner: alice.key(),
            vault: t.v.vault,
            depositor: depositor_pda(&t.v.vault, &alice.key()),
            system_program: anchor_lang::system_program::ID,
        },
        perp_vault::instruction::OpenDepositor {},
        &[],
    );
    assert!(t.env.send(&[again], &[&alice.kp]).await.is_err());
    assert_eq!(t.shares(&eve_u).await, 0);
    // a depositor redeeming more shares than she holds
    let s = t.shares(&alice).await;
    vault_err(t.withdraw(&alice, s + 1).await, VaultError::InsufficientShares);
    assert_eq!(t.env.margin(&t.v.margin).await.cross_collateral, 10_000 * USDC as i64);
    assert_eq!(t.env.token_balance(&mtoken).await, 0);
    t.env.assert_conservation().await;
}

/// Share pricing at a stale index: the vault is long, the price has risen, the market's cached
/// index is still the old one. Without the same-second refresh a depositor would buy shares at
/// the old (lower) equity and redeem them after the refresh for a profit taken from the others.
#[tokio::test(flavor = "current_thread")]
async fn attack_vault_deposit_at_a_stale_index_is_refused() {
    let mut t = T::new().await;
    let alice = t.depositor(20_000 * USDC).await;
    t.deposit(&alice, 10_000 * USDC).await.unwrap();
    t.trade(long(BTC, 20_100_000_000)).await.unwrap();
    t.env.advance(5).await;
    t.set_price(21_000).await;
    let eve = t.depositor(50_000 * USDC).await;
    // without update_funding first: the market's index is 5 s old
    let i = vix(
        t.v.flow(eve.key(), eve.token),
        perp_vault::instruction::Deposit { amount: 40_000 * USDC },
        &[pda::market(0)],
    );
    vault_err(t.env.send(&[i], &[&eve.kp]).await, VaultError::MarketNotFresh);
    // leaving the position's market out
    let i = vix(t.v.flow(eve.key(), eve.token), perp_vault::instruction::Deposit { amount: 40_000 * USDC }, &[]);
    let crank = ix::update_funding(0, &[t.oracle]);
    vault_err(t.env.send(&[crank, i], &[&eve.kp]).await, VaultError::WrongMarketAccount);
    assert_eq!(t.shares(&eve).await, 0);
    // an index from a publish 1 s before the clock prices shares (within SHARE_PRICE_MAX_AGE)
    let now = t.env.now;
    t.env.set_legacy_oracle(t.oracle, usd(21_000), usd(10), now - 1);
    t.deposit(&eve, 40_000 * USDC).await.unwrap();
    let s = t.shares(&eve).await;
    assert!(s > 0);
    // a redemption at once pays no unrealized profit: eve's round trip loses her part of the
    // vault's ~1,000 unrealized profit, which stays with the holders
    let before = t.env.token_balance(&eve.token).await;
    t.withdraw(&eve, s).await.unwrap();
    let back = t.env.token_balance(&eve.token).await - before;
    assert!(back <= 40_000 * USDC && back > 39_000 * USDC, "round trip returned {back}");
    t.env.assert_conservation().await;
}

/// The vault's account is an ordinary perp account: when the price falls, a keeper liquidates it
/// and the depositors' shares are worth what is left.
#[tokio::test(flavor = "current_thread")]
async fn vault_is_liquidated_like_any_account() {
    let mut t = T::new().await;
    let alice = t.depositor(20_000 * USDC).await;
    t.deposit(&alice, 10_000 * USDC).await.unwrap();
    t.trade(long(14 * BTC / 10, 20_200_000_000)).await.unwrap();
    let keeper = t.env.user(100_000 * USDC, 50_000 * USDC).await;
    // -35.1 %: the vault's ~9,986 lose ~9,870 on 1.4 BTC, below the 1 % maintenance (~182)
    t.env.advance(60).await;
    t.set_price(12_980).await;
    t.env.crank_funding(0).await.unwrap();
    vault_err(t.deposit(&alice, 1_000 * USDC).await, VaultError::VaultLiquidatable);
    let victim = t.env.margin(&t.v.margin).await;
    let liq = t.env.margin(&keeper.account).await;
    let markets = ix::liquidation_markets(&victim, &liq, 0);
    let l = ix::liquidate(keeper.key(), keeper.account, t.v.margin, 0, &[t.oracle], &markets, 0);
    t.env.send(&[l], &[&keeper.kp]).await.unwrap();
    let a = t.env.margin(&t.v.margin).await;
    assert!(a.positions.iter().all(|p| !p.in_use() || p.base == 0), "the vault's position was taken over");
    let k = t.env.margin(&keeper.account).await;
    assert_eq!(k.positions[0].base, 14 * BTC / 10);
    let left = a.cross_collateral;
    assert!(left > 0 && left < 1_000 * USDC as i64, "left {left}");
    t.env.assert_conservation().await;
    // alice redeems what is left
    let s = t.shares(&alice).await;
    let before = t.env.token_balance(&alice.token).await;
    t.withdraw(&alice, s).await.unwrap();
    let got = t.env.token_balance(&alice.token).await - before;
    assert!(got as i64 <= left && left - got as i64 <= 1, "got {got} of {left}");
    t.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn vault_params_are_checked() {
    let mut t = T::new().await;
    // a second manager's vault: bad params are refused before anything is created
    let bad = [
        VaultParams {
            markets: vec![],
            max_position: vec![],
            max_leverage: 1,
            lockup: 0,
            max_impact: 1,
            max_turnover: 1,
        },
        VaultParams {
            markets: vec![0, 0],
            max_position: vec![1, 1],
            max_leverage: 1,
            lockup: 0,
            max_impact: 1,
            max_turnover: 1,
        },
        VaultParams {
            markets: vec![0],
            max_position: vec![0],
            max_leverage: 1,
            lockup: 0,
            max_impact: 1,
            max_turnover: 1,
        },
        VaultParams {
            markets: vec![0],
            max_position: vec![1 << 63],
            max_leverage: 1,
            lockup: 0,
            max_impact: 1,
            max_turnover: 1,
        },
        VaultParams {
            markets: vec![0],
            max_position: vec![1],
            max_leverage: 0,
            lockup: 0,
            max_impact: 1,
            max_turnover: 1,
        },
        VaultParams {
            markets: vec![0],
            max_position: vec![1],
            max_leverage: 100_000_000_001,
            lockup: 0,
            max_impact: 1,
            max_turnover: 1,
        },
        VaultParams {
            markets: vec![0],
            max_position: vec![1],
            max_leverage: 1,
            lockup: -1,
            max_impact: 1,
            max_turnover: 1,
        },
        VaultParams {
            markets: vec![0],
            max_position: vec![1],
            max_leverage: 1,
            lockup: 7 * 86_400 + 1,
            max_impact: 1,
            max_turnover: 1,
        },
        VaultParams {
            markets: (0..9).collect(),
            max_position: vec![1; 9],
            max_leverage: 1,
            lockup: 0,
            max_impact: 1,
            max_turnover: 1,
        },
        VaultParams {
            markets: vec![0],
            max_position: vec![1],
            max_leverage: 1,
            lockup: 0,
            max_impact: 0,
            max_turnover: 1,
        },
        VaultParams {
            markets: vec![0],
            max_position: vec![1],
            max_leverage: 1,
            lockup: 0,
            max_impact: 25_000_001,
            max_turnover: 1,
        },
        VaultParams {
            markets: vec![0],
            max_position: vec![1],
            max_leverage: 1,
            lockup: 0,
            max_impact: 1,
            max_turnover: 0,
        },
        VaultParams {
            markets: vec![0],
            max_position: vec![1],
            max_leverage: 1,
            lockup: 0,
            max_impact: 1,
            max_turnover: 10_000_000_001,
        },
    ];
    let manager = Keypair::new();
    let fund =
        solana_system_interface::instruction::transfer(&t.env.payer().pubkey(), &manager.pubkey(), 1_000_000_000);
    t.env.send(&[fund], &[]).await.unwrap();
    let vault = vault_pda(&manager.pubkey(), 0);
    let authority = Pubkey::find_program_address(&[AUTHORITY_SEED, vault.as_ref()], &perp_vault::ID).0;
    t.v = V {
        vault,
        authority,
        token: Pubkey::find_program_address(&[TOKEN_SEED, vault.as_ref()], &perp_vault::ID).0,
        margin: pda::margin_account(&authority, 0),
        manager,
    };
    for p in bad {
        vault_err(t.init_vault(p).await, VaultError::InvalidParams);
    }
    assert!(t.env.account_data(&t.v.vault).await.is_none());
}

/// The manager's own perp account (id 0) with `deposit` in it.
async fn manager_account(t: &mut T, deposit: u64) -> (Keypair, User) {
    let m = t.v.manager.insecure_clone();
    let mgr = User {
        kp: m.insecure_clone(),
        token: t.env.token_account(&m.pubkey(), 2 * deposit).await,
        account: pda::margin_account(&m.pubkey(), 0),
    };
    t.env.send(&[ix::create_margin_account(m.pubkey(), 0)], &[&m]).await.unwrap();
    t.env.send(&[ix::deposit(m.pubkey(), mgr.account, mgr.token, deposit)], &[&m]).await.unwrap();
    t.env.accounts.push(mgr.account);
    (m, mgr)
}

/// The manager sandwiches the vault from his own account: in one transaction he buys, the vault
/// buys after him at a limit still inside the band, and he would sell back to the vault's price
/// impact. The vAMM moved in this second has no weight in the time-weighted impact prices, so
/// the vault's order is refused (before the guard it filled ~0.6 % above the index).
#[tokio::test(flavor = "current_thread")]
async fn attack_manager_sandwiches_the_vault() {
    let mut t = T::new().await;
    let alice = t.depositor(40_000 * USDC).await;
    t.deposit(&alice, 30_000 * USDC).await.unwrap();
    let (m, mgr) = manager_account(&mut t, 50_000 * USDC).await;
    let push = ix::place_market_order(m.pubkey(), mgr.account, 0, &[t.oracle], &[], order(OrderSide::Long, 3 * BTC));
    let vault_buy = t.trade_ix(m.pubkey(), long(2 * BTC, 20_200_000_000));
    vault_err(t.env.send(&[push.clone(), vault_buy.clone()], &[&m]).await, VaultError::VammDisplaced);
    let a = t.env.margin(&t.v.margin).await;
    assert!(a.positions.iter().all(|p| !p.in_use()));
    assert_eq!(a.cross_collateral, 30_000 * USDC as i64);
    // the same order alone, at the undisturbed vAMM, trades
    t.env.send(&[vault_buy], &[&m]).await.unwrap();
    assert_eq!(t.env.margin(&t.v.margin).await.positions[0].base, 2 * BTC);
    t.env.assert_conservation().await;
}

/// A redemption may not leave the remaining holders above the vault's leverage, and a lockup
/// holds deposits for its duration.
#[tokio::test(flavor = "current_thread")]
async fn vault_withdrawals_keep_leverage_and_lockup() {
    let params = VaultParams {
        markets: vec![0],
        max_position: vec![2 * BTC as u64],
        max_leverage: 3_000_000_000,
        lockup: 3_600,
        max_impact: 25_000_000,
        max_turnover: 10_000_000_000,
    };
    let mut t = T::with(params).await;
    let alice = t.depositor(40_000 * USDC).await;
    let bob = t.depositor(40_000 * USDC).await;
    t.deposit(&alice, 10_000 * USDC).await.unwrap();
    t.deposit(&bob, 10_000 * USDC).await.unwrap();
    let sa = t.shares(&alice).await;
    vault_err(t.withdraw(&alice, sa / 2).await, VaultError::LockedUp);
    t.env.advance(3_600).await;
    t.set_price(20_000).await;
    // 2x: 40,000 on 20,000; alice redeeming all her half would leave 40,000 on ~10,000 (4x)
    t.trade(long(2 * BTC, 20_200_000_000)).await.unwrap();
    vault_err(t.withdraw(&alice, sa).await, VaultError::LeverageLimit);
    let before = t.env.token_balance(&alice.token).await;
    t.withdraw(&alice, sa / 10).await.unwrap();
    let got = t.env.token_balance(&alice.token).await - before;
    assert!(got > 900 * USDC && got <= 1_000 * USDC, "{got}");
    t.env.assert_conservation().await;
}

/// N-1: the manager back-runs the vault's own orders from its own perp account: the vault buys,
/// the manager's account sells the vault's impact back to the curve, the vault sells, the
/// manager buys back, all in one transaction (the old guard looked only before each order, and
/// the vAMM is back at rest every time). Now a reversal waits one sample period, one order's
/// impact is at most a quarter of the delegate band (0.25%), and the day's traded notional is at
/// most the vault's turnover limit (2x its equity here): what the manager can still take is
/// bounded by turnover x (impact + fee) a day, and every round trip is no longer atomic.
#[tokio::test(flavor = "current_thread")]
async fn attack_manager_backruns_the_vault_round_trip() {
    let params = VaultParams {
        markets: vec![0],
        max_position: vec![10 * BTC as u64],
        max_leverage: 5_000_000_000,
        lockup: 0,
        max_impact: 25_000_000,
        max_turnover: 2_000_000_000,
    };
    let mut t = T::with(params).await;
    let alice = t.depositor(200_000 * USDC).await;
    t.deposit(&alice, 100_000 * USDC).await.unwrap();
    let (m, mgr) = manager_account(&mut t, 200_000 * USDC).await;
    let size = 2 * BTC;
    let short = |reduce_only: bool| TradeParams {
        market_index: 0,
        side: OrderSide::Short,
        size: size as u64,
        limit_price: 19_800_000_000,
        reduce_only,
    };
    let mgr_order = |side| ix::place_market_order(m.pubkey(), mgr.account, 0, &[t.oracle], &[], order(side, size));
    let (sell_back, buy_back) = (mgr_order(OrderSide::Short), mgr_order(OrderSide::Long));
    let before = t.env.margin(&t.v.margin).await.cross_collateral;
    let round_trip = [
        t.trade_ix(m.pubkey(), long(size, 20_200_000_000)),
        sell_back.clone(),
        t.trade_ix(m.pubkey(), short(true)),
        buy_back.clone(),
    ];
    vault_err(t.env.send(&round_trip, &[&m]).await, VaultError::ReversalTooSoon);
    let a = t.env.margin(&t.v.margin).await;
    assert_eq!(a.cross_collateral, before, "nothing traded");
    assert!(a.positions.iter().all(|p| !p.in_use()));
    // one order's impact: 3 BTC on 1,000 BTC of depth averages 0.3% above the mid (over 0.25%)
    vault_err(t.trade(long(3 * BTC, 20_200_000_000)).await, VaultError::ImpactLimit);

    // a patient manager: one leg per sample period, until the day's turnover is used up
    let (mut legs, mut refused) = (0u32, None);
    for i in 0..40 {
        let vault_leg = if i % 2 == 0 {
            t.trade_ix(m.pubkey(), long(size, 20_200_000_000))
        } else {
            t.trade_ix(m.pubkey(), short(true))
        };
        let back = if i % 2 == 0 { sell_back.clone() } else { buy_back.clone() };
        match t.env.send(&[vault_leg, back], &[&m]).await {
            Ok(()) => legs += 1,
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
        t.env.advance(60).await;
        t.set_price(20_000).await;
    }
    vault_err(Err(refused.expect("the turnover limit stops it")), VaultError::TurnoverLimit);
    let v = t.vault().await;
    let after = t.env.margin(&t.v.margin).await;
    // the turnover window held at most 2x the vault's equity (about 200,000 of notional: 5 legs
    // of 40,000)
    assert!(v.turnover_used <= 2 * before as u64, "{} > 2 x {}", v.turnover_used, before);
    assert!((4..=5).contains(&legs), "{legs} legs");
    // what the vault lost is within turnover x (a quarter band + the fee): 0.3% of 200,000
    let value = after.cross_collateral
        + after
            .find(0)
            .map(|s| {
                let p = after.positions[s].state();
                p.upnl(usd(20_000)).unwrap().0
            })
            .unwrap_or(0);
    let lost = before - value;
    assert!(lost >= 0 && lost <= 600 * USDC as i64, "vault lost {lost}");
    t.env.assert_conservation().await;
}
