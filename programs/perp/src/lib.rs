//! The perp program: dispatch only. Each instruction lives in `instructions/<name>.rs`, its
//! money math in perp-core.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

pub mod engine;
pub mod error;
pub mod events;
pub mod instructions;
pub mod oracle;
pub mod state;

use instructions::*;
use state::{AdminAction, MarketParams};

declare_id!("PerpXv1111111111111111111111111111111111111");

#[program]
pub mod perp {
    use super::*;

    // ---- admin (see the README's admin table: what each power can and cannot do)
    pub fn initialize_exchange(ctx: Context<InitializeExchange>, params: ExchangeParams) -> Result<()> {
        instructions::initialize_exchange::handler(ctx, params)
    }
    pub fn propose(ctx: Context<Propose>, action: AdminAction) -> Result<()> {
        instructions::propose::handler(ctx, action)
    }
    pub fn cancel_proposal(ctx: Context<CancelProposal>) -> Result<()> {
        instructions::propose::cancel(ctx)
    }
    pub fn set_timelock_delay(ctx: Context<SetTimelockDelay>, delay: i64) -> Result<()> {
        instructions::propose::set_timelock_delay(ctx, delay)
    }
    pub fn execute_update_market(ctx: Context<ExecuteUpdateMarket>) -> Result<()> {
        instructions::execute::update_market(ctx)
    }
    pub fn execute_create_market(ctx: Context<ExecuteCreateMarket>, market_index: u16) -> Result<()> {
        instructions::execute::create_market(ctx, market_index)
    }
    pub fn execute_exchange_action(ctx: Context<ExecuteExchangeAction>) -> Result<()> {
        instructions::execute::exchange_action(ctx)
    }
    pub fn update_market(ctx: Context<UpdateMarket>, params: MarketParams) -> Result<()> {
        instructions::update_market::handler(ctx, params)
    }
    pub fn set_pause(ctx: Context<SetPause>, pause_flags: u16) -> Result<()> {
        instructions::set_pause::handler(ctx, pause_flags)
    }
    pub fn execute_list_collateral(ctx: Context<ExecuteListCollateral>, collateral_index: u16) -> Result<()> {
        instructions::collateral_admin::list(ctx, collateral_index)
    }
    pub fn execute_update_collateral(ctx: Context<ExecuteUpdateCollateral>) -> Result<()> {
        instructions::collateral_admin::update(ctx)
    }
    pub fn tighten_collateral(ctx: Context<TightenCollateral>, tightening: state::CollateralTightening) -> Result<()> {
        instructions::collateral_admin::tighten(ctx, tightening)
    }
    pub fn set_market_status(ctx: Context<SetMarketStatus>, status: u8) -> Result<()> {
        instructions::set_market_status::handler(ctx, status)
    }

    // ---- users
    pub fn create_margin_account(ctx: Context<CreateMarginAccount>, account_id: u16) -> Result<()> {
        instructions::create_margin_account::handler(ctx, account_id)
    }
    pub fn deposit(ctx: Context<Deposit>, amount: u64) -> Result<()> {
        instructions::deposit::handler(ctx, amount)
    }
    pub fn withdraw<'info>(ctx: Context<'info, Withdraw<'info>>, amount: u64) -> Result<()> {
        instructions::withdraw::handler(ctx, amount)
    }
    pub fn deposit_collateral(ctx: Context<DepositCollateral>, amount: u64) -> Result<()> {
        instructions::deposit_collateral::handler(ctx, amount)
    }
    pub fn withdraw_collateral<'info>(ctx: Context<'info, WithdrawCollateral<'info>>, amount: u64) -> Result<()> {
        instructions::withdraw_collateral::handler(ctx, amount)
    }
    pub fn refresh_collateral(ctx: Context<RefreshCollateral>) -> Result<()> {
        instructions::refresh_collateral::handler(ctx)
    }
    pub fn liquidate_collateral<'info>(ctx: Context<'info, LiquidateCollateral<'info>>, max_tokens: u64) -> Result<()> {
        instructions::liquidate_collateral::handler(ctx, max_tokens)
    }
    pub fn place_market_order<'info>(ctx: Context<'info, PlaceMarketOrder<'info>>, params: OrderParams) -> Result<()> {
        instructions::place_market_order::handler(ctx, params)
    }
    pub fn close_position<'info>(ctx: Context<'info, PlaceMarketOrder<'info>>, limit_price: u64) -> Result<()> {
        instructions::close_position::handler(ctx, limit_price)
    }
    pub fn place_order<'info>(ctx: Context<'info, PlaceOrder<'info>>, params: PlaceOrderParams) -> Result<()> {
        instructions::place_order::handler(ctx, params)
    }
    pub fn cancel_orders(ctx: Context<CancelOrdersAccounts>, which: OrdersToCancel) -> Result<()> {
        instructions::cancel_orders::handler(ctx, which)
    }
    pub fn fill_order<'info>(ctx: Context<'info, FillOrder<'info>>, order_id: u64) -> Result<()> {
        instructions::fill_order::handler(ctx, order_id)
    }
    pub fn move_isolated_collateral<'info>(
        ctx: Context<'info, MoveIsolatedCollateral<'info>>,
        market_index: u16,
        amount: i64,
    ) -> Result<()> {
        instructions::move_isolated_collateral::handler(ctx, market_index, amount)
    }
    pub fn set_delegate(ctx: Context<SetDelegate>, delegate: Pubkey) -> Result<()> {
        instructions::set_delegate::handler(ctx, delegate)
    }
    pub fn close_margin_account(ctx: Context<CloseMarginAccount>) -> Result<()> {
        instructions::close_margin_account::handler(ctx)
    }

    // ---- keepers (permissionless)
    pub fn update_funding<'info>(ctx: Context<'info, UpdateFunding<'info>>) -> Result<()> {
        instructions::update_funding::handler(ctx)
    }
    pub fn settle_funding<'info>(ctx: Context<'info, SettleFunding<'info>>) -> Result<()> {
        instructions::settle_funding::handler(ctx)
    }
    pub fn deposit_insurance(ctx: Context<DepositInsurance>, amount: u64) -> Result<()> {
        instructions::deposit_insurance::handler(ctx, amount)
    }
    pub fn sweep_insurance(ctx: Context<SweepInsurance>) -> Result<()> {
        instructions::sweep_insurance::handler(ctx)
    }
    pub fn liquidate<'info>(ctx: Context<'info, Liquidate<'info>>, max_base: u64) -> Result<()> {
        instructions::liquidate::handler(ctx, max_base)
    }
    pub fn begin_adl_round<'info>(ctx: Context<'info, BeginAdlRound<'info>>) -> Result<()> {
        instructions::begin_adl_round::handler(ctx)
    }
    pub fn adl_scan<'info>(ctx: Context<'info, AdlScan<'info>>) -> Result<()> {
        instructions::adl_scan::handler(ctx)
    }
    pub fn auto_deleverage<'info>(ctx: Context<'info, AutoDeleverage<'info>>) -> Result<()> {
        instructions::auto_deleverage::handler(ctx)
    }
    pub fn resolve_bankruptcy<'info>(ctx: Context<'info, ResolveBankruptcy<'info>>) -> Result<()> {
        instructions::resolve_bankruptcy::handler(ctx)
    }
    pub fn repeg<'info>(ctx: Context<'info, Repeg<'info>>) -> Result<()> {
        instructions::repeg::handler(ctx)
    }
}
