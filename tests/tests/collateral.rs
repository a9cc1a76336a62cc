//! Listed collateral through the real program: a SOL-backed trader opens a BTC position, withdraws
//! within initial margin, and has its SOL sold when SOL falls while BTC does not move.

use perp::error::PerpError;
use perp::instructions::OrderSide;
use perp_client::collateral as cix;
use perp_client::ix;
use perp_core::collateral::sale_of;
use perp_tests::sol::*;
use perp_tests::world::*;
use perp_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

#[tokio::test]
async fn sol_backed_trader_trades_and_withdraws_within_initial_margin() {
    let mut s = sol_world(10 * SOL).await;
    let vault = s.w.env.collateral(s.ci).await.vault;
    assert_eq!(vault, perp_client::pda::mint_vault(&s.mint));
    assert_eq!(s.w.env.token_balance(&vault).await, 10 * SOL);
    assert_eq!(s.w.env.collateral(s.ci).await.total_deposits, 10 * SOL);
    s.w.env.assert_conservation().await;

    // 10 SOL at 100 back 800 of initial margin: a 1 BTC long (20,000 notional, 400 initial) opens
    // with no USDC at all, the fee leaving the settlement balance negative
    let sam = clone_user(&s.sam);
    s.w.env.trade(&sam, 0, order(OrderSide::Long, BTC)).await.unwrap();
    let a = s.w.env.margin(&sam.account).await;
    assert_eq!(a.positions[a.find(0).unwrap()].base, BTC);
    assert!(a.cross_collateral < 0, "the fee is owed in settlement: {}", a.cross_collateral);
    // 1 BTC more (800 initial in all) does not fit with the fees and the fill's slippage
    assert_error(s.w.env.trade(&sam, 0, order(OrderSide::Long, BTC)).await, PerpError::InsufficientMargin);

    // a settlement withdrawal of what it does not have: nothing to withdraw
    let usdc = s.w.env.token_account(&sam.key(), 0).await;
    let mut i = ix::withdraw(sam.key(), sam.account, usdc, 1, &[0]);
    let mut ixs = s.refreshes().await;
    ixs.push(i.clone());
    // without the collateral account the check cannot count it: refused, not mis-valued
    assert_error(s.w.env.send(&ixs, &[&sam.kp]).await, PerpError::MissingCollateralAccount);
    i.accounts.extend(cix::collateral_metas(&[s.ci]));
    ixs.pop();
    ixs.push(i);
    assert_error(s.w.env.send(&ixs, &[&sam.kp]).await, PerpError::WithdrawExceedsFree);

    // SOL withdrawals keep initial margin: all of it is refused, 4 of 10 are fine (6 x 80 =
    // 480 >= 400 + the owed fee and slippage), 1 more (5 x 80 = 400) is not
    assert_error(s.withdraw_sol(10 * SOL).await, PerpError::WithdrawExceedsFree);
    s.withdraw_sol(4 * SOL).await.unwrap();
    assert_eq!(s.w.env.token_balance(&s.sam_sol).await, 4 * SOL);
    assert_eq!(s.w.env.margin(&sam.account).await.collateral_balance(s.ci), 6 * SOL);
    assert_error(s.withdraw_sol(SOL).await, PerpError::WithdrawExceedsFree);
    s.w.env.assert_conservation().await;

    // the account cannot be closed while it holds collateral
    s.w.env.close(&sam, 0).await.unwrap();
    let r = s.w.env.send(&[ix::close_margin_account(sam.key(), sam.account)], &[&sam.kp]).await;
    assert_error(r, PerpError::CollateralHeld);
    s.w.env.assert_conservation().await;
}

#[tokio::test]
async fn a_sol_fall_sells_sol_while_btc_stands_still() {
    let mut s = sol_world(10 * SOL).await;
    let sam = clone_user(&s.sam);
    s.w.env.trade(&sam, 0, order(OrderSide::Long, BTC)).await.unwrap();
    let base = s.w.env.margin(&sam.account).await.positions[0].base;

    // SOL at 40: 10 x 40 x 0.9 = 360 of maintenance value, far above the 200 BTC needs
    s.hold_sol(usd(40)).await;
    assert_error(s.liquidate_sol(u64::MAX).await, PerpError::NotLiquidatable);

    // a wick to 20 is valued at the time-weighted price (about 40): nobody is liquidated by it
    s.w.env.advance(1).await;
    s.sol_price(usd(20));
    assert_error(s.liquidate_sol(u64::MAX).await, PerpError::NotLiquidatable);

    // SOL held at 25: 225 of maintenance value, less the owed fee and slippage, is below 200
    s.hold_sol(usd(25)).await;
    let before = s.w.env.margin(&sam.account).await;
    let larry_before = s.w.env.margin(&s.w.larry.account).await;
    let ins_before = s.w.env.insurance(0).await;
    s.liquidate_sol(u64::MAX).await.unwrap();
    let after = s.w.env.margin(&sam.account).await;
    let larry_after = s.w.env.margin(&s.w.larry.account).await;
    let sold = before.collateral_balance(s.ci) - after.collateral_balance(s.ci);
    assert!(sold > 0 && sold < 2 * SOL, "sold {sold}: only what pays the owed settlement");
    // the tokens went to Larry's token account, never to his margin account
    assert_eq!(larry_after.collateral_balance(s.ci), 0);
    let dest = s.larry_sol().await;
    assert_eq!(s.w.env.token_balance(&dest).await, sold);
    let c = s.w.env.collateral(s.ci).await;
    let sale = sale_of(sold, &c.sale_terms(usd(25), usd(25))).unwrap();
    assert_eq!(after.cross_collateral - before.cross_collateral, sale.to_account.0);
    assert_eq!(larry_before.cross_collateral - larry_after.cross_collateral, sale.from_liquidator.0);
    assert_eq!(s.w.env.insurance(0).await - ins_before, sale.to_insurance.0);
    // 5% below the index for the account, half of it back to insurance
    assert_eq!(sale.to_account.0, (sold as i128 * 25 * 95 / 100 / 1_000) as i64);
    // the BTC position was not touched, and the account owes nothing more in settlement
    assert_eq!(after.positions[0].base, base);
    assert_error(s.liquidate_sol(u64::MAX).await, PerpError::NotLiquidatable);
    s.w.env.assert_conservation().await;

    // the position itself is still below maintenance: the takeover goes on, SOL passed along
    let larry = clone_user(&s.w.larry);
    let mut i = s.w.liquidate_ix(&larry, larry.account, &sam, 0, 0).await;
    i.accounts.extend(cix::collateral_metas(&[s.ci]));
    let refresh = cix::refresh_collateral(s.ci, &[s.oracle]);
    s.w.env.send(&[refresh, i], &[&larry.kp]).await.unwrap();
    assert_eq!(s.w.env.margin(&sam.account).await.positions[0].base, 0);
    s.w.env.assert_conservation().await;
}

/// Every collateral instruction refuses accounts that are not the ones it needs, and changes
/// nothing: a wrong oracle for a refresh, a token account of another mint for a deposit, a listing
/// of another mint than proposed, a sale crediting another market's insurance or paying into the
/// vault itself.
#[tokio::test]
async fn collateral_instructions_refuse_wrong_accounts() {
    let mut s = sol_world(10 * SOL).await;
    let sam = clone_user(&s.sam);
    // refresh with a key that is not the collateral's oracle
    let wrong = cix::refresh_collateral(s.ci, &[s.w.oracle]);
    assert_error(s.w.env.send(&[wrong], &[]).await, PerpError::OracleKeyMismatch);
    // a deposit from a USDC account into the SOL vault
    let usdc = s.w.env.token_account(&sam.key(), 5 * USDC).await;
    let dep = cix::deposit_collateral(sam.key(), sam.account, s.ci, &s.mint, usdc, USDC);
    assert_error(s.w.env.send(&[dep], &[&sam.kp]).await, PerpError::WrongTokenAccount);
    // a deposit into another user's account by someone who is neither owner nor delegate
    let eve = s.w.env.user(0, 0).await;
    let eve_sol = s.w.env.token_account_of(&s.mint, &eve.key(), SOL).await;
    let dep = cix::deposit_collateral(eve.key(), sam.account, s.ci, &s.mint, eve_sol, SOL);
    assert_error(s.w.env.send(&[dep], &[&eve.kp]).await, PerpError::Unauthorized);
    // a withdrawal by someone else
    let w = cix::withdraw_collateral(eve.key(), sam.account, s.ci, &s.mint, eve_sol, 1, &[], &[]);
    let refresh = s.refreshes().await[1].clone();
    assert_error(s.w.env.send(&[refresh, w], &[&eve.kp]).await, PerpError::Unauthorized);
    // a listing executed with another mint than the one proposed
    let other = s.w.env.create_mint_with(9, None).await;
    let proposed = s.w.env.create_mint_with(9, None).await;
    let id =
        s.w.env
            .propose(perp::state::AdminAction::ListCollateral {
                collateral_index: 2,
                mint: proposed,
                params: collateral_params(s.oracle, SOL),
            })
            .await
            .unwrap();
    let admin = s.w.env.admin.insecure_clone();
    let x = cix::execute_list_collateral(admin.pubkey(), id, admin.pubkey(), other, 2);
    assert_error(s.w.env.send(&[x], &[&admin]).await, PerpError::ProposalMismatch);
    // SOL falls: Sam's SOL is for sale, but not into another market's insurance, nor into the vault
    s.w.env.trade(&sam, 0, order(OrderSide::Long, BTC)).await.unwrap();
    s.hold_sol(usd(25)).await;
    let eth = Keypair::new().pubkey();
    s.w.env.set_legacy_oracle(eth, usd(1_000), usd(1), s.w.env.now);
    s.w.env.create_market(1, default_market_params(vec![legacy_oracle(eth)]), 100, usd(1_000)).await;
    let larry = clone_user(&s.w.larry);
    let dest = s.larry_sol().await;
    let vault = s.w.env.collateral(s.ci).await.vault;
    for (market, to, e) in [(1u16, dest, PerpError::CollateralNotListed), (0, vault, PerpError::WrongTokenAccount)] {
        let mut ixs = s.refreshes().await;
        ixs.push(cix::liquidate_collateral(
            larry.key(),
            sam.account,
            larry.account,
            s.ci,
            &s.mint,
            to,
            market,
            u64::MAX,
            &[0],
            &[],
        ));
        assert_error(s.w.env.send(&ixs, &[&larry.kp]).await, e);
    }
    assert_eq!(s.w.env.margin(&sam.account).await.collateral_balance(s.ci), 10 * SOL);
    s.liquidate_sol(u64::MAX).await.unwrap();
    s.w.env.assert_conservation().await;
}
