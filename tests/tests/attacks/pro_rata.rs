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
    // closing now settles the haircut first: the close realizes the profit less the share
    let dpre = w.env.margin(&dan.account).await;
    assert_eq!(dpre.positions[0].state(), d0.positions[0].state(), "untouched until now");
    let fill = w.env.market(0).await.vamm().quote_trade(perp_core::vamm::Side::Long, Base(2 * BTC)).unwrap();
    let full = apply_fill(d0.positions[0].state(), fill.base, fill.quote).unwrap().realized;
    w.env.close(&dan, 0).await.unwrap();
    let d1 = w.env.margin(&dan.account).await;
    let owed = haircut_total(Quote(u), index).unwrap().0;
    assert!(owed > 0 && full.0 > owed);
    assert_eq!(d1.realized_pnl - dpre.realized_pnl, full.0 - owed, "realized the profit less its share");
    assert_eq!(w.env.market(0).await.haircut_collected, owed);
    w.env.assert_conservation().await;
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
        let charged = before.positions[0].quote_entry - after.positions[0].quote_entry;
        assert_eq!(before.cross_collateral, after.cross_collateral);
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
                v.push(w.env.margin(&k).await.positions[0].quote_entry);
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
            charged.push(b - w.env.margin(k).await.positions[0].quote_entry);
        }
        w.env.assert_conservation().await;
        results.push(charged);
    }
    assert!(results[0].iter().all(|c| *c > 0));
    for r in &results {
        assert_eq!(r, &results[0], "every touch order charges the same");
    }
}

/// A winner owes its share but has not been touched yet, and withdraws all the program lets it
/// before anyone touches it (review of issue 26, finding 1: were the share taken from collateral at
/// the touch, the withdrawal would have left a debt backed only by unrealized profit). The share
/// comes off its PnL: what it could withdraw is what it could after settling, and the touch leaves
/// its collateral as it was, above its maintenance.
#[tokio::test(flavor = "current_thread")]
async fn attack_withdraw_the_haircut_before_it_is_charged() {
    let (mut w, carol, dan, erin) = pro_rata_world().await;
    deleverage(&mut w, &carol, &[dan.account, erin.account]).await;
    let m = w.env.market(0).await;
    let owed = perp_client::preview::haircut_owed(&m, &w.env.margin(&dan.account).await.positions[0]).0;
    assert!(owed > 0);
    // the most the program lets Dan withdraw now (bisection on simulated transactions, each with
    // the market's index refreshed first, as a withdrawal needs)
    let refresh = ix::update_funding(0, &ix::market_oracles(&m));
    let (mut lo, mut hi) = (0u64, w.env.margin(&dan.account).await.cross_collateral as u64 + 1);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        let probe = ix::withdraw(dan.key(), dan.account, dan.token, mid, &[0]);
        if w.env.would_succeed(&[refresh.clone(), probe], &[&dan.kp]).await {
            lo = mid
        } else {
            hi = mid
        }
    }
    assert!(lo > 0);
    let i = ix::withdraw(dan.key(), dan.account, dan.token, lo, &[0]);
    w.env.send(&[refresh.clone(), i], &[&dan.kp]).await.unwrap();
    let after_withdraw = w.env.margin(&dan.account).await.cross_collateral;
    touch(&mut w, &[dan.account]).await;
    let a = w.env.margin(&dan.account).await;
    assert_eq!(a.cross_collateral, after_withdraw, "the touch takes nothing from collateral");
    assert!(a.cross_collateral >= 0);
    assert_eq!(a.positions[0].haircut_paid, owed);
    // nothing more can leave after the touch: the withdrawal already stopped at the settled limit
    let more = ix::withdraw(dan.key(), dan.account, dan.token, 1, &[0]);
    assert_error(w.env.send(&[refresh, more], &[&dan.kp]).await, PerpError::WithdrawExceedsFree);
    w.env.assert_conservation().await;
}

/// A second bankruptcy on the same side after the first round (review of issue 26, findings 2 and,
/// in the second read, 1): the share Dan owes comes off his PnL, so the next round stamps only the
/// profit he has left, never the profit he already gave up again; Dan is never touched between the
/// rounds (the scan settles him, then stamps what is left).
#[tokio::test(flavor = "current_thread")]
async fn attack_the_same_profit_charged_twice() {
    let (mut w, carol, dan, erin) = pro_rata_world().await;
    let d0 = w.env.margin(&dan.account).await;
    deleverage(&mut w, &carol, &[dan.account, erin.account]).await;
    let m = w.env.market(0).await;
    let paid = perp_client::preview::haircut_owed(&m, &w.env.margin(&dan.account).await.positions[0]).0;
    assert!(paid > 0);
    // Frank goes long after trading resumes and the price falls further: bankrupt too
    let frank = w.env.user(100_000 * USDC, 3_000 * USDC).await;
    w.env.trade(&frank, 0, order(OrderSide::Long, 2 * BTC)).await.unwrap();
    w.move_price(usd(15_000)).await;
    w.liquidate(&frank, 0).await.unwrap();
    assert!(w.env.margin(&frank.account).await.is_bankrupt());
    let mut all = vec![dan.account, erin.account, w.arb.account];
    all.push(w.larry.account);
    round(&mut w, &frank, &all).await;
    let r: perp::state::AdlRound =
        perp_client::decode::decode(&w.env.account_data(&perp_client::pda::adl_round(0)).await.unwrap()).unwrap();
    let d1 = w.env.margin(&dan.account).await;
    let gross = d0.positions[0].state().upnl(Price(r.mark)).unwrap().0;
    assert_eq!(d1.positions[0].haircut_profit, gross - paid, "stamped net of what he paid in the first round");
    assert_eq!(d0.positions[0].quote_entry - d1.positions[0].quote_entry, paid, "the scan settled the first share");
    w.env.assert_conservation().await;
}

/// A liquidator takes over a short while the round is open (review of issue 26, finding 4): the
/// takeover's position appears on the counterparty side after the round's mark. It is counted in the
/// round at once with no profit, so the round stays complete and the liquidator is charged nothing
/// for a profit it never had (before: the round needed a rescan, which stamped the difference
/// between the round's mark and the takeover price as profit).
#[tokio::test(flavor = "current_thread")]
async fn attack_takeover_during_the_round_stamped_with_profit_it_never_had() {
    let (mut w, carol, dan, erin) = pro_rata_world().await;
    let arb = w.arb.account;
    round(&mut w, &carol, &[dan.account, erin.account, arb]).await;
    let m = w.env.market(0).await;
    assert_eq!(m.adl_scanned, m.open_positions_short);
    // the price rises (the oracle only: new risk is refused, so nobody trades the vAMM): Dan's short
    // is under maintenance and Larry takes it over
    let t = w.env.now + 1;
    w.env.set_clock(t).await;
    w.env.set_legacy_oracle(w.oracle, usd(22_500), usd(2), t);
    w.liquidate(&dan, 0).await.unwrap();
    let larry = w.env.margin(&w.larry.account).await;
    let lp = larry.positions[larry.find(0).unwrap()];
    assert!(lp.base < 0, "Larry holds the short");
    let m = w.env.market(0).await;
    assert_eq!((lp.adl_round, lp.haircut_profit), (m.adl_round as u32, 0), "counted with no profit");
    assert_eq!(m.adl_scanned, m.open_positions_short, "the round is still complete");
    // the step needs no rescan, and Larry owes nothing
    step(&mut w, &carol).await.unwrap();
    let m = w.env.market(0).await;
    let larry = w.env.margin(&w.larry.account).await;
    assert_eq!(perp_client::preview::haircut_owed(&m, &larry.positions[larry.find(0).unwrap()]).0, 0);
    w.env.assert_conservation().await;
}

/// The same with a liquidator that already holds a short the round has not counted yet (third read
/// of issue 26, finding 1): growing it by a takeover before the scan would stamp the taken-over part
/// with PnL at the round's mark it never had (or cut its own share), depending on the order of scan
/// and takeover. The growth is refused until the position is counted; counted first, it keeps the
/// profit of what it held and the taken-over part adds none.
#[tokio::test(flavor = "current_thread")]
async fn attack_takeover_grows_an_uncounted_position() {
    let mut w = world(10 * USDC).await;
    set_policy(&mut w, 1).await.unwrap();
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let dan = w.env.user(100_000 * USDC, 5_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.env.trade(&dan, 0, order(OrderSide::Short, 2 * BTC)).await.unwrap();
    let larry = clone_user(&w.larry);
    w.env.trade(&larry, 0, order(OrderSide::Short, BTC / 2)).await.unwrap();
    w.move_price(usd(18_000)).await;
    w.liquidate(&carol, 0).await.unwrap();
    assert!(w.env.margin(&carol.account).await.is_bankrupt());
    let arb = w.arb.account;
    round(&mut w, &carol, &[dan.account, arb]).await;
    let r: perp::state::AdlRound =
        perp_client::decode::decode(&w.env.account_data(&perp_client::pda::adl_round(0)).await.unwrap()).unwrap();
    // Dan's short falls under maintenance as the price rises
    let t = w.env.now + 1;
    w.env.set_clock(t).await;
    w.env.set_legacy_oracle(w.oracle, usd(22_500), usd(2), t);
    let l0 = w.env.margin(&larry.account).await.positions[0];
    assert_error(w.liquidate(&dan, 0).await, PerpError::AdlRankingIncomplete);
    // counted first (the keeper puts the scan in the takeover's transaction), it goes through
    let i = w.liquidate_ix(&larry, larry.account, &dan, 0, 0).await;
    w.env.send(&[ix::adl_scan(0, &[larry.account]), i], &[&larry.kp]).await.unwrap();
    let l1 = w.env.margin(&larry.account).await.positions[0];
    assert!(l1.base < l0.base, "Larry took Dan's short over");
    let own = l0.state().upnl(Price(r.mark)).unwrap().0.max(0);
    assert_eq!(l1.haircut_profit, own, "stamped with the profit of what it held, the takeover adds none");
    let m = w.env.market(0).await;
    assert_eq!(m.adl_scanned, m.open_positions_short);
    step(&mut w, &carol).await.unwrap();
    w.env.assert_conservation().await;
}

/// Bankruptcies on both sides (review of issue 26, second read, finding 3): once the round for one
/// side has resolved its last bankrupt position, it serves nobody; a bankruptcy on the other side may
/// open its own round at once instead of waiting for the first to expire (600 s) with the
/// counterparties' profit held meanwhile.
#[tokio::test(flavor = "current_thread")]
async fn attack_a_finished_round_holds_the_other_sides_bankruptcy() {
    let (mut w, carol, dan, erin) = pro_rata_world().await;
    // the price jumps: Dan's short is under water too and is flagged bankrupt
    let t = w.env.now + 1;
    w.env.set_clock(t).await;
    w.env.set_legacy_oracle(w.oracle, usd(26_000), usd(2), t);
    w.liquidate(&dan, 0).await.unwrap();
    assert!(w.env.margin(&dan.account).await.is_bankrupt());
    // Carol's round (the shorts) is worked to the end
    let arb = w.arb.account;
    round(&mut w, &carol, &[dan.account, erin.account, arb]).await;
    step(&mut w, &carol).await.unwrap();
    let m = w.env.market(0).await;
    assert_eq!((m.bankrupt_long, m.bankrupt_short, m.adl_side), (0, 1, 2), "the shorts' round is still open");
    // Dan's round (the longs) opens at once
    let mk = w.env.market(0).await;
    w.env.send(&[ix::begin_adl_round(0, &ix::market_oracles(&mk), dan.account)], &[]).await.unwrap();
    let m = w.env.market(0).await;
    assert_eq!(m.adl_side, 1);
    w.env.assert_conservation().await;
}
