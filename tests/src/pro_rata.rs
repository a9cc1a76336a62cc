//! Pro-rata ADL scenarios shared by the program tests and the attack tests.

use crate::world::*;
use crate::*;
use anchor_lang::prelude::Pubkey;
use perp::instructions::OrderSide;
use perp_client::ix;
use solana_program_test::BanksClientError;

/// A pro-rata world: Carol long 5 BTC on 10,000, Dan short 2, Erin short 3 (and the arbitrageur,
/// short from following the fall); BTC falls to 18,000 and Carol is flagged bankrupt.
pub async fn pro_rata_world() -> (World, User, User, User) {
    let (w, carol, dan, erin, _) = pro_rata_world_with(0).await;
    (w, carol, dan, erin)
}

/// The same, with Mallory short `tiny` (base raw; none when 0) opened just before the fall.
pub async fn pro_rata_world_with(tiny: i64) -> (World, User, User, User, Option<User>) {
    let mut w = world(10 * USDC).await;
    set_policy(&mut w, 1).await.unwrap();
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let dan = w.env.user(100_000 * USDC, 5_000 * USDC).await;
    let erin = w.env.user(100_000 * USDC, 30_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.env.trade(&dan, 0, order(OrderSide::Short, 2 * BTC)).await.unwrap();
    w.env.trade(&erin, 0, order(OrderSide::Short, 3 * BTC)).await.unwrap();
    let mallory = if tiny > 0 {
        let m = w.env.user(1_000 * USDC, 100 * USDC).await;
        w.env.trade(&m, 0, order(OrderSide::Short, tiny)).await.unwrap();
        Some(m)
    } else {
        None
    };
    w.move_price(usd(18_000)).await;
    w.liquidate(&carol, 0).await.unwrap();
    assert!(w.env.margin(&carol.account).await.is_bankrupt());
    (w, carol, dan, erin, mallory)
}

pub async fn set_policy(w: &mut World, policy: u8) -> Result<(), BanksClientError> {
    let mut p = perp::state::MarketParams::from_market(&w.env.market(0).await);
    p.adl_policy = policy;
    w.env.update_market(0, p).await
}

/// Begins the round for `bankrupt`'s counterparties and scans `accounts`.
pub async fn round(w: &mut World, bankrupt: &User, accounts: &[Pubkey]) {
    let m = w.env.market(0).await;
    w.env.send(&[ix::begin_adl_round(0, &ix::market_oracles(&m), bankrupt.account)], &[]).await.unwrap();
    w.env.send(&[ix::adl_scan(0, accounts)], &[]).await.unwrap();
}

pub async fn step(w: &mut World, bankrupt: &User) -> Result<(), BanksClientError> {
    let m = w.env.market(0).await;
    w.env.send(&[ix::auto_deleverage(0, &ix::market_oracles(&m), bankrupt.account, &[])], &[]).await
}

/// Settles each account (a touch: any instruction that settles it would do).
pub async fn touch(w: &mut World, accounts: &[Pubkey]) {
    for a in accounts {
        w.env.send(&[ix::settle_funding(*a, &[0])], &[]).await.unwrap();
    }
}
