//! Pro-rata auto-deleveraging (issue 26): a winner who tries to leave before its haircut, a tiny
//! position that tries to make others carry its share, and a keeper that picks the order in which
//! accounts are touched. Each checks the amounts against perp-core and conservation after.

use super::*;
use perp::error::PerpError;
use perp_core::haircut::{haircut_total, HAIRCUT_PRECISION};
use perp_tests::pro_rata::*;

/// Round, scan of every short, the pro-rata step; returns the pool's profit and index.
async fn deleverage(w: &mut World, carol: &User, shorts: &[Pubkey]) -> (i64, i128) {
    let mut all = shorts.to_vec();
    all.push(w.arb.account);
    round(w, carol, &all).await;
    let pool = w.env.market(0).await.haircut_profit[1];
    step(w, carol).await.unwrap();
    let m = w.env.market(0).await;
    assert_eq!(m.bankrupt_accounts, 0);
    (pool, m.haircut_index[1].get())
}

/// A winner sees a bankruptcy coming and closes (or trims) its short before the round: refused while
/// the bankruptcy is open, so it is stamped and pays its share like everyone else.
#[tokio::test(flavor = "current_thread")]
async fn attack_pro_rata_winner_closes_before_the_round() {
    let (mut w, carol, dan, erin) = pro_rata_world().await;
    assert_error(w.env.close(&dan, 0).await, PerpError::ProfitHeldForAdl);
    assert_error(w.env.trade(&dan, 0, order(OrderSide::Long, BTC)).await, PerpError::ProfitHeldForAdl);
    let d0 = w.env.margin(&dan.account).await;
    let (pool, index) = deleverage(&mut w, &carol, &[dan.account, erin.account]).await;
    let u = w.env.margin(&dan.account).await.positions[0].haircut_profit;
    assert!(u > 0 && pool > u);
    // closing now settles the haircut first: the close cannot skip it
    w.env.close(&dan, 0).await.unwrap();
    let d1 = w.env.margin(&dan.account).await;
    let owed = haircut_total(Quote(u), index).unwrap().0;
    assert!(owed > 0);
    assert_eq!(d1.realized_pnl - d0.realized_pnl + owed, realized_of_close(&d0, &d1, owed));
    assert_eq!(w.env.market(0).await.haircut_collected, owed);
    w.env.assert_conservation().await;
}

/// What Dan realized by closing, from his collateral: the change less the haircut.
fn realized_of_close(d0: &perp::state::MarginAccount, d1: &perp::state::MarginAccount, owed: i64) -> i64 {
    let fees = d1.fees_paid - d0.fees_paid;
    let funding = d1.funding_paid - d0.funding_paid;
    d1.cross_collateral - d0.cross_collateral + owed + fees + funding
}

/// Mallory opens the smallest short the market allows just before the fall, hoping its share rounds
/// to nothing and the others carry it. Each share rounds up: Mallory pays at least its exact share,
/// Dan and Erin at most theirs plus a micro-USDC, and with Mallory in the pool Dan pays no more.
#[tokio::test(flavor = "current_thread")]
async fn attack_pro_rata_tiny_position_absorbs_nothing() {
    let tiny = 1_000_000; // 0.001 BTC, the market's min_position
    let (mut w, carol, dan, erin, mallory) = pro_rata_world_with(tiny).await;
    let mallory = mallory.unwrap();
    let shorts = [dan.account, erin.account, mallory.account];
    let (pool, index) = deleverage(&mut w, &carol, &shorts).await;
    let deficit = w.env.market(0).await.haircut_absorbed;
    let mut paid = Vec::new();
    for k in shorts {
        let before = w.env.margin(&k).await;
        touch(&mut w, &[k]).await;
        let after = w.env.margin(&k).await;
        let u = before.positions[0].haircut_profit;
        let charged = before.cross_collateral - after.cross_collateral;
        assert_eq!(charged, haircut_total(Quote(u), index).unwrap().0);
        // exact share u x deficit / pool, against the charge
        let exact = u as i128 * deficit as i128;
        assert!(charged as i128 * pool as i128 >= exact, "{k} paid less than its share");
        assert!((charged as i128 - 1) * (pool as i128) < exact + pool as i128, "{k} paid more than its share + 1");
        paid.push(charged);
    }
    assert!(paid[2] > 0, "the tiny position pays its share, rounded up: {}", paid[2]);
    assert!(index <= HAIRCUT_PRECISION);
    w.env.assert_conservation().await;

    // the same crash without Mallory: Dan pays at least as much
    let (mut w2, carol2, dan2, erin2) = pro_rata_world().await;
    let (_, index2) = deleverage(&mut w2, &carol2, &[dan2.account, erin2.account]).await;
    let u2 = w2.env.margin(&dan2.account).await.positions[0].haircut_profit;
    assert!(haircut_total(Quote(u2), index2).unwrap().0 >= paid[0]);
}

/// A keeper chooses the order in which it touches the winners (some before the step, some after, in
/// every order of three): every account pays the same in all six.
#[tokio::test(flavor = "current_thread")]
async fn attack_keeper_touch_order_shifts_no_loss() {
    let orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    let mut results: Vec<Vec<i64>> = Vec::new();
    for order in orders {
        let (mut w, carol, dan, erin) = pro_rata_world().await;
        let winners = [dan.account, erin.account, w.arb.account];
        let before: Vec<i64> = {
            let mut v = Vec::new();
            for k in winners {
                v.push(w.env.margin(&k).await.cross_collateral);
            }
            v
        };
        round(&mut w, &carol, &winners).await;
        // the first in this order is touched between the scan and the step (it owes nothing yet)
        touch(&mut w, &[winners[order[0]]]).await;
        step(&mut w, &carol).await.unwrap();
        for i in order {
            touch(&mut w, &[winners[i]]).await;
        }
        let mut charged = Vec::new();
        for (k, b) in winners.iter().zip(&before) {
            charged.push(b - w.env.margin(k).await.cross_collateral);
        }
        w.env.assert_conservation().await;
        results.push(charged);
    }
    assert!(results[0].iter().all(|c| *c > 0));
    for r in &results {
        assert_eq!(r, &results[0], "every touch order charges the same");
    }
}
