use crate::engine::prices::{accrue_twap, mark_price};
use crate::error::{CoreResultExt, PerpError};
use crate::events::EventStream;
use crate::events::{FundingSampled, FundingUpdated};
use crate::oracle::{read_index, resolve_index};
use crate::state::*;
use anchor_lang::prelude::*;
use perp_core::funding::{capped_premium_sample, funding_event, funding_rate, PremiumAccumulator};
use perp_core::{Base, Quote, Rate};

#[derive(Accounts)]
pub struct UpdateFunding<'info> {
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
}

/// Permissionless funding crank. Remaining accounts: the market's oracle accounts.
/// - always refreshes the market's cached index and brings the time-weighted impact prices up to
///   date;
/// - once per sample period, adds a premium sample from the *time-weighted* impact prices and the
///   index, capped at the funding cap, weighted by the time since the previous sample but at most
///   one sample period; a trade
///   moves the time-weighted prices only from the next second on, so nobody can set a sample by
///   trading in the same transaction, slot or second (and a sample needs `sample_period >= 10 s`
///   to have passed, so there is at most one per slot);
/// - at or after the funding time, sets the rate from the premium averaged over the whole
///   interval (unsampled time counts as zero premium), clamped and capped, advances both
///   cumulative indices and moves the vAMM's share to or from the fee pool.
///
/// Calling it again within a sample period changes no funding state. While the admin's FUNDING
/// pause is in force it only refreshes the index.
pub fn handler<'info>(ctx: Context<'info, UpdateFunding<'info>>) -> Result<()> {
    let now = crate::engine::now()?;
    let ex = ctx.accounts.exchange.load()?;
    let mut m = ctx.accounts.market.load_mut()?;
    let report = read_index(&m, &ex, ctx.remaining_accounts, now)?;
    let (index, _) = resolve_index(&mut m, &report, now, false)?;
    let twap = accrue_twap(&mut m, now)?;
    // the FUNDING pause stops samples and funding events, never the index refresh that
    // withdrawals and deficit recognition in other markets rely on
    if ex.is_paused(pause::FUNDING, now) {
        msg!("funding paused: index refreshed only");
        return Ok(());
    }

    let elapsed = now.saturating_sub(m.last_sample_time);
    if elapsed >= m.sample_period {
        let (bid, ask) = (twap.bid, twap.ask);
        // each sample is capped at the funding cap: a push held for one sample period moves the
        // interval's rate by at most cap x period / interval
        let premium = capped_premium_sample(index, bid, ask, Rate(m.funding_cap)).or_core()?;
        let seconds = elapsed.min(m.sample_period);
        let mut acc = PremiumAccumulator { weighted_sum: m.premium_sum.get(), seconds: m.premium_seconds };
        acc.add(premium, seconds).or_core()?;
        m.premium_sum.set(acc.weighted_sum);
        m.premium_seconds = acc.seconds;
        m.last_sample_time = now;
        emit!(FundingSampled {
            seq: m.next_seq()?,
            market_index: m.market_index,
            index_price: index.0,
            impact_bid: bid.0,
            impact_ask: ask.0,
            premium: premium.0,
            seconds,
        });
    }

    if now >= m.next_funding_time {
        let acc = PremiumAccumulator { weighted_sum: m.premium_sum.get(), seconds: m.premium_seconds };
        let p = acc.twap_over(m.funding_interval).or_core()?;
        let rate = funding_rate(p, &m.funding_params()).or_core()?;
        // the mark at the funding time (the funding basis has decayed to zero)
        let mark = mark_price(&m, index, m.next_funding_time.max(now))?;
        let e = funding_event(rate, mark, Base(m.oi_long), Base(m.oi_short), Quote(m.fee_pool)).or_core()?;
        let mut idx = m.funding_indices();
        idx.apply(&e).or_core()?;
        m.set_funding_indices(&idx);
        m.fee_pool = m.fee_pool.checked_add(e.amm_share.0).ok_or(PerpError::MathOverflow)?;
        m.pnl_pool_add(Quote(-e.amm_share.0))?;
        m.last_funding_rate = rate.0;
        m.last_funding_time = now;
        m.premium_sum.set(0);
        m.premium_seconds = 0;
        let interval = m.funding_interval;
        let missed = (now - m.next_funding_time) / interval;
        m.next_funding_time += (missed + 1) * interval;
        emit!(FundingUpdated {
            seq: m.next_seq()?,
            market_index: m.market_index,
            time: now,
            premium_index: p.0,
            rate: rate.0,
            mark_price: mark.0,
            delta_long: e.delta_long.0,
            delta_short: e.delta_short.0,
            amm_share: e.amm_share.0,
            receiver_capped: e.receiver_capped,
            oi_long: m.oi_long,
            oi_short: m.oi_short,
            next_funding_time: m.next_funding_time,
        });
    }
    Ok(())
}
