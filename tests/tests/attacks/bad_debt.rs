//! The 2026-12 review's bad-debt findings: N-2 (the socialization cap per call), N-4 (an
//! unbacked loss paid by everyone, a winner dodging ADL), N-6 (an ineligible ranked entry stalls
//! ADL) and N-7 (the all-or-nothing insurance draw).

use super::*;
use perp::error::PerpError;
use perp::state::AdlRound;
use perp_core::funding::position_payment;
use perp_core::{FundingIndex, Rate};

async fn round(w: &mut World, market: u16) -> AdlRound {
    perp_client::decode::decode(&w.env.account_data(&perp_client::pda::adl_round(market)).await.unwrap()).unwrap()
}

fn ranked(r: &AdlRound) -> Vec<Pubkey> {
    r.entries[..r.entry_count()].iter().map(|e| e.key).collect()
}

/// Moves market `i`'s index to `price` (oracle `oracle`, published now) and has the arbitrageur
/// trade its vAMM there.
async fn move_market(w: &mut World, i: u16, oracle: Pubkey, price: Price) {
    let t = w.env.now;
    w.env.set_legacy_oracle(oracle, price, usd(1), t);
    let d = w.env.market(i).await.vamm().size_to_price(price).unwrap();
    if d.0 != 0 {
        let side = if d.0 > 0 { OrderSide::Long } else { OrderSide::Short };
        let arb = clone_user(&w.arb);
        w.env.trade(&arb, i, order(side, d.0.abs())).await.unwrap();
    }
}

/// ETH at 1,500 on 10,000 ETH of vAMM depth, its own legacy oracle (returned), no insurance.
async fn eth(w: &mut World) -> Pubkey {
    let oracle = Keypair::new().pubkey();
    w.env.set_legacy_oracle(oracle, usd(1_500), usd(1), w.env.now);
    let mut p = default_market_params(vec![legacy_oracle(oracle)]);
    p.name = *b"ETH-PERP\0\0\0\0\0\0\0\0";
    w.env.create_market(1, p, 10_000, usd(1_500)).await;
    oracle
}

/// N-4's unbacked hole in ETH: Dan shorts 20 at 1,200, Ann longs 100 at 1,500 and is flagged
/// bankrupt when the oracle alone falls to 1,300 (nobody trades the vAMM); no short is in profit,
/// so resolution socializes what it may and leaves the rest unbacked. Returns Dan.
async fn eth_hole(w: &mut World, eth_oracle: Pubkey) -> User {
    let dan = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let ann = w.env.user(100_000 * USDC, 7_000 * USDC).await;
    move_market(w, 1, eth_oracle, usd(1_200)).await;
    w.env.trade(&dan, 1, order(OrderSide::Short, 20 * BTC)).await.unwrap();
    move_market(w, 1, eth_oracle, usd(1_500)).await;
    w.env.trade(&ann, 1, order(OrderSide::Long, 100 * BTC)).await.unwrap();
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_300), usd(1), t);
    let larry = clone_user(&w.larry);
    let i = w.liquidate_ix(&larry, larry.account, &ann, 1, 0).await;
    w.env.send(&[i], &[&larry.kp]).await.unwrap();
    assert!(w.env.margin(&ann.account).await.is_bankrupt());
    let m = w.env.market(1).await;
    w.env.send(&[ix::begin_adl_round(1, &ix::market_oracles(&m), ann.account)], &[]).await.unwrap();
    w.env.send(&[ix::adl_scan(1, &[dan.account, w.arb.account])], &[]).await.unwrap();
    assert_eq!(round(w, 1).await.num_entries, 0, "no short in profit");
    w.env.send(&[ix::resolve_bankruptcy(1, &ix::market_oracles(&m), ann.account)], &[]).await.unwrap();
    dan
}

/// N-2: Carol's 30 BTC long is flagged bankrupt at 17,000; sixteen profitable shorts of 3 BTC are
/// ranked against her, and Vic's 10 BTC short, opened at 16,500, is not (it is not in profit).
/// The live mark then falls to 15,000, so every ADL step closes below Carol's bankruptcy price by
/// the band and socializes the shortfall over the shorts. The old cap applied per call: one
/// `auto_deleverage` pass charged Vic 7,841 (5.2 times the 1% of his notional the README
/// promises). Now the whole bankruptcy episode charges each unit of base at most the first tier's
/// maintenance rate of the mark (what is left goes to the fee pool, then stays unbacked).
#[tokio::test(flavor = "current_thread")]
async fn attack_socialization_cap_repeats_per_adl_step() {
    let mut w = world(10 * USDC).await;
    let oracle = w.oracle;
    let vic = w.env.user(1_000_000 * USDC, 60_000 * USDC).await;
    move_market(&mut w, 0, oracle, usd(16_500)).await;
    w.env.trade(&vic, 0, order(OrderSide::Short, 10 * BTC)).await.unwrap();
    move_market(&mut w, 0, oracle, usd(20_000)).await;
    let mut shorts = Vec::new();
    for _ in 0..16 {
        let u = w.env.user(100_000 * USDC, 20_000 * USDC).await;
        w.env.trade(&u, 0, order(OrderSide::Short, 3 * BTC)).await.unwrap();
        move_market(&mut w, 0, oracle, usd(20_000)).await;
        shorts.push(u);
    }
    let carol = w.env.user(1_000_000 * USDC, 70_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 30 * BTC)).await.unwrap();
    move_market(&mut w, 0, oracle, usd(17_000)).await;
    w.liquidate(&carol, 0).await.unwrap();
    assert!(w.env.margin(&carol.account).await.is_bankrupt());
    let m = w.env.market(0).await;
    w.env.send(&[ix::begin_adl_round(0, &ix::market_oracles(&m), carol.account)], &[]).await.unwrap();
    let mut all: Vec<Pubkey> = shorts.iter().map(|u| u.account).collect();
    all.push(vic.account);
    all.push(w.arb.account);
    all.push(w.larry.account);
    for chunk in all.chunks(9) {
        w.env.send(&[ix::adl_scan(0, chunk)], &[]).await.unwrap();
    }
    let r = round(&mut w, 0).await;
    assert!(!ranked(&r).contains(&vic.account), "Vic is not in profit at 17,000");
    // the crash goes on: the live mark at 15,000
    w.env.advance(5).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(oracle, usd(15_000), usd(2), t);
    let m0 = w.env.market(0).await;
    w.env.send(&[ix::auto_deleverage(0, &ix::market_oracles(&m0), carol.account, &ranked(&r))], &[]).await.unwrap();
    let m1 = w.env.market(0).await;
    assert!(!w.env.margin(&carol.account).await.is_bankrupt(), "absorbed in one pass");
    // Vic's charge over the whole pass: at most 1% of 10 BTC at 15,000 (+1 raw of rounding)
    let paid = position_payment(
        Base(-10 * BTC),
        FundingIndex(m1.cum_funding_short.get()),
        FundingIndex(m0.cum_funding_short.get()),
    )
    .unwrap();
    let cap =
        Base(10 * BTC).value_at(usd(15_000), Round::Down).unwrap().mul_rate(Rate(10_000_000), Round::Down).unwrap();
    assert!(paid.0 > 0 && paid.0 <= cap.0 + 1, "Vic charged {paid}, cap {cap}");
    assert!(m1.socialized_loss - m0.socialized_loss > 10 * cap.0, "the shortfall is far beyond the cap");
    // what the cap left went to the fee pool (and beyond it would stay unbacked, to be repaid)
    assert!(m1.fee_pool < m0.fee_pool, "the fee pool paid the rest");
    // (an unbacked remainder is repaid first by the profits the later ADL closes realize)
    assert!(m1.unbacked_outstanding <= m1.unbacked_loss - m0.unbacked_loss);
    assert_eq!(m1.episode_social_short.get(), 0, "the episode ended with the last bankruptcy");
    w.env.send(&[ix::settle_funding(vic.account, &[0])], &[]).await.unwrap();
    w.env.assert_conservation().await;
}

/// N-4, the dodge: Dan's profitable short is the counterparty Carol's bankruptcy needs; he tries
/// to close at the vAMM (taking his profit out of the PnL pool) before ADL reaches him. Refused
/// while the bankruptcy is open; ADL then closes him at Carol's bankruptcy price.
#[tokio::test(flavor = "current_thread")]
async fn attack_counterparty_dodges_adl_by_closing_first() {
    let mut w = world(10 * USDC).await;
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let dan = w.env.user(100_000 * USDC, 5_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.env.trade(&dan, 0, order(OrderSide::Short, 2 * BTC)).await.unwrap();
    w.move_price(usd(18_000)).await;
    w.liquidate(&carol, 0).await.unwrap();
    let d0 = w.env.margin(&dan.account).await;
    assert_error(w.env.close(&dan, 0).await, PerpError::ProfitHeldForAdl);
    let mut part = order(OrderSide::Long, BTC);
    part.reduce_only = true;
    assert_error(w.env.trade(&dan, 0, part).await, PerpError::ProfitHeldForAdl);
    assert_eq!(w.env.margin(&dan.account).await.cross_collateral, d0.cross_collateral);
    // ADL closes him at Carol's bankruptcy price (within the band of the live mark)
    let m = w.env.market(0).await;
    w.env.send(&[ix::begin_adl_round(0, &ix::market_oracles(&m), carol.account)], &[]).await.unwrap();
    w.env.send(&[ix::adl_scan(0, &[dan.account, w.arb.account])], &[]).await.unwrap();
    let r = round(&mut w, 0).await;
    let pb = Price(w.env.margin(&carol.account).await.positions[0].bankruptcy_price);
    w.env.send(&[ix::auto_deleverage(0, &ix::market_oracles(&m), carol.account, &ranked(&r))], &[]).await.unwrap();
    let d1 = w.env.margin(&dan.account).await;
    if d1.find(0).is_none() {
        let at_pb = apply_fill(
            d0.positions[0].state(),
            Base(2 * BTC),
            Quote(-Base(2 * BTC).value_at(pb, Round::Down).unwrap().0),
        );
        assert_eq!(d1.cross_collateral, d0.cross_collateral + at_pb.unwrap().realized.0, "closed at {pb}");
    }
    assert!(!w.env.margin(&carol.account).await.is_bankrupt());
    // with the bankruptcy over, he may close whatever is left
    if d1.find(0).is_some() {
        w.env.close(&dan, 0).await.unwrap();
    }
    w.env.assert_conservation().await;
}

/// N-4: ETH is listed with no insurance. Ann's 100 ETH long goes bankrupt at 1,300 and the only
/// short (Dan's, opened at 1,200) is not in profit: the shortfall is socialized over him (at most
/// 1% of his notional), then the fee pool, and the rest is an unbacked hole in ETH's PnL pool,
/// which the old code let anyone trade on and be paid out of, in any market. Now no new risk is
/// taken in ETH while the hole is open; a profit realized in ETH repays it first (the
/// arbitrageur's, closing its long); an insurance deposit repays the rest; then ETH trades again.
/// BTC's depositors withdraw everything throughout.
#[tokio::test(flavor = "current_thread")]
async fn attack_unbacked_loss_is_paid_by_another_markets_depositors() {
    let mut w = world(100_000 * USDC).await;
    let eth_oracle = eth(&mut w).await;
    let zoe = w.env.user(100_000 * USDC, 50_000 * USDC).await;
    w.env.trade(&zoe, 0, order(OrderSide::Long, BTC)).await.unwrap();
    eth_hole(&mut w, eth_oracle).await;
    let m1 = w.env.market(1).await;
    let hole = m1.unbacked_outstanding;
    assert!(hole > 5_000 * USDC as i64 && hole == m1.unbacked_loss, "hole {hole}");
    // no new risk in ETH while it is open (before: anyone could trade against the hole)
    let eve = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    assert_error(w.env.trade(&eve, 1, order(OrderSide::Long, BTC)).await, PerpError::UnbackedLossOutstanding);
    // BTC trades and withdraws as usual
    w.env.trade(&zoe, 0, order(OrderSide::Long, BTC)).await.unwrap();

    // the arbitrageur's ETH long (bought on the way up from 1,200) closes at the vAMM, in profit:
    // that profit repays the hole first
    let arb = clone_user(&w.arb);
    let a0 = w.env.margin(&arb.account).await;
    let slot = a0.find(1).unwrap();
    let v = w.env.market(1).await.vamm();
    let size = Base(a0.positions[slot].base);
    assert!(size.0 > 0);
    let fill = v.quote_trade(perp_core::vamm::Side::Short, size).unwrap();
    let realized = apply_fill(a0.positions[slot].state(), fill.base, fill.quote).unwrap().realized;
    let fee = fill.quote.abs().unwrap().mul_rate(Rate(500_000), Round::Up).unwrap();
    w.env.close(&arb, 1).await.unwrap();
    let a1 = w.env.margin(&arb.account).await;
    let m2 = w.env.market(1).await;
    let haircut = realized.0.max(0).min(hole);
    assert!(haircut > 0, "realized {realized}");
    assert_eq!(a1.cross_collateral, a0.cross_collateral + realized.0 - haircut - fee.0, "profit held back");
    assert_eq!(m2.unbacked_outstanding, hole - haircut);
    // an insurance deposit repays the rest; then ETH trades again
    let rest = m2.unbacked_outstanding as u64;
    w.env.send(&[ix::deposit_insurance(zoe.key(), zoe.token, 1, rest)], &[&zoe.kp]).await.unwrap();
    let m3 = w.env.market(1).await;
    // repaid from the fund: all of the deposit goes to the hole, the fund keeps what it had
    assert_eq!((m3.unbacked_outstanding, m3.insurance_fund), (0, m2.insurance_fund));
    assert_eq!(m3.pnl_pool - m2.pnl_pool, rest as i64);
    w.env.sweep(1).await.unwrap();
    w.env.trade(&eve, 1, order(OrderSide::Long, BTC)).await.unwrap();
    // Zoe (BTC only) takes everything out
    w.env.close(&zoe, 0).await.unwrap();
    let z = w.env.margin(&zoe.account).await.cross_collateral as u64;
    w.env.send(&[ix::withdraw(zoe.key(), zoe.account, zoe.token, z, &[])], &[&zoe.kp]).await.unwrap();
    w.env.assert_conservation().await;
}

/// N-6: Cid's short is ranked at the round's mark (18,000). The live mark then falls to 17,500 and
/// Cid, as a liquidator, takes over Eli's 10 BTC short there (Eli's cross group went under water
/// through ETH): his average entry drops below the round's mark, so he is no longer in profit at
/// it. The old code refused every `auto_deleverage` at his entry (`AdlCandidateIneligible`) for up
/// to 600 s, with new risk frozen; now the entry is used up and the next one deleverages.
#[tokio::test(flavor = "current_thread")]
async fn attack_ranked_candidate_turns_ineligible_and_stalls_adl() {
    let mut w = world(10 * USDC).await;
    let eth_oracle = eth(&mut w).await;
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let cid = w.env.user(100_000 * USDC, 30_000 * USDC).await;
    let dan = w.env.user(100_000 * USDC, 5_000 * USDC).await;
    let eli = w.env.user(100_000 * USDC, 12_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.env.trade(&cid, 0, order(OrderSide::Short, 2 * BTC)).await.unwrap();
    w.env.trade(&dan, 0, order(OrderSide::Short, BTC)).await.unwrap();
    w.env.trade(&eli, 0, order(OrderSide::Short, 10 * BTC)).await.unwrap();
    w.env.trade(&eli, 1, order(OrderSide::Long, 60 * BTC)).await.unwrap();
    w.move_price(usd(18_000)).await;
    w.liquidate(&carol, 0).await.unwrap();
    let m = w.env.market(0).await;
    w.env.send(&[ix::begin_adl_round(0, &ix::market_oracles(&m), carol.account)], &[]).await.unwrap();
    w.env.send(&[ix::adl_scan(0, &[cid.account, dan.account, eli.account, w.arb.account])], &[]).await.unwrap();
    let r = round(&mut w, 0).await;
    assert!(ranked(&r).contains(&cid.account));
    // ETH crashes (Eli's group under water), BTC's live mark dips to 17,500; Cid takes over
    // Eli's BTC short there (no deficit in BTC: that position is in profit)
    w.env.advance(5).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(500), usd(1), t);
    w.env.crank_funding(1).await.unwrap();
    // another market's move counts for a liquidation once its time-weighted index has followed
    // (a sample period)
    w.env.advance(60).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(500), usd(1), t);
    w.env.crank_funding(1).await.unwrap();
    w.env.set_legacy_oracle(w.oracle, usd(17_500), usd(2), t);
    let i = w.liquidate_ix(&cid, cid.account, &eli, 0, 0).await;
    w.env.send(&[i], &[&cid.kp]).await.unwrap();
    let c = w.env.margin(&cid.account).await;
    let st = c.positions[c.find(0).unwrap()].state();
    assert!(st.upnl(Price(r.mark)).unwrap().0 <= 0, "Cid is not in profit at the round's mark any more");
    // the step skips him (used up) and deleverages the others
    let m = w.env.market(0).await;
    w.env.send(&[ix::auto_deleverage(0, &ix::market_oracles(&m), carol.account, &ranked(&r))], &[]).await.unwrap();
    let r1 = round(&mut w, 0).await;
    let cid_entry = r1.entries[..r1.entry_count()].iter().find(|e| e.key == cid.account).unwrap();
    assert_eq!(cid_entry.size, 0, "used up");
    let c1 = w.env.margin(&cid.account).await;
    assert_eq!(c1.positions[c1.find(0).unwrap()].base, st.base.0, "Cid's position untouched");
    w.env.assert_conservation().await;
}

/// N-7: Carol's deficit (about 500) is more than BTC's insurance fund (300) holds. The old code
/// paid nothing and sent the whole 500 to ADL; now the fund pays its 300 first and the position is
/// flagged bankrupt at the deficit price of the 200 left.
#[tokio::test(flavor = "current_thread")]
async fn attack_insurance_all_or_nothing_sends_a_payable_deficit_to_adl() {
    let mut w = world(300 * USDC).await;
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.move_price(usd(18_000)).await;
    let c0 = w.env.margin(&carol.account).await;
    let m0 = w.env.market(0).await;
    let mut h = Health::new(Quote(c0.cross_collateral));
    h.add_position(&c0.positions[0].state(), usd(18_000), Quote(0), &tiers(&m0)).unwrap();
    let deficit = -h.equity.0;
    // 300 deposited, plus the insurance share of the trades' fees
    let fund = m0.insurance_fund;
    assert!(fund >= 300 * USDC as i64 && deficit > fund, "deficit {deficit}, fund {fund}");
    w.liquidate(&carol, 0).await.unwrap();
    let c1 = w.env.margin(&carol.account).await;
    let m1 = w.env.market(0).await;
    assert!(c1.is_bankrupt());
    assert_eq!(m1.insurance_fund, 0, "the fund paid what it held");
    assert_eq!(m1.insurance_total_out - m0.insurance_total_out, fund as u64);
    assert_eq!(c1.cross_collateral, c0.cross_collateral + fund);
    let pb = perp_core::takeover::deficit_price(&c0.positions[0].state(), usd(18_000), Quote(deficit - fund)).unwrap();
    assert_eq!(c1.positions[0].bankruptcy_price, pb.0);
    w.env.assert_conservation().await;
}

/// Profit held for ADL taken through a takeover (review of round two, F-2): Dan's short is a
/// counterparty of Carol's open bankruptcy, so he may not close it at a profit; instead he
/// liquidates Vic's long, which nets his short away at the mark and would realize the same profit.
/// Refused; another liquidator takes Vic over as usual.
#[tokio::test(flavor = "current_thread")]
async fn attack_held_profit_taken_through_a_takeover() {
    let mut w = world(10 * USDC).await;
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let dan = w.env.user(100_000 * USDC, 5_000 * USDC).await;
    let vic = w.env.user(100_000 * USDC, 6_700 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.env.trade(&dan, 0, order(OrderSide::Short, 2 * BTC)).await.unwrap();
    w.env.trade(&vic, 0, order(OrderSide::Long, 3 * BTC)).await.unwrap();
    w.move_price(usd(18_000)).await;
    w.liquidate(&carol, 0).await.unwrap();
    assert!(w.env.margin(&carol.account).await.is_bankrupt());
    let d0 = w.env.margin(&dan.account).await;
    let i = w.liquidate_ix(&dan, dan.account, &vic, 0, 0).await;
    assert_error(w.env.send(&[i], &[&dan.kp]).await, PerpError::ProfitHeldForAdl);
    assert_eq!(w.env.margin(&dan.account).await.cross_collateral, d0.cross_collateral);
    // Vic is liquidatable and solvent: Larry (no held position) takes him over
    w.liquidate(&vic, 0).await.unwrap();
    let v = w.env.margin(&vic.account).await;
    assert!(v.find(0).is_none_or(|s| v.positions[s].base < 3 * BTC), "Vic was taken over");
    w.env.assert_conservation().await;
}

/// Review of round two (F-3 through a takeover): ETH has an unbacked hole (Ann's bankruptcy, as
/// above), so closing the arbitrageur's profitable ETH long would repay the hole first. Instead
/// the arbitrageur, as a liquidator, takes over Dan's short when ETH reaches 1,676: the takeover
/// nets its long away at the mark and realizes the profit. The old code credited that profit in
/// full (forced closes are never haircut, and the liquidator's side was treated as one); the
/// liquidator's side is its own choice, so its profit repays the hole first like any order.
#[tokio::test(flavor = "current_thread")]
async fn attack_liquidator_nets_a_profit_past_the_unbacked_haircut() {
    let mut w = world(100_000 * USDC).await;
    let eth_oracle = eth(&mut w).await;
    let dan = eth_hole(&mut w, eth_oracle).await;
    let hole = w.env.market(1).await.unbacked_outstanding;
    assert!(hole > 5_000 * USDC as i64, "hole {hole}");

    // ETH at 1,676: Dan's short (20 from 1,200, 10,000 of collateral less his socialized share) is
    // liquidatable and solvent; the arbitrageur's long (its side of Dan's short) is in profit
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_676), usd(1), t);
    let arb = clone_user(&w.arb);
    let a0 = w.env.margin(&arb.account).await;
    let long0 = a0.positions[a0.find(1).unwrap()].base;
    assert!(long0 >= 20 * BTC, "{long0}");
    let i = w.liquidate_ix(&arb, arb.account, &dan, 1, 0).await;
    w.env.send(&[i], &[&arb.kp]).await.unwrap();
    let a1 = w.env.margin(&arb.account).await;
    let left = a1.find(1).map(|s| a1.positions[s].base).unwrap_or(0);
    assert_eq!(left, long0 - 20 * BTC, "the takeover netted 20 away");
    let realized = a1.realized_pnl - a0.realized_pnl;
    assert!(realized > 0, "a profit was realized: {realized}");
    let m1 = w.env.market(1).await;
    let haircut = realized.min(hole);
    assert_eq!(m1.unbacked_outstanding, hole - haircut, "the profit repaid the hole first");
    // credited: the profit less the haircut, plus the liquidation reward (half of 0.5% of the notional)
    let reward = a1.cross_collateral - a0.cross_collateral - (realized - haircut);
    assert!(reward > 0 && reward <= 20 * 1_750 * USDC as i64 / 400, "reward {reward}");
    w.env.assert_conservation().await;
}
