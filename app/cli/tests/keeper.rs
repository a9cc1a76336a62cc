//! The keeper against the in-process bank: it discovers accounts by itself (getProgramAccounts
//! through the backend's index), liquidates, cranks funding on time, runs ADL, and backs off from
//! accounts that keep failing.

use perp::instructions::{OrderParams, OrderSide};
use perp::state::market_status;
use perp_cli::keeper::{Keeper, KeeperConfig};
use perp_client::bank::{BankUser, Bootstrap};
use perp_client::chain::{fetch_margin, fetch_market, Chain, SendOptions};
use perp_client::{ix, oracle_data, Pubkey};
use perp_core::Price;
use solana_keypair::Keypair;
use solana_signer::Signer;

mod common;
use common::{btc_params, BTC, T0, USDC};

fn usd(p: u64) -> Price {
    Price(p * 1_000_000)
}

struct World {
    boot: Bootstrap,
    oracle: Pubkey,
}

impl World {
    async fn new(insurance: u64) -> World {
        World::with_policy(insurance, 0).await
    }

    async fn with_policy(insurance: u64, adl_policy: u8) -> World {
        let boot = Bootstrap::new(T0, 200_000_000).await.unwrap();
        let oracle = Keypair::new().pubkey();
        let w = World { boot, oracle };
        w.price(usd(20_000));
        let mut p = btc_params(&[oracle]);
        p.adl_policy = adl_policy;
        w.boot.create_market(0, p, 1_000 * BTC as u128, usd(20_000)).await.unwrap();
        if insurance > 0 {
            let funder = w.boot.user(insurance, 0).await.unwrap();
            w.boot
                .chain
                .send(
                    &[ix::deposit_insurance(funder.key(), funder.token, 0, insurance)],
                    &[&funder.kp],
                    &SendOptions::default(),
                )
                .await
                .unwrap();
        }
        w
    }

    /// Carol long 5 BTC on 10,000, Dan short 2 and Erin short 3; the arbitrageur takes the vAMM to
    /// 18,000, past Carol's bankruptcy.
    async fn crash(&self) -> (BankUser, BankUser, BankUser) {
        let carol = self.boot.user(100_000 * USDC, 10_000 * USDC).await.unwrap();
        let dan = self.boot.user(100_000 * USDC, 5_000 * USDC).await.unwrap();
        let erin = self.boot.user(100_000 * USDC, 30_000 * USDC).await.unwrap();
        let arb = self.boot.user(5_000_000 * USDC, 1_000_000 * USDC).await.unwrap();
        self.trade(&carol, OrderSide::Long, 5 * BTC).await.unwrap();
        self.trade(&dan, OrderSide::Short, 2 * BTC).await.unwrap();
        self.trade(&erin, OrderSide::Short, 3 * BTC).await.unwrap();
        self.move_to(&arb, usd(18_000)).await;
        (carol, dan, erin)
    }

    fn price(&self, p: Price) {
        let data =
            oracle_data::legacy_account(oracle_data::LEGACY_TEMPLATE, p, Price(p.0 / 10_000), self.boot.chain.now());
        self.boot.chain.set_account(self.oracle, oracle_data::PYTH_LEGACY_PROGRAM, data);
    }

    async fn trade(&self, u: &BankUser, side: OrderSide, size: i64) -> Result<String, perp_client::ChainError> {
        let m = fetch_market(&self.boot.chain, 0).await.unwrap();
        let a = fetch_margin(&self.boot.chain, &u.account).await.unwrap();
        let p = OrderParams {
            side,
            size: size as u64,
            limit_price: 0,
            reduce_only: false,
            isolated: false,
            isolated_collateral: 0,
            max_index_deviation: 0,
        };
        let i = ix::place_market_order(
            u.key(),
            u.account,
            0,
            &ix::market_oracles(&m),
            &ix::position_markets(&a, Some(0)),
            p,
        );
        self.boot.chain.send(&[i], &[&u.kp], &SendOptions::default()).await
    }

    /// Moves the index and has an arbitrageur trade the vAMM to it.
    async fn move_to(&self, arb: &BankUser, p: Price) {
        self.price(p);
        let v = fetch_market(&self.boot.chain, 0).await.unwrap().vamm();
        let d = v.size_to_price(p).unwrap();
        if d.0 != 0 {
            let side = if d.0 > 0 { OrderSide::Long } else { OrderSide::Short };
            self.trade(arb, side, d.0.abs()).await.unwrap();
        }
    }

    /// A keeper with 1M USDC in its margin account: it takes liquidated positions over.
    async fn keeper(&self) -> Keeper<perp_client::bank::BankChain> {
        let u = self.boot.user(1_000_000 * USDC, 1_000_000 * USDC).await.unwrap();
        self.boot.chain.fund(&u.key(), 10_000_000_000).await.unwrap();
        Keeper::new(self.boot.chain.clone(), u.kp, KeeperConfig::default()).await.unwrap()
    }

    async fn assert_conservation(&self) {
        let c = self.boot.conservation().await.unwrap();
        assert!(c.holds(), "{c:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn finds_and_liquidates_an_account_it_was_not_told_about() {
    let w = World::new(0).await;
    let alice = w.boot.user(100_000 * USDC, 10_000 * USDC).await.unwrap();
    let arb = w.boot.user(5_000_000 * USDC, 1_000_000 * USDC).await.unwrap();
    w.trade(&alice, OrderSide::Long, 5 * BTC).await.unwrap();
    // the keeper starts knowing nothing of Alice
    let mut k = w.keeper().await;
    let r = k.tick().await.unwrap();
    assert!(r.liquidated.is_empty(), "healthy accounts are left alone");
    // BTC falls 8.75%: equity ~1,200 < maintenance ~1,330
    w.boot.chain.set_time(T0 + 30).await;
    w.move_to(&arb, usd(18_250)).await;
    let r = k.tick().await.unwrap();
    assert_eq!(r.liquidated.len(), 1, "{r:?}");
    assert_eq!(r.liquidated[0].0, alice.account);
    let a = fetch_margin(&w.boot.chain, &alice.account).await.unwrap();
    let left = a.find(0).map(|s| a.positions[s].base).unwrap_or(0);
    assert!(left < 5 * BTC);
    assert!(k.counters.liquidations >= 1);
    // the keeper took the position over, then unwound it against the vAMM within its band
    assert_eq!(r.unwound.len(), 1, "{r:?}");
    let mine = fetch_margin(&w.boot.chain, &k.account).await.unwrap();
    assert!(mine.find(0).is_none(), "nothing left after the unwind");
    w.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn cranks_funding_on_time() {
    let w = World::new(0).await;
    let alice = w.boot.user(100_000 * USDC, 10_000 * USDC).await.unwrap();
    w.trade(&alice, OrderSide::Long, 2 * BTC).await.unwrap();
    let mut k = w.keeper().await;
    let first = fetch_market(&w.boot.chain, 0).await.unwrap().next_funding_time;
    assert_eq!(first, T0 + 3600);
    // a pass a minute for 2 hours and 5 minutes
    for minute in 1..=125 {
        w.boot.chain.set_time(T0 + 60 * minute).await;
        w.price(usd(20_000));
        k.tick().await.unwrap();
        let m = fetch_market(&w.boot.chain, 0).await.unwrap();
        assert_eq!(m.last_sample_time, T0 + 60 * minute, "sampled every minute");
        if minute == 60 || minute == 120 {
            assert_eq!(m.last_funding_time, T0 + 60 * minute, "funding applied at the boundary");
            assert_ne!(m.last_funding_rate, 0);
        }
    }
    let m = fetch_market(&w.boot.chain, 0).await.unwrap();
    assert_eq!(m.next_funding_time, T0 + 3 * 3600);
    assert_eq!(k.counters.funding_cranks, 125);
    w.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn runs_adl_to_the_end_in_the_verified_order() {
    let w = World::new(0).await;
    let (carol, dan, _erin) = w.crash().await;
    let mut k = w.keeper().await;
    let r = k.tick().await.unwrap();
    assert_eq!(r.bankrupt_marked, vec![(carol.account, 0)]);
    assert_eq!(r.resolved, vec![(carol.account, 0)], "the same pass ran the round to the end");
    assert!(r.adl_steps >= 2);
    let c = fetch_margin(&w.boot.chain, &carol.account).await.unwrap();
    assert!(c.find(0).is_none());
    let d = fetch_margin(&w.boot.chain, &dan.account).await.unwrap();
    assert!(d.find(0).is_none(), "Dan, ranked first, was closed in full");
    assert_eq!(fetch_market(&w.boot.chain, 0).await.unwrap().bankrupt_accounts, 0);
    assert_eq!(k.counters.adl_rounds, 1);
    w.assert_conservation().await;
}

/// The same crash in a pro-rata market: the keeper opens the round, counts every short and takes
/// the step with no candidate; nobody's position is closed, and each short owes its share of the
/// deficit (in proportion to its profit) when it is next touched.
#[tokio::test(flavor = "current_thread")]
async fn runs_a_pro_rata_round_without_closing_anyone() {
    let w = World::with_policy(0, 1).await;
    let (carol, dan, erin) = w.crash().await;
    let mut k = w.keeper().await;
    let r = k.tick().await.unwrap();
    assert_eq!(r.bankrupt_marked, vec![(carol.account, 0)]);
    assert_eq!(r.resolved, vec![(carol.account, 0)], "the same pass ran the round to the end");
    assert_eq!(r.adl_steps, 1, "one step for one bankrupt position");
    let m = fetch_market(&w.boot.chain, 0).await.unwrap();
    assert!(m.haircut_absorbed > 0 && m.socialized_loss == 0, "the pool took the deficit");
    let mut owed = 0;
    for u in [&dan, &erin] {
        let a = fetch_margin(&w.boot.chain, &u.account).await.unwrap();
        let p = a.positions[a.find(0).expect("nobody is closed")];
        let due = perp_client::preview::haircut_owed(&m, &p).0;
        assert!(due > 0 && due <= p.haircut_profit, "{due} of {}", p.haircut_profit);
        owed += due;
    }
    assert!(owed < m.haircut_absorbed, "the arbitrageur's short owes the rest");
    w.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn failing_accounts_are_skipped_for_a_while() {
    let w = World::new(0).await;
    let alice = w.boot.user(100_000 * USDC, 10_000 * USDC).await.unwrap();
    let arb = w.boot.user(5_000_000 * USDC, 1_000_000 * USDC).await.unwrap();
    w.trade(&alice, OrderSide::Long, 5 * BTC).await.unwrap();
    w.move_to(&arb, usd(18_250)).await;
    let admin = w.boot.admin.insecure_clone();
    w.boot
        .chain
        .send(&[ix::set_market_status(admin.pubkey(), 0, market_status::PAUSED)], &[&admin], &SendOptions::default())
        .await
        .unwrap();
    let mut k = w.keeper().await;
    for _ in 0..5 {
        let r = k.tick().await.unwrap();
        assert!(r.liquidated.is_empty());
    }
    assert_eq!(k.counters.failures_by_error.get("MarketPaused"), Some(&3), "{:?}", k.counters);
    assert_eq!(k.counters.skipped, 2, "after 3 failures the account is skipped");
    // once the skip expires and liquidations resume, it is liquidated
    w.boot
        .chain
        .send(&[ix::set_market_status(admin.pubkey(), 0, market_status::ACTIVE)], &[&admin], &SendOptions::default())
        .await
        .unwrap();
    w.boot.chain.set_time(T0 + 301).await;
    w.price(usd(18_250));
    let r = k.tick().await.unwrap();
    assert_eq!(r.liquidated.len(), 1);
    w.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the SBF build (natively nothing is metered): scripts/build-sbf && PERP_SBF=1 cargo test -p perp-cli --test keeper -- --ignored"]
async fn a_compute_unit_raise_is_for_that_kind_of_transaction_only() {
    assert!(perp_client::bank::sbf_dir().is_some(), "set PERP_SBF=1 (and run scripts/build-sbf)");
    let w = World::new(0).await;
    let alice = w.boot.user(100_000 * USDC, 10_000 * USDC).await.unwrap();
    let arb = w.boot.user(5_000_000 * USDC, 1_000_000 * USDC).await.unwrap();
    w.trade(&alice, OrderSide::Long, 5 * BTC).await.unwrap();
    let u = w.boot.user(1_000_000 * USDC, 1_000_000 * USDC).await.unwrap();
    w.boot.chain.fund(&u.key(), 10_000_000_000).await.unwrap();
    // the operator asked for 2,000 units: nothing the keeper sends fits
    let mut cfg = KeeperConfig::default();
    cfg.send.compute_unit_limit = Some(2_000);
    let mut k = Keeper::new(w.boot.chain.clone(), u.kp, cfg).await.unwrap();
    // a minute later (funding sample due) Alice is liquidatable
    w.boot.chain.set_time(T0 + 60).await;
    w.move_to(&arb, usd(18_250)).await;
    let r = k.tick().await.unwrap();
    assert_eq!(r.liquidated.len(), 1, "{r:?}");
    assert_eq!(r.unwound.len(), 1, "{r:?} {:?} {:?}", k.counters, k.cu_limits());
    let raised = k.cu_limits().clone();
    for what in ["update_funding", "liquidate", "unwind"] {
        assert_eq!(raised.get(what), Some(&200_000), "{what}: {raised:?}");
    }
    // each kind raised once; the operator's setting, used by every other kind, is unchanged
    // (the old keeper raised it for every later transaction, and with a priority fee paid for it)
    assert_eq!(k.counters.cu_limit_raised, raised.len() as u64, "{raised:?}");
    assert_eq!(k.cfg.send.compute_unit_limit, Some(2_000));
    // the next pass sends each kind at its raised limit at once: no new raise
    w.boot.chain.set_time(T0 + 120).await;
    w.price(usd(18_250));
    k.tick().await.unwrap();
    assert_eq!(k.counters.cu_limit_raised, raised.len() as u64);
    w.assert_conservation().await;
}

/// A JSON-RPC node that lies about one account: every read of `key` returns `fake` (N-5).
#[derive(Clone)]
struct Lying {
    inner: perp_client::bank::BankChain,
    key: Pubkey,
    fake: perp_client::chain::AccountData,
}

impl Chain for Lying {
    async fn account(&self, key: &Pubkey) -> perp_client::chain::ChainResult<Option<perp_client::chain::AccountData>> {
        if *key == self.key {
            return Ok(Some(self.fake.clone()));
        }
        self.inner.account(key).await
    }
    async fn accounts(
        &self,
        keys: &[Pubkey],
    ) -> perp_client::chain::ChainResult<Vec<Option<perp_client::chain::AccountData>>> {
        let mut out = self.inner.accounts(keys).await?;
        for (k, a) in keys.iter().zip(out.iter_mut()) {
            if *k == self.key {
                *a = Some(self.fake.clone());
            }
        }
        Ok(out)
    }
    async fn program_accounts(&self, d: &[u8], len: usize) -> perp_client::chain::ChainResult<Vec<(Pubkey, Vec<u8>)>> {
        self.inner.program_accounts(d, len).await
    }
    async fn send(
        &self,
        ixs: &[perp_client::Instruction],
        signers: &[&Keypair],
        opts: &SendOptions,
    ) -> perp_client::chain::ChainResult<String> {
        self.inner.send(ixs, signers, opts).await
    }
    async fn unix_time(&self) -> perp_client::chain::ChainResult<i64> {
        self.inner.unix_time().await
    }
}

/// N-5: the keeper's node shows it the BTC oracle 9% below the real price, and its operator has
/// pushed the vAMM down there: the keeper "sees" its long at the index and unwinds it into the
/// sandwich. The old keeper's limit came from the index it computed from the node's bytes (so the
/// fill passed it); the unwind's bound is now an order parameter the program checks against its
/// own live index, so the unwind is refused and the keeper keeps its position and its money.
#[tokio::test(flavor = "current_thread")]
async fn attack_keeper_unwind_limit_from_a_lying_rpc() {
    let w = World::new(0).await;
    let arb = w.boot.user(5_000_000 * USDC, 1_000_000 * USDC).await.unwrap();
    let mallory = w.boot.user(5_000_000 * USDC, 1_000_000 * USDC).await.unwrap();
    let k = w.boot.user(1_000_000 * USDC, 1_000_000 * USDC).await.unwrap();
    w.boot.chain.fund(&k.key(), 10_000_000_000).await.unwrap();
    // the keeper holds 5 BTC long (taken over earlier), the vAMM at the index
    w.trade(&k, OrderSide::Long, 5 * BTC).await.unwrap();
    w.move_to(&arb, usd(20_000)).await;
    // the operator pushes the vAMM to 18,200 and feeds the keeper an oracle at 18,200
    let d = fetch_market(&w.boot.chain, 0).await.unwrap().vamm().size_to_price(usd(18_200)).unwrap();
    w.trade(&mallory, OrderSide::Short, d.0.abs()).await.unwrap();
    let now = w.boot.chain.now();
    let fake = oracle_data::legacy_account(oracle_data::LEGACY_TEMPLATE, usd(18_200), usd(2), now);
    let lying = Lying {
        inner: w.boot.chain.clone(),
        key: w.oracle,
        fake: perp_client::chain::AccountData { owner: oracle_data::PYTH_LEGACY_PROGRAM, lamports: 1, data: fake },
    };
    let before = fetch_margin(&w.boot.chain, &k.account).await.unwrap();
    let mut keeper = Keeper::new(lying, k.kp.insecure_clone(), KeeperConfig::default()).await.unwrap();
    let r = keeper.tick().await.unwrap();
    assert!(r.unwound.is_empty(), "{r:?}");
    let after = fetch_margin(&w.boot.chain, &k.account).await.unwrap();
    assert_eq!(after.positions[after.find(0).unwrap()].base, 5 * BTC, "the keeper still holds its long");
    assert_eq!(after.cross_collateral, before.cross_collateral, "and lost nothing to the sandwich");
    w.assert_conservation().await;
}

/// Resting orders: the keeper fills a stop once the index (held for a sample period) crosses its
/// trigger, leaves a limit the vAMM cannot fill yet, cancels an expired order, and is paid each
/// reward once; the trader's CLI lists and cancels what is left.
#[tokio::test(flavor = "current_thread")]
async fn fills_stops_and_cancels_expired_orders_for_the_reward() {
    use perp_cli::orders::{order, Kind, OrderCmd, PlaceArgs, SideArg};
    let w = World::new(0).await;
    let alice = w.boot.user(100_000 * USDC, 10_000 * USDC).await.unwrap();
    let arb = w.boot.user(5_000_000 * USDC, 1_000_000 * USDC).await.unwrap();
    w.trade(&alice, OrderSide::Long, BTC).await.unwrap();
    let place = |kind, side, size: &str, limit: Option<&str>, trigger: Option<&str>, expires_in| {
        OrderCmd::Place(PlaceArgs {
            market: "BTC-PERP".into(),
            kind,
            side,
            size: size.into(),
            limit: limit.map(Into::into),
            trigger: trigger.map(Into::into),
            slippage: None,
            reduce_only: None,
            expires_in,
            client_id: 0,
            id: 0,
        })
    };
    let opts = SendOptions::default();
    for cmd in [
        place(Kind::Stop, SideArg::Sell, "1", None, Some("19500"), None),
        place(Kind::Limit, SideArg::Buy, "0.5", Some("18000"), None, None),
        place(Kind::Limit, SideArg::Sell, "0.5", Some("25000"), None, Some(120)),
    ] {
        let out = order(&w.boot.chain, Some(&alice.kp), &cmd, &opts).await.unwrap();
        assert_eq!(out.value["reward_reserved"], "0.02", "{}", out.value);
    }
    // a stop with a limit and no trigger is refused before anything is sent
    let bad = place(Kind::Stop, SideArg::Sell, "1", Some("19000"), Some("19500"), None);
    assert!(order(&w.boot.chain, Some(&alice.kp), &bad, &opts).await.is_err());
    let mut k = w.keeper().await;
    let k0 = fetch_margin(&w.boot.chain, &k.account).await.unwrap().cross_collateral;
    let r = k.tick().await.unwrap();
    assert!(r.orders_filled.is_empty() && r.orders_cancelled.is_empty(), "{r:?}");
    // the index falls to 19,400 and holds a sample period; the 120 s order expires meanwhile
    w.boot.chain.set_time(T0 + 30).await;
    w.move_to(&arb, usd(19_400)).await;
    w.boot.chain.set_time(T0 + 200).await;
    w.price(usd(19_400));
    let r = k.tick().await.unwrap();
    assert_eq!(r.orders_filled.len(), 1, "{r:?}");
    assert_eq!(r.orders_filled[0].1, 1, "the stop");
    assert_eq!(r.orders_cancelled, vec![(alice.account, 3)], "the expired limit");
    assert_eq!((k.counters.orders_filled, k.counters.orders_triggered, k.counters.orders_expired), (1, 1, 1));
    let a = fetch_margin(&w.boot.chain, &alice.account).await.unwrap();
    assert!(a.find(0).is_none(), "the stop closed the position");
    let mine = fetch_margin(&w.boot.chain, &k.account).await.unwrap();
    assert_eq!(mine.cross_collateral - k0, 2 * 20_000, "two rewards, once each");
    // nothing more to do: the buy limit at 18,000 rests
    let r = k.tick().await.unwrap();
    assert!(r.orders_filled.is_empty() && r.orders_cancelled.is_empty(), "{r:?}");
    let list = order(
        &w.boot.chain,
        Some(&alice.kp),
        &OrderCmd::List(perp_cli::orders::ListArgs { id: 0, owner: None }),
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(list.value["orders_open"], 1, "{}", list.value);
    assert!(list.value["orders"][0]["status"].as_str().unwrap().starts_with("resting"), "{}", list.value);
    let cancel = OrderCmd::Cancel(perp_cli::orders::CancelArgs {
        order_id: None,
        client_id: None,
        all: true,
        market: None,
        id: 0,
    });
    let out = order(&w.boot.chain, Some(&alice.kp), &cancel, &opts).await.unwrap();
    assert_eq!((out.value["cancelled"].clone(), out.value["reward_returned"].clone()), (1.into(), "0.02".into()));
    w.assert_conservation().await;
}
