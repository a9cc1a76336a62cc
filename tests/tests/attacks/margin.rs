//! M-1, M-2, L-7, L-8, L-9: margin rules, delegates, and what a flag or a pause may not block.

use super::*;
use perp::error::PerpError;
use perp::state::{market_status, pause};

/// M-1: an isolated long in profit cannot move its unrealized profit to cross and withdraw it.
#[tokio::test(flavor = "current_thread")]
async fn attack_profit_backed_withdrawal_through_isolated_collateral() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 2_000 * USDC).await;
    let mut p = order(OrderSide::Long, BTC);
    p.isolated = true;
    p.isolated_collateral = 2_000 * USDC;
    w.env.trade(&alice, 0, p).await.unwrap();
    w.move_price(usd(21_000)).await;
    let a = w.env.margin(&alice.account).await;
    let c = a.positions[0].isolated_collateral;
    let refresh = ix::update_funding(0, &[w.oracle]);
    let take_all = ix::move_isolated_collateral(alice.key(), alice.account, 0, -c, &[0]);
    assert_error(w.env.send(&[refresh.clone(), take_all], &[&alice.kp]).await, PerpError::IsolatedMarginTooLow);
    // what it can release: equity counting only losses, minus initial margin (the cross rule)
    let m = w.env.market(0).await;
    let mut h = Health::new(Quote(c));
    h.add_position(&a.positions[0].state(), usd(21_000), Quote(0), &tiers(&m)).unwrap();
    let free = h.withdrawable(Quote(c)).unwrap().0;
    assert!(free > 0 && free < c);
    let over = ix::move_isolated_collateral(alice.key(), alice.account, 0, -(free + 1), &[0]);
    assert_error(w.env.send(&[refresh.clone(), over], &[&alice.kp]).await, PerpError::IsolatedMarginTooLow);
    let ok = ix::move_isolated_collateral(alice.key(), alice.account, 0, -free, &[0]);
    // collateral leaving an isolated position needs the freshness of a withdrawal: the market's
    // index refreshed within the last 4 slots
    w.env.advance(30).await;
    assert_error(w.env.send(std::slice::from_ref(&ok), &[&alice.kp]).await, PerpError::IndexNotRefreshed);
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(21_000), usd(2), t);
    w.env.send(&[refresh, ok], &[&alice.kp]).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert_eq!(a.cross_collateral, free);
    assert_eq!(a.positions[0].isolated_collateral, c - free);
    w.env.assert_conservation().await;
}

/// M-1: with the vAMM 3% below the index, a fresh account cannot open a position financed by
/// the fill-to-mark gap, isolated or cross.
#[tokio::test(flavor = "current_thread")]
async fn attack_zero_collateral_open_on_the_fill_gap() {
    let mut w = world(0).await;
    // the index is 3% above the vAMM (a fast move the arbitrageur has not followed yet)
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(20_600), usd(2), t);
    let eve = w.env.user(100_000 * USDC, 0).await;
    let mut iso = order(OrderSide::Long, 2 * BTC);
    iso.isolated = true;
    assert_error(w.env.trade(&eve, 0, iso).await, PerpError::InsufficientMargin);
    assert_error(w.env.trade(&eve, 0, order(OrderSide::Long, 2 * BTC)).await, PerpError::InsufficientMargin);
    // a little collateral is not leveraged by the gap either: 100 USDC does not open 2 BTC
    w.env.send(&[ix::deposit(eve.key(), eve.account, eve.token, 100 * USDC)], &[&eve.kp]).await.unwrap();
    assert_error(w.env.trade(&eve, 0, order(OrderSide::Long, 2 * BTC)).await, PerpError::InsufficientMargin);
    let e = w.env.margin(&eve.account).await;
    assert!(e.find(0).is_none() && e.cross_collateral == 100 * USDC as i64);
    w.env.assert_conservation().await;
}

/// M-2: the delegate's own account brackets an order it places for the owner. A delegated order
/// must carry a limit within 1% of the index, so the bracket makes it fail instead of filling it
/// 5% off; the owner's money is untouched.
#[tokio::test(flavor = "current_thread")]
async fn attack_delegate_sandwiches_the_owner() {
    let mut w = world(0).await;
    let owner = w.env.user(1_000_000 * USDC, 100_000 * USDC).await;
    let dee = w.env.user(10_000_000 * USDC, 2_000_000 * USDC).await;
    w.env.send(&[ix::set_delegate(owner.key(), owner.account, dee.key())], &[&owner.kp]).await.unwrap();
    let m = w.env.market(0).await;
    let before = w.env.margin(&owner.account).await;
    let up = w.env.order_ix(&dee, 0, order(OrderSide::Long, 20 * BTC)).await;
    let victim_open = ix::place_market_order(
        dee.key(),
        owner.account,
        0,
        &ix::market_oracles(&m),
        &[],
        order(OrderSide::Long, 10 * BTC),
    );
    // no limit: refused outright
    assert_error(w.env.send(&[up.clone(), victim_open], &[&dee.kp]).await, PerpError::DelegateLimitRequired);
    // a limit beyond the band: refused
    let wide = with_limit(order(OrderSide::Long, 10 * BTC), usd(21_000));
    let i = ix::place_market_order(dee.key(), owner.account, 0, &ix::market_oracles(&m), &[], wide);
    assert_error(w.env.send(&[up.clone(), i], &[&dee.kp]).await, PerpError::DelegateLimitRequired);
    // within the band: the bracket has moved the vAMM away from its time-weighted prices, so a
    // delegated order is refused before it fills
    let tight = with_limit(order(OrderSide::Long, 10 * BTC), usd(20_200));
    let i = ix::place_market_order(dee.key(), owner.account, 0, &ix::market_oracles(&m), &[], tight);
    assert_error(w.env.send(&[up, i], &[&dee.kp]).await, PerpError::DelegateImpactTooLarge);
    let after = w.env.margin(&owner.account).await;
    assert_eq!(after.cross_collateral, before.cross_collateral);
    assert!(after.find(0).is_none());
    // the delegate may not withdraw, nor change the delegate
    assert_error(
        w.env.send(&[ix::withdraw(dee.key(), owner.account, dee.token, USDC, &[])], &[&dee.kp]).await,
        PerpError::OwnerOnly,
    );
    assert_error(
        w.env.send(&[ix::set_delegate(dee.key(), owner.account, dee.key())], &[&dee.kp]).await,
        PerpError::OwnerOnly,
    );
    w.env.assert_conservation().await;
}

/// M-2: the delegate's own account (or any account sharing a key with the owner's) cannot
/// liquidate the owner's account.
#[tokio::test(flavor = "current_thread")]
async fn attack_delegate_liquidates_the_owner() {
    let mut w = world(0).await;
    let owner = w.env.user(1_000_000 * USDC, 10_000 * USDC).await;
    let dee = w.env.user(10_000_000 * USDC, 2_000_000 * USDC).await;
    w.env.trade(&owner, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.env.send(&[ix::set_delegate(owner.key(), owner.account, dee.key())], &[&owner.kp]).await.unwrap();
    w.move_price(usd(18_250)).await;
    let i = w.liquidate_ix(&dee, dee.account, &owner, 0, 0).await;
    assert_error(w.env.send(&[i], &[&dee.kp]).await, PerpError::SelfLiquidation);
    // nor from an account the owner delegated to someone who also delegates the owner's
    let third = w.env.user(1_000_000 * USDC, 500_000 * USDC).await;
    w.env.send(&[ix::set_delegate(third.key(), third.account, owner.key())], &[&third.kp]).await.unwrap();
    let i = w.liquidate_ix(&third, third.account, &owner, 0, 0).await;
    assert_error(w.env.send(&[i], &[&third.kp]).await, PerpError::SelfLiquidation);
    // nor may the delegate put the owner's account at risk by taking a third party's position
    // over into it: only an account's owner signs its liquidations
    let carl = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&carl, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap_or(());
    let rich = w.env.user(10_000_000 * USDC, 1_000_000 * USDC).await;
    w.env.send(&[ix::set_delegate(rich.key(), rich.account, dee.key())], &[&rich.kp]).await.unwrap();
    let i = w.liquidate_ix(&dee, rich.account, &owner, 0, 0).await;
    assert_error(w.env.send(&[i], &[&dee.kp]).await, PerpError::OwnerOnly);
    assert_eq!(w.env.margin(&owner.account).await.positions[0].base, 5 * BTC);
    // an independent liquidator may
    w.liquidate(&owner, 0).await.unwrap();
    w.env.assert_conservation().await;
}

/// L-7: a bankrupt position in one market does not trap an isolated position elsewhere.
#[tokio::test(flavor = "current_thread")]
async fn attack_bankrupt_flag_traps_an_unrelated_isolated_position() {
    let mut w = world(10 * USDC).await;
    let oracle2 = Keypair::new().pubkey();
    w.env.set_legacy_oracle(oracle2, usd(1_500), usd(1), T0);
    let mut p = default_market_params(vec![legacy_oracle(oracle2)]);
    p.name = *b"ETH-PERP\0\0\0\0\0\0\0\0";
    w.env.create_market(1, p, 10_000, usd(1_500)).await;
    let carol = w.env.user(100_000 * USDC, 12_000 * USDC).await;
    let mut iso = order(OrderSide::Long, BTC);
    iso.isolated = true;
    iso.isolated_collateral = 2_000 * USDC;
    w.env.trade(&carol, 1, iso).await.unwrap();
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.move_price(usd(17_500)).await;
    w.liquidate(&carol, 0).await.unwrap();
    let c = w.env.margin(&carol.account).await;
    assert!(c.positions[c.find(0).unwrap()].is_bankrupt());
    // the isolated ETH position closes; new risk and withdrawals stay refused
    w.env.close(&carol, 1).await.unwrap();
    assert!(w.env.margin(&carol.account).await.find(1).is_none());
    assert_error(w.env.trade(&carol, 1, order(OrderSide::Long, BTC)).await, PerpError::AccountBankrupt);
    w.env.assert_conservation().await;
}

/// L-8: the admin's TRADE pause and a market's PAUSED status stop new risk, never a close.
#[tokio::test(flavor = "current_thread")]
async fn attack_pause_traps_positions_while_liquidations_run() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, 2 * BTC)).await.unwrap();
    let admin = w.env.admin.insecure_clone();
    w.env.send(&[ix::set_pause(admin.pubkey(), pause::TRADE)], &[&admin]).await.unwrap();
    assert_error(w.env.trade(&alice, 0, order(OrderSide::Long, BTC)).await, PerpError::OperationPaused);
    let mut half = order(OrderSide::Short, BTC);
    half.reduce_only = true;
    w.env.trade(&alice, 0, half).await.unwrap();
    w.env.send(&[ix::set_pause(admin.pubkey(), 0)], &[&admin]).await.unwrap();
    w.env.send(&[ix::set_market_status(admin.pubkey(), 0, market_status::PAUSED)], &[&admin]).await.unwrap();
    assert_error(w.env.trade(&alice, 0, order(OrderSide::Long, BTC)).await, PerpError::MarketPaused);
    w.env.close(&alice, 0).await.unwrap();
    w.env.assert_conservation().await;
}

/// L-9: withdrawing into the insurance vault (which would break its ledger) is refused.
#[tokio::test(flavor = "current_thread")]
async fn attack_withdraw_into_the_insurance_vault() {
    let mut w = world(1_000 * USDC).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let i = ix::withdraw(alice.key(), alice.account, perp_client::pda::insurance_vault(), USDC, &[]);
    assert_error(w.env.send(&[i], &[&alice.kp]).await, PerpError::WrongTokenAccount);
    w.env.assert_conservation().await;
}
