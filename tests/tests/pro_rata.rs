//! Pro-rata auto-deleveraging through the real program: the policy set through the timelock, the
//! round's scan stamping each winner's profit at the round's mark, the bankrupt position taken off
//! the curve and its deficit spread over the winners' positive PnL, settled lazily when each
//! account is next touched, with the amounts checked against perp-core.

use anchor_lang::prelude::Pubkey;
use perp::error::PerpError;
use perp::instructions::OrderSide;
use perp_client::{ix, pda};
use perp_core::haircut::{haircut_total, HAIRCUT_PRECISION};
use perp_core::{Price, Quote};
use perp_tests::pro_rata::*;
use perp_tests::world::*;
use perp_tests::*;

#[tokio::test(flavor = "current_thread")]
async fn pro_rata_adl_charges_the_winners_profit_in_proportion() {
    let (mut w, carol, dan, erin) = pro_rata_world().await;
    let arb = w.arb.account;
    let winners = [dan.account, erin.account, arb];
    w.env.assert_conservation().await;
    // the ranked instructions do not apply: no candidates, no last resort
    round(&mut w, &carol, &[dan.account]).await;
    assert_error(step(&mut w, &carol).await, PerpError::AdlRankingIncomplete);
    w.env.send(&[ix::adl_scan(0, &[erin.account, arb, carol.account, w.larry.account])], &[]).await.unwrap();
    let m = w.env.market(0).await;
    let with_candidate = ix::auto_deleverage(0, &ix::market_oracles(&m), carol.account, &[dan.account]);
    assert_error(w.env.send(&[with_candidate], &[]).await, PerpError::AdlPolicyMismatch);
    let resolve = ix::resolve_bankruptcy(0, &ix::market_oracles(&m), carol.account);
    assert_error(w.env.send(&[resolve], &[]).await, PerpError::AdlPolicyMismatch);

    // each winner is stamped with its profit at the round's mark; the pool holds their sum
    let r: perp::state::AdlRound =
        perp_client::decode::decode(&w.env.account_data(&pda::adl_round(0)).await.unwrap()).unwrap();
    let rmark = Price(r.mark);
    let mut stamped = Vec::new();
    for k in winners {
        let p = w.env.margin(&k).await.positions[0];
        let u = p.state().upnl(rmark).unwrap();
        assert!(u.0 > 0);
        assert_eq!((p.haircut_profit, p.haircut_paid, p.adl_round), (u.0, 0, r.round as u32));
        stamped.push(u.0);
    }
    let pool: i64 = stamped.iter().sum();
    assert_eq!(m.haircut_profit[1], pool);
    assert_eq!(r.num_entries, 0, "a pro-rata round keeps no ranking");

    // the step: Carol's 5 BTC leave the curve at the worse of her bankruptcy price and the mark
    let c0 = w.env.margin(&carol.account).await;
    let before: Vec<_> = futures_collect(&mut w, &winners).await;
    let oi_short = m.oi_short;
    step(&mut w, &carol).await.unwrap();
    let c1 = w.env.margin(&carol.account).await;
    let m = w.env.market(0).await;
    assert!(!c1.positions[0].in_use() && !c1.is_bankrupt());
    assert_eq!((m.bankrupt_accounts, m.adl_round, m.oi_long, m.oi_short), (0, 0, 0, oi_short));
    // her deficit beyond the bankruptcy price: 5 BTC valued at it less at the mark (18,000), each
    // rounded down (the counterparties' side, as ranked closes do)
    let size = perp_core::Base(5 * BTC);
    let pb = Price(c0.positions[0].bankruptcy_price);
    let deficit = size.value_at(pb, perp_core::Round::Down).unwrap().0
        - size.value_at(usd(18_000), perp_core::Round::Down).unwrap().0;
    let closed_at_mark = c0.positions[0].state().upnl(usd(18_000)).unwrap();
    assert!((deficit + c0.cross_collateral + closed_at_mark.0).abs() < 10, "the deficit is her equity below zero");
    assert_eq!(m.haircut_absorbed, deficit, "the pool took the whole deficit (it holds {pool} of profit)");
    assert_eq!(m.socialized_loss, 0);
    assert!((0..10).contains(&c1.cross_collateral), "Carol ends at zero: {}", c1.cross_collateral);
    let index = m.haircut_index[1].get();
    assert_eq!(
        index,
        perp_core::units::div_round(deficit as i128 * HAIRCUT_PRECISION, pool as i128, perp_core::Round::Up).unwrap()
    );
    // nothing is charged until an account is touched; positions are untouched
    for (k, b) in winners.iter().zip(&before) {
        let a = w.env.margin(k).await;
        assert_eq!((a.cross_collateral, a.positions[0].base), (b.cross_collateral, b.positions[0].base));
    }
    w.env.assert_conservation().await;

    touch(&mut w, &winners).await;
    let mut total = 0;
    for ((k, b), u) in winners.iter().zip(&before).zip(&stamped) {
        let a = w.env.margin(k).await;
        let want = haircut_total(Quote(*u), index).unwrap().0;
        // the share comes off its PnL (the entry moves against it), never its collateral
        assert_eq!(b.positions[0].quote_entry - a.positions[0].quote_entry, want, "{k}: its share, rounded up");
        assert_eq!(a.cross_collateral, b.cross_collateral, "{k}: collateral untouched");
        let at_mark = |x: &perp::state::MarginAccount| x.positions[0].state().upnl(usd(18_000)).unwrap().0;
        assert_eq!(at_mark(b) - at_mark(&a), want, "{k}: its PnL at any price is lower by its share");
        assert!(want <= *u);
        assert_eq!(a.positions[0].haircut_paid, want);
        total += want;
    }
    assert!(total >= deficit && total - deficit < winners.len() as i64 + 1, "{total} vs {deficit}");
    assert_eq!(w.env.market(0).await.haircut_collected, total);
    // a second touch charges nothing more
    touch(&mut w, &winners).await;
    assert_eq!(w.env.market(0).await.haircut_collected, total);
    w.env.assert_conservation().await;
    // trading resumes
    w.env.trade(&dan, 0, order(OrderSide::Short, BTC / 10)).await.unwrap();
}

async fn futures_collect(w: &mut World, keys: &[Pubkey]) -> Vec<perp::state::MarginAccount> {
    let mut v = Vec::new();
    for k in keys {
        v.push(w.env.margin(k).await);
    }
    v
}

#[tokio::test(flavor = "current_thread")]
async fn the_policy_changes_only_through_the_timelock_and_never_during_a_bankruptcy() {
    let mut w = world(10 * USDC).await;
    // a bad value is refused as a parameter
    assert_error(set_policy(&mut w, 2).await, PerpError::InvalidMarketParams);
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let dan = w.env.user(100_000 * USDC, 5_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.env.trade(&dan, 0, order(OrderSide::Short, 2 * BTC)).await.unwrap();
    w.move_price(usd(18_000)).await;
    w.liquidate(&carol, 0).await.unwrap();
    // while Carol is bankrupt the policy cannot change (another change of the market can)
    assert_error(set_policy(&mut w, 1).await, PerpError::AdlPolicyLocked);
    set_policy(&mut w, 0).await.unwrap();
    assert_eq!(w.env.market(0).await.adl_policy, 0);
    // a stolen admin key cannot switch it at once: only tightening margin applies without the
    // timelock
    let mut p = perp::state::MarketParams::from_market(&w.env.market(0).await);
    p.adl_policy = 1;
    let admin = w.env.admin.insecure_clone();
    use solana_signer::Signer;
    assert_error(w.env.send(&[ix::update_market(admin.pubkey(), 0, p)], &[&admin]).await, PerpError::TimelockRequired);
    // a proposal that matured while Carol is still bankrupt is refused when executed
    let mut p = perp::state::MarketParams::from_market(&w.env.market(0).await);
    p.adl_policy = 1;
    let version = w.env.market(0).await.params_version;
    let id =
        w.env.propose(perp::state::AdminAction::UpdateMarket { market_index: 0, params: p, version }).await.unwrap();
    assert_error(
        w.env.send(&[ix::execute_update_market(admin.pubkey(), id, admin.pubkey(), 0)], &[&admin]).await,
        PerpError::AdlPolicyLocked,
    );
}
