//! The solvency machinery through the real program: liquidation (partial, full, isolated, cross),
//! the insurance vault, bankruptcy, ranked auto-deleveraging and the socialized last resort.

use anchor_lang::prelude::Pubkey;
use perp::error::PerpError;
use perp::instructions::OrderSide;
use perp_client::{ix, pda};
use perp_core::adl::{adl_score, rank, AdlCandidate};
use perp_core::liquidation::{bankruptcy_price, liquidation_outcome, liquidation_price, min_close_size};
use perp_core::margin::{requirement, Health, MarginKind};
use perp_core::position::apply_fill;
use perp_core::vamm::Side;
use perp_core::{Base, Price, Quote, Round};

use perp_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

struct World {
    env: Env,
    oracle: Pubkey,
    larry: User,
    arb: User,
}

/// One BTC market (1,000 BTC of vAMM depth at 20,000), a liquidator and an arbitrageur.
async fn world(insurance: u64) -> World {
    let mut env = Env::new().await;
    let oracle = Keypair::new().pubkey();
    env.set_legacy_oracle(oracle, usd(20_000), usd(2), T0);
    env.create_market(0, default_market_params(vec![legacy_oracle(oracle)]), 1_000, usd(20_000)).await;
    let larry = env.user(10_000 * USDC, 1_000 * USDC).await;
    let arb = env.user(10_000_000 * USDC, 2_000_000 * USDC).await;
    if insurance > 0 {
        env.send(&[ix::deposit_insurance(arb.key(), arb.token, insurance)], &[&arb.kp]).await.unwrap();
    }
    World { env, oracle, larry, arb }
}

/// Moves the index to `price` and has the arbitrageur trade the vAMM to it.
async fn move_price(w: &mut World, price: Price) {
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, price, usd(2), t);
    let v = w.env.market(0).await.vamm();
    let d = v.size_to_price(price).unwrap();
    if d.0 != 0 {
        let side = if d.0 > 0 { OrderSide::Long } else { OrderSide::Short };
        let arb = User { kp: w.arb.kp.insecure_clone(), token: w.arb.token, account: w.arb.account };
        w.env.trade(&arb, 0, order(side, d.0.abs())).await.unwrap();
    }
}

/// Carol long 5 BTC on 10,000 of margin; Dan (2 BTC, first) and Erin (3 BTC) short; then BTC falls
/// to 18,000 (the arbitrageur follows), past Carol's bankruptcy, with a 10 USDC insurance vault.
async fn carol_long_dan_erin_short() -> (World, User, User, User) {
    let mut w = world(10 * USDC).await;
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let dan = w.env.user(100_000 * USDC, 5_000 * USDC).await;
    let erin = w.env.user(100_000 * USDC, 30_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.env.trade(&dan, 0, order(OrderSide::Short, 2 * BTC)).await.unwrap();
    w.env.trade(&erin, 0, order(OrderSide::Short, 3 * BTC)).await.unwrap();
    move_price(&mut w, usd(18_000)).await;
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

async fn liquidate(w: &mut World, victim: &User, max_base: u64) -> Result<(), solana_program_test::BanksClientError> {
    let m = w.env.market(0).await;
    let a = w.env.margin(&victim.account).await;
    let i = ix::liquidate(
        w.larry.key(),
        w.larry.account,
        victim.account,
        0,
        &ix::market_oracles(&m),
        &ix::position_markets(&a, Some(0)),
        max_base,
    );
    let kp = w.larry.kp.insecure_clone();
    w.env.send(&[i], &[&kp]).await
}

fn tiers(m: &perp::state::Market) -> Vec<perp_core::margin::Tier> {
    m.tiers()[..m.num_tiers as usize].to_vec()
}

#[tokio::test(flavor = "current_thread")]
async fn partial_then_full_liquidation_of_a_long() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.env.assert_conservation().await;

    // healthy: cannot be liquidated
    assert_error(liquidate(&mut w, &alice, 0).await, PerpError::NotLiquidatable);
    // nor by an account of the same owner
    let second = perp_client::pda::margin_account(&alice.key(), 1);
    w.env.send(&[ix::create_margin_account(alice.key(), 1)], &[&alice.kp]).await.unwrap();
    w.env.accounts.push(second);
    let m = w.env.market(0).await;
    let i = ix::liquidate(alice.key(), second, alice.account, 0, &ix::market_oracles(&m), &[], 0);
    assert_error(w.env.send(&[i], &[&alice.kp]).await, PerpError::SelfLiquidation);

    // the liquidation price perp-core shows is where the program starts to liquidate
    let a = w.env.margin(&alice.account).await;
    let lp = liquidation_price(&a.positions[0].state(), Quote(a.cross_collateral), &tiers(&m)).unwrap().unwrap();
    move_price(&mut w, Price(lp.price.0 + 2_000_000)).await;
    assert_error(liquidate(&mut w, &alice, 0).await, PerpError::NotLiquidatable);
    move_price(&mut w, lp.price).await;

    // a tiny partial close does not restore the buffer
    assert_error(liquidate(&mut w, &alice, (BTC / 100) as u64).await, PerpError::PartialLiquidationTooSmall);

    // the keeper's smallest sufficient close (perp-core, same predicate as the program)
    let m = w.env.market(0).await;
    let a = w.env.margin(&alice.account).await;
    let pos = a.positions[0].state();
    let mark = lp.price; // funding basis is zero before the first funding
    let t = tiers(&m);
    let fees = m.liquidation_fees();
    let healthy = |x: Base| -> perp_core::CoreResult<bool> {
        let fill = m.vamm().quote_trade(Side::Short, x)?;
        let out = apply_fill(pos, fill.base, fill.quote)?;
        let o = liquidation_outcome(Quote(a.cross_collateral), out.realized, fill.quote.abs()?, &fees, Quote(0))?;
        let mut h = Health::new(o.collateral_after);
        h.add_position(&out.position, mark, Quote(0), &t)?;
        let need = h.maintenance.mul_rate(perp_core::Rate(1_100_000_000), Round::Up)?;
        Ok(h.equity >= need)
    };
    let x = min_close_size(pos.base, Base(m.min_position), &healthy).unwrap();
    assert!(x.0 > 0 && x.0 < 5 * BTC, "a partial close suffices: {x:?}");
    let fill = m.vamm().quote_trade(Side::Short, x).unwrap();
    let out = apply_fill(pos, fill.base, fill.quote).unwrap();
    let o = liquidation_outcome(Quote(a.cross_collateral), out.realized, fill.quote.abs().unwrap(), &fees, Quote(0))
        .unwrap();
    let larry_before = w.env.margin(&w.larry.account).await.cross_collateral;
    let ins_before = w.env.exchange().await.insurance_balance;
    liquidate(&mut w, &alice, x.0 as u64).await.unwrap();
    let a2 = w.env.margin(&alice.account).await;
    assert_eq!(a2.positions[0].base, 5 * BTC - x.0);
    assert_eq!(a2.cross_collateral, o.collateral_after.0);
    assert_eq!(w.env.margin(&w.larry.account).await.cross_collateral, larry_before + o.liquidator_reward.0);
    assert_eq!(w.env.exchange().await.insurance_balance, ins_before + o.insurance_fee.0 as u64);
    assert!(o.liquidator_reward.0 > 0 && o.insurance_fee.0 > 0 && o.insurance_draw.0 == 0);
    w.env.assert_conservation().await;
    // after the partial close the account is healthy again
    assert_error(liquidate(&mut w, &alice, 0).await, PerpError::NotLiquidatable);

    // a further drop: liquidated in full
    let a = w.env.margin(&alice.account).await;
    let lp2 = liquidation_price(&a.positions[0].state(), Quote(a.cross_collateral), &tiers(&m)).unwrap().unwrap();
    move_price(&mut w, Price(lp2.price.0 - 20_000_000)).await;
    liquidate(&mut w, &alice, 0).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert!(!a.positions[0].in_use());
    assert!(a.cross_collateral >= 0, "no deficit: margin covered the loss");
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn gap_past_bankruptcy_draws_the_insurance_vault() {
    let mut w = world(50_000 * USDC).await;
    let bob = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&bob, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    let a = w.env.margin(&bob.account).await;
    let bp = bankruptcy_price(&a.positions[0].state(), Quote(a.cross_collateral)).unwrap();
    // gap 1,500 below the bankruptcy price
    move_price(&mut w, Price(bp.0 - 1_500_000_000)).await;
    let m = w.env.market(0).await;
    let pos = a.positions[0].state();
    let fill = m.vamm().quote_trade(Side::Short, Base(5 * BTC)).unwrap();
    let out = apply_fill(pos, fill.base, fill.quote).unwrap();
    let ex = w.env.exchange().await;
    let o = liquidation_outcome(
        Quote(a.cross_collateral),
        out.realized,
        fill.quote.abs().unwrap(),
        &m.liquidation_fees(),
        Quote(ex.insurance_balance as i64),
    )
    .unwrap();
    assert!(o.insurance_draw.0 > 0 && o.deficit.0 == 0);
    let vault_before = w.env.token_balance(&pda::insurance_vault()).await;
    liquidate(&mut w, &bob, 0).await.unwrap();
    let a = w.env.margin(&bob.account).await;
    assert!(!a.positions[0].in_use());
    assert_eq!(a.cross_collateral, 0);
    assert_eq!(w.env.token_balance(&pda::insurance_vault()).await, vault_before - o.insurance_draw.0 as u64);
    assert_eq!(w.env.exchange().await.insurance_total_out, o.insurance_draw.0 as u64);
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn bankruptcy_and_ranked_adl() {
    let (mut w, carol, dan, erin) = carol_long_dan_erin_short().await;
    w.env.assert_conservation().await;

    // the insurance vault (10 USDC plus its share of trading fees) cannot cover Carol's loss: she
    // is marked bankrupt and nothing trades
    let vamm_before = w.env.market(0).await.base_reserve.get();
    let insurance = w.env.exchange().await.insurance_balance;
    liquidate(&mut w, &carol, 0).await.unwrap();
    let a = w.env.margin(&carol.account).await;
    assert!(a.positions[0].is_bankrupt());
    assert_eq!(a.positions[0].base, 5 * BTC);
    let m = w.env.market(0).await;
    assert_eq!(m.bankrupt_accounts, 1);
    assert_eq!(m.base_reserve.get(), vamm_before);
    assert_eq!(w.env.exchange().await.insurance_balance, insurance);
    // new risk pauses on the market; reducing still works; the bankrupt account cannot trade
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
    assert_error(
        w.env.send(&[ix::auto_deleverage(0, carol.account, &[dan.account])], &[]).await,
        PerpError::AdlRankingIncomplete,
    );
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
    let mark = Price(round.mark);
    let t = tiers(&m);
    let mut expect = Vec::new();
    for u in [&dan, &erin, &w.arb] {
        let st = w.env.margin(&u.account).await.positions[0].state();
        let value = st.notional(mark).unwrap();
        let mm = requirement(&t, value, MarginKind::Maintenance).unwrap();
        if let Some(score) = adl_score(st.upnl(mark).unwrap(), st.entry_value().unwrap(), mm, value).unwrap() {
            expect.push(AdlCandidate { key: u.account.to_bytes(), size: st.base.abs().unwrap(), score });
        }
    }
    rank(&mut expect);
    assert_eq!(round.num_entries as usize, expect.len());
    for (i, c) in expect.iter().enumerate() {
        assert_eq!(round.entries[i].key.to_bytes(), c.key);
        assert_eq!(round.entries[i].score.get(), c.score.0);
    }
    // Dan shorted first, at the highest prices: he ranks first, then Erin, then the arbitrageur
    assert_eq!(round.entries[0].key, dan.account);
    assert_eq!(round.entries[1].key, erin.account);

    // out of order, or skipping a higher-ranked entry, is refused
    assert_error(
        w.env.send(&[ix::auto_deleverage(0, carol.account, &[erin.account, dan.account])], &[]).await,
        PerpError::AdlCandidateSkipped,
    );
    assert_error(
        w.env.send(&[ix::auto_deleverage(0, carol.account, &[dan.account, w.arb.account])], &[]).await,
        PerpError::AdlCandidateSkipped,
    );
    assert_error(
        w.env.send(&[ix::auto_deleverage(0, carol.account, &[w.larry.account])], &[]).await,
        PerpError::AdlOrderViolation,
    );

    // the right order: Dan (2) then Erin (3) absorb Carol's 5 BTC at her bankruptcy price
    let c = w.env.margin(&carol.account).await;
    let bp = bankruptcy_price(&c.positions[0].state(), Quote(c.cross_collateral)).unwrap();
    let d0 = w.env.margin(&dan.account).await;
    let e0 = w.env.margin(&erin.account).await;
    let pool0 = w.env.market(0).await.pnl_pool;
    w.env.send(&[ix::auto_deleverage(0, carol.account, &[dan.account, erin.account])], &[]).await.unwrap();
    let x_dan = Base(2 * BTC).value_at(bp, Round::Down).unwrap();
    let x_erin = Base(3 * BTC).value_at(bp, Round::Down).unwrap();
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
    assert!(
        c1.cross_collateral >= 0 && c1.cross_collateral < 10,
        "Carol keeps only rounding dust: {}",
        c1.cross_collateral
    );
    let m = w.env.market(0).await;
    assert_eq!(m.bankrupt_accounts, 0);
    assert_eq!(m.adl_round, 0);
    assert_eq!(m.oi_long, 0);
    let carol_realized = c1.realized_pnl - c.realized_pnl;
    // Carol paid her whole margin (but dust) into the pool; Dan and Erin were paid out of it
    assert!(m.pnl_pool <= pool0 - carol_realized - dan_realized.0 - erin_realized.0);
    assert!(m.pnl_pool >= pool0 - carol_realized - dan_realized.0 - erin_realized.0 - 10);
    // the insurance vault was never touched
    assert_eq!(w.env.exchange().await.insurance_balance, insurance);
    w.env.assert_conservation().await;
    // trading resumes
    w.env.trade(&dan, 0, order(OrderSide::Short, BTC / 10)).await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn no_candidate_left_socializes_the_loss() {
    let mut w = world(10 * USDC).await;
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    move_price(&mut w, usd(18_000)).await;
    liquidate(&mut w, &carol, 0).await.unwrap();
    assert!(w.env.margin(&carol.account).await.positions[0].is_bankrupt());
    // the index recovers before the round: the arbitrageur's short (sold on the way down, entry
    // ~19,100) is not profitable at 19,500, so nobody can be deleveraged
    w.env.set_legacy_oracle(w.oracle, usd(19_500), usd(2), w.env.now);
    let m = w.env.market(0).await;
    w.env.send(&[ix::begin_adl_round(0, &ix::market_oracles(&m), carol.account)], &[]).await.unwrap();
    // resolving before the ranking is complete is refused
    assert_error(w.env.send(&[ix::resolve_bankruptcy(0, carol.account)], &[]).await, PerpError::AdlRankingIncomplete);
    w.env.send(&[ix::adl_scan(0, &[w.arb.account])], &[]).await.unwrap();
    let round: perp::state::AdlRound =
        perp_client::decode::decode(&w.env.account_data(&pda::adl_round(0)).await.unwrap()).unwrap();
    assert_eq!(round.num_entries, 0);

    let m0 = w.env.market(0).await;
    let arb0 = w.env.margin(&w.arb.account).await;
    w.env.send(&[ix::resolve_bankruptcy(0, carol.account)], &[]).await.unwrap();
    let m1 = w.env.market(0).await;
    let c = w.env.margin(&carol.account).await;
    assert!(!c.positions[0].in_use());
    assert_eq!(c.cross_collateral, 0);
    assert_eq!(m1.bankrupt_accounts, 0);
    let loss = m1.socialized_loss;
    assert!(loss > 0);
    // the shorts (only the arbitrageur) are charged through their funding index
    let charged = m1.cum_funding_short.get() - m0.cum_funding_short.get();
    assert_eq!(charged, perp_core::funding::socialize_loss_delta(Quote(loss), Base(m0.oi_short), false).unwrap().0);
    w.env.assert_conservation().await;
    w.env.send(&[ix::settle_funding(w.arb.account, &[0])], &[]).await.unwrap();
    let arb1 = w.env.margin(&w.arb.account).await;
    let paid = arb1.funding_paid - arb0.funding_paid;
    assert!(paid >= loss && paid <= loss + 1, "the arbitrageur pays the socialized loss: {paid} vs {loss}");
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn isolated_liquidation_leaves_the_rest_untouched() {
    let mut w = world(100_000 * USDC).await;
    eth_market(&mut w).await;
    let fred = w.env.user(100_000 * USDC, 20_000 * USDC).await;
    let mut iso = order(OrderSide::Long, 2 * BTC);
    iso.isolated = true;
    iso.isolated_collateral = 2_000 * USDC;
    w.env.trade(&fred, 0, iso).await.unwrap();
    w.env.trade(&fred, 1, order(OrderSide::Long, 10 * BTC)).await.unwrap();
    let before = w.env.margin(&fred.account).await;
    move_price(&mut w, usd(19_000)).await;
    w.env.crank_funding(1).await.unwrap();
    liquidate(&mut w, &fred, 0).await.unwrap();
    let after = w.env.margin(&fred.account).await;
    assert!(!after.positions[0].in_use(), "the isolated position is closed");
    // the cross part is untouched except for what came back from the isolated margin
    assert_eq!(after.positions[1], before.positions[1]);
    let returned = after.cross_collateral - before.cross_collateral;
    assert!(returned >= 0 && returned < 2_000 * USDC as i64);
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn cross_liquidation_with_several_positions() {
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
    move_price(&mut w, Price(lp.price.0 + 1_000_000)).await;
    w.env.crank_funding(1).await.unwrap();
    assert_error(liquidate(&mut w, &gina, 0).await, PerpError::NotLiquidatable);
    move_price(&mut w, Price(lp.price.0 - 20_000_000)).await;
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
    let larry = env.user(10_000 * USDC, 1_000 * USDC).await;
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
fn bincode_len(tx: &solana_transaction::Transaction) -> usize {
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

#[tokio::test(flavor = "current_thread")]
async fn a_ranked_candidate_that_closed_is_skipped_not_stalling() {
    let (mut w, carol, dan, erin) = carol_long_dan_erin_short().await;
    liquidate(&mut w, &carol, 0).await.unwrap();
    assert!(w.env.margin(&carol.account).await.positions[0].is_bankrupt());
    let m = w.env.market(0).await;
    w.env.send(&[ix::begin_adl_round(0, &ix::market_oracles(&m), carol.account)], &[]).await.unwrap();
    w.env.send(&[ix::adl_scan(0, &[dan.account, erin.account, w.arb.account])], &[]).await.unwrap();
    // Dan, ranked first, takes his profit before ADL reaches him (reducing is always allowed)
    w.env.close(&dan, 0).await.unwrap();
    let m = w.env.market(0).await;
    assert_eq!(m.adl_scanned, m.open_positions_short, "closing a counted position keeps the count complete");
    // the keeper still names him first: he is skipped and the next ranked entries absorb Carol's 5 BTC
    let e0 = w.env.margin(&erin.account).await;
    let a0 = w.env.margin(&w.arb.account).await;
    w.env
        .send(&[ix::auto_deleverage(0, carol.account, &[dan.account, erin.account, w.arb.account])], &[])
        .await
        .unwrap();
    let e1 = w.env.margin(&erin.account).await;
    let a1 = w.env.margin(&w.arb.account).await;
    assert!(e1.find(0).is_none(), "Erin closed in full");
    assert_eq!(a1.positions[0].base, a0.positions[0].base + 2 * BTC, "the arbitrageur absorbed the remaining 2 BTC");
    assert!(e1.cross_collateral > e0.cross_collateral);
    assert!(!w.env.margin(&carol.account).await.is_bankrupt());
    assert_eq!(w.env.market(0).await.bankrupt_accounts, 0);
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_vamm_pushed_off_the_index_cannot_liquidate() {
    let mut w = world(1_000_000 * USDC).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let mallory = w.env.user(5_000_000 * USDC, 2_000_000 * USDC).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    let m = w.env.market(0).await;
    let lp = liquidation_price(&a.positions[0].state(), Quote(a.cross_collateral), &tiers(&m)).unwrap().unwrap();
    move_price(&mut w, lp.price).await;
    // Mallory dumps the vAMM 5% below the index just before the liquidation
    let v = w.env.market(0).await.vamm();
    let d = v.size_to_price(Price(lp.price.0 / 100 * 95)).unwrap();
    w.env.trade(&mallory, 0, order(OrderSide::Short, -d.0)).await.unwrap();
    let ins = w.env.exchange().await.insurance_balance;
    assert_error(liquidate(&mut w, &alice, 0).await, PerpError::LiquidationSlippage);
    assert_eq!(w.env.exchange().await.insurance_balance, ins, "nothing was paid out");
    // once arbitrage brings the vAMM back, the liquidation goes through
    move_price(&mut w, lp.price).await;
    liquidate(&mut w, &alice, 0).await.unwrap();
    w.env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_cross_loss_elsewhere_is_socialized_not_forced_on_counterparties() {
    let mut w = world(10 * USDC).await;
    eth_market(&mut w).await;
    let gina = w.env.user(500_000 * USDC, 12_000 * USDC).await;
    let dan = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&gina, 0, order(OrderSide::Long, BTC)).await.unwrap();
    w.env.trade(&dan, 0, order(OrderSide::Short, BTC)).await.unwrap();
    w.env.trade(&gina, 1, order(OrderSide::Long, 30 * BTC)).await.unwrap();
    // ETH crashes by a third; BTC dips 1% (Dan's short is in profit)
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(19_800), usd(2), t);
    move_price(&mut w, usd(19_800)).await;
    let eth_oracle = {
        let m1 = w.env.market(1).await;
        m1.oracles[0].key
    };
    w.env.set_legacy_oracle(eth_oracle, usd(1_000), usd(1), t);
    let v = w.env.market(1).await.vamm();
    let d = v.size_to_price(usd(1_000)).unwrap();
    let arb = User { kp: w.arb.kp.insecure_clone(), token: w.arb.token, account: w.arb.account };
    w.env.trade(&arb, 1, order(OrderSide::Short, -d.0)).await.unwrap();
    // the ETH position goes first: other positions remain, so the cross balance goes negative
    let m1 = w.env.market(1).await;
    let i = ix::liquidate(w.larry.key(), w.larry.account, gina.account, 1, &ix::market_oracles(&m1), &[0], 0);
    let kp = w.larry.kp.insecure_clone();
    w.env.send(&[i], &[&kp]).await.unwrap();
    let g = w.env.margin(&gina.account).await;
    assert!(g.cross_collateral < -1_000 * USDC as i64, "cross balance {}", g.cross_collateral);
    // now BTC, the last position of the group: insurance cannot cover it, so it is bankrupt with a
    // bankruptcy price far above the mark
    let m0 = w.env.market(0).await;
    let i = ix::liquidate(w.larry.key(), w.larry.account, gina.account, 0, &ix::market_oracles(&m0), &[], 0);
    w.env.send(&[i], &[&kp]).await.unwrap();
    let g = w.env.margin(&gina.account).await;
    assert!(g.positions[g.find(0).unwrap()].is_bankrupt());
    let pb = bankruptcy_price(&g.positions[g.find(0).unwrap()].state(), Quote(g.cross_collateral)).unwrap();
    assert!(pb > usd(21_000), "bankruptcy price {pb} is far above the mark");
    let m0 = w.env.market(0).await;
    w.env.send(&[ix::begin_adl_round(0, &ix::market_oracles(&m0), gina.account)], &[]).await.unwrap();
    w.env.send(&[ix::adl_scan(0, &[dan.account, w.arb.account])], &[]).await.unwrap();
    let round: perp::state::AdlRound =
        perp_client::decode::decode(&w.env.account_data(&pda::adl_round(0)).await.unwrap()).unwrap();
    let cands: Vec<_> = round.entries[..round.num_entries as usize].iter().map(|e| e.key).collect();
    let d0 = w.env.margin(&dan.account).await;
    let before = w.env.market(0).await;
    w.env.send(&[ix::auto_deleverage(0, gina.account, &cands)], &[]).await.unwrap();
    // Dan was closed at no worse than the mark plus the position's maintenance rate (1%)
    let d1 = w.env.margin(&dan.account).await;
    let cap = Price(round.mark).scale_by_one_plus(perp_core::Rate(10_000_000), Round::Down).unwrap();
    let worst = apply_fill(d0.positions[0].state(), Base(BTC), Quote(-Base(BTC).value_at(cap, Round::Down).unwrap().0))
        .unwrap()
        .realized;
    assert!(d1.cross_collateral - d0.cross_collateral >= worst.0, "Dan was closed beyond the band");
    // the rest of Gina's loss is socialized over the shorts and recorded
    let after = w.env.market(0).await;
    assert!(after.socialized_loss > before.socialized_loss + 1_000 * USDC as i64, "{}", after.socialized_loss);
    let g = w.env.margin(&gina.account).await;
    assert!(!g.is_bankrupt() && g.cross_collateral == 0);
    w.env.assert_conservation().await;
}
