use crate::engine::adl::{book_surplus, close_bankrupt, close_off_curve, finish_bankruptcy, socialize};
use crate::engine::funding::settle_position;
use crate::engine::haircut::{policy, spread};
use crate::engine::prices::{guarded_index, mark_price};
use crate::error::{CoreResultExt, PerpError};
use crate::events::EventStream;
use crate::events::{AdlHaircut, AdlStep};
use crate::oracle::{read_index_guarded, resolve_index};
use crate::state::*;
use anchor_lang::prelude::*;
use perp_core::adl::{adl_price, adl_score, AdlScore};
use perp_core::haircut::AdlPolicy;
use perp_core::margin::{requirement, tier_index, MarginKind};
use perp_core::{Base, Price, Quote};

#[derive(Accounts)]
pub struct AutoDeleverage<'info> {
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut, constraint = adl_round.load()?.market_index == market.load()?.market_index @ PerpError::AdlRoundMismatch)]
    pub adl_round: AccountLoader<'info, AdlRound>,
    #[account(mut)]
    pub bankrupt_account: AccountLoader<'info, MarginAccount>,
}

/// Permissionless: closes the bankrupt position against the round's ranked counterparties,
/// highest score first, each in full before the next. The program checks: the round is not
/// expired and has counted every counterparty-side position of the market; the candidates given
/// (remaining accounts after the oracles, writable) are exactly the next entries of its ranking,
/// in order, with no higher-ranked entry left out; each one's score, recomputed now at the
/// round's mark, is eligible and not above the previous one's. The counterparties' price is the
/// position's stored bankruptcy price kept within its maintenance rate of the *live* mark; what
/// that bound leaves on the bankrupt account is socialized in this market, and what it gives beyond
/// the bankruptcy price (a recovery since the flag) goes to the market's insurance fund, never to
/// the bankrupt account. A ranked entry whose account has since closed, emptied, gone bankrupt or
/// stopped being profitable at the round's mark is skipped (used up). The live index passes the
/// oracle guard rails (`engine::prices::guarded_index`, in the bankrupt side's favour).
///
/// Under the **pro-rata** policy no position is closed against a counterparty and none is passed:
/// the market's book takes the bankrupt position off the curve at the worse of its bankruptcy
/// price and the live mark (as `resolve_bankruptcy` does), and the deficit beyond the bankruptcy
/// price is spread over the opposite side's pool (`perp_core::haircut`): each position counted by
/// the round's scan pays in proportion to its profit at the round's mark, never more than that
/// profit, when it is next touched. What the pool cannot carry is socialized as in the last resort.
/// Remaining accounts: the market's oracles, then the candidates (ranked policy only).
pub fn handler<'info>(ctx: Context<'info, AutoDeleverage<'info>>) -> Result<()> {
    let now = crate::engine::now()?;
    let ex = ctx.accounts.exchange.load()?;
    let bkey = ctx.accounts.bankrupt_account.key();
    let mut m = ctx.accounts.market.load_mut()?;
    require!(!m.is_paused(now), PerpError::MarketPaused);
    let mut r = ctx.accounts.adl_round.load_mut()?;
    let mut b = ctx.accounts.bankrupt_account.load_mut()?;
    require!(m.adl_round != 0 && m.adl_round == r.round, PerpError::AdlRoundMismatch);
    if r.is_expired(now) {
        msg!("round {} began {} s ago (limit {} s)", r.round, now - r.started_at, ADL_ROUND_MAX_AGE);
        return err!(PerpError::AdlRoundExpired);
    }
    let oracles = m.oracle_count();
    let (report, guard) = read_index_guarded(&m, &ex, ctx.remaining_accounts, now)?;
    let (index, _) = resolve_index(&mut m, &report, now, false)?;
    // the bankrupt side is long when the counterparties are shorts (side 2)
    let index = guarded_index(&m, &guard, index, r.side == 2, now)?;
    let live = mark_price(&m, index, now)?;
    if m.adl_scanned != m.open_positions(r.side) {
        msg!("round counted {} of {} positions", m.adl_scanned, m.open_positions(r.side));
        return err!(PerpError::AdlRankingIncomplete);
    }
    let bslot = b.find(m.market_index).ok_or(PerpError::NotBankrupt)?;
    require!(b.positions[bslot].is_bankrupt(), PerpError::NotBankrupt);
    let bsign = b.positions[bslot].base.signum();
    require!((bsign > 0 && r.side == 2) || (bsign < 0 && r.side == 1), PerpError::AdlRoundMismatch);
    settle_position(&mut b, &bkey, bslot, &mut m)?;
    if policy(&m) == AdlPolicy::ProRata {
        if ctx.remaining_accounts.len() != oracles {
            msg!("a pro-rata round takes no candidates: pass only the market's oracles");
            return err!(PerpError::AdlPolicyMismatch);
        }
        return pro_rata(&mut m, &mut r, &mut b, &bkey, bslot, live, now);
    }
    // the ranking uses the round's mark; the price uses the live one
    let mark = Price(r.mark);
    let tiers = m.tiers();
    let tiers = &tiers[..m.tier_count()];
    let bpos = b.positions[bslot].state();
    let pb = Price(b.positions[bslot].bankruptcy_price);
    let band = tiers[tier_index(tiers, bpos.notional(live).or_core()?)].mmr;
    let price = adl_price(pb, live, band).or_core()?;
    if price != pb {
        msg!("bankruptcy price {} is beyond the live mark {} +/- {}: closing at {}", pb, live, band, price);
    }
    let charge_longs = r.side == 1;

    let cursor = r.cursor();
    let n = r.entry_count();
    let mut remaining = b.positions[bslot].base.abs();
    let mut prev: Option<AdlScore> = None;
    let mut steps = 0;
    for (i, info) in ctx.remaining_accounts[oracles..].iter().enumerate() {
        if remaining == 0 {
            break;
        }
        let idx = cursor + i;
        if idx >= n || info.key() != r.entries[idx].key {
            let later = r.entries[idx.min(n)..n].iter().any(|e| e.key == info.key());
            msg!("candidate {} is not the next ranked entry", info.key());
            return if later { err!(PerpError::AdlCandidateSkipped) } else { err!(PerpError::AdlOrderViolation) };
        }
        require!(info.key() != bkey, PerpError::AdlCandidateIneligible);
        // an account closed since the scan is used up
        if *info.owner != crate::ID || info.data_is_empty() {
            r.entries[idx].size = 0;
            steps += 1;
            continue;
        }
        let loader = AccountLoader::<MarginAccount>::try_from(info)?;
        let mut c = loader.load_mut()?;
        // so is one that no longer holds a counterparty position, or went bankrupt itself
        let Some(cslot) = c
            .find(m.market_index)
            .filter(|s| c.positions[*s].base.signum() == -bsign && !c.positions[*s].is_bankrupt())
        else {
            r.entries[idx].size = 0;
            steps += 1;
            continue;
        };
        settle_position(&mut c, &info.key(), cslot, &mut m)?;
        let st = c.positions[cslot].state();
        let value = st.notional(mark).or_core()?;
        let mm = requirement(tiers, value, MarginKind::Maintenance).or_core()?;
        // an entry no longer profitable at the round's mark (its entry moved, e.g. by a takeover)
        // is used up, like a closed one (N-6): it cannot stall the round
        let Some(score) = adl_score(st.upnl(mark).or_core()?, st.entry_value().or_core()?, mm, value).or_core()? else {
            msg!("candidate {} is no longer profitable at the round's mark: skipped", info.key());
            r.entries[idx].size = 0;
            steps += 1;
            continue;
        };
        if prev.is_some_and(|p| score > p) {
            msg!("candidate {} scores {} above the previous {}", info.key(), score, prev.unwrap());
            return err!(PerpError::AdlOrderViolation);
        }
        prev = Some(score);

        let q = remaining.min(st.base.0.abs()).min(r.entries[idx].size);
        // one amount for both sides (zero-sum between them)
        let bc = close_bankrupt(&mut b, &bkey, bslot, &mut m, q, price)?;
        let out = close_off_curve(&mut c, &info.key(), cslot, &mut m, Base(bsign * q), Quote(-bsign * bc.x.0), false)?;
        book_surplus(&mut m, bc.surplus)?;
        socialize(&mut b, &bkey, bslot, &mut m, bc.shortfall, charge_longs, live)?;
        r.entries[idx].size = if out.position.base.0 == 0 { 0 } else { r.entries[idx].size - q };
        c.release_if_empty(cslot)?;
        remaining -= q;
        steps += 1;
        r.last_progress = now;
        emit!(AdlStep {
            seq: m.next_seq()?,
            market_index: m.market_index,
            bankrupt_account: bkey,
            counterparty: info.key(),
            base_closed: -bsign * q,
            price: price.0,
            counterparty_realized: out.realized.0,
            score: score.0,
        });
    }
    if steps == 0 {
        msg!("no candidate given; the next ranked entry is #{}", cursor);
        return err!(PerpError::AdlCandidateSkipped);
    }
    if remaining == 0 {
        finish_bankruptcy(&mut b, &bkey, bslot, &mut m, charge_longs, live)?;
    }
    Ok(())
}

/// The pro-rata step: the bankrupt position closes off the curve, its deficit goes to the pool.
#[allow(clippy::too_many_arguments)]
fn pro_rata(
    m: &mut Market,
    r: &mut AdlRound,
    b: &mut MarginAccount,
    bkey: &Pubkey,
    bslot: usize,
    live: Price,
    now: i64,
) -> Result<()> {
    let pool = crate::engine::haircut::pool_of_round_side(r.side);
    require!(m.haircut_round[pool] == r.round as u32, PerpError::AdlRoundMismatch);
    let charge_longs = r.side == 1;
    let base = b.positions[bslot].base;
    let pool_profit = m.haircut_profit[pool];
    // the book takes it at the worse of the live mark and the bankruptcy price
    let bc = close_bankrupt(b, bkey, bslot, m, base.abs(), live)?;
    let step = spread(m, r.side, bc.shortfall)?;
    b.add_collateral(Some(bslot), step.absorbed)?;
    let rest = bc.shortfall.checked_sub(step.absorbed).or_core()?;
    socialize(b, bkey, bslot, m, rest, charge_longs, live)?;
    r.last_progress = now;
    emit!(AdlHaircut {
        seq: m.next_seq()?,
        market_index: m.market_index,
        round: r.round,
        policy: AdlPolicy::ProRata as u8,
        bankrupt_account: *bkey,
        base_closed: -base,
        price: if base > 0 {
            live.0.min(b.positions[bslot].bankruptcy_price)
        } else {
            live.0.max(b.positions[bslot].bankruptcy_price)
        },
        deficit: bc.shortfall.0,
        absorbed: step.absorbed.0,
        pool_profit,
        index: m.haircut_index[pool].get(),
    });
    finish_bankruptcy(b, bkey, bslot, m, charge_longs, live)
}
