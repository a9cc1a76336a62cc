//! Resting orders through the real program: limit, stop-loss and take-profit orders placed,
//! triggered, filled (in full and in part) by a keeper who earns the reserved reward, cancelled by
//! their owner, by expiry or as unfillable; every test checks the amounts and conservation.

use perp::error::PerpError;
use perp::instructions::{OrderSide, OrderType, OrdersToCancel};
use perp_client::ix;
use perp_core::orders::{fill_bound, OrderKind, OrderSpec};
use perp_core::vamm::Side;
use perp_core::{Price, Rate};
use perp_tests::world::*;
use perp_tests::*;

const REWARD: i64 = 20_000; // the test markets' filler reward, 0.02 USDC

/// Moves the index to `p` (the vAMM follows by arbitrage) and lets a sample period pass with the
/// oracle re-published, so the time-weighted index has caught up and orders may fill.
async fn settle_at(w: &mut World, p: Price) {
    w.move_price(p).await;
    w.env.advance(61).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, p, usd(2), t);
}

async fn keeper(w: &mut World) -> User {
    w.env.user(1_000 * USDC, 100 * USDC).await
}

#[tokio::test(flavor = "current_thread")]
async fn limit_order_rests_then_fills_within_its_limit() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let kate = keeper(&mut w).await;
    let limit = usd(19_800);
    w.env.place(&alice, 0, resting(OrderType::Limit, OrderSide::Long, BTC, limit, Price(0))).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    let o = a.orders[0];
    assert!(o.in_use() && o.order_id == 1 && o.size == BTC as u64 && o.reward == REWARD as u64);
    assert_eq!(a.cross_collateral, 10_000 * USDC as i64 - REWARD, "the reward is reserved out of margin");
    assert_eq!(a.order_reserve, REWARD as u64);
    w.env.assert_conservation().await;

    // at 20,000 the vAMM cannot fill a buy at 19,800
    assert_error(w.env.fill(&kate, alice.account, 0, 1).await, PerpError::OrderPriceNotReached);
    settle_at(&mut w, usd(19_700)).await;
    let k0 = w.env.margin(&kate.account).await.cross_collateral;
    w.env.fill(&kate, alice.account, 0, 1).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    let p = a.positions[a.find(0).unwrap()];
    assert_eq!(p.base, BTC);
    let avg = Price((-p.quote_entry) as u64); // quote for exactly 1 BTC
    assert!(avg <= limit, "average {avg} within the limit");
    assert!(!a.has_orders() && a.order_reserve == 0, "the order is done");
    assert_eq!(w.env.margin(&kate.account).await.cross_collateral - k0, REWARD, "the keeper earns the reward");
    // a second fill of the same order finds nothing: the reward is paid once
    assert_error(w.env.fill(&kate, alice.account, 0, 1).await, PerpError::OrderNotFound);
    assert_eq!(w.env.margin(&kate.account).await.cross_collateral - k0, REWARD);
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn bracket_attached_to_a_market_order_stop_fires_on_the_index() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let kate = keeper(&mut w).await;
    // the market order and its stop-loss and take-profit in one transaction
    let open = w.env.order_ix(&alice, 0, order(OrderSide::Long, 2 * BTC)).await;
    let mut ixs = vec![open];
    for p in perp_client::orders::bracket(OrderSide::Long, 2 * BTC as u64, Some(usd(19_000).0), Some(usd(21_000).0)) {
        // the position the market order opens is a cross position in market 0
        ixs.push(perp_client::orders::place_order(alice.key(), alice.account, 0, &[0], p));
    }
    w.env.send(&ixs, &[&alice.kp]).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert_eq!(a.orders.iter().filter(|o| o.in_use()).count(), 2);
    assert_eq!(a.order_reserve, 2 * REWARD as u64);
    let (stop_id, tp_id) = (a.orders[0].order_id, a.orders[1].order_id);
    assert_eq!(a.orders[0].kind, OrderKind::StopMarket as u8);
    assert!(a.orders[0].reduce_only());

    // neither trigger has fired
    assert_error(w.env.fill(&kate, alice.account, 0, stop_id).await, PerpError::OrderNotTriggered);
    assert_error(w.env.fill(&kate, alice.account, 0, tp_id).await, PerpError::OrderNotTriggered);
    settle_at(&mut w, usd(18_900)).await;
    let k0 = w.env.margin(&kate.account).await.cross_collateral;
    let b0 = w.env.margin(&alice.account).await;
    w.env.fill(&kate, alice.account, 0, stop_id).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert!(a.find(0).is_none(), "the stop closed the whole position");
    assert_eq!(w.env.margin(&kate.account).await.cross_collateral - k0, REWARD);
    // the position is gone, and with it the bracket's other leg: the take-profit is cancelled in
    // the same fill, its reward back to Alice (the sale's proceeds aside)
    assert!(!a.has_orders() && a.order_reserve == 0);
    assert!(a.find_order(tp_id).is_none());
    let traded = (a.realized_pnl - b0.realized_pnl) - (a.fees_paid - b0.fees_paid) - (a.funding_paid - b0.funding_paid);
    assert_eq!(
        a.cross_collateral - b0.cross_collateral,
        traded + REWARD,
        "the sale, and the take-profit's reward back"
    );
    let cancel = perp_client::orders::cancel_orders(alice.key(), alice.account, OrdersToCancel::ById(tp_id));
    assert_error(w.env.send(&[cancel], &[&alice.kp]).await, PerpError::OrderNotFound);
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn stop_fill_is_bounded_by_the_band_and_fills_in_part() {
    let mut w = world(0).await;
    let alice = w.env.user(10_000_000 * USDC, 2_000_000 * USDC).await;
    let kate = keeper(&mut w).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, 60 * BTC)).await.unwrap();
    let mut p = resting(OrderType::StopMarket, OrderSide::Short, 60 * BTC, Price(0), usd(19_500));
    p.max_slippage = 5_000_000; // 0.5% of the index
    w.env.place(&alice, 0, p).await.unwrap();
    settle_at(&mut w, usd(19_400)).await;
    // 60 BTC into 1,000 BTC of depth moves the curve ~12%: only part fits within 0.5%
    let m = w.env.market(0).await;
    let spec = OrderSpec {
        kind: OrderKind::StopMarket,
        side: Side::Short,
        limit: Price(0),
        trigger: usd(19_500),
        slippage: Rate(5_000_000),
    };
    let bound = fill_bound(&spec, usd(19_400), Rate(m.order_band)).unwrap();
    assert_eq!(bound, Price(19_303_000_000));
    w.env.fill(&kate, alice.account, 0, 1).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    let pos = a.positions[a.find(0).unwrap()].base;
    let o = a.orders[0];
    assert!(o.in_use() && o.triggered(), "the rest of the stop stays, triggered");
    let filled = 60 * BTC - pos;
    assert!(filled > 0 && filled < 60 * BTC, "filled {filled} in part");
    assert_eq!(o.size, pos as u64, "what is left of the order is what is left of the position");
    assert_eq!(o.filled, filled as u64);
    assert_eq!(a.order_reserve, REWARD as u64, "the reward waits for the order to finish");
    // the fill itself pushed the curve to the bound: nothing more fits until arbitrage brings it
    // back (a fired stop is exempt from the displacement guard, so it waits only for the price)
    assert_error(w.env.fill(&kate, alice.account, 0, 1).await, PerpError::OrderPriceNotReached);
    // arbitrage brings the vAMM back to the index: the rest fills (the trigger has already fired)
    settle_at(&mut w, usd(19_400)).await;
    loop {
        match w.env.fill(&kate, alice.account, 0, 1).await {
            Ok(()) => {}
            Err(e) => {
                assert_eq!(error_code(&e), Some(6000 + PerpError::OrderNotFound as u32), "{e:?}");
                break;
            }
        }
        if !w.env.margin(&alice.account).await.has_orders() {
            break;
        }
        settle_at(&mut w, usd(19_400)).await;
    }
    let a = w.env.margin(&alice.account).await;
    assert!(a.find(0).is_none() && !a.has_orders());
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn expired_and_unfillable_orders_are_cancelled_for_the_reward() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 1_000 * USDC).await;
    let kate = keeper(&mut w).await;
    // an order that expires in 10 minutes
    let mut p = resting(OrderType::Limit, OrderSide::Long, BTC / 10, usd(19_000), Price(0));
    p.expiry = w.env.now + 600;
    w.env.place(&alice, 0, p).await.unwrap();
    // a limit buy of 5 BTC (100,000 USDC of notional) on 1,000 USDC of margin
    w.env.place(&alice, 0, resting(OrderType::Limit, OrderSide::Long, 5 * BTC, usd(20_100), Price(0))).await.unwrap();
    let k0 = w.env.margin(&kate.account).await.cross_collateral;
    let m0 = w.env.market(0).await;
    // the 5 BTC order would break Alice's initial margin: cancelled, the keeper paid, nothing traded
    w.env.fill(&kate, alice.account, 0, 2).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert!(a.find(0).is_none());
    assert!(a.find_order(2).is_none());
    assert_eq!(w.env.market(0).await.base_reserve, m0.base_reserve, "the vAMM is as it was");
    assert_eq!(w.env.margin(&kate.account).await.cross_collateral - k0, REWARD);
    // before expiry the other one waits; after it, anyone cancels it for the reward
    assert_error(w.env.fill(&kate, alice.account, 0, 1).await, PerpError::OrderPriceNotReached);
    w.env.advance(600).await;
    w.env.fill(&kate, alice.account, 0, 1).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert!(!a.has_orders() && a.order_reserve == 0);
    assert_eq!(a.cross_collateral, 1_000 * USDC as i64 - 2 * REWARD);
    assert_eq!(w.env.margin(&kate.account).await.cross_collateral - k0, 2 * REWARD);
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn reduce_only_stop_with_no_position_left_is_cancelled_when_it_fires() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let kate = keeper(&mut w).await;
    // a stop placed before the position (a bracket on an entry still to come) waits for one
    w.env.place(&alice, 0, resting(OrderType::StopMarket, OrderSide::Short, BTC, Price(0), usd(19_500))).await.unwrap();
    settle_at(&mut w, usd(19_400)).await;
    let k0 = w.env.margin(&kate.account).await.cross_collateral;
    // it fires with nothing to reduce: cancelled for the reward
    w.env.fill(&kate, alice.account, 0, 1).await.unwrap();
    assert!(!w.env.margin(&alice.account).await.has_orders());
    assert_eq!(w.env.margin(&kate.account).await.cross_collateral - k0, REWARD);
    // a stop on a position closed by hand goes with the position, its reward back to its owner
    w.env.trade(&alice, 0, order(OrderSide::Long, BTC)).await.unwrap();
    w.env.place(&alice, 0, resting(OrderType::StopMarket, OrderSide::Short, BTC, Price(0), usd(19_000))).await.unwrap();
    let c0 = w.env.margin(&alice.account).await;
    assert_eq!(c0.order_reserve, REWARD as u64);
    w.env.close(&alice, 0).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert!(a.find(0).is_none() && !a.has_orders() && a.order_reserve == 0);
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn placement_rules() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 1_000 * USDC).await;
    let lim = |size| resting(OrderType::Limit, OrderSide::Long, size, usd(19_000), Price(0));
    // fields that do not fit the kind
    let mut p = lim(BTC);
    p.trigger_price = usd(19_000).0;
    assert_error(w.env.place(&alice, 0, p).await, PerpError::InvalidOrder);
    let mut p = resting(OrderType::StopMarket, OrderSide::Short, BTC, Price(0), Price(0));
    assert_error(w.env.place(&alice, 0, p).await, PerpError::InvalidOrder);
    p.trigger_price = usd(19_000).0;
    p.limit_price = usd(19_000).0;
    assert_error(w.env.place(&alice, 0, p).await, PerpError::InvalidOrder);
    let mut p = lim(BTC);
    p.expiry = w.env.now;
    assert_error(w.env.place(&alice, 0, p).await, PerpError::InvalidOrder);
    // below the market's minimum size (0.001)
    assert_error(w.env.place(&alice, 0, lim(BTC / 10_000)).await, PerpError::PositionTooSmall);
    // client order ids are unique among open orders
    let mut p = lim(BTC);
    p.client_order_id = 42;
    w.env.place(&alice, 0, p).await.unwrap();
    assert_error(w.env.place(&alice, 0, p).await, PerpError::DuplicateClientOrderId);
    let cancel = perp_client::orders::cancel_orders(alice.key(), alice.account, OrdersToCancel::ByClientId(42));
    w.env.send(std::slice::from_ref(&cancel), &[&alice.kp]).await.unwrap();
    assert_error(w.env.send(&[cancel], &[&alice.kp]).await, PerpError::OrderNotFound);
    // 8 open orders at most
    for _ in 0..8 {
        w.env.place(&alice, 0, lim(BTC)).await.unwrap();
    }
    assert_error(w.env.place(&alice, 0, lim(BTC)).await, PerpError::TooManyOrders);
    // an account with open orders cannot be closed; cancel-all of one market, then of all
    let a = w.env.margin(&alice.account).await;
    assert_eq!(a.order_reserve, 8 * REWARD as u64);
    assert_eq!(a.orders.iter().map(|o| o.order_id).max(), Some(9), "ids are never reused");
    let all =
        perp_client::orders::cancel_orders(alice.key(), alice.account, OrdersToCancel::All { market_index: Some(1) });
    w.env.send(&[all], &[&alice.kp]).await.unwrap();
    assert_eq!(w.env.margin(&alice.account).await.orders.iter().filter(|o| o.in_use()).count(), 8);
    let all =
        perp_client::orders::cancel_orders(alice.key(), alice.account, OrdersToCancel::All { market_index: None });
    w.env.send(&[all], &[&alice.kp]).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert!(!a.has_orders() && a.order_reserve == 0 && a.cross_collateral == 1_000 * USDC as i64);
    // a delegate may trade but not place resting orders
    let dave = Kp::new();
    w.env.send(&[ix::set_delegate(alice.key(), alice.account, dave.pubkey())], &[&alice.kp]).await.unwrap();
    let i = perp_client::orders::place_order(dave.pubkey(), alice.account, 0, &[], lim(BTC));
    assert_error(w.env.send(&[i], &[&dave]).await, PerpError::OwnerOnly);
    w.env.assert_conservation().await;
}

/// An account short of initial margin (but above maintenance) may still place a stop-loss (its
/// reward needs maintenance only), not an order that could add risk.
#[tokio::test(flavor = "current_thread")]
async fn a_stop_loss_can_be_placed_short_of_initial_margin() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 1_000 * USDC).await;
    // 2 BTC (40,000 notional) on 1,000: 2% initial (800) met; then the price falls 1%
    w.env.trade(&alice, 0, order(OrderSide::Long, 2 * BTC)).await.unwrap();
    settle_at(&mut w, usd(19_850)).await;
    w.env.crank_funding(0).await.unwrap();
    let lim = resting(OrderType::Limit, OrderSide::Long, BTC / 10, usd(19_000), Price(0));
    assert_error(w.env.place(&alice, 0, lim).await, PerpError::InsufficientMargin);
    let stop = resting(OrderType::StopMarket, OrderSide::Short, 2 * BTC, Price(0), usd(19_700));
    w.env.place(&alice, 0, stop).await.unwrap();
    assert_eq!(w.env.margin(&alice.account).await.order_reserve, REWARD as u64);
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn orders_keep_the_account_open() {
    let mut w = world(0).await;
    let bob = w.env.user(1_000 * USDC, 0).await;
    // no collateral: the reward cannot be reserved
    assert_error(
        w.env.place(&bob, 0, resting(OrderType::Limit, OrderSide::Long, BTC, usd(19_000), Price(0))).await,
        PerpError::InsufficientMargin,
    );
    w.env.send(&[ix::deposit(bob.key(), bob.account, bob.token, USDC)], &[&bob.kp]).await.unwrap();
    w.env.place(&bob, 0, resting(OrderType::Limit, OrderSide::Long, BTC, usd(19_000), Price(0))).await.unwrap();
    let close = ix::close_margin_account(bob.key(), bob.account);
    assert_error(w.env.send(&[close], &[&bob.kp]).await, PerpError::OrdersOpen);
    w.env.assert_conservation().await;
}

use solana_signer::Signer;

/// A stop-limit keeps its trigger: fired while its limit is out of reach, it is only marked
/// triggered (for a quarter of its reward); when the price comes back above the trigger it fills
/// as a limit, for the rest.
#[tokio::test(flavor = "current_thread")]
async fn a_stop_limit_fired_out_of_reach_rests_as_a_limit() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let kate = keeper(&mut w).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, BTC)).await.unwrap();
    let sl = resting(OrderType::StopLimit, OrderSide::Short, BTC, usd(19_450), usd(19_500));
    w.env.place(&alice, 0, sl).await.unwrap();
    settle_at(&mut w, usd(19_400)).await;
    let k0 = w.env.margin(&kate.account).await.cross_collateral;
    w.env.fill(&kate, alice.account, 0, 1).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert!(a.orders[0].triggered() && a.positions[a.find(0).unwrap()].base == BTC, "marked, nothing traded");
    assert_eq!(a.orders[0].flags & perp::state::order_flags::BELOW_INITIAL, 0, "{:?}", a.orders[0]);
    assert_eq!(w.env.margin(&kate.account).await.cross_collateral - k0, REWARD / 4, "marking pays a quarter");
    assert_eq!(a.order_reserve, (REWARD - REWARD / 4) as u64);
    // marked once only: the index back above the trigger changes nothing
    assert_error(w.env.fill(&kate, alice.account, 0, 1).await, PerpError::OrderPriceNotReached);
    // the price recovers above the trigger: the order, already fired, fills at its limit or better
    settle_at(&mut w, usd(19_600)).await;
    w.env.fill(&kate, alice.account, 0, 1).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert!(a.find(0).is_none() && !a.has_orders());
    assert_eq!(w.env.margin(&kate.account).await.cross_collateral - k0, REWARD);
    w.env.assert_conservation().await;
}
