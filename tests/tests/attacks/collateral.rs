//! Attacks on listed collateral: a fake listing by a stolen admin key, manipulated collateral
//! oracles, deposits over the cap, withdrawals after a price spike, self-liquidation for the
//! discount, dust rounding across decimals, mints that could freeze or tax the vault, and a
//! liquidator who leaves the collateral out or skips to the insurance fund.

use super::*;
use perp::error::PerpError;
use perp::state::{AdminAction, CollateralTightening};
use perp_client::collateral as cix;
use perp_tests::sol::*;
use solana_signer::Signer;

const DAY: i64 = 86_400;

/// A stolen key lists a worthless mint with an oracle it controls at a high price, to borrow the
/// settlement mint against it. The listing sits in public for the whole timelock (and the real
/// admin cancels it); even once listed, the cap bounds what can be deposited, so the most it can
/// back is cap x price x initial weight.
#[tokio::test(flavor = "current_thread")]
async fn attack_fake_collateral_listing_waits_for_the_timelock_and_the_cap_bounds_it() {
    let mut w = world(0).await;
    let admin = w.env.admin.insecure_clone();
    w.env.send(&[ix::set_timelock_delay(admin.pubkey(), DAY)], &[&admin]).await.unwrap();
    let fake_oracle = Keypair::new().pubkey();
    w.env.set_legacy_oracle(fake_oracle, usd(1_000_000), Price(1_000), T0);
    let fake = w.env.create_mint_with(6, None).await;
    let cap = 1_000_000u64; // one whole token
    let params = collateral_params(fake_oracle, cap);
    let id = w.env.propose(AdminAction::ListCollateral { collateral_index: 1, mint: fake, params }).await.unwrap();
    let larry = clone_user(&w.larry);
    let list = cix::execute_list_collateral(larry.key(), id, admin.pubkey(), fake, 1);
    assert_error(w.env.send(std::slice::from_ref(&list), &[&larry.kp]).await, PerpError::TimelockNotElapsed);
    assert_eq!(w.env.exchange().await.collateral_count, 0);
    w.env.advance(DAY + 1).await;
    w.env.set_legacy_oracle(fake_oracle, usd(1_000_000), Price(1_000), w.env.now);
    w.env.send(&[list], &[&larry.kp]).await.unwrap();
    w.env.refresh_collateral(1).await.unwrap();
    // the attacker deposits: at most the cap
    let mallory = w.env.user(0, 0).await;
    let tok = w.env.token_account_of(&fake, &mallory.key(), 10 * cap).await;
    let over = cix::deposit_collateral(mallory.key(), mallory.account, 1, &fake, tok, cap + 1);
    assert_error(w.env.send(&[over], &[&mallory.kp]).await, PerpError::DepositCapExceeded);
    w.env
        .send(&[cix::deposit_collateral(mallory.key(), mallory.account, 1, &fake, tok, cap)], &[&mallory.kp])
        .await
        .unwrap();
    let more = cix::deposit_collateral(mallory.key(), mallory.account, 1, &fake, tok, 1);
    assert_error(w.env.send(&[more], &[&mallory.kp]).await, PerpError::DepositCapExceeded);
    assert_eq!(w.env.token_balance(&tok).await, 9 * cap);
    // the cap is the stated bound of the damage: 1 token x 1,000,000 x 0.8 of initial margin
    let c = w.env.collateral(1).await;
    let bound =
        perp_core::collateral::collateral_value(c.total_deposits, &c.risk(), usd(1_000_000), usd(1_000_000), true)
            .unwrap();
    assert_eq!(bound.initial, Quote(800_000 * USDC as i64));
    // and the real admin can stop new deposits at once
    let t = CollateralTightening { initial_weight: 0, imf: c.imf, deposit_cap: 0, status: 2 };
    w.env.send(&[cix::tighten_collateral(admin.pubkey(), 1, t)], &[&admin]).await.unwrap();
    assert_eq!(w.env.collateral(1).await.initial_weight, 0);
    w.env.assert_conservation().await;
}

/// Instant changes only tighten, and never the maintenance weight (which would make holders
/// liquidatable at the stroke of a stolen key); loosening needs a proposal.
#[tokio::test(flavor = "current_thread")]
async fn attack_instant_tightening_cannot_loosen() {
    let mut s = sol_world(10 * SOL).await;
    let admin = s.w.env.admin.insecure_clone();
    let c = s.w.env.collateral(s.ci).await;
    let base =
        CollateralTightening { initial_weight: c.initial_weight, imf: c.imf, deposit_cap: c.deposit_cap, status: 0 };
    for loose in [
        CollateralTightening { initial_weight: c.initial_weight + 1, ..base },
        CollateralTightening { deposit_cap: c.deposit_cap + 1, ..base },
        CollateralTightening { imf: 20_000_000, ..base },
    ] {
        let r = s.w.env.send(&[cix::tighten_collateral(admin.pubkey(), s.ci, loose)], &[&admin]).await;
        assert_error(r, PerpError::InvalidCollateralParams);
    }
    let strict = CollateralTightening { status: 1, ..base };
    s.w.env.send(&[cix::tighten_collateral(admin.pubkey(), s.ci, strict)], &[&admin]).await.unwrap();
    let back = CollateralTightening { status: 0, ..base };
    let r = s.w.env.send(&[cix::tighten_collateral(admin.pubkey(), s.ci, back)], &[&admin]).await;
    assert_error(r, PerpError::InvalidCollateralParams);
    // not the admin: refused
    let sam = clone_user(&s.sam);
    let r = s.w.env.send(&[cix::tighten_collateral(sam.key(), s.ci, strict)], &[&sam.kp]).await;
    assert_error(r, PerpError::AdminOnly);
    // reduce-only: no new deposits
    let r =
        s.w.env.send(&[cix::deposit_collateral(sam.key(), sam.account, s.ci, &s.mint, s.sam_sol, 1)], &[&sam.kp]).await;
    assert_error(r, PerpError::CollateralDepositsClosed);
    assert_eq!(s.w.env.collateral(s.ci).await.maintenance_weight, c.maintenance_weight);
    s.w.env.assert_conservation().await;
}

/// A mint whose freeze authority could freeze the vault, or a Token-2022 mint (transfer fees,
/// hooks), is refused at listing; so is the settlement mint itself.
#[tokio::test(flavor = "current_thread")]
async fn attack_collateral_mint_that_can_freeze_or_tax_the_vault_is_refused() {
    let mut w = world(0).await;
    let oracle = Keypair::new().pubkey();
    w.env.set_legacy_oracle(oracle, usd(100), Price(1_000), T0);
    let admin = w.env.admin.insecure_clone();
    let freezer = w.env.create_mint_with(9, Some(&admin.pubkey())).await;
    assert_error(
        w.env.list_collateral(freezer, collateral_params(oracle, SOL)).await.map(|_| ()),
        PerpError::CollateralMintRejected,
    );
    let settlement = w.env.mint;
    assert_error(
        w.env.list_collateral(settlement, collateral_params(oracle, SOL)).await.map(|_| ()),
        PerpError::CollateralMintRejected,
    );
    // a Token-2022 mint (same layout, other owner): Anchor's owner check refuses it
    let t22 = Keypair::new().pubkey();
    let data = w.env.account_data(&freezer).await.unwrap();
    let mut clean = data.clone();
    clean[46..50].copy_from_slice(&[0; 4]); // no freeze authority
    w.env.set_raw_account(t22, clean, anchor_spl::token_2022::ID);
    let r = w.env.list_collateral(t22, collateral_params(oracle, SOL)).await.map(|_| ());
    assert_anchor_error(r, 3007); // AccountOwnedByWrongProgram
    assert_eq!(w.env.exchange().await.collateral_count, 0);
    // one mint, one listing: a second index for a listed mint (to double its cap or split a
    // holding past the size discount) finds its vault already created
    let sol = w.env.create_mint_with(9, None).await;
    assert_eq!(w.env.list_collateral(sol, collateral_params(oracle, SOL)).await.unwrap(), 1);
    assert!(w.env.list_collateral(sol, collateral_params(oracle, SOL)).await.is_err());
    assert_eq!(w.env.exchange().await.collateral_count, 1);
}

/// Nobody refreshes SOL for hours (its feed is alive): a liquidator who does not refresh it sees
/// SOL counted as nothing and the group under water, but no deficit reaches the insurance fund
/// while the account holds collateral worth something at its cached price; refreshed, the
/// account is healthy.
#[tokio::test(flavor = "current_thread")]
async fn attack_stale_collateral_cache_cannot_pass_a_deficit_on() {
    let mut s = sol_world(10 * SOL).await;
    let sam = clone_user(&s.sam);
    s.w.env.trade(&sam, 0, order(OrderSide::Long, BTC)).await.unwrap();
    s.w.env.advance(7 * 3_600).await;
    s.sol_price(usd(100));
    let btc = Price(s.w.env.market(0).await.last_index);
    s.w.move_price(btc).await;
    let larry = clone_user(&s.w.larry);
    let ins = s.w.env.insurance(0).await;
    let mut i = s.w.liquidate_ix(&larry, larry.account, &sam, 0, 0).await;
    i.accounts.extend(cix::collateral_metas(&[s.ci]));
    assert_error(s.w.env.send(std::slice::from_ref(&i), &[&larry.kp]).await, PerpError::LiquidateCollateralFirst);
    assert_eq!(s.w.env.insurance(0).await, ins);
    let refresh = cix::refresh_collateral(s.ci, &[s.oracle]);
    assert_error(s.w.env.send(&[refresh, i], &[&larry.kp]).await, PerpError::NotLiquidatable);
    assert_eq!(s.w.env.margin(&sam.account).await.collateral_balance(s.ci), 10 * SOL);
    s.w.env.assert_conservation().await;
}

/// SOL gaps below what the account owes after its position closed at a loss: the sale takes all
/// of it, and the debt left is not stranded in the vault: the collateral's insurance market pays.
#[tokio::test(flavor = "current_thread")]
async fn attack_debt_left_after_the_last_collateral_is_sold_is_not_stranded() {
    let mut s = sol_world(10 * SOL).await;
    let sam = clone_user(&s.sam);
    s.w.env.trade(&sam, 0, order(OrderSide::Long, BTC)).await.unwrap();
    s.w.env.advance(1).await;
    s.w.move_price(usd(19_700)).await;
    s.w.env.close(&sam, 0).await.unwrap();
    let debt = -s.w.env.margin(&sam.account).await.cross_collateral;
    assert!(debt > 300 * USDC as i64, "the loss is owed in settlement: {debt}");
    s.hold_sol(usd(30)).await;
    let ins = s.w.env.insurance(0).await;
    s.liquidate_sol(u64::MAX).await.unwrap();
    let a = s.w.env.margin(&sam.account).await;
    assert_eq!(a.collateral_balance(s.ci), 0);
    assert_eq!(a.cross_collateral, 0, "the rest of the debt was covered");
    let c = s.w.env.collateral(s.ci).await;
    let sale = perp_core::collateral::sale_of(10 * SOL, &c.sale_terms(usd(30), usd(30))).unwrap();
    let left = debt - sale.to_account.0;
    assert!(left > 0);
    assert_eq!(s.w.env.insurance(0).await, ins + sale.to_insurance.0 - left);
    s.w.env.assert_conservation().await;
}

/// The collateral's oracles are read by the markets' rules: a stale print, a print from the
/// future or a low-confidence one gives no price (refresh fails, nothing cached); with three
/// feeds, one outlier does not move the median.
#[tokio::test(flavor = "current_thread")]
async fn attack_manipulated_collateral_oracle() {
    let mut s = sol_world(0).await;
    let cached = s.w.env.collateral(s.ci).await.last_price;
    s.w.env.advance(120).await;
    // stale: published 120 s ago (max_age 60)
    let r = s.w.env.refresh_collateral(s.ci).await;
    assert!(r.is_err(), "a stale price must not refresh");
    // from the future
    let t = s.w.env.now;
    s.w.env.set_legacy_oracle(s.oracle, usd(300), Price(50_000), t + 30);
    assert!(s.w.env.refresh_collateral(s.ci).await.is_err(), "a future publish time must not refresh");
    // low confidence: 10% of the price (max_conf 2%)
    s.w.env.set_legacy_oracle(s.oracle, usd(300), usd(30), t);
    assert!(s.w.env.refresh_collateral(s.ci).await.is_err(), "a wide print must not refresh");
    assert_eq!(s.w.env.collateral(s.ci).await.last_price, cached);
    // three feeds through a proposal; one of them lies
    let (o2, o3) = (Keypair::new().pubkey(), Keypair::new().pubkey());
    let mut p = collateral_params(s.oracle, 1_000_000 * SOL);
    p.oracles = vec![legacy_oracle(s.oracle), legacy_oracle(o2), legacy_oracle(o3)];
    p.min_sources = 2;
    let version = s.w.env.collateral(s.ci).await.params_version;
    let id =
        s.w.env.propose(AdminAction::UpdateCollateral { collateral_index: s.ci, params: p, version }).await.unwrap();
    let admin = s.w.env.admin.insecure_clone();
    s.w.env.send(&[cix::execute_update_collateral(admin.pubkey(), id, admin.pubkey(), s.ci)], &[&admin]).await.unwrap();
    s.w.env.set_legacy_oracle(s.oracle, usd(100), Price(50_000), t);
    s.w.env.set_legacy_oracle(o2, usd(101), Price(50_000), t);
    s.w.env.set_legacy_oracle(o3, usd(1_000), Price(50_000), t);
    s.w.env.refresh_collateral(s.ci).await.unwrap();
    let c = s.w.env.collateral(s.ci).await;
    assert!(c.last_price >= usd(100).0 && c.last_price <= usd(101).0, "median holds: {}", c.last_price);
}

/// A spike in the collateral's price cannot be withdrawn against: initial margin values it at
/// the lower of the index and its time-weighted value.
#[tokio::test(flavor = "current_thread")]
async fn attack_withdraw_right_after_a_collateral_price_spike() {
    let mut s = sol_world(10 * SOL).await;
    let sam = clone_user(&s.sam);
    s.w.env.trade(&sam, 0, order(OrderSide::Long, BTC)).await.unwrap();
    // at 100, 4 SOL could leave (6 x 80 = 480 >= 400 + fee and slippage), 5 could not
    s.w.env.advance(1).await;
    s.sol_price(usd(200));
    // at a spike to 200 the same 5 SOL (5 x 160 = 800 at the spike) still cannot leave
    assert_error(s.withdraw_sol(5 * SOL).await, PerpError::WithdrawExceedsFree);
    s.withdraw_sol(4 * SOL).await.unwrap();
    assert_eq!(s.w.env.margin(&sam.account).await.collateral_balance(s.ci), 6 * SOL);
    s.w.env.assert_conservation().await;
}

/// An account cannot sell its own collateral to itself (another account of its owner or
/// delegate) for the liquidator's share of the discount.
#[tokio::test(flavor = "current_thread")]
async fn attack_self_liquidation_of_collateral_for_the_discount() {
    let mut s = sol_world(10 * SOL).await;
    let sam = clone_user(&s.sam);
    s.w.env.trade(&sam, 0, order(OrderSide::Long, BTC)).await.unwrap();
    let second = s.w.env.second_account(&sam, 1, 0).await;
    let dest = s.w.env.token_account_of(&s.mint, &sam.key(), 0).await;
    s.w.env.advance(1).await;
    s.sol_price(usd(25));
    let mut ixs = s.refreshes().await;
    ixs.push(cix::liquidate_collateral(sam.key(), sam.account, second, s.ci, &s.mint, dest, 0, u64::MAX, &[0], &[]));
    assert_error(s.w.env.send(&ixs, &[&sam.kp]).await, PerpError::SelfLiquidation);
    ixs.pop();
    ixs.push(cix::liquidate_collateral(
        sam.key(),
        sam.account,
        sam.account,
        s.ci,
        &s.mint,
        dest,
        0,
        u64::MAX,
        &[0],
        &[],
    ));
    assert_error(s.w.env.send(&ixs, &[&sam.kp]).await, PerpError::SelfLiquidation);
    assert_eq!(s.w.env.margin(&sam.account).await.collateral_balance(s.ci), 10 * SOL);
    s.w.env.assert_conservation().await;
}

/// A liquidator who leaves the victim's collateral account out cannot make a healthy account
/// look poorer; with it, the account is not liquidatable. A group under water that still holds
/// priced collateral sells it before any deficit reaches the insurance fund.
#[tokio::test(flavor = "current_thread")]
async fn attack_liquidator_omits_collateral_or_skips_to_the_insurance_fund() {
    let mut s = sol_world(10 * SOL).await;
    let sam = clone_user(&s.sam);
    s.w.env.trade(&sam, 0, order(OrderSide::Long, BTC)).await.unwrap();
    let larry = clone_user(&s.w.larry);
    let i = s.w.liquidate_ix(&larry, larry.account, &sam, 0, 0).await;
    assert_error(s.w.env.send(std::slice::from_ref(&i), &[&larry.kp]).await, PerpError::MissingCollateralAccount);
    let mut with = i.clone();
    with.accounts.extend(cix::collateral_metas(&[s.ci]));
    let refresh = cix::refresh_collateral(s.ci, &[s.oracle]);
    assert_error(s.w.env.send(&[refresh.clone(), with], &[&larry.kp]).await, PerpError::NotLiquidatable);
    // BTC falls 5% and SOL halves, and both hold there for a window (a liquidation values every
    // price at the account-favourable of it and its time-weighted value): the group is under
    // water, SOL still worth something
    s.w.env.advance(1).await;
    s.w.move_price(usd(19_000)).await;
    s.hold_sol(usd(50)).await;
    let ins = s.w.env.insurance(0).await;
    let mut i = s.w.liquidate_ix(&larry, larry.account, &sam, 0, 0).await;
    i.accounts.extend(cix::collateral_metas(&[s.ci]));
    assert_error(s.w.env.send(&[refresh, i], &[&larry.kp]).await, PerpError::LiquidateCollateralFirst);
    assert_eq!(s.w.env.insurance(0).await, ins);
    // selling the SOL first is the way
    s.liquidate_sol(u64::MAX).await.unwrap();
    assert!(s.w.env.margin(&sam.account).await.collateral_balance(s.ci) < 10 * SOL);
    s.w.env.assert_conservation().await;
}

/// Deposits and withdrawals of the smallest unit, 1,000 pairs on a 9-decimal mint and 200 on 6-
/// and 8-decimal ones, leave the wallet, the account and the vault exactly where they were.
#[tokio::test(flavor = "current_thread")]
async fn attack_dust_deposit_withdraw_pairs_gain_nothing() {
    let mut s = sol_world(0).await;
    let sam = clone_user(&s.sam);
    let mut mints = vec![(s.ci, s.mint, s.oracle, 1_000)];
    for d in [6u8, 8] {
        let oracle = Keypair::new().pubkey();
        s.w.env.set_legacy_oracle(oracle, usd(3), Price(100), s.w.env.now);
        let mint = s.w.env.create_mint_with(d, None).await;
        let ci = s.w.env.list_collateral(mint, collateral_params(oracle, u64::MAX)).await.unwrap();
        mints.push((ci, mint, oracle, 200));
    }
    for (ci, mint, oracle, pairs) in mints {
        let tok = s.w.env.token_account_of(&mint, &sam.key(), 5).await;
        for _ in 0..pairs {
            let ixs = [
                cix::refresh_collateral(ci, &[oracle]),
                cix::deposit_collateral(sam.key(), sam.account, ci, &mint, tok, 1),
                cix::withdraw_collateral(sam.key(), sam.account, ci, &mint, tok, 1, &[], &[]),
            ];
            s.w.env.send(&ixs, &[&sam.kp]).await.unwrap();
        }
        assert_eq!(s.w.env.token_balance(&tok).await, 5);
        assert_eq!(s.w.env.margin(&sam.account).await.collateral_balance(ci), 0);
        assert_eq!(s.w.env.token_balance(&perp_client::pda::mint_vault(&mint)).await, 0);
        // and nothing more than was deposited comes out
        let ixs = [
            cix::refresh_collateral(ci, &[oracle]),
            cix::deposit_collateral(sam.key(), sam.account, ci, &mint, tok, 1),
            cix::withdraw_collateral(sam.key(), sam.account, ci, &mint, tok, 2, &[], &[]),
        ];
        assert_error(s.w.env.send(&ixs, &[&sam.kp]).await, PerpError::InsufficientCollateralBalance);
    }
    s.w.env.assert_conservation().await;
}

/// A trader about to be liquidated under water deposits one raw unit of a listed mint: dust holds
/// neither the liquidation nor the waterfall (the deficit goes to the insurance fund at once).
#[tokio::test(flavor = "current_thread")]
async fn attack_dust_collateral_cannot_hold_the_waterfall() {
    let mut s = sol_world(0).await;
    let bob = s.w.env.user(100_000 * USDC, 5_000 * USDC).await;
    s.w.env.trade(&bob, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    let bob_sol = s.w.env.token_account_of(&s.mint, &bob.key(), 5).await;
    let dep = cix::deposit_collateral(bob.key(), bob.account, s.ci, &s.mint, bob_sol, 1);
    s.w.env.send(&[dep], &[&bob.kp]).await.unwrap();
    assert!(s.w.env.margin(&bob.account).await.has_collateral());
    // BTC falls 8%: 5 BTC lose about 8,000 against 5,000 of collateral
    s.w.env.advance(1).await;
    s.w.move_price(usd(18_400)).await;
    s.w.env.refresh_collateral(s.ci).await.unwrap();
    let ins = s.w.env.insurance(0).await;
    let larry = clone_user(&s.w.larry);
    let mut i = s.w.liquidate_ix(&larry, larry.account, &bob, 0, 0).await;
    i.accounts.extend(cix::collateral_metas(&[s.ci]));
    s.w.env.send(&[cix::refresh_collateral(s.ci, &[s.oracle]), i], &[&larry.kp]).await.unwrap();
    let after = s.w.env.margin(&bob.account).await;
    let drawn = ins - s.w.env.insurance(0).await;
    assert!(drawn > 0 || after.is_bankrupt(), "the deficit went down the waterfall: drawn {drawn}");
    s.w.env.assert_conservation().await;
}

/// A cross debt left after the last collateral is sold is covered even while an isolated
/// position stays open (it is its own group and cannot pay a cross debt): no debt is stranded
/// for a later close of the isolated position to leave behind.
#[tokio::test(flavor = "current_thread")]
async fn attack_debt_left_beside_an_isolated_position_is_not_stranded() {
    let mut s = sol_world(10 * SOL).await;
    let eth = Keypair::new().pubkey();
    s.w.env.set_legacy_oracle(eth, usd(1_000), usd(1), s.w.env.now);
    s.w.env.create_market(1, default_market_params(vec![legacy_oracle(eth)]), 100, usd(1_000)).await;
    let sam = clone_user(&s.sam);
    let usdc = s.w.env.token_account(&sam.key(), 300 * USDC).await;
    s.w.env.send(&[ix::deposit(sam.key(), sam.account, usdc, 300 * USDC)], &[&sam.kp]).await.unwrap();
    let mut iso = order(OrderSide::Long, BTC / 10);
    iso.isolated = true;
    iso.isolated_collateral = 100 * USDC;
    s.w.env.trade(&sam, 1, iso).await.unwrap();
    s.w.env.trade(&sam, 0, order(OrderSide::Long, BTC)).await.unwrap();
    s.w.env.advance(1).await;
    s.w.move_price(usd(19_500)).await;
    s.w.env.close(&sam, 0).await.unwrap();
    let debt = -s.w.env.margin(&sam.account).await.cross_collateral;
    assert!(debt > 0, "{debt}");
    s.hold_sol(usd(20)).await;
    s.w.env.set_legacy_oracle(eth, usd(1_000), usd(1), s.w.env.now);
    s.liquidate_sol(u64::MAX).await.unwrap();
    let a = s.w.env.margin(&sam.account).await;
    assert_eq!(a.collateral_balance(s.ci), 0);
    assert!(a.find(1).is_some_and(|i| a.positions[i].is_isolated() && a.positions[i].base != 0));
    assert_eq!(a.cross_collateral, 0, "the cross debt was covered with the isolated position open");
    s.w.env.assert_conservation().await;
}
