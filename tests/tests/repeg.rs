//! Repeg: the vAMM follows the index on its own, paid exactly by the fee pool; nobody's position or
//! collateral changes, conservation holds, and a round trip through a repeg gains nothing.

use perp::error::PerpError;
use perp::instructions::OrderSide;
use perp_client::ix;
use perp_core::repeg::repeg_cost;
use perp_core::Price;
use perp_tests::world::{clone_user, world, World};
use perp_tests::*;
use solana_signer::Signer;

const ON: (i64, i64) = (500_000_000, 2_000_000); // half the fee pool per repeg, 0.2% threshold

async fn repeg_world(budget: i64, threshold: i64) -> World {
    let mut w = world(0).await;
    let mut p = w.env.market(0).await;
    let mut params = perp::state::MarketParams::from_market(&p);
    params.repeg_budget = budget;
    params.repeg_threshold = threshold;
    w.env.update_market(0, params).await.unwrap();
    p = w.env.market(0).await;
    assert_eq!((p.repeg_budget, p.repeg_threshold), (budget, threshold));
    w
}

async fn repeg(w: &mut World) -> Result<(), solana_program_test::BanksClientError> {
    let m = w.env.market(0).await;
    w.env.send(&[ix::repeg(0, &ix::market_oracles(&m))], &[]).await
}

/// Traders leave the vAMM long-skewed by 2 BTC (their fees fill the fee pool), the index rises 3% with no
/// arbitrageur: repeated repegs walk the peg up by at most the taker fee each, the fee pool pays
/// exactly perp-core's cost into the PnL pool, positions and collateral stay byte-for-byte the same,
/// and the mid ends within the threshold of the index.
#[tokio::test]
async fn repeg_follows_the_index_paid_by_the_fee_pool() {
    let mut w = repeg_world(ON.0, ON.1).await;
    let alice = w.env.user(1_000_000 * USDC, 200_000 * USDC).await;
    let bob = w.env.user(1_000_000 * USDC, 200_000 * USDC).await;
    for _ in 0..10 {
        w.env.trade(&alice, 0, order(OrderSide::Long, 50 * BTC)).await.unwrap();
        w.env.trade(&alice, 0, order(OrderSide::Short, 50 * BTC)).await.unwrap();
    }
    w.env.trade(&bob, 0, order(OrderSide::Short, BTC)).await.unwrap();
    w.env.trade(&alice, 0, order(OrderSide::Long, 3 * BTC)).await.unwrap();
    let accounts_before =
        (w.env.account_data(&alice.account).await.unwrap(), w.env.account_data(&bob.account).await.unwrap());

    // the index rises 3%; nobody arbitrages
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(20_600), usd(2), t);
    let mut steps = 0;
    let mut paid = 0i64;
    loop {
        let before = w.env.market(0).await;
        let r = repeg(&mut w).await;
        if r.is_err() {
            assert_error(r, PerpError::RepegNotNeeded);
            break;
        }
        let after = w.env.market(0).await;
        let net = perp_core::Base(before.oi_long - before.oi_short);
        let cost = repeg_cost(&before.vamm(), net, Price(after.peg)).unwrap();
        assert!(
            cost.0 > 0,
            "a long-skewed curve repegged up costs the fee pool: peg {} -> {}, cost {}, mid {}",
            before.peg,
            after.peg,
            cost.0,
            before.vamm().price().unwrap()
        );
        assert_eq!(before.fee_pool - after.fee_pool, cost.0, "the fee pool pays exactly the cost");
        assert_eq!(after.pnl_pool - before.pnl_pool, cost.0, "into the PnL pool");
        assert!(after.fee_pool >= 0);
        let step = after.peg.abs_diff(before.peg);
        assert!(
            step as i128 <= before.peg as i128 * before.repeg_max_step().0 as i128 / 1_000_000_000,
            "step {step} > cap"
        );
        assert_eq!(
            (after.oi_long, after.oi_short, after.base_reserve.get()),
            (before.oi_long, before.oi_short, before.base_reserve.get())
        );
        w.env.assert_conservation().await;
        paid += cost.0;
        steps += 1;
        // the next repeg needs a sample period; the feed keeps publishing
        w.env.advance(60).await;
        let t = w.env.now;
        w.env.set_legacy_oracle(w.oracle, usd(20_600), usd(2), t);
        assert!(steps < 200, "repeg does not converge");
    }
    let m = w.env.market(0).await;
    let mid = m.vamm().price().unwrap();
    let gap = (mid.0 as f64 / usd(20_600).0 as f64 - 1.0).abs();
    assert!(gap < 0.002, "mid {mid} still {gap} from the index after {steps} repegs");
    assert!(steps > 1, "a 3% move takes several fee-capped steps");
    assert_eq!(m.total_repeg_cost, paid);
    let accounts_after =
        (w.env.account_data(&alice.account).await.unwrap(), w.env.account_data(&bob.account).await.unwrap());
    assert_eq!(accounts_before, accounts_after, "a repeg never changes a position or collateral");
    // everyone can still close, and the books balance
    w.env.close(&alice, 0).await.unwrap();
    w.env.close(&bob, 0).await.unwrap();
    w.env.assert_conservation().await;
}

/// The attack: open a position against a lagging vAMM, crank the repeg in the same transaction and
/// close. The peg step is capped at the taker fee, so the two fees exceed what the repeg moved:
/// the attacker ends with less collateral, the fee pool is not drained beyond the recorded cost.
#[tokio::test]
async fn attack_round_trip_through_a_repeg() {
    let mut w = repeg_world(ON.0, ON.1).await;
    let alice = w.env.user(1_000_000 * USDC, 200_000 * USDC).await;
    for _ in 0..4 {
        w.env.trade(&alice, 0, order(OrderSide::Long, 20 * BTC)).await.unwrap();
        w.env.trade(&alice, 0, order(OrderSide::Short, 20 * BTC)).await.unwrap();
    }
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(21_000), usd(2), t);
    let mallory = w.env.user(1_000_000 * USDC, 500_000 * USDC).await;
    let before = w.env.margin(&mallory.account).await.total_collateral();
    let fee_pool = w.env.market(0).await.fee_pool;
    let m = w.env.market(0).await;
    let oracles = ix::market_oracles(&m);
    let open =
        ix::place_market_order(mallory.key(), mallory.account, 0, &oracles, &[], order(OrderSide::Long, 10 * BTC));
    let close = ix::close_position(mallory.key(), mallory.account, 0, &oracles, &[], 0);
    let kp = clone_user(&mallory).kp;
    w.env.send(&[open, ix::repeg(0, &oracles), close], &[&kp]).await.unwrap();
    let m2 = w.env.market(0).await;
    assert!(m2.peg > m.peg, "the repeg ran inside the attack");
    let after = w.env.margin(&mallory.account).await.total_collateral();
    assert!(after < before, "round trip through a repeg gained {}", after - before);
    assert!(m2.fee_pool >= fee_pool - m2.total_repeg_cost + (m2.total_fees - m.total_fees) / 2);
    w.env.assert_conservation().await;
}

#[tokio::test]
async fn repeg_refusals() {
    // off by default
    let mut w = world(0).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(21_000), usd(2), t);
    assert_error(repeg(&mut w).await, PerpError::RepegNotAllowed);

    let mut w = repeg_world(ON.0, ON.1).await;
    // within the threshold
    assert_error(repeg(&mut w).await, PerpError::RepegNotNeeded);
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(21_000), usd(2), t);
    repeg(&mut w).await.unwrap();
    // once per sample period
    let t = w.env.now + 1;
    w.env.set_clock(t).await;
    w.env.set_legacy_oracle(w.oracle, usd(21_000), usd(2), t);
    assert_error(repeg(&mut w).await, PerpError::RepegTooSoon);
    // a stale index never repegs
    w.env.advance(600).await;
    assert_error(repeg(&mut w).await, PerpError::TooFewSources);
    // a paused market does not repeg
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(21_000), usd(2), t);
    let admin = w.env.admin.insecure_clone();
    let paused = perp::state::market_status::PAUSED;
    w.env.send(&[ix::set_market_status(admin.pubkey(), 0, paused)], &[&admin]).await.unwrap();
    assert_error(repeg(&mut w).await, PerpError::RepegNotAllowed);
    // repegs can be stopped at once (no timelock): the budget lowered to 0 is a tightening
    w.env.send(&[ix::set_market_status(admin.pubkey(), 0, 0)], &[&admin]).await.unwrap();
    let mut p = perp::state::MarketParams::from_market(&w.env.market(0).await);
    p.repeg_budget = 0;
    w.env.send(&[ix::update_market(admin.pubkey(), 0, p.clone())], &[&admin]).await.unwrap();
    assert_error(repeg(&mut w).await, PerpError::RepegNotAllowed);
    // but switching them on again is not instant
    p.repeg_budget = ON.0;
    assert_error(
        w.env.send(&[ix::update_market(admin.pubkey(), 0, p.clone())], &[&admin]).await,
        PerpError::TimelockRequired,
    );
    // invalid parameters are refused
    p.repeg_threshold = 0;
    assert_error(w.env.update_market(0, p).await, PerpError::InvalidMarketParams);
}

/// The budget is per funding interval, not per repeg: a position held through repeg after repeg
/// collects at most `repeg_budget` of the fee pool per interval, however many repegs run.
#[tokio::test]
async fn attack_repeg_budget_is_per_interval() {
    let mut w = repeg_world(100_000_000, ON.1).await; // 10% per interval
    let alice = w.env.user(1_000_000 * USDC, 200_000 * USDC).await;
    for _ in 0..10 {
        w.env.trade(&alice, 0, order(OrderSide::Long, 50 * BTC)).await.unwrap();
        w.env.trade(&alice, 0, order(OrderSide::Short, 50 * BTC)).await.unwrap();
    }
    // mallory holds a long against a curve that lags the index by 3% and cranks every repeg
    let mallory = w.env.user(1_000_000 * USDC, 500_000 * USDC).await;
    w.env.trade(&mallory, 0, order(OrderSide::Long, 20 * BTC)).await.unwrap();
    let fee_pool = w.env.market(0).await.fee_pool;
    let mut spent = 0i64;
    for _ in 0..59 {
        w.env.advance(60).await;
        let t = w.env.now;
        w.env.set_legacy_oracle(w.oracle, usd(21_000), usd(2), t);
        let before = w.env.market(0).await;
        if repeg(&mut w).await.is_ok() {
            spent += before.fee_pool - w.env.market(0).await.fee_pool;
        }
    }
    assert!(spent > 0);
    assert!(spent <= fee_pool / 10, "one interval spent {spent} of a fee pool of {fee_pool}");
    w.env.assert_conservation().await;
}

/// While a bankrupt position is open, its size is still in the open interest but it will close
/// off the curve at its bankruptcy price: a repeg then would pay (or charge) the PnL pool for a
/// gain nobody realizes. Carol is flagged bankrupt with the index 2.8% above the vAMM; the repeg
/// is refused and the fee pool and the vAMM stay as they were.
#[tokio::test]
async fn attack_repeg_during_an_open_bankruptcy_is_refused() {
    let mut w = world(10 * USDC).await;
    let mut params = perp::state::MarketParams::from_market(&w.env.market(0).await);
    (params.repeg_budget, params.repeg_threshold) = ON;
    w.env.update_market(0, params).await.unwrap();
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let dan = w.env.user(100_000 * USDC, 5_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.env.trade(&dan, 0, order(OrderSide::Short, 2 * BTC)).await.unwrap();
    w.move_price(usd(18_000)).await;
    w.liquidate(&carol, 0).await.unwrap();
    assert!(w.env.margin(&carol.account).await.is_bankrupt());
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(18_500), usd(2), t);
    let before = w.env.market(0).await;
    assert!(before.fee_pool > 0 && before.bankrupt_accounts == 1);
    assert_error(repeg(&mut w).await, PerpError::RepegNotAllowed);
    let after = w.env.market(0).await;
    assert_eq!(
        (after.fee_pool, after.pnl_pool, after.vamm().peg),
        (before.fee_pool, before.pnl_pool, before.vamm().peg)
    );
    w.env.assert_conservation().await;
}
