use crate::engine::health::{group_health, require_initial, Group};
use crate::engine::markets::{load_other_markets_with, Holder, PriceNeed, REFRESH_SLOTS};
use crate::engine::orders::reduce_only_rewards;
use crate::error::{CoreResultExt, PerpError};
use crate::events::EventStream;
use crate::events::{CollateralDebtResolved, CollateralLiquidated};
use crate::state::*;
use anchor_lang::prelude::*;
use perp_core::collateral::collateral_liquidation;
use perp_core::units::RATE_PRECISION as RATE_ONE;
use perp_core::{Price, Quote, Rate, Round};

#[derive(Accounts)]
pub struct LiquidateCollateral<'info> {
    pub liquidator: Signer<'info>,
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(mut, constraint = liquidator_account.key() != margin_account.key() @ PerpError::SelfLiquidation)]
    pub liquidator_account: AccountLoader<'info, MarginAccount>,
    #[account(mut)]
    pub collateral: AccountLoader<'info, Collateral>,
    /// The collateral's insurance market: takes the insurance share of the discount (the tokens
    /// reach the insurance vault at the next sweep) and covers a debt the sale leaves behind.
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: the collateral's vault itself, by address (the token program checks the rest)
    #[account(mut, address = collateral.load()?.vault @ PerpError::CollateralNotListed)]
    pub vault: UncheckedAccount<'info>,
    /// CHECK: a token account of the collateral's mint, not its vault (checked in the handler):
    /// receives what the liquidator buys (its margin account never holds it)
    #[account(mut)]
    pub liquidator_token: UncheckedAccount<'info>,
    pub token_program: Program<'info, anchor_spl::token::Token>,
}

/// Anyone with a margin account: when `margin_account`'s cross group is below maintenance and it
/// lacks settlement (its settlement balance plus its positions' results is negative), buys up to
/// `max_tokens` of its collateral at the collateral's index less the discount, paying from the
/// liquidator's cross balance; only as much as brings the group to maintenance x (1 + 10%) or
/// pays what it lacks, whichever is less. The account gets `index x (1 - discount)`, the
/// liquidator pays `index x (1 - discount x liquidator_share)` from its settlement balance and
/// receives the tokens in `liquidator_token`, the difference goes to the insurance fund of
/// `market`. The liquidator's cross group must meet its initial margin after.
/// Remaining accounts (read-only): the markets of both accounts' cross positions and their other
/// collateral, each refreshed within a few slots for the liquidated account.
pub fn handler<'info>(ctx: Context<'info, LiquidateCollateral<'info>>, max_tokens: u64) -> Result<()> {
    let now = crate::engine::now()?;
    let slot = Clock::get()?.slot;
    let key = ctx.accounts.margin_account.key();
    let liquidator_key = ctx.accounts.liquidator_account.key();
    let c = ctx.accounts.collateral.load()?;
    let ci = c.collateral_index;
    require!(ctx.accounts.liquidator_token.key() != c.vault, PerpError::WrongTokenAccount);
    crate::engine::token::token_account_owner(&ctx.accounts.liquidator_token, &c.mint)?;
    let bump = ctx.accounts.exchange.load()?.bump;
    let mut a = ctx.accounts.margin_account.load_mut()?;
    let mut l = ctx.accounts.liquidator_account.load_mut()?;
    l.authorize_owner(&ctx.accounts.liquidator.key())?;
    require!(!l.shares_control_with(&a), PerpError::SelfLiquidation);
    require!(!l.is_bankrupt(), PerpError::AccountBankrupt);
    let balance = a.collateral_balance(ci);
    require!(balance > 0, PerpError::InsufficientCollateralBalance);
    // a sale needs a live price, refreshed in this transaction or just before
    let age = now.saturating_sub(c.last_price_time);
    if c.last_price == 0 || age > c.max_age || slot.saturating_sub(c.last_price_slot) > REFRESH_SLOTS {
        msg!("collateral {} price: {} s old, refreshed {} slots ago", ci, age, slot.saturating_sub(c.last_price_slot));
        return err!(PerpError::StaleCollateralPrice);
    }
    let parts = {
        let mut holders = [Holder::new(&a, Some((Group::Cross, PriceNeed::Liquidation))), Holder::new(&l, None)];
        load_other_markets_with(ctx.remaining_accounts, None, Some(&c), &mut holders, now)?;
        holders[0].parts
    };
    let h = group_health(&a, Group::Cross, &parts)?;
    // the group's stops' rewards count toward the decision, as in `liquidate`
    let kept = Quote(i64::try_from(reduce_only_rewards(&a, Group::Cross)).unwrap_or(i64::MAX));
    let equity = h.equity.checked_add(kept).or_core()?;
    if equity >= h.maintenance {
        msg!("cross equity {} >= maintenance {}", equity, h.maintenance);
        return err!(PerpError::NotLiquidatable);
    }
    // what the account lacks in settlement: its equity without the collateral, below zero
    let collateral_equity = parts.collateral.map_or(Quote::ZERO, |p| p.equity);
    let owed = equity.checked_sub(collateral_equity).or_core()?.min(Quote::ZERO).checked_neg().or_core()?;
    if owed.is_zero() {
        msg!("the account lacks no settlement: its positions are liquidated, not its collateral");
        return err!(PerpError::NotLiquidatable);
    }
    let target = h.maintenance.mul_rate(Rate(RATE_ONE + COLLATERAL_TARGET_BUFFER), Round::Up).or_core()?;
    let shortfall = target.checked_sub(equity).or_core()?;
    let price = Price(c.last_price);
    // valued as the decision valued it (the account-favourable of the index and its
    // time-weighted value), sold at the index
    let value_price = price.max(c.twap_now(now)?);
    let terms = c.sale_terms(price, value_price);
    let sale = collateral_liquidation(shortfall, owed, balance, max_tokens, &terms).or_core()?;
    require!(sale.tokens > 0, PerpError::ZeroAmount);

    a.debit_collateral(ci, sale.tokens)?;
    a.cross_collateral = a.cross_collateral.checked_add(sale.to_account.0).ok_or(PerpError::MathOverflow)?;
    l.cross_collateral = l.cross_collateral.checked_sub(sale.from_liquidator.0).ok_or(PerpError::MathOverflow)?;
    let mut m = ctx.accounts.market.load_mut()?;
    require!(m.market_index == c.insurance_market, PerpError::CollateralNotListed);
    m.insurance_in(sale.to_insurance)?;
    let market_index = m.market_index;
    // nothing left to sell, no cross position, still owing: the waterfall takes the rest (the
    // insurance market's fund, then a recorded unbacked loss that market's insurance and profits
    // repay); isolated positions are their own groups and cannot pay a cross debt
    let cross_open = a.positions.iter().any(|p| p.in_use() && !p.is_isolated());
    if !a.has_collateral() && !cross_open && a.cross_collateral < 0 {
        let debt = a.cross_collateral.checked_neg().ok_or(PerpError::MathOverflow)?;
        let from_insurance = debt.min(m.insurance_fund.max(0));
        if from_insurance > 0 {
            m.insurance_draw(Quote(from_insurance))?;
        }
        let unbacked = debt - from_insurance;
        if unbacked > 0 {
            m.pnl_pool_add(Quote(-unbacked))?;
            m.unbacked_loss = m.unbacked_loss.checked_add(unbacked).ok_or(PerpError::MathOverflow)?;
            m.unbacked_outstanding = m.unbacked_outstanding.checked_add(unbacked).ok_or(PerpError::MathOverflow)?;
        }
        a.cross_collateral = 0;
        msg!(
            "debt {} left after the sale: {} from insurance, {} unbacked",
            Quote(debt),
            Quote(from_insurance),
            Quote(unbacked)
        );
        emit!(CollateralDebtResolved {
            seq: m.next_seq()?,
            margin_account: key,
            market_index,
            debt,
            from_insurance,
            unbacked
        });
    }
    drop(m);

    // the liquidator paid from its settlement balance: its cross group must still meet its
    // initial margin
    let lparts = {
        let mut holders = [Holder::new(&a, None), Holder::new(&l, Some((Group::Cross, PriceNeed::Adding)))];
        load_other_markets_with(ctx.remaining_accounts, None, Some(&c), &mut holders, now)?;
        holders[1].parts
    };
    require_initial(&l, Group::Cross, &lparts, Quote::ZERO)?;
    drop(a);
    drop(l);
    drop(c);
    {
        let mut cm = ctx.accounts.collateral.load_mut()?;
        cm.total_deposits = cm.total_deposits.checked_sub(sale.tokens).ok_or(PerpError::MathOverflow)?;
    }
    crate::engine::token::vault_transfer(
        &ctx.accounts.token_program,
        &ctx.accounts.vault.to_account_info(),
        ctx.accounts.liquidator_token.to_account_info(),
        ctx.accounts.exchange.to_account_info(),
        bump,
        sale.tokens,
    )?;

    emit!(CollateralLiquidated {
        seq: ctx.accounts.market.load_mut()?.next_seq()?,
        margin_account: key,
        liquidator: liquidator_key,
        collateral_index: ci,
        tokens: sale.tokens,
        price: price.0,
        to_account: sale.to_account.0,
        from_liquidator: sale.from_liquidator.0,
        to_insurance: sale.to_insurance.0,
        market_index,
    });
    Ok(())
}
