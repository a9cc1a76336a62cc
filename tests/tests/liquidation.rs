//! The solvency machinery through the real program: liquidation by takeover (partial, full,
//! isolated, cross), the market's insurance fund, bankruptcy, ranked auto-deleveraging and the
//! socialized last resort.

use anchor_lang::prelude::Pubkey;
use perp::error::PerpError;
use perp::instructions::OrderSide;
use perp_client::{ix, pda};
use perp_core::adl::{adl_price, adl_score, rank, AdlCandidate};
use perp_core::liquidation::{liquidation_price, min_close_size, LiquidationFees};
use perp_core::margin::{requirement, Health, MarginKind, PositionState, Tier};
use perp_core::position::apply_fill;
use perp_core::takeover::{deficit_price, takeover_penalty, takeover_quote, TakeoverPenalty};
use perp_core::{Base, Price, Quote, Rate, Round};

use perp_tests::world::*;
use perp_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Carol long 5 BTC on 10,000 of margin; Dan (2 BTC, first) and Erin (3 BTC) short; then BTC falls
/// to 18,000 (the arbitrageur follows), past Carol's bankruptcy, with a 10 USDC insurance fund.
async fn carol_long_dan_erin_short() -> (World, User, User, User) {
    let mut w = world(10 * USDC).await;
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let dan = w.env.user(100_000 * USDC, 5_000 * USDC).await;
    let erin = w.env.user(100_000 * USDC, 30_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.env.trade(&dan, 0, order(OrderSide::Short, 2 * BTC)).await.unwrap();
    w.env.trade(&erin, 0, order(OrderSide::Short, 3 * BTC)).await.unwrap();
    w.move_price(usd(18_000)).await;
    (w, carol, dan, erin)
}

/// Market 1: ETH at 1,500 with 10,000 ETH of vAMM depth.
async fn eth_market(w: &mut World) {
    let oracle = Keypair::new().pubkey();
    w.env.set_legacy_oracle(oracle, usd(1_500), usd(1), T0);
    let mut p = default_market_params(vec![legacy_oracle(oracle)]);
    p.name = *b"ETH-PERP\0\0\0\0\0\0\0\0";
    w.env.create_market(1, p, 10_000, usd(1_500)).await;
}

/// Larry liquidates `victim`'s position in `market` (the markets it needs are looked up).
async fn liquidate_in(
    w: &mut World,
    victim: &User,
    market: u16,
    max_base: u64,
) -> Result<(), solana_program_test::BanksClientError> {
    let larry = clone_user(&w.larry);
    let i = w.liquidate_ix(&larry, larry.account, victim, market, max_base).await;
    w.env.send(&[i], &[&larry.kp]).await
}

async fn liquidate(w: &mut World, victim: &User, max_base: u64) -> Result<(), solana_program_test::BanksClientError> {
    liquidate_in(w, victim, 0, max_base).await
}

async fn adl(
    w: &mut World,
    bankrupt: &User,
    candidates: &[Pubkey],
) -> Result<(), solana_program_test::BanksClientError> {
    let m = w.env.market(0).await;
    w.env.send(&[ix::auto_deleverage(0, &ix::market_oracles(&m), bankrupt.account, candidates)], &[]).await
}

async fn resolve(w: &mut World, bankrupt: &User) -> Result<(), solana_program_test::BanksClientError> {
    let m = w.env.market(0).await;
    w.env.send(&[ix::resolve_bankruptcy(0, &ix::market_oracles(&m), bankrupt.account)], &[]).await
}

fn tiers(m: &perp::state::Market) -> Vec<Tier> {
    m.tiers()[..m.tier_count()].to_vec()
}

/// What a takeover of `x` (> 0) of a lone position `pos` with collateral `c` at `mark` does, by
/// perp-core: the victim's realized PnL, the penalty, its collateral and health after.
fn takeover(
    pos: PositionState,
    c: Quote,
    x: i64,
    mark: Price,
    fees: &LiquidationFees,
    t: &[Tier],
) -> (Quote, TakeoverPenalty, Quote, Health) {
    let closed = Base(x * pos.base.signum());
    let q = takeover_quote(closed, mark).unwrap();
    let out = apply_fill(pos, Base(-closed.0), q).unwrap();
    let c1 = c.checked_add(out.realized).unwrap();
    let mut after = Health::new(c1);
    if !out.position.base.is_zero() {
        after.add_position(&out.position, mark, Quote(0), t).unwrap();
    }
    let pen = takeover_penalty(after.equity, closed.notional_at(mark, Round::Up).unwrap(), fees).unwrap();
    let c2 = Quote(c1.0 - pen.reward.0 - pen.insurance_fee.0);
    let mut h = Health::new(c2);
    if !out.position.base.is_zero() {
        h.add_position(&out.position, mark, Quote(0), t).unwrap();
    }
    (out.realized, pen, c2, h)
}

#[tokio::test(flavor = "current_thread")]
async fn partial_then_full_takeover_of_a_long() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.env.assert_conservation().await;

    // healthy: cannot be liquidated
    assert_error(liquidate(&mut w, &alice, 0).await, PerpError::NotLiquidatable);
    // nor by an account of the same owner
    let second = w.env.second_account(&alice, 1, 0).await;
    let m = w.env.market(0).await;
    let i = ix::liquidate(alice.key(), second, alice.account, 0, &ix::market_oracles(&m), &[], 0);
    assert_error(w.env.send(&[i], &[&alice.kp]).await, PerpError::SelfLiquidation);

    // the liquidation price perp-core shows is where the program starts to liquidate
    let a = w.env.margin(&alice.account).await;
    let lp = liquidation_price(&a.positions[0].state(), Quote(a.cross_collateral), &tiers(&m)).unwrap().unwrap();
    w.move_price(Price(lp.price.0 + 2_000_000)).await;
    assert_error(liquidate(&mut w, &alice, 0).await, PerpError::NotLiquidatable);
    w.move_price(lp.price).await;

    // a tiny partial takeover does not restore the buffer
    assert_error(liquidate(&mut w, &alice, (BTC / 100) as u64).await, PerpError::PartialLiquidationTooSmall);

    // the keeper's smallest sufficient takeover (perp-core, the program's predicate)
    let m = w.env.market(0).await;
    let a = w.env.margin(&alice.account).await;
    let pos = a.positions[0].state();
    let mark = lp.price; // funding basis is zero before the first funding
    let t = tiers(&m);
    let fees = m.liquidation_fees();
    let c = Quote(a.cross_collateral);
    let healthy = |x: Base| -> perp_core::CoreResult<bool> {
        let (_, _, _, h) = takeover(pos, c, x.0, mark, &fees, &t);
        Ok(h.equity >= h.maintenance.mul_rate(Rate(1_100_000_000), Round::Up)?)
    };
    let x = min_close_size(pos.base, Base(m.min_position), &healthy).unwrap();
    assert!(x.0 > 0 && x.0 < 5 * BTC, "a partial takeover suffices: {x:?}");
    let (_, pen, c_after, _) = takeover(pos, c, x.0, mark, &fees, &t);
    let l0 = w.env.margin(&w.larry.account).await;
    let vamm0 = m.base_reserve.get();
    let ins0 = m.insurance_fund;
    liquidate(&mut w, &alice, x.0 as u64).await.unwrap();
    let a2 = w.env.margin(&alice.account).await;
    assert_eq!(a2.positions[0].base, 5 * BTC - x.0);
    assert_eq!(a2.cross_collateral, c_after.0);
    // Larry holds what he took over, at the mark, plus his reward
    let l1 = w.env.margin(&w.larry.account).await;
    assert_eq!(l1.positions[0].base, x.0);
    assert_eq!(l1.positions[0].quote_entry, -takeover_quote(Base(x.0), mark).unwrap().0);
    assert_eq!(l1.cross_collateral, l0.cross_collateral + pen.reward.0);
    let m2 = w.env.market(0).await;
    assert_eq!(m2.insurance_fund, ins0 + pen.insurance_fee.0);
    assert_eq!(m2.base_reserve.get(), vamm0, "the vAMM is not touched");
    assert_eq!(m2.oi_long, m.oi_long, "open interest moved from Alice to Larry");
    assert!(pen.reward.0 > 0 && pen.insurance_fee.0 > 0);
    w.env.assert_conservation().await;
    // after the partial takeover the account is healthy again
    assert_error(liquidate(&mut w, &alice, 0).await, PerpError::NotLiquidatable);

    // a further drop: taken over in full
    let a = w.env.margin(&alice.account).await;
    let lp2 = liquidation_price(&a.positions[0].state(), Quote(a.cross_collateral), &tiers(&m)).unwrap().unwrap();
    w.move_price(Price(lp2.price.0 - 20_000_000)).await;
    liquidate(&mut w, &alice, 0).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert!(!a.positions[0].in_use());
    assert!(a.cross_collateral >= 0, "no deficit: the margin covered the loss at the mark");
    assert_eq!(w.env.margin(&w.larry.account).await.positions[0].base, 5 * BTC);
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_gap_past_bankruptcy_draws_the_market_insurance_fund() {
    let mut w = world(50_000 * USDC).await;
    let bob = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&bob, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    let a = w.env.margin(&bob.account).await;
    let pos = a.positions[0].state();
    let bp = perp_core::liquidation::bankruptcy_price(&pos, Quote(a.cross_collateral)).unwrap();
    // gap 1,500 below the bankruptcy price
    let mark = Price(bp.0 - 1_500_000_000);
    w.move_price(mark).await;
    let m = w.env.market(0).await;
    let equity = Quote(a.cross_collateral).checked_add(pos.upnl(mark).unwrap()).unwrap();
    assert!(equity.is_negative());
    let ins0 = m.insurance_fund;
    liquidate(&mut w, &bob, 0).await.unwrap();
    let a = w.env.margin(&bob.account).await;
    assert!(!a.positions[0].in_use());
    // the fund paid exactly the deficit at the mark; nobody was paid a reward out of it
    assert_eq!(a.cross_collateral, 0);
    let m1 = w.env.market(0).await;
    assert_eq!(m1.insurance_fund, ins0 - (-equity.0));
    assert_eq!(m1.insurance_total_out, (-equity.0) as u64);
    assert_eq!(w.env.margin(&w.larry.account).await.cross_collateral, 1_000_000 * USDC as i64, "no reward");
    w.env.assert_conservation().await;
    // the sweep moves the draw's tokens from the insurance vault to the collateral vault
    let vault0 = w.env.token_balance(&pda::insurance_vault()).await;
    w.env.sweep(0).await.unwrap();
    assert_eq!(w.env.token_balance(&pda::insurance_vault()).await, (vault0 as i64 + m1.insurance_pending) as u64);
    assert_eq!(w.env.market(0).await.insurance_pending, 0);
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn bankruptcy_and_ranked_adl() {
    let (mut w, carol, dan, erin) = carol_long_dan_erin_short().await;
    w.env.assert_conservation().await;

    // the insurance fund (10 USDC plus its share of trading fees) cannot cover Carol's deficit:
    // she is marked bankrupt at her deficit price and nothing trades
    let c0 = w.env.margin(&carol.account).await;
    let m0 = w.env.market(0).await;
    let mark = usd(18_000);
    let equity = Quote(c0.cross_collateral).checked_add(c0.positions[0].state().upnl(mark).unwrap()).unwrap();
    assert!(-equity.0 > m0.insurance_fund, "deficit {} > fund {}", -equity.0, m0.insurance_fund);
    liquidate(&mut w, &carol, 0).await.unwrap();
    let a = w.env.margin(&carol.account).await;
    assert!(a.positions[0].is_bankrupt());
    assert_eq!(a.positions[0].base, 5 * BTC);
    // the fund pays what it holds; the rest of the deficit sets her bankruptcy price
    let pb = deficit_price(&c0.positions[0].state(), mark, Quote(-equity.0 - m0.insurance_fund)).unwrap();
    assert_eq!(a.positions[0].bankruptcy_price, pb.0);
    assert_eq!(a.cross_collateral, c0.cross_collateral + m0.insurance_fund);
    let m = w.env.market(0).await;
    assert_eq!(m.bankrupt_accounts, 1);
    assert_eq!(m.base_reserve.get(), m0.base_reserve.get());
    assert_eq!(m.insurance_fund, 0, "the fund paid all it held; ADL takes the rest");
    // new risk pauses on the market; reducing still works; the bankrupt position cannot trade
    assert_error(w.env.trade(&dan, 0, order(OrderSide::Short, BTC / 10)).await, PerpError::MarketHasBankruptcy);
    assert_error(w.env.trade(&carol, 0, order(OrderSide::Short, BTC)).await, PerpError::AccountBankrupt);
    assert_error(liquidate(&mut w, &carol, 0).await, PerpError::AccountBankrupt);
    w.env.assert_conservation().await;

    // round: shorts are the counterparties
    let m = w.env.market(0).await;
    w.env.send(&[ix::begin_adl_round(0, &ix::market_oracles(&m), carol.account)], &[]).await.unwrap();
    assert_error(
        w.env.send(&[ix::begin_adl_round(0, &ix::market_oracles(&m), carol.account)], &[]).await,
        PerpError::AdlRoundOpen,
    );
    // a round is always for a bankrupt position's counterparties
    assert_error(
        w.env.send(&[ix::begin_adl_round(0, &ix::market_oracles(&m), dan.account)], &[]).await,
        PerpError::NotBankrupt,
    );
    // ADL before the ranking is complete is refused
    w.env.send(&[ix::adl_scan(0, &[dan.account])], &[]).await.unwrap();
    assert_error(adl(&mut w, &carol, &[dan.account]).await, PerpError::AdlRankingIncomplete);
    // scanning the same account twice counts it once; accounts without a short are skipped
    w.env
        .send(&[ix::adl_scan(0, &[dan.account, erin.account, w.arb.account, carol.account, w.larry.account])], &[])
        .await
        .unwrap();
    let m = w.env.market(0).await;
    assert_eq!(m.adl_scanned, 3);
    assert_eq!(m.adl_scanned, m.open_positions_short);

    // the expected ranking, by perp-core at the round's mark
    let round: perp::state::AdlRound =
        perp_client::decode::decode(&w.env.account_data(&pda::adl_round(0)).await.unwrap()).unwrap();
    let rmark = Price(round.mark);
    let t = tiers(&m);
    let mut expect = Vec::new();
    for u in [&dan, &erin, &w.arb] {
        let st = w.env.margin(&u.account).await.positions[0].state();
        let value = st.notional(rmark).unwrap();
        let mm = requirement(&t, value, MarginKind::Maintenance).unwrap();
        if let Some(score) = adl_score(st.upnl(rmark).unwrap(), st.entry_value().unwrap(), mm, value).unwrap() {
            expect.push(AdlCandidate { key: u.account.to_bytes(), size: st.base.abs().unwrap(), score });
        }
    }
    rank(&mut expect);
    assert_eq!(round.entry_count(), expect.len());
    for (i, c) in expect.iter().enumerate() {
        assert_eq!(round.entries[i].key.to_bytes(), c.key);
        assert_eq!(round.entries[i].score.get(), c.score.0);
    }
    // Dan shorted first, at the highest prices: he ranks first, then Erin, then the arbitrageur
    assert_eq!(round.entries[0].key, dan.account);
    assert_eq!(round.entries[1].key, erin.account);

    // out of order, or skipping a higher-ranked entry, is refused
    assert_error(adl(&mut w, &carol, &[erin.account, dan.account]).await, PerpError::AdlCandidateSkipped);
    let (arb_acct, larry_acct) = (w.arb.account, w.larry.account);
    assert_error(adl(&mut w, &carol, &[dan.account, arb_acct]).await, PerpError::AdlCandidateSkipped);
    assert_error(adl(&mut w, &carol, &[larry_acct]).await, PerpError::AdlOrderViolation);

    // the right order: Dan (2) then Erin (3) absorb Carol's 5 BTC at her bankruptcy price (within
    // 2% — her tier's maintenance rate — of the live mark, so used as is)
    let price = adl_price(pb, mark, Rate(20_000_000)).unwrap();
    assert_eq!(price, pb);
    let d0 = w.env.margin(&dan.account).await;
    let e0 = w.env.margin(&erin.account).await;
    let pool0 = w.env.market(0).await.pnl_pool;
    adl(&mut w, &carol, &[dan.account, erin.account]).await.unwrap();
    let x_dan = Base(2 * BTC).value_at(pb, Round::Down).unwrap();
    let x_erin = Base(3 * BTC).value_at(pb, Round::Down).unwrap();
    let dan_realized = apply_fill(d0.positions[0].state(), Base(2 * BTC), Quote(-x_dan.0)).unwrap().realized;
    let erin_realized = apply_fill(e0.positions[0].state(), Base(3 * BTC), Quote(-x_erin.0)).unwrap().realized;
    let d1 = w.env.margin(&dan.account).await;
    let e1 = w.env.margin(&erin.account).await;
    assert!(!d1.positions[0].in_use() && !e1.positions[0].in_use());
    assert_eq!(d1.cross_collateral, d0.cross_collateral + dan_realized.0);
    assert_eq!(e1.cross_collateral, e0.cross_collateral + erin_realized.0);
    // each kept profit up to the bankruptcy price (above the mark, so less than at mark)
    assert!(dan_realized.0 > 0 && erin_realized.0 > 0);
    let c1 = w.env.margin(&carol.account).await;
    assert!(!c1.positions[0].in_use() && !c1.is_bankrupt());
    assert!(c1.cross_collateral >= 0 && c1.cross_collateral < 10, "Carol keeps only dust: {}", c1.cross_collateral);
    let m = w.env.market(0).await;
    assert_eq!((m.bankrupt_accounts, m.adl_round, m.oi_long), (0, 0, 0));
    let carol_realized = c1.realized_pnl - c0.realized_pnl;
    // Carol paid her whole margin (but dust) into the pool; Dan and Erin were paid out of it
    assert!(m.pnl_pool <= pool0 - carol_realized - dan_realized.0 - erin_realized.0);
    assert!(m.pnl_pool >= pool0 - carol_realized - dan_realized.0 - erin_realized.0 - 10);
    assert_eq!(m.socialized_loss, 0);
    assert_eq!(m.insurance_fund, 0, "the insurance fund paid what it held before ADL, and nothing after");
    w.env.assert_conservation().await;
    // trading resumes
    w.env.trade(&dan, 0, order(OrderSide::Short, BTC / 10)).await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn no_counterparty_left_socializes_down_the_chain() {
    let mut w = world(10 * USDC).await;
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.move_price(usd(18_000)).await;
    liquidate(&mut w, &carol, 0).await.unwrap();
    let pb = Price(w.env.margin(&carol.account).await.positions[0].bankruptcy_price);
    assert!(pb > usd(18_000));
    // the arbitrageur buys back its short (reducing is always allowed): nobody is short
    let a = w.env.margin(&w.arb.account).await;
    let arb = User { kp: w.arb.kp.insecure_clone(), token: w.arb.token, account: w.arb.account };
    assert!(a.positions[0].base < 0);
    w.env.close(&arb, 0).await.unwrap();
    let m = w.env.market(0).await;
    w.env.send(&[ix::begin_adl_round(0, &ix::market_oracles(&m), carol.account)], &[]).await.unwrap();
    let m = w.env.market(0).await;
    assert_eq!(m.open_positions_short, 0, "the round is complete at once");

    // the last resort: the book takes the long at the mark (below the bankruptcy price); the loss
    // beyond it goes to the shorts (none), then the fee pool, then is left unbacked
    let mark = usd(18_000);
    let fee_pool0 = m.fee_pool;
    let loss =
        Base(5 * BTC).value_at(pb, Round::Down).unwrap().0 - Base(5 * BTC).value_at(mark, Round::Down).unwrap().0;
    assert!(loss > 0);
    resolve(&mut w, &carol).await.unwrap();
    let m1 = w.env.market(0).await;
    let c = w.env.margin(&carol.account).await;
    assert!(!c.positions[0].in_use());
    assert!(c.cross_collateral >= 0 && c.cross_collateral < 10, "{}", c.cross_collateral);
    assert_eq!(m1.bankrupt_accounts, 0);
    assert_eq!(m1.socialized_loss, loss);
    let from_fees = loss.min(fee_pool0);
    assert_eq!(m1.fee_pool, fee_pool0 - from_fees);
    assert_eq!(m1.unbacked_loss, loss - from_fees);
    assert_eq!(m1.base_reserve.get(), m.base_reserve.get(), "the vAMM is not touched");
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn isolated_takeover_leaves_the_rest_untouched() {
    let mut w = world(100_000 * USDC).await;
    eth_market(&mut w).await;
    let fred = w.env.user(100_000 * USDC, 20_000 * USDC).await;
    let mut iso = order(OrderSide::Long, 2 * BTC);
    iso.isolated = true;
    iso.isolated_collateral = 2_000 * USDC;
    w.env.trade(&fred, 0, iso).await.unwrap();
    w.env.trade(&fred, 1, order(OrderSide::Long, 10 * BTC)).await.unwrap();
    let before = w.env.margin(&fred.account).await;
    w.move_price(usd(19_000)).await;
    // ETH's cached index may be as stale as it likes: an isolated group needs no other market
    w.env.advance(3_600).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(19_000), usd(2), t);
    liquidate(&mut w, &fred, 0).await.unwrap();
    let after = w.env.margin(&fred.account).await;
    assert!(!after.positions[0].in_use(), "the isolated position is taken over");
    // the cross part is untouched except for what came back from the isolated margin
    assert_eq!(after.positions[1], before.positions[1]);
    let returned = after.cross_collateral - before.cross_collateral;
    assert!(returned >= 0 && returned < 2_000 * USDC as i64);
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn cross_takeover_with_several_positions() {
    let mut w = world(100_000 * USDC).await;
    eth_market(&mut w).await;
    let gina = w.env.user(200_000 * USDC, 12_000 * USDC).await;
    w.env.trade(&gina, 0, order(OrderSide::Long, 4 * BTC)).await.unwrap();
    w.env.trade(&gina, 1, order(OrderSide::Long, 30 * BTC)).await.unwrap();
    // the BTC price at which the cross group goes under maintenance, with the ETH position's
    // PnL and maintenance folded into the effective collateral (perp-core's cross formula)
    let a = w.env.margin(&gina.account).await;
    let m0 = w.env.market(0).await;
    let m1 = w.env.market(1).await;
    let eth = a.positions[1].state();
    let eth_mm = requirement(&tiers(&m1), eth.notional(usd(1_500)).unwrap(), MarginKind::Maintenance).unwrap();
    let effective = Quote(a.cross_collateral + eth.upnl(usd(1_500)).unwrap().0 - eth_mm.0);
    let lp = liquidation_price(&a.positions[0].state(), effective, &tiers(&m0)).unwrap().unwrap();
    w.move_price(Price(lp.price.0 + 1_000_000)).await;
    w.env.crank_funding(1).await.unwrap();
    assert_error(liquidate(&mut w, &gina, 0).await, PerpError::NotLiquidatable);
    w.move_price(Price(lp.price.0 - 20_000_000)).await;
    // the liquidation needs the account's other market
    let m = w.env.market(0).await;
    let i = ix::liquidate(w.larry.key(), w.larry.account, gina.account, 0, &ix::market_oracles(&m), &[], 0);
    let kp = w.larry.kp.insecure_clone();
    assert_error(w.env.send(&[i], &[&kp]).await, PerpError::MissingMarketAccount);
    liquidate(&mut w, &gina, 0).await.unwrap();
    let a = w.env.margin(&gina.account).await;
    assert!(!a.positions[0].in_use());
    assert_eq!(a.positions[1].base, 30 * BTC, "the ETH position stays while the group is healthy again");
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn liquidation_with_eight_oracles_fits_one_transaction() {
    let mut env = Env::new().await;
    let keys: Vec<Pubkey> = (0..8).map(|_| Keypair::new().pubkey()).collect();
    for (i, k) in keys.iter().enumerate() {
        if i % 2 == 0 {
            env.set_legacy_oracle(*k, usd(20_000), usd(2), T0);
        } else {
            env.set_pull_oracle(*k, [i as u8; 32], usd(20_000), usd(2), T0, true);
        }
    }
    let oracles = keys
        .iter()
        .enumerate()
        .map(|(i, k)| if i % 2 == 0 { legacy_oracle(*k) } else { pull_oracle(*k, [i as u8; 32]) })
        .collect();
    let mut p = default_market_params(oracles);
    p.min_sources = 5;
    env.create_market(0, p, 1_000, usd(20_000)).await;
    let larry = env.user(1_000_000 * USDC, 100_000 * USDC).await;
    let vic = env.user(100_000 * USDC, 4_000 * USDC).await;
    env.trade(&vic, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    for (i, k) in keys.iter().enumerate() {
        if i % 2 == 0 {
            env.set_legacy_oracle(*k, usd(19_500), usd(2), T0);
        } else {
            env.set_pull_oracle(*k, [i as u8; 32], usd(19_500), usd(2), T0, true);
        }
    }
    let i = ix::liquidate(larry.key(), larry.account, vic.account, 0, &keys, &[], 0);
    // count accounts and bytes of the signed transaction (no lookup tables)
    let payer = env.payer();
    let bh = env.ctx.banks_client.get_latest_blockhash().await.unwrap();
    let tx = solana_transaction::Transaction::new_signed_with_payer(
        std::slice::from_ref(&i),
        Some(&payer.pubkey()),
        &[&payer, &larry.kp],
        bh,
    );
    let bytes = bincode_len(&tx);
    let accounts = tx.message.account_keys.len();
    println!("liquidation with 8 oracles: {accounts} accounts, {bytes} bytes (limit 1232)");
    assert!(accounts <= 20, "{accounts} accounts");
    assert!(bytes <= 1232, "{bytes} bytes");
    env.send(&[i], &[&larry.kp]).await.unwrap();
    assert!(
        !env.margin(&vic.account).await.positions[0].in_use()
            || env.margin(&vic.account).await.positions[0].base < 5 * BTC
    );
    env.assert_conservation().await;
}

/// Serialized size of a legacy transaction: signatures, message header, keys, blockhash,
/// instructions (compact-u16 lengths).
pub fn bincode_len(tx: &solana_transaction::Transaction) -> usize {
    fn cu16(n: usize) -> usize {
        if n < 0x80 {
            1
        } else if n < 0x4000 {
            2
        } else {
            3
        }
    }
    let m = &tx.message;
    let mut len = cu16(tx.signatures.len()) + 64 * tx.signatures.len();
    len += 3 + cu16(m.account_keys.len()) + 32 * m.account_keys.len() + 32;
    len += cu16(m.instructions.len());
    for ci in &m.instructions {
        len += 1 + cu16(ci.accounts.len()) + ci.accounts.len() + cu16(ci.data.len()) + ci.data.len();
    }
    len
}

/// A ranked candidate cannot take its profit before ADL reaches it: Dan, ranked first, tries to
/// close at the vAMM while Carol's bankruptcy is open and is refused (`ProfitHeldForAdl`); the
/// keeper's step then closes him and Erin at Carol's bankruptcy price. (A ranked account emptied
/// by a takeover, or no longer in profit at the round's mark, is skipped as used up:
/// `attack_ranked_candidate_turns_ineligible_and_stalls_adl`.)
#[tokio::test(flavor = "current_thread")]
async fn a_ranked_candidate_cannot_take_its_profit_before_adl() {
    let (mut w, carol, dan, erin) = carol_long_dan_erin_short().await;
    liquidate(&mut w, &carol, 0).await.unwrap();
    assert!(w.env.margin(&carol.account).await.positions[0].is_bankrupt());
    let m = w.env.market(0).await;
    w.env.send(&[ix::begin_adl_round(0, &ix::market_oracles(&m), carol.account)], &[]).await.unwrap();
    w.env.send(&[ix::adl_scan(0, &[dan.account, erin.account, w.arb.account])], &[]).await.unwrap();
    let d0 = w.env.margin(&dan.account).await;
    assert_error(w.env.close(&dan, 0).await, PerpError::ProfitHeldForAdl);
    assert_eq!(w.env.margin(&dan.account).await.cross_collateral, d0.cross_collateral);
    let e0 = w.env.margin(&erin.account).await;
    let a0 = w.env.margin(&w.arb.account).await;
    let arb_acct = w.arb.account;
    adl(&mut w, &carol, &[dan.account, erin.account, arb_acct]).await.unwrap();
    let (d1, e1, a1) =
        (w.env.margin(&dan.account).await, w.env.margin(&erin.account).await, w.env.margin(&w.arb.account).await);
    assert!(d1.find(0).is_none() && e1.find(0).is_none(), "Dan (2) and Erin (3) absorbed Carol's 5 BTC");
    assert_eq!(a1.positions[0].base, a0.positions[0].base, "the arbitrageur was not needed");
    assert!(d1.cross_collateral > d0.cross_collateral && e1.cross_collateral > e0.cross_collateral);
    assert!(!w.env.margin(&carol.account).await.is_bankrupt());
    assert_eq!(w.env.market(0).await.bankrupt_accounts, 0);
    // with the bankruptcy over, positions may be closed at a profit again
    let arb = perp_tests::world::clone_user(&w.arb);
    w.env.close(&arb, 0).await.unwrap();
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_loss_in_another_market_is_attributed_to_it() {
    // Gina: a BTC long in profit and an ETH long that crashes; her cross group goes under water.
    // The deficit arose in ETH, so ETH's insurance fund and ETH's side carry it, whatever order
    // the liquidator picks; BTC's books are untouched.
    let mut w = world(10 * USDC).await;
    eth_market(&mut w).await;
    let gina = w.env.user(500_000 * USDC, 12_000 * USDC).await;
    let dan = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let eve = w.env.user(1_000_000 * USDC, 200_000 * USDC).await;
    w.env.trade(&gina, 0, order(OrderSide::Long, BTC)).await.unwrap();
    w.env.trade(&dan, 0, order(OrderSide::Short, BTC)).await.unwrap();
    w.env.trade(&gina, 1, order(OrderSide::Long, 30 * BTC)).await.unwrap();
    w.env.trade(&eve, 1, order(OrderSide::Short, 30 * BTC)).await.unwrap();
    // BTC rises 1% (Gina's long is in profit); ETH crashes by a third
    w.move_price(usd(20_200)).await;
    let eth_oracle = w.env.market(1).await.oracles[0].key;
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_000), usd(1), t);
    // ETH's cached index, which the BTC takeover reads; a liquidation counts another market's
    // move once its time-weighted index has followed it
    w.env.crank_funding(1).await.unwrap();
    w.env.advance(60).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_000), usd(1), t);
    let btc_oracle = w.oracle;
    w.env.set_legacy_oracle(btc_oracle, usd(20_200), usd(2), t);
    w.env.crank_funding(1).await.unwrap();
    let btc0 = w.env.market(0).await;
    // BTC first: it is in profit, so it carries none of the deficit and is taken over at the mark
    liquidate_in(&mut w, &gina, 0, 0).await.unwrap();
    let btc1 = w.env.market(0).await;
    assert_eq!(btc1.insurance_total_out, btc0.insurance_total_out, "BTC's fund is not drawn");
    assert_eq!(btc1.cum_funding_short.get(), btc0.cum_funding_short.get());
    assert_eq!(btc1.bankrupt_accounts, 0);
    // ETH, now the last position: its fund (a few fees) cannot pay, so it is bankrupt in ETH
    liquidate_in(&mut w, &gina, 1, 0).await.unwrap();
    let g = w.env.margin(&gina.account).await;
    let slot = g.find(1).unwrap();
    assert!(g.positions[slot].is_bankrupt());
    assert_eq!(w.env.market(1).await.bankrupt_accounts, 1);
    assert_eq!(w.env.market(0).await.cum_funding_short.get(), btc0.cum_funding_short.get());
    w.env.assert_conservation().await;
}
