use crate::equity::{leverage, read_margin, read_market, vault_health, Freshness};
use crate::error::VaultError;
use crate::events::VaultTraded;
use crate::state::*;
use anchor_lang::prelude::*;
use perp::engine::prices::impact_twap;
use perp::instructions::{OrderParams, OrderSide};
use perp::program::Perp;
use perp_core::vamm::Side;
use perp_core::Base;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeParams {
    pub market_index: u16,
    pub side: OrderSide,
    /// Base size, raw (10^-9).
    pub size: u64,
    /// Worst acceptable average price, raw (10^-6): required, and within the market's delegate
    /// band of the index (so the manager cannot fill the vault at a price far from the market).
    pub limit_price: u64,
    /// Reduce-only orders skip the position and leverage limits (they only lower risk).
    pub reduce_only: bool,
}

#[derive(Accounts)]
pub struct Trade<'info> {
    pub manager: Signer<'info>,
    #[account(mut, has_one = manager, has_one = margin_account)]
    pub vault: AccountLoader<'info, Vault>,
    /// CHECK: the vault's authority PDA (seeds checked); signs the order in perp
    #[account(seeds = [AUTHORITY_SEED, vault.key().as_ref()], bump = vault.load()?.authority_bump)]
    pub authority: UncheckedAccount<'info>,
    /// CHECK: perp checks it
    pub exchange: UncheckedAccount<'info>,
    /// CHECK: a perp market (owner and type checked here, the rest by perp)
    #[account(mut)]
    pub market: UncheckedAccount<'info>,
    /// CHECK: the vault's own (has_one)
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    pub perp_program: Program<'info, Perp>,
}

/// The manager's order, placed in perp by the vault's authority, then checked against the vault's
/// limits on the state it left (the whole transaction fails otherwise). Before it: the vAMM must
/// sit within a quarter of the delegate band of its time-weighted impact prices (no same-second
/// push ahead of the order), an order against the last one's direction must wait one sample
/// period, and the order's own impact must stay within the vault's limit; after it, the day's
/// traded notional must stay within the vault's turnover limit. Remaining accounts: as
/// perp's place_market_order (the market's oracles, then the other position markets).
pub fn handler<'info>(ctx: Context<'info, Trade<'info>>, p: TradeParams) -> Result<()> {
    let a = &ctx.accounts;
    let (slot, max_position, max_leverage, max_impact, last_dir, last_time) = {
        let v = a.vault.load()?;
        let slot = v.market_slot(p.market_index).ok_or(VaultError::MarketNotAllowed)?;
        (slot, v.max_position[slot], v.max_leverage, v.max_impact, v.last_trade_dir, v.last_trade_time)
    };
    require!(p.limit_price > 0, VaultError::LimitOutsideBand);
    let now = Clock::get()?.unix_timestamp;
    let dir = if p.side == OrderSide::Long { 1 } else { 2 };
    let notional = {
        let m = read_market(&a.market)?;
        require!(m.market_index == p.market_index, VaultError::MarketNotAllowed);
        // N-1, the back-run: the vault's own impact is what another account of the manager's can
        // take back from the curve. (1) A reversal waits one sample period, so no round trip is
        // atomic: the back-running account carries the position against arbitrageurs meanwhile.
        if last_dir != 0 && last_dir != dir && now - last_time < m.sample_period {
            msg!("vault reversed its last order after {} s (wait {} s)", now - last_time, m.sample_period);
            return err!(VaultError::ReversalTooSoon);
        }
        // (2) one order's impact is bounded: its average fill within min(max_impact, band / 4)
        // of the vAMM's price before it (the curve quoted here is the one perp fills against)
        let side = if p.side == OrderSide::Long { Side::Long } else { Side::Short };
        let size = Base(i64::try_from(p.size).map_err(|_| VaultError::Overflow)?);
        let v = m.vamm();
        let mid = v.price().map_err(|_| VaultError::VammDisplaced)?.0 as u128;
        let fill = v.quote_trade(side, size).map_err(|_| VaultError::ImpactLimit)?;
        let limit = (max_impact as u128).min(m.delegate_band.max(0) as u128 / 4);
        let diff = (fill.avg_price.0 as u128).abs_diff(mid);
        if diff * 1_000_000_000 > limit * mid {
            msg!(
                "vault order: average fill {} is {} from the vAMM's {} (limit {} of 1e9)",
                fill.avg_price.0,
                diff,
                mid,
                limit
            );
            return err!(VaultError::ImpactLimit);
        }
        // Sandwich guard: the vAMM must sit where it has been on time average. A trade in this
        // second (the manager's own, from another account, ahead of this order) moves the vAMM
        // but has no weight in the time-weighted impact prices yet, so a push of more than a
        // quarter of the delegate band is refused.
        let price = m.vamm().price().map_err(|_| VaultError::VammDisplaced)?.0 as u128;
        let t = impact_twap(&m, now)?;
        let tol = (t.bid.0 as u128 + t.ask.0 as u128) / 2 * m.delegate_band.max(0) as u128 / 4_000_000_000;
        if price + tol < t.bid.0 as u128 || price > t.ask.0 as u128 + tol {
            msg!("vAMM at {} outside the time-weighted impact prices {}..{} (+/- {})", price, t.bid.0, t.ask.0, tol);
            return err!(VaultError::VammDisplaced);
        }
        fill.quote.0.unsigned_abs()
    };

    let vault_key = a.vault.key();
    let bump = a.vault.load()?.authority_bump;
    let seeds: &[&[u8]] = &[AUTHORITY_SEED, vault_key.as_ref(), &[bump]];
    perp::cpi::place_market_order(
        CpiContext::new_with_signer(
            perp::ID,
            perp::cpi::accounts::PlaceMarketOrder {
                authority: a.authority.to_account_info(),
                exchange: a.exchange.to_account_info(),
                market: a.market.to_account_info(),
                margin_account: a.margin_account.to_account_info(),
            },
            &[seeds],
        )
        .with_remaining_accounts(ctx.remaining_accounts.to_vec()),
        OrderParams {
            side: p.side,
            size: p.size,
            limit_price: p.limit_price,
            reduce_only: p.reduce_only,
            isolated: false,
            isolated_collateral: 0,
            max_index_deviation: 0,
        },
    )?;

    // perp refreshed the market's index in the order: the band is checked against it
    let m = read_market(&a.market)?;
    let index = m.last_index as u128;
    let band = index * m.delegate_band.max(0) as u128 / 1_000_000_000;
    let limit = p.limit_price as u128;
    let within = match p.side {
        OrderSide::Long => limit <= index + band,
        OrderSide::Short => limit + band >= index,
    };
    if !within {
        msg!("limit {} outside the band {} around the index {}", limit, band, index);
        return err!(VaultError::LimitOutsideBand);
    }
    let acct = read_margin(&a.margin_account)?;
    let base = acct.find(p.market_index).map(|s| acct.positions[s].base).unwrap_or(0);
    let oracles = m.oracle_count().min(ctx.remaining_accounts.len());
    let mut markets: Vec<&AccountInfo> = vec![a.market.as_ref()];
    markets.extend(ctx.remaining_accounts[oracles..].iter());
    let h = vault_health(&acct, &markets, now, Freshness::MaxAge)?;
    // (3) turnover: what the vault trades in a day is bounded by a multiple of its equity, so
    // what (1) and (2) still let a back-runner take is bounded per day
    {
        let mut v = a.vault.load_mut()?;
        let used = v.turnover_at(now).saturating_add(notional);
        let room = (h.equity.0.max(0) as u128 * v.max_turnover as u128 / 1_000_000_000) as u64;
        if used > room {
            msg!("turnover {} over the day's limit {} (equity {})", used, room, h.equity.0);
            return err!(VaultError::TurnoverLimit);
        }
        v.turnover_used = used;
        v.turnover_time = now;
        v.last_trade_time = now;
        v.last_trade_dir = dir;
    }
    let mut lev = 0;
    if !p.reduce_only {
        if base.unsigned_abs() > max_position {
            msg!("position {} over the vault's maximum {} (market slot {})", base, max_position, slot);
            return err!(VaultError::PositionLimit);
        }
        lev = leverage(&h);
        if lev > max_leverage {
            msg!("leverage {} over the vault's maximum {} (1e9 = 1x)", lev, max_leverage);
            return err!(VaultError::LeverageLimit);
        }
    }
    emit!(VaultTraded { vault: vault_key, market_index: p.market_index, new_base: base, leverage: lev });
    Ok(())
}
