//! The 2026-12 review's limits: the funding push held for one sample, N-9 (chained instant
//! tightenings), N-10 (parameter gaps), N-12 (dust positions), the M-2 leftover (a delegate's
//! back-run) and I-3 (a top-up during a trade pause).

use super::*;
use perp::error::PerpError;
use perp::state::pause;
use perp_core::Rate;

/// The funding push held for one sample: Mallory is short 100 BTC against longs; from a second
/// account she buys enough to push the vAMM about 10% above the index, holds it for one sample
/// period (60 s, unopposed), lets the crank take its sample, and sells it back. Before, that one
/// sample made the interval's premium 10% x 60 / 3,600, so the rate went to the clamp's edge
/// (0.117% an hour) and her short was paid about 2,300 an hour for a push that cost her about
/// 1,000 in fees. Each sample is now capped at the funding cap, so one sample moves the premium by
/// at most cap / 60: the rate stays at the interest rate and the attack loses its fees.
#[tokio::test(flavor = "current_thread")]
async fn attack_funding_push_held_for_one_sample() {
    let mut w = world(0).await;
    let longs = w.env.user(10_000_000 * USDC, 1_000_000 * USDC).await;
    let mallory = w.env.user(10_000_000 * USDC, 1_000_000 * USDC).await;
    let pusher = w.env.second_account(&mallory, 1, 1_000_000 * USDC).await;
    w.env.trade(&longs, 0, order(OrderSide::Long, 100 * BTC)).await.unwrap();
    w.env.trade(&mallory, 0, order(OrderSide::Short, 100 * BTC)).await.unwrap();
    w.move_price(usd(20_000)).await;
    let m0 = w.env.market(0).await;
    let before = |a: &perp::state::MarginAccount| a.cross_collateral;
    let (s0, p0) = (before(&w.env.margin(&mallory.account).await), before(&w.env.margin(&pusher).await));
    // the push: about 10% up
    let push = w.env.market(0).await.vamm().size_to_price(usd(22_000)).unwrap();
    let kp = mallory.kp.insecure_clone();
    let buy =
        ix::place_market_order(kp.pubkey(), pusher, 0, &ix::market_oracles(&m0), &[], order(OrderSide::Long, push.0));
    w.env.send(&[buy], &[&kp]).await.unwrap();
    w.env.advance(60).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(20_000), usd(2), t);
    w.env.crank_funding(0).await.unwrap();
    let sell =
        ix::place_market_order(kp.pubkey(), pusher, 0, &ix::market_oracles(&m0), &[], order(OrderSide::Short, push.0));
    w.env.send(&[sell], &[&kp]).await.unwrap();
    // the interval ends: the funding event
    let next = w.env.market(0).await.next_funding_time;
    w.env.set_clock(next).await;
    w.env.set_legacy_oracle(w.oracle, usd(20_000), usd(2), next);
    w.env.crank_funding(0).await.unwrap();
    let m1 = w.env.market(0).await;
    assert_eq!(m1.last_funding_rate, m1.interest, "one capped sample leaves the rate at the interest rate");
    w.env.send(&[ix::settle_funding(mallory.account, &[0]), ix::settle_funding(pusher, &[])], &[]).await.unwrap();
    let (s1, p1) = (before(&w.env.margin(&mallory.account).await), before(&w.env.margin(&pusher).await));
    let net = (s1 - s0) + (p1 - p0);
    assert!(net < 0, "the push costs more than it earns: {net}");
    // what it earned at most: the rate at the interest rate on 100 BTC
    let earned = s1 - s0;
    assert!(
        earned
            <= Base(100 * BTC)
                .value_at(usd(20_000), Round::Up)
                .unwrap()
                .mul_rate(Rate(m1.interest), Round::Up)
                .unwrap()
                .0
    );
    w.env.assert_conservation().await;
}

/// N-9: a stolen admin key chains instant tightenings in one transaction (2% -> 4% -> 8% -> ...
/// initial margin) to price liquidators out (their takeovers need initial margin). An instant
/// raise is bounded by four times the tier's maintenance rate, which only the timelock changes:
/// the chain stops at 4% whatever the number of calls, and the transaction fails whole.
#[tokio::test(flavor = "current_thread")]
async fn attack_stolen_admin_doubles_initial_margin_in_one_transaction() {
    let mut w = world(0).await;
    let admin = w.env.admin.insecure_clone();
    let mut steps = Vec::new();
    let mut p = default_market_params(vec![legacy_oracle(w.oracle)]);
    for _ in 0..6 {
        for t in p.tiers.iter_mut() {
            t.imr = (t.imr * 2).min(500_000_000);
        }
        steps.push(ix::update_market(admin.pubkey(), 0, p.clone()));
    }
    assert_error(w.env.send(&steps, &[&admin]).await, PerpError::TimelockRequired);
    let m = w.env.market(0).await;
    assert_eq!(m.tiers[0].imr, 20_000_000, "nothing applied");
    // one doubling to 4 x maintenance (4%) applies at once; a second doubling does not
    w.env.send(&steps[..1], &[&admin]).await.unwrap();
    assert_eq!(w.env.market(0).await.tiers[0].imr, 40_000_000);
    let p2 = perp::state::MarketParams::from_market(&w.env.market(0).await);
    let mut up = p2.clone();
    up.tiers[0].imr = 41_000_000;
    assert_error(w.env.send(&[ix::update_market(admin.pubkey(), 0, up)], &[&admin]).await, PerpError::TimelockRequired);
    w.env.assert_conservation().await;
}

/// N-10: parameters that brick or weaken a market are refused at validation, so no proposal can
/// carry them: a volume-weighted index with a zero-weight source (its surviving sources could sum
/// to no weight, which failed even closes), a funding cap above 3/4 of the first tier's
/// maintenance rate, unbounded index ages, an impact notional beyond a tenth of the curve, a
/// minimum size worth more than the first tier.
#[tokio::test(flavor = "current_thread")]
async fn attack_vwap_market_with_a_zero_weight_source_bricks_closes() {
    let mut w = world(0).await;
    let base = default_market_params(vec![legacy_oracle(w.oracle)]);
    let mut bad = Vec::new();
    let mut p = base.clone();
    p.index_method = 1;
    p.oracles[0].weight = 0;
    bad.push(("zero weight", p));
    let mut p = base.clone();
    p.funding_cap = 7_500_001;
    bad.push(("funding cap", p));
    let mut p = base.clone();
    p.max_age = 3_601;
    bad.push(("max_age", p));
    let mut p = base.clone();
    p.fallback_max_age = 21_601;
    bad.push(("fallback", p));
    let mut p = base.clone();
    p.impact_notional = 2_000_001 * USDC as i64;
    bad.push(("impact notional", p));
    let mut p = base.clone();
    p.min_position = 3 * BTC;
    bad.push(("min position", p));
    let mut p = base.clone();
    p.mark_method = 1;
    bad.push(("impact mark with a 60 s period", p));
    let mut p = base.clone();
    p.liquidation_max_conf = p.max_conf + 1;
    bad.push(("liquidation conf", p));
    for (what, p) in bad {
        let version = w.env.market(0).await.params_version;
        let id = w.env.propose(perp::state::AdminAction::UpdateMarket { market_index: 0, params: p, version }).await;
        match id {
            Err(e) => assert_eq!(error_code(&e), Some(6000 + PerpError::InvalidMarketParams as u32), "{what}"),
            Ok(id) => {
                let admin = w.env.admin.insecure_clone();
                let r =
                    w.env.send(&[ix::execute_update_market(admin.pubkey(), id, admin.pubkey(), 0)], &[&admin]).await;
                assert_error(r, PerpError::InvalidMarketParams);
            }
        }
    }
    assert_eq!(w.env.market(0).await.index_method, 0);
    // and an index that fails for want of weight falls back like any other failure (a close works)
    let report = perp_core::index::compute_index(
        &[perp_core::index::SourceReading { price: usd(1), conf: usd(0), publish_time: 0, weight: 0, ema: usd(1) }],
        0,
        &perp_core::index::IndexConfig {
            max_age: 60,
            max_conf: Rate(10_000_000),
            max_deviation: Rate(10_000_000),
            min_sources: 1,
            method: perp_core::index::IndexMethod::VolumeWeighted,
        },
    )
    .unwrap();
    assert!(report.price.is_none() && report.zero_weight);
    w.env.assert_conservation().await;
}

/// N-12: 0.0001 BTC positions (a tenth of the minimum size) cost only rent and would each be
/// scanned by every ADL round: opening one, growing one to less than the minimum, or reducing one
/// to less than the minimum (but not zero) is refused.
#[tokio::test(flavor = "current_thread")]
async fn attack_dust_counterparties_inflate_adl_scans() {
    let mut w = world(0).await;
    let dust = w.env.user(1_000 * USDC, 100 * USDC).await;
    assert_error(w.env.trade(&dust, 0, order(OrderSide::Short, BTC / 10_000)).await, PerpError::PositionTooSmall);
    assert!(w.env.margin(&dust.account).await.find(0).is_none());
    assert_eq!(w.env.market(0).await.open_positions_short, 0);
    // the minimum itself is fine; a reduce may not leave dust either, and closing is always possible
    w.env.trade(&dust, 0, order(OrderSide::Short, BTC / 1_000)).await.unwrap();
    let mut r = order(OrderSide::Long, BTC / 2_000);
    r.reduce_only = true;
    assert_error(w.env.trade(&dust, 0, r).await, PerpError::PositionTooSmall);
    w.env.close(&dust, 0).await.unwrap();
    assert!(w.env.margin(&dust.account).await.find(0).is_none());
    w.env.assert_conservation().await;
}

/// M-2 (what the review left): the delegate back-runs the owner from its own account: the owner's
/// account buys (a delegated order within the band), the delegate's sells the impact back, the
/// owner's sells, the delegate's buys back, all in one transaction. A delegated order against the
/// direction of the delegate's previous one now waits one sample period, and one delegated order
/// may move the curve at most a quarter of the band.
#[tokio::test(flavor = "current_thread")]
async fn attack_delegate_backruns_the_owner_within_the_band() {
    let mut w = world(0).await;
    let owner = w.env.user(1_000_000 * USDC, 100_000 * USDC).await;
    let dee = w.env.user(10_000_000 * USDC, 1_000_000 * USDC).await;
    w.env.send(&[ix::set_delegate(owner.key(), owner.account, dee.key())], &[&owner.kp]).await.unwrap();
    let m = w.env.market(0).await;
    let oracles = ix::market_oracles(&m);
    let for_owner = |side, limit, reduce_only| {
        let mut p = with_limit(order(side, 2 * BTC), limit);
        p.reduce_only = reduce_only;
        ix::place_market_order(dee.key(), owner.account, 0, &oracles, &[], p)
    };
    let own = |side| ix::place_market_order(dee.key(), dee.account, 0, &oracles, &[], order(side, 2 * BTC));
    let before = w.env.margin(&owner.account).await;
    let round_trip = [
        for_owner(OrderSide::Long, usd(20_200), false),
        own(OrderSide::Short),
        for_owner(OrderSide::Short, usd(19_800), true),
        own(OrderSide::Long),
    ];
    assert_error(w.env.send(&round_trip, &[&dee.kp]).await, PerpError::DelegateCooldown);
    let after = w.env.margin(&owner.account).await;
    assert_eq!(after.cross_collateral, before.cross_collateral);
    assert!(after.find(0).is_none());
    // a delegated order of 3 BTC on 1,000 BTC of depth moves the curve 0.3% on average: refused
    let big = ix::place_market_order(
        dee.key(),
        owner.account,
        0,
        &oracles,
        &[],
        with_limit(order(OrderSide::Long, 3 * BTC), usd(20_200)),
    );
    assert_error(w.env.send(&[big], &[&dee.kp]).await, PerpError::DelegateImpactTooLarge);
    // the owner's own orders are not limited; the delegate's next one after a sample period is fine
    w.env.send(&round_trip[..2], &[&dee.kp]).await.unwrap();
    w.env.advance(60).await;
    w.move_price(usd(20_000)).await;
    let m = w.env.market(0).await;
    let close = ix::place_market_order(dee.key(), owner.account, 0, &ix::market_oracles(&m), &[], {
        let mut p = with_limit(order(OrderSide::Short, 2 * BTC), usd(19_800));
        p.reduce_only = true;
        p
    });
    w.env.send(&[close], &[&dee.kp]).await.unwrap();
    w.env.assert_conservation().await;
}

/// I-3: the admin's TRADE pause (new risk) used to block moving collateral from cross into an
/// isolated position too, so an isolated position could not be saved from liquidation during a
/// pause. A top-up adds no position: it goes through (cross keeps its initial margin).
#[tokio::test(flavor = "current_thread")]
async fn attack_trade_pause_blocks_an_isolated_top_up() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let mut p = order(OrderSide::Long, BTC);
    p.isolated = true;
    p.isolated_collateral = 1_000 * USDC;
    w.env.trade(&alice, 0, p).await.unwrap();
    let admin = w.env.admin.insecure_clone();
    w.env.send(&[ix::set_pause(admin.pubkey(), pause::TRADE)], &[&admin]).await.unwrap();
    let a0 = w.env.margin(&alice.account).await;
    let top_up = ix::move_isolated_collateral(alice.key(), alice.account, 0, 500 * USDC as i64, &[]);
    w.env.send(&[top_up], &[&alice.kp]).await.unwrap();
    let a1 = w.env.margin(&alice.account).await;
    assert_eq!(a1.positions[0].isolated_collateral, a0.positions[0].isolated_collateral + 500 * USDC as i64);
    assert_eq!(a1.cross_collateral, a0.cross_collateral - 500 * USDC as i64);
    // new risk stays paused
    let mut more = order(OrderSide::Long, BTC);
    more.isolated = true;
    assert_error(w.env.trade(&alice, 0, more).await, PerpError::OperationPaused);
    w.env.assert_conservation().await;
}

/// I-8: a key that was the admin leaves proposals behind when the admin role moves on (a rotation
/// after a suspected leak). They used to stay executable; now a proposal runs only while its
/// proposer is still the admin.
#[tokio::test(flavor = "current_thread")]
async fn attack_proposal_of_a_rotated_admin_key() {
    let mut w = world(0).await;
    let old = w.env.admin.insecure_clone();
    let mut p = default_market_params(vec![legacy_oracle(w.oracle)]);
    p.taker_fee = 10_000_000;
    let version = w.env.market(0).await.params_version;
    let stale =
        w.env.propose(perp::state::AdminAction::UpdateMarket { market_index: 0, params: p, version }).await.unwrap();
    let new_admin = Keypair::new();
    let rotate = w.env.propose(perp::state::AdminAction::SetAdmin { new_admin: new_admin.pubkey() }).await.unwrap();
    w.env.send(&[ix::execute_exchange_action(old.pubkey(), rotate, old.pubkey())], &[&old]).await.unwrap();
    assert_eq!(w.env.exchange().await.admin, new_admin.pubkey());
    let exec = ix::execute_update_market(old.pubkey(), stale, old.pubkey(), 0);
    assert_error(w.env.send(&[exec], &[&old]).await, PerpError::ProposalMismatch);
    assert_eq!(w.env.market(0).await.taker_fee, 500_000);
    w.env.assert_conservation().await;
}
