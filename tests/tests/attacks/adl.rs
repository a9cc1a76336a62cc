//! M-6, M-7, L-1: auto-deleveraging rounds and where socialized losses land.

use super::*;
use perp::error::PerpError;
use perp::state::AdlRound;
use perp_core::adl::adl_price;
use perp_core::Rate;

/// Carol long 5 BTC on 10,000; Dan short 2 BTC; the price falls to 18,000 and Carol is flagged
/// bankrupt (a 10 USDC insurance fund cannot cover her).
async fn carol_bankrupt() -> (World, User, User) {
    let mut w = world(10 * USDC).await;
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let dan = w.env.user(100_000 * USDC, 5_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.env.trade(&dan, 0, order(OrderSide::Short, 2 * BTC)).await.unwrap();
    w.move_price(usd(18_000)).await;
    w.liquidate(&carol, 0).await.unwrap();
    assert!(w.env.margin(&carol.account).await.is_bankrupt());
    (w, carol, dan)
}

async fn begin(w: &mut World, bankrupt: &User) -> Result<(), BanksClientError> {
    let m = w.env.market(0).await;
    w.env.send(&[ix::begin_adl_round(0, &ix::market_oracles(&m), bankrupt.account)], &[]).await
}

async fn round(w: &mut World) -> AdlRound {
    perp_client::decode::decode(&w.env.account_data(&perp_client::pda::adl_round(0)).await.unwrap()).unwrap()
}

/// M-6: the ranking uses the round's frozen mark, but the closing price is bounded by the live
/// mark, and a round expires: whoever calls `auto_deleverage` holds no option on a stale price.
#[tokio::test(flavor = "current_thread")]
async fn attack_deleverage_at_a_frozen_mark() {
    let (mut w, carol, dan) = carol_bankrupt().await;
    begin(&mut w, &carol).await.unwrap();
    let arb = w.arb.account;
    w.env.send(&[ix::adl_scan(0, &[dan.account, arb])], &[]).await.unwrap();
    // an hour later the round is expired: no step at its frozen mark
    w.env.advance(3_600).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(18_000), usd(2), t);
    let m = w.env.market(0).await;
    let step = ix::auto_deleverage(0, &ix::market_oracles(&m), carol.account, &[dan.account]);
    assert_error(w.env.send(&[step], &[]).await, PerpError::AdlRoundExpired);
    // a new round may begin; the price moves to 18,500 before the step: Dan is closed within 2%
    // of the live mark (18,500), not of the 18,000 the round was ranked at
    begin(&mut w, &carol).await.unwrap();
    w.env.send(&[ix::adl_scan(0, &[dan.account, arb])], &[]).await.unwrap();
    w.env.advance(30).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(18_500), usd(2), t);
    let c = w.env.margin(&carol.account).await;
    let pb = Price(c.positions[0].bankruptcy_price);
    let price = adl_price(pb, usd(18_500), Rate(20_000_000)).unwrap();
    assert!(price > pb, "the live band moved the price: {price} vs {pb}");
    let d0 = w.env.margin(&dan.account).await;
    let r = round(&mut w).await;
    let cands: Vec<Pubkey> = r.entries[..r.entry_count()].iter().map(|e| e.key).collect();
    assert_eq!(cands[0], dan.account);
    let m = w.env.market(0).await;
    w.env.send(&[ix::auto_deleverage(0, &ix::market_oracles(&m), carol.account, &cands)], &[]).await.unwrap();
    let d1 = w.env.margin(&dan.account).await;
    let x = Base(2 * BTC).value_at(price, Round::Down).unwrap();
    let realized = apply_fill(d0.positions[0].state(), Base(2 * BTC), Quote(-x.0)).unwrap().realized;
    assert_eq!(d1.cross_collateral - d0.cross_collateral, realized.0, "Dan closed at {price}");
    w.env.assert_conservation().await;
}

/// L-1: a round a keeper is working through cannot be restarted by a third party, even after
/// `ADL_ROUND_TTL`: only a round that stopped making progress (or expired) can.
#[tokio::test(flavor = "current_thread")]
async fn attack_restart_an_adl_round_mid_scan() {
    let mut w = world(10 * USDC).await;
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    let mut shorts = Vec::new();
    for _ in 0..7 {
        let u = w.env.user(100_000 * USDC, 5_000 * USDC).await;
        w.env.trade(&u, 0, order(OrderSide::Short, BTC / 2)).await.unwrap();
        shorts.push(u);
    }
    w.move_price(usd(18_000)).await;
    w.liquidate(&carol, 0).await.unwrap();
    begin(&mut w, &carol).await.unwrap();
    let r0 = round(&mut w).await;
    // one scan every 50 s for 350 s: a restart is refused all along
    for u in &shorts {
        w.env.advance(50).await;
        let t = w.env.now;
        w.env.set_legacy_oracle(w.oracle, usd(18_000), usd(2), t);
        w.env.send(&[ix::adl_scan(0, &[u.account])], &[]).await.unwrap();
        assert_error(begin(&mut w, &carol).await, PerpError::AdlRoundOpen);
    }
    assert!(w.env.now - r0.started_at > 300);
    assert_eq!(round(&mut w).await.round, r0.round);
    // the keeper stops: 61 s without progress, the round may be replaced
    w.env.advance(61).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(18_000), usd(2), t);
    begin(&mut w, &carol).await.unwrap();
    assert_eq!(round(&mut w).await.round, r0.round + 1);
    w.env.assert_conservation().await;
}

/// L-1: a complete round that awaits `resolve_bankruptcy` cannot be reset by a third party (which
/// would zero its count right before the keeper's resolution).
#[tokio::test(flavor = "current_thread")]
async fn attack_reset_a_complete_round_before_resolution() {
    let mut w = world(10 * USDC).await;
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let dan = w.env.user(100_000 * USDC, 5_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.env.trade(&dan, 0, order(OrderSide::Short, 2 * BTC)).await.unwrap();
    w.move_price(usd(18_000)).await;
    // nobody profitable is short: Dan and the arbitrageur buy back before Carol is flagged (after,
    // their profit is held for ADL)
    w.env.close(&dan, 0).await.unwrap();
    let arb = clone_user(&w.arb);
    w.env.close(&arb, 0).await.unwrap();
    w.liquidate(&carol, 0).await.unwrap();
    assert!(w.env.margin(&carol.account).await.is_bankrupt());
    begin(&mut w, &carol).await.unwrap();
    let m = w.env.market(0).await;
    assert_eq!((m.adl_scanned, m.open_positions_short), (0, 0), "complete at once, nothing ranked");
    assert_error(begin(&mut w, &carol).await, PerpError::AdlRoundOpen);
    w.env.send(&[ix::resolve_bankruptcy(0, &ix::market_oracles(&m), carol.account)], &[]).await.unwrap();
    assert!(!w.env.margin(&carol.account).await.is_bankrupt());
    w.env.assert_conservation().await;
}

/// M-7: the only open short is 0.001 BTC when a 5 BTC long's loss is socialized. That position
/// is charged at most the first tier's maintenance rate of its notional; the rest goes to the fee
/// pool and, beyond it, is recorded as unbacked. Nobody is driven below zero by it.
#[tokio::test(flavor = "current_thread")]
async fn attack_socialize_onto_a_dust_position() {
    let mut w = world(10 * USDC).await;
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.move_price(usd(18_000)).await;
    let sam = w.env.user(1_000 * USDC, 100 * USDC).await;
    w.env.trade(&sam, 0, order(OrderSide::Short, BTC / 1_000)).await.unwrap();
    let arb = clone_user(&w.arb);
    w.env.close(&arb, 0).await.unwrap();
    w.liquidate(&carol, 0).await.unwrap();
    begin(&mut w, &carol).await.unwrap();
    w.env.send(&[ix::adl_scan(0, &[sam.account])], &[]).await.unwrap();
    assert_eq!(round(&mut w).await.num_entries, 0, "Sam's short is not profitable");
    let m0 = w.env.market(0).await;
    let s0 = w.env.margin(&sam.account).await;
    w.env.send(&[ix::resolve_bankruptcy(0, &ix::market_oracles(&m0), carol.account)], &[]).await.unwrap();
    w.env.send(&[ix::settle_funding(sam.account, &[0])], &[]).await.unwrap();
    let s1 = w.env.margin(&sam.account).await;
    let paid = s1.funding_paid - s0.funding_paid;
    let cap =
        Base(BTC / 1_000).value_at(usd(18_000), Round::Down).unwrap().mul_rate(Rate(10_000_000), Round::Down).unwrap();
    assert!(paid > 0 && paid <= cap.0 + 1, "Sam paid {paid}, cap {cap}");
    assert!(s1.cross_collateral > 0);
    let m1 = w.env.market(0).await;
    let loss = m1.socialized_loss - m0.socialized_loss;
    assert!(loss > 1_000 * cap.0, "the loss ({loss}) dwarfs what Sam can be charged");
    // the loss = charged to the shorts + from the fee pool + unbacked; Sam paid the charge
    let charged = loss - (m0.fee_pool - m1.fee_pool) - (m1.unbacked_loss - m0.unbacked_loss);
    assert!(charged > 0 && charged <= paid && charged <= cap.0, "{charged} {paid} {cap}");
    assert!(m1.unbacked_loss > m0.unbacked_loss || m1.fee_pool < m0.fee_pool);
    w.env.assert_conservation().await;
}

/// M-7: Gina's cross group goes under water through ETH; the liquidator takes ETH first. The
/// deficit is ETH's: ETH's counterparties absorb it through ADL, BTC's books are untouched.
#[tokio::test(flavor = "current_thread")]
async fn attack_route_a_deficit_into_another_market() {
    let mut w = world(10 * USDC).await;
    let eth_oracle = Keypair::new().pubkey();
    w.env.set_legacy_oracle(eth_oracle, usd(1_500), usd(1), T0);
    let mut p = default_market_params(vec![legacy_oracle(eth_oracle)]);
    p.name = *b"ETH-PERP\0\0\0\0\0\0\0\0";
    w.env.create_market(1, p, 10_000, usd(1_500)).await;
    let gina = w.env.user(500_000 * USDC, 12_000 * USDC).await;
    let dan = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let eve = w.env.user(1_000_000 * USDC, 200_000 * USDC).await;
    w.env.trade(&gina, 0, order(OrderSide::Long, BTC)).await.unwrap();
    w.env.trade(&dan, 0, order(OrderSide::Short, BTC)).await.unwrap();
    w.env.trade(&gina, 1, order(OrderSide::Long, 30 * BTC)).await.unwrap();
    w.env.trade(&eve, 1, order(OrderSide::Short, 30 * BTC)).await.unwrap();
    w.move_price(usd(20_200)).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_000), usd(1), t);
    w.env.crank_funding(1).await.unwrap();
    let btc0 = w.env.market(0).await;
    // ETH first: not the group's last position, but the only loser: it carries the whole deficit
    let larry = clone_user(&w.larry);
    let i = w.liquidate_ix(&larry, larry.account, &gina, 1, 0).await;
    w.env.send(&[i], &[&larry.kp]).await.unwrap();
    let g = w.env.margin(&gina.account).await;
    assert!(g.positions[g.find(1).unwrap()].is_bankrupt());
    // BTC is then taken over with no deficit of its own
    let i = w.liquidate_ix(&larry, larry.account, &gina, 0, 0).await;
    w.env.send(&[i], &[&larry.kp]).await.unwrap();
    let btc1 = w.env.market(0).await;
    assert_eq!(btc1.insurance_total_out, btc0.insurance_total_out);
    assert_eq!(btc1.cum_funding_short.get(), btc0.cum_funding_short.get());
    assert_eq!(btc1.socialized_loss, 0);
    // ETH's profitable short absorbs it
    let m1 = w.env.market(1).await;
    w.env.send(&[ix::begin_adl_round(1, &ix::market_oracles(&m1), gina.account)], &[]).await.unwrap();
    w.env.send(&[ix::adl_scan(1, &[eve.account])], &[]).await.unwrap();
    w.env.send(&[ix::auto_deleverage(1, &ix::market_oracles(&m1), gina.account, &[eve.account])], &[]).await.unwrap();
    let g = w.env.margin(&gina.account).await;
    assert!(!g.is_bankrupt() && g.find(1).is_none());
    assert_eq!(w.env.market(0).await.cum_funding_short.get(), btc0.cum_funding_short.get());
    w.env.assert_conservation().await;
}

/// The price recovers between Carol's flag and the ADL step. Her counterparties close within the
/// band of the live mark, above her bankruptcy price; Carol still closes at her bankruptcy price
/// (she gains nothing from the recovery) and the difference goes to the market's insurance fund.
#[tokio::test(flavor = "current_thread")]
async fn attack_a_bankrupt_account_keeps_the_recovery() {
    let (mut w, carol, dan) = carol_bankrupt().await;
    begin(&mut w, &carol).await.unwrap();
    let arb = w.arb.account;
    w.env.send(&[ix::adl_scan(0, &[dan.account, arb])], &[]).await.unwrap();
    w.env.advance(10).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(18_600), usd(2), t);
    let c0 = w.env.margin(&carol.account).await;
    let pb = Price(c0.positions[0].bankruptcy_price);
    let price = adl_price(pb, usd(18_600), Rate(20_000_000)).unwrap();
    assert!(price > pb);
    let ins0 = w.env.insurance(0).await;
    let r = round(&mut w).await;
    let cands: Vec<Pubkey> = r.entries[..r.entry_count()].iter().map(|e| e.key).collect();
    let m = w.env.market(0).await;
    w.env.send(&[ix::auto_deleverage(0, &ix::market_oracles(&m), carol.account, &cands)], &[]).await.unwrap();
    let c1 = w.env.margin(&carol.account).await;
    assert!(!c1.is_bankrupt());
    let at_pb = apply_fill(c0.positions[0].state(), Base(-5 * BTC), Base(5 * BTC).value_at(pb, Round::Down).unwrap())
        .unwrap()
        .realized;
    assert_eq!(c1.cross_collateral, c0.cross_collateral + at_pb.0, "Carol closed at her bankruptcy price");
    let surplus =
        Base(5 * BTC).value_at(price, Round::Down).unwrap().0 - Base(5 * BTC).value_at(pb, Round::Down).unwrap().0;
    assert_eq!(w.env.insurance(0).await, ins0 + surplus, "the recovery went to the insurance fund");
    w.env.assert_conservation().await;
}
