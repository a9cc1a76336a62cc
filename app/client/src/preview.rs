//! Off-chain views built on the program's own code: the index from the same oracle decoder and
//! perp-core filters, marks and health from the program's engine functions, trade previews by
//! running the program's fill on copies of the accounts. What a trader is shown is what the
//! program enforces.

use crate::chain::AccountData;
use crate::collateral_view::{collateral_health, cross_liquidation_price, Collaterals};
use anchor_lang::prelude::Pubkey;
use perp::engine::fill::execute_fill;
use perp::engine::health::{group_health, position_part, Group, Parts};
use perp::engine::markets::PriceNeed;
use perp::engine::prices::{view, MarketView};
use perp::state::{Exchange, MarginAccount, Market, MAX_POSITIONS};
use perp_core::adl::{adl_score, AdlScore};
use perp_core::funding::position_payment;
use perp_core::index::{compute_index, IndexReport, SourceReading};
use perp_core::liquidation::{bankruptcy_price, liquidation_price};
use perp_core::margin::{requirement, Health, MarginKind, PositionState, Tier};
use perp_core::takeover::open_gain;
use perp_core::vamm::{Fill, Side};
use perp_core::{Base, Price, Quote, Rate};
use std::collections::BTreeMap;

/// A market's index as the program would compute it now, with the reason for every dropped source.
#[derive(Clone, Debug)]
pub struct IndexView {
    pub report: Option<IndexReport>,
    pub readings: Vec<SourceReading>,
    /// Per source: why its account could not be used at all (before perp-core's filters).
    pub issues: Vec<Option<String>>,
}

impl IndexView {
    pub fn price(&self) -> Option<Price> {
        self.report.as_ref().and_then(|r| r.price)
    }
}

pub fn index_view(m: &Market, ex: &Exchange, oracles: &[Option<AccountData>], now: i64) -> IndexView {
    let n = m.oracle_count();
    let mut readings = Vec::with_capacity(n);
    let mut issues = Vec::with_capacity(n);
    for i in 0..n {
        let cfg = &m.oracles[i];
        let owner = if cfg.kind == perp::state::oracle_kind::PYTH_LEGACY {
            ex.pyth_legacy_program
        } else {
            ex.pyth_receiver_program
        };
        let r = match oracles.get(i).and_then(|o| o.as_ref()) {
            None => Err("account not found".to_string()),
            Some(a) if a.owner != owner => Err(format!("owner {} is not the Pyth program {}", a.owner, owner)),
            Some(a) => {
                perp::oracle::decode_reading(cfg.kind, &a.data, &cfg.feed_id, m.partial_min_signatures(), cfg.weight)
                    .map_err(|e| e.to_string())
            }
        };
        match r {
            Ok(x) => {
                readings.push(x);
                issues.push(None);
            }
            Err(e) => {
                readings.push(SourceReading::default());
                issues.push(Some(e));
            }
        }
    }
    let report = compute_index(&readings, now, &m.index_config()).ok();
    IndexView { report, readings, issues }
}

/// A market with the price the client uses for it: the live index when enough sources survive,
/// else the market's cached index (flagged).
#[derive(Clone, Debug)]
pub struct MarketState {
    pub market: Market,
    pub index: Price,
    pub live: bool,
    pub view: MarketView,
}

pub fn market_state(m: &Market, index: &IndexView, now: i64) -> Option<MarketState> {
    let (idx, live) = match index.price() {
        Some(p) => (p, true),
        None if m.last_index > 0 => (Price(m.last_index), false),
        None => return None,
    };
    let v = view(m, idx, now).ok()?;
    Some(MarketState { market: *m, index: idx, live, view: v })
}

/// Funding a position owes since its last settlement (positive = owes).
pub fn funding_owed(m: &Market, base: i64, snapshot: i128) -> Quote {
    if base == 0 {
        return Quote::ZERO;
    }
    let idx = m.funding_indices().for_base(Base(base));
    position_payment(Base(base), idx, perp_core::FundingIndex(snapshot)).unwrap_or(Quote::ZERO)
}

/// What a position owes its market's pro-rata ADL pool now (the program's own function): charged
/// when the position is next touched.
pub fn haircut_owed(m: &Market, p: &perp::state::Position) -> Quote {
    perp::engine::haircut::haircut_owed(m, p).unwrap_or(Quote::ZERO)
}

/// The account as it would be after settling funding (and any pro-rata ADL haircut) now: what
/// the program computes first.
pub fn settled(acct: &MarginAccount, markets: &BTreeMap<u16, MarketState>) -> MarginAccount {
    let mut a = *acct;
    for i in 0..MAX_POSITIONS {
        let p = a.positions[i];
        if !p.in_use() {
            continue;
        }
        if let Some(ms) = markets.get(&p.market_index) {
            let owed = funding_owed(&ms.market, p.base, p.funding_snapshot.get());
            let _ = a.add_collateral(Some(i), Quote(-owed.0));
            // a pro-rata haircut comes off the position's PnL (its entry), as the program settles it
            let haircut = haircut_owed(&ms.market, &p);
            a.positions[i].quote_entry = p.quote_entry.saturating_sub(haircut.0);
            a.positions[i].haircut_paid = p.haircut_paid.saturating_add(haircut.0);
        }
    }
    a
}

/// Every position's part of its group's health at its market's view (funding already settled
/// in `acct`), as the program computes it. Listed collateral counts nothing here (set
/// `parts.collateral` from [`crate::collateral_view::collateral_health`] to count it).
pub fn parts_for(acct: &MarginAccount, markets: &BTreeMap<u16, MarketState>) -> Parts {
    let mut v: Parts = Parts { collateral: Some(Health::default()), ..Default::default() };
    for (i, p) in acct.positions.iter().enumerate() {
        if p.in_use() && p.base != 0 {
            v[i] = markets.get(&p.market_index).and_then(|m| position_part(p, &m.view, Quote::ZERO).ok());
        }
    }
    v
}

#[derive(Clone, Debug)]
pub struct PositionView {
    pub slot: usize,
    pub market_index: u16,
    pub base: Base,
    pub entry_price: Option<Price>,
    pub mark: Price,
    pub notional: Quote,
    pub upnl: Quote,
    pub funding_owed: Quote,
    /// Owed to a pro-rata ADL pool (charged when the position is next touched).
    pub haircut_owed: Quote,
    pub isolated: bool,
    pub isolated_collateral: Quote,
    pub bankrupt: bool,
    pub liquidation_price: Option<Price>,
    pub bankruptcy_price: Option<Price>,
    pub maintenance: Quote,
}

#[derive(Clone, Debug)]
pub struct AccountHealth {
    pub cross: Health,
    pub isolated: Vec<(usize, Health)>,
    pub positions: Vec<PositionView>,
}

impl AccountHealth {
    /// Any group below maintenance.
    pub fn liquidatable(&self) -> bool {
        self.cross.is_liquidatable() || self.isolated.iter().any(|(_, h)| h.is_liquidatable())
    }
    /// How far below maintenance the worst group is (positive = that much short).
    pub fn shortfall(&self) -> Quote {
        let mut worst = Quote(self.cross.maintenance.0 - self.cross.equity.0);
        for (_, h) in &self.isolated {
            worst = worst.max(Quote(h.maintenance.0 - h.equity.0));
        }
        worst
    }
    /// The groups that are liquidatable: slots of positions a liquidator may close.
    pub fn liquidatable_positions(&self) -> Vec<&PositionView> {
        self.positions
            .iter()
            .filter(|p| {
                !p.bankrupt
                    && p.base.0 != 0
                    && if p.isolated {
                        self.isolated.iter().any(|(s, h)| *s == p.slot && h.is_liquidatable())
                    } else {
                        self.cross.is_liquidatable()
                    }
            })
            .collect()
    }
}

/// Health of every group of the account, funding owed included, at the given markets' marks.
/// Positions whose market is missing from `markets` are left out; listed collateral counts
/// nothing ([`account_health_with`] counts it).
pub fn account_health(acct: &MarginAccount, markets: &BTreeMap<u16, MarketState>) -> AccountHealth {
    account_health_with(acct, markets, &Collaterals::new(), 0)
}

/// [`account_health`] with the account's listed collateral counted as a reduction would count it
/// now (at its cached index; nothing once its price is hours old), and cross liquidation prices
/// that move collateral tracking the position's market with it.
pub fn account_health_with(
    acct: &MarginAccount,
    markets: &BTreeMap<u16, MarketState>,
    collaterals: &Collaterals,
    now: i64,
) -> AccountHealth {
    let a = settled(acct, markets);
    let mut views = parts_for(&a, markets);
    views.collateral = Some(collateral_health(&a, collaterals, PriceNeed::Tolerant, now));
    let with_collateral = a.has_collateral() && !collaterals.is_empty();
    let cross = group_health(&a, Group::Cross, &views).unwrap_or_default();
    let mut isolated = Vec::new();
    let mut positions = Vec::new();
    for (i, p) in a.positions.iter().enumerate() {
        if !p.in_use() {
            continue;
        }
        let Some(ms) = markets.get(&p.market_index) else {
            continue;
        };
        let st = p.state();
        let mark = ms.view.mark;
        let tiers = ms.view.tiers();
        let upnl = st.upnl(mark).unwrap_or_default();
        let notional = st.notional(mark).unwrap_or_default();
        let mm = requirement(tiers, notional, MarginKind::Maintenance).unwrap_or_default();
        let effective = if p.is_isolated() {
            let h = group_health(&a, Group::Isolated(i), &views).unwrap_or_default();
            isolated.push((i, h));
            Quote(p.isolated_collateral)
        } else {
            // the rest of the cross group folded into the collateral
            Quote(cross.equity.0 - upnl.0 - (cross.maintenance.0 - mm.0))
        };
        let (lp, bp) = if st.base.0 == 0 {
            (None, None)
        } else {
            let bank_c = if p.is_isolated() { effective } else { Quote(cross.equity.0 - upnl.0) };
            (
                if with_collateral && !p.is_isolated() {
                    cross_liquidation_price(acct, i, markets, collaterals, now)
                } else {
                    liquidation_price(&st, effective, tiers).ok().flatten().map(|l| l.price)
                },
                if p.is_bankrupt() { Some(Price(p.bankruptcy_price)) } else { bankruptcy_price(&st, bank_c).ok() },
            )
        };
        positions.push(PositionView {
            slot: i,
            market_index: p.market_index,
            base: st.base,
            entry_price: st.entry_price().ok(),
            mark,
            notional,
            upnl,
            funding_owed: funding_owed(&ms.market, acct.positions[i].base, acct.positions[i].funding_snapshot.get()),
            haircut_owed: haircut_owed(&ms.market, &acct.positions[i]),
            isolated: p.is_isolated(),
            isolated_collateral: Quote(p.isolated_collateral),
            bankrupt: p.is_bankrupt(),
            liquidation_price: lp,
            bankruptcy_price: bp,
            maintenance: mm,
        });
    }
    AccountHealth { cross, isolated, positions }
}

/// The keeper's scan: is any margin group of the account below maintenance, and by how much
/// (positive shortfall = liquidatable). Funding owed is included, listed collateral valued as a
/// liquidation values it (a holding missing from `collaterals` counts nothing); no liquidation
/// prices are computed, so this is the cheap path run over every account.
pub fn scan_health(
    acct: &MarginAccount,
    markets: &BTreeMap<u16, MarketState>,
    collaterals: &Collaterals,
    now: i64,
) -> (bool, Quote) {
    let a = settled(acct, markets);
    let mut views = parts_for(&a, markets);
    if a.has_collateral() {
        views.collateral = Some(collateral_health(&a, collaterals, PriceNeed::Liquidation, now));
    }
    let mut worst = i64::MIN;
    let mut any = false;
    let mut consider = |g: Group| {
        if let Ok(h) = group_health(&a, g, &views) {
            worst = worst.max(h.maintenance.0 - h.equity.0);
            any |= h.is_liquidatable();
        }
    };
    consider(Group::Cross);
    for (i, p) in a.positions.iter().enumerate() {
        if p.in_use() && p.is_isolated() {
            consider(Group::Isolated(i));
        }
    }
    (any, Quote(worst))
}

/// [`scan_health`] over many accounts on `threads` threads; returns the liquidatable ones with
/// their shortfall, most underwater first.
pub fn scan_accounts(
    accounts: &[(Pubkey, MarginAccount)],
    markets: &BTreeMap<u16, MarketState>,
    collaterals: &Collaterals,
    now: i64,
    threads: usize,
) -> Vec<(Pubkey, Quote)> {
    let chunk = accounts.len().div_ceil(threads.max(1)).max(1);
    let mut out: Vec<(Pubkey, Quote)> = std::thread::scope(|s| {
        let handles: Vec<_> = accounts
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .filter_map(|(k, a)| {
                            let (liq, short) = scan_health(a, markets, collaterals, now);
                            liq.then_some((*k, short))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    out.sort_by_key(|x| std::cmp::Reverse(x.1));
    out
}

/// The health of the liquidated group after `liquidate` took over `size` of the position in
/// `slot` at the mark and charged the penalty, as the program computes it (`None` when the group
/// is not liquidatable or the takeover cannot be computed). Keepers size partial takeovers with it.
pub fn preview_takeover(
    acct: &MarginAccount,
    slot: usize,
    markets: &BTreeMap<u16, MarketState>,
    size: Base,
) -> Option<Health> {
    let mut a = settled(acct, markets);
    let p = a.positions[slot];
    let ms = markets.get(&p.market_index)?;
    let mut m = ms.market;
    let group = if p.is_isolated() { Group::Isolated(slot) } else { Group::Cross };
    let mut parts = parts_for(&a, markets);
    let h = group_health(&a, group, &parts).ok()?;
    if !h.is_liquidatable() || p.is_bankrupt() {
        return None;
    }
    let mark = ms.view.mark;
    let closed = Base(size.0.min(p.base.abs()) * p.base.signum());
    let x = perp_core::takeover::takeover_quote(closed, mark).ok()?;
    let out =
        perp::engine::adl::close_off_curve(&mut a, &Pubkey::default(), slot, &mut m, Base(-closed.0), x, false).ok()?;
    parts[slot] =
        if out.position.base.0 != 0 { position_part(&a.positions[slot], &ms.view, Quote::ZERO).ok() } else { None };
    let after = group_health(&a, group, &parts).ok()?;
    let notional = closed.notional_at(mark, perp_core::Round::Up).ok()?;
    let pen = perp_core::takeover::takeover_penalty(after.equity, notional, &m.liquidation_fees()).ok()?;
    a.add_collateral(Some(slot), Quote(-(pen.reward.0 + pen.insurance_fee.0))).ok()?;
    group_health(&a, group, &parts).ok()
}

#[derive(Clone, Debug)]
pub struct TradePreview {
    pub fill: Fill,
    pub fee: Quote,
    pub realized: Quote,
    pub new_position: PositionState,
    /// Health of the position's group after the trade.
    pub health_after: Health,
    pub margin_ratio_after: Option<Rate>,
    pub liquidation_price_after: Option<Price>,
    /// Whether the program would accept it on margin (initial requirement for new risk).
    pub accepted: Result<(), String>,
}

/// What `place_market_order` would do now: the program's fill on copies of the accounts (listed
/// collateral counting nothing: [`preview_trade_with`] counts it).
#[allow(clippy::too_many_arguments)]
pub fn preview_trade(
    acct: &MarginAccount,
    market: &MarketState,
    others: &BTreeMap<u16, MarketState>,
    fee_insurance_share: i64,
    side: Side,
    size: Base,
    isolated: bool,
    isolated_collateral: Quote,
    now: i64,
) -> Result<TradePreview, String> {
    preview_trade_with(
        acct,
        market,
        others,
        &Collaterals::new(),
        fee_insurance_share,
        side,
        size,
        isolated,
        isolated_collateral,
        now,
    )
}

/// [`preview_trade`] with the account's listed collateral valued as the program values it for
/// new risk (a price it would refuse counts nothing).
#[allow(clippy::too_many_arguments)]
pub fn preview_trade_with(
    acct: &MarginAccount,
    market: &MarketState,
    others: &BTreeMap<u16, MarketState>,
    collaterals: &Collaterals,
    fee_insurance_share: i64,
    side: Side,
    size: Base,
    isolated: bool,
    isolated_collateral: Quote,
    now: i64,
) -> Result<TradePreview, String> {
    let mut all = others.clone();
    all.insert(market.market.market_index, market.clone());
    let mut a = settled(acct, &all);
    let mut m = market.market;
    let idx = m.market_index;
    let old_base = a.find(idx).map(|i| a.positions[i].base).unwrap_or(0);
    if let Some(i) = a.find(idx) {
        if a.positions[i].is_isolated() != isolated {
            return Err("the position's margin mode differs (close it to switch)".into());
        }
    }
    let slot = a.find_or_open(idx, isolated).map_err(|e| e.to_string())?;
    if isolated && isolated_collateral.0 > 0 {
        a.cross_collateral -= isolated_collateral.0;
        a.positions[slot].isolated_collateral += isolated_collateral.0;
    }
    let fee_rate = Rate(m.taker_fee);
    let v = view(&m, market.index, now).map_err(|e| e.to_string())?;
    let r =
        execute_fill(&mut a, &Pubkey::default(), slot, &mut m, side, size, fee_rate, Rate(fee_insurance_share), now)
            .map_err(|e| e.to_string())?;
    let mut views = parts_for(&a, &all);
    // a reduction is checked as the program checks it (a late collateral price counts as cached)
    let reduces = old_base != 0 && (old_base > 0) != (side == Side::Long) && size.0 <= old_base.abs();
    let need = if reduces { PriceNeed::Tolerant } else { PriceNeed::Adding };
    views.collateral = Some(collateral_health(&a, collaterals, need, now));
    views[slot] = if r.new.base.0 != 0 { position_part(&a.positions[slot], &v, Quote::ZERO).ok() } else { None };
    let group = if a.positions[slot].is_isolated() { Group::Isolated(slot) } else { Group::Cross };
    let h = group_health(&a, group, &views).map_err(|e| e.to_string())?;
    let reducing = old_base != 0 && (old_base > 0) != (side == Side::Long) && size.0 <= old_base.abs();
    let accepted = if reducing {
        if h.equity.is_negative() {
            Err("the account would be underwater".into())
        } else {
            Ok(())
        }
    } else if r.new.notional(v.mark).unwrap_or_default() > m.max_notional() {
        Err("notional above the market's largest tier cap".into())
    } else if h.equity.0 - open_gain(r.fill.base, r.fill.quote, v.mark).unwrap_or_default().0 < h.initial.0 {
        Err(format!("insufficient margin: equity {} (fill gain not counted) < initial margin {}", h.equity, h.initial))
    } else if isolated && a.positions[slot].isolated_collateral < 0 {
        Err("the isolated position needs collateral of its own".into())
    } else {
        Ok(())
    };
    let acc_after = AccountHealth::from_preview(&a, &all, &m, v, collaterals, now);
    let liq = acc_after.positions.iter().find(|p| p.market_index == idx).and_then(|p| p.liquidation_price);
    Ok(TradePreview {
        fill: r.fill,
        fee: r.fee,
        realized: r.realized,
        new_position: r.new,
        health_after: h,
        margin_ratio_after: h.margin_ratio().ok().flatten(),
        liquidation_price_after: liq,
        accepted,
    })
}

impl AccountHealth {
    fn from_preview(
        a: &MarginAccount,
        all: &BTreeMap<u16, MarketState>,
        m: &Market,
        v: MarketView,
        collaterals: &Collaterals,
        now: i64,
    ) -> AccountHealth {
        let mut all = all.clone();
        if let Some(ms) = all.get_mut(&m.market_index) {
            ms.market = *m;
            ms.view = v;
        }
        // funding is already settled in `a`: clear the owed amounts by using its snapshots
        account_health_with(a, &all, collaterals, now)
    }
}

/// ADL score of a position at `mark` (None: not a candidate, i.e. not profitable).
pub fn adl_score_of(pos: &PositionState, mark: Price, tiers: &[Tier]) -> Option<AdlScore> {
    let value = pos.notional(mark).ok()?;
    let mm = requirement(tiers, value, MarginKind::Maintenance).ok()?;
    adl_score(pos.upnl(mark).ok()?, pos.entry_value().ok()?, mm, value).ok().flatten()
}

/// The ADL indicator (1-5, 5 = deleveraged first) of `target`'s position, from its queue place
/// ([`adl_rank`]); `None` when the position is not a candidate (not profitable).
pub fn adl_quantile_of(target: &Pubkey, market: &MarketState, accounts: &[(Pubkey, MarginAccount)]) -> Option<u8> {
    let (r, n) = adl_rank(target, market, accounts)?;
    perp_core::adl::adl_quantile(r, n)
}

/// Under a pro-rata ADL policy, the share of a deficit on its side the position would bear now:
/// its profit at the mark over its side's (profitable, not bankrupt), at 10^9 (rounded up), and
/// the number of positions sharing it. `None` without a profitable position.
pub fn adl_share(target: &Pubkey, market: &MarketState, accounts: &[(Pubkey, MarginAccount)]) -> Option<(i64, usize)> {
    let idx = market.market.market_index;
    let mark = market.view.mark;
    let (_, t) = accounts.iter().find(|(k, _)| k == target)?;
    let tp = t.positions[t.find(idx)?];
    // the profit left once what a pool is owed comes off (as the next scan settles it first)
    let profit = |p: &perp::state::Position| {
        let mut st = p.state();
        st.quote_entry.0 = st.quote_entry.0.saturating_sub(haircut_owed(&market.market, p).0);
        st.upnl(mark).map(|u| u.0.max(0)).unwrap_or(0)
    };
    let mine = profit(&tp);
    if mine <= 0 || tp.is_bankrupt() {
        return None;
    }
    let side: Vec<i64> = accounts
        .iter()
        .filter_map(|(_, a)| a.find(idx).map(|s| a.positions[s]))
        .filter(|p| p.base.signum() == tp.base.signum() && !p.is_bankrupt())
        .map(|p| profit(&p))
        .filter(|u| *u > 0)
        .collect();
    let total: i64 = side.iter().sum();
    Some((perp_core::haircut::expected_share(Quote(mine), Quote(total)).ok()?, side.len()))
}

/// A position's place in its side's ADL queue: `(rank, candidates)`, rank 1 = deleveraged first.
pub fn adl_rank(target: &Pubkey, market: &MarketState, accounts: &[(Pubkey, MarginAccount)]) -> Option<(usize, usize)> {
    let idx = market.market.market_index;
    let tiers = market.view.tiers();
    let (_, t) = accounts.iter().find(|(k, _)| k == target)?;
    let tslot = t.find(idx)?;
    let side = t.positions[tslot].base.signum();
    let mut c: Vec<perp_core::adl::AdlCandidate> = accounts
        .iter()
        .filter_map(|(k, a)| {
            let s = a.find(idx)?;
            let p = a.positions[s];
            if p.base.signum() != side || p.is_bankrupt() {
                return None;
            }
            let score = adl_score_of(&p.state(), market.view.mark, tiers)?;
            Some(perp_core::adl::AdlCandidate { key: k.to_bytes(), size: Base(p.base.abs()), score })
        })
        .collect();
    perp_core::adl::rank(&mut c);
    let pos = c.iter().position(|x| x.key == target.to_bytes())?;
    Some((pos + 1, c.len()))
}
