//! The fuzzer's actions and their random generation (proptest strategies, shrinkable).
//!
//! Indices (`u`, `v`, `m`, `src`) are reduced modulo the world's counts when an action runs, so
//! every generated value is meaningful and shrinking towards 0 stays meaningful too.

use proptest::prelude::*;

/// Traders 0..=3 are ordinary users; 4 is the liquidator (it trades too).
pub const USERS: u8 = 5;
pub const LIQUIDATOR: usize = 4;
pub const MARKETS: u8 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    None,
    /// A limit this many bps through the index (a worse price the trader accepts).
    Through(u16),
    /// A limit this many bps better than the index (usually refused as slippage).
    Better(u16),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    /// Publishes the market's current price now (and keeps publishing on warps).
    Fresh,
    /// Stops publishing: its publish time stays where it is.
    Stale,
    /// Publishes a price this many bps away from the true price.
    Outlier(i16),
    /// The account is closed (no data, system-owned).
    Missing,
    /// Publishes a confidence interval wider than the market's limit.
    WideConf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admin {
    /// Instant: the first tier's IMR up by half (a tightening `update_market` allows).
    TightenImr,
    /// Timelocked (delay 0 in the world): back to the default parameters.
    Restore,
    /// Timelocked: funding cap and clamp changed.
    FundingParams,
    /// Timelocked: the ADL policy switched (refused while a bankruptcy or round is open).
    FlipAdlPolicy,
    MarketStatus(u8),
    /// Exchange pause switches (bit set of TRADE | DEPOSIT | WITHDRAW | FUNDING).
    Pause(u16),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Deposit {
        u: u8,
        usdc: u32,
    },
    Withdraw {
        u: u8,
        usdc: u32,
    },
    /// `milli`: size in thousandths of a base unit.
    Order {
        u: u8,
        m: u8,
        long: bool,
        milli: u16,
        iso: bool,
        iso_usdc: u16,
        reduce: bool,
        limit: Limit,
        delegate: bool,
    },
    Close {
        u: u8,
        m: u8,
        delegate: bool,
    },
    /// Signed: positive moves cross collateral into the isolated position.
    MoveIsolated {
        u: u8,
        m: u8,
        usdc: i32,
    },
    SetDelegate {
        u: u8,
        to: Option<u8>,
    },
    /// The true price moves by `bps` (every fresh feed publishes it now).
    Price {
        m: u8,
        bps: i16,
    },
    Feed {
        m: u8,
        src: u8,
        feed: Feed,
    },
    Warp {
        secs: u16,
    },
    Funding {
        m: u8,
    },
    Settle {
        u: u8,
    },
    Liquidate {
        v: u8,
        m: u8,
        milli: u16,
    },
    AdlBegin {
        m: u8,
        v: u8,
    },
    AdlScan {
        m: u8,
    },
    /// `honest`: the round's next ranked entries in order; otherwise the ranked entries in an
    /// order rotated by `n` (the program must refuse any order but the ranked one).
    AdlStep {
        m: u8,
        honest: bool,
        n: u8,
    },
    Resolve {
        m: u8,
        v: u8,
    },
    /// A keeper's pass over a bankrupt position in `m`: begin a round when none can be used,
    /// scan, step (honestly, or out of order as `AdlStep`), resolve once the ranking is used up.
    AdlPass {
        m: u8,
        honest: bool,
        n: u8,
    },
    Admin {
        m: u8,
        admin: Admin,
    },
    Sweep {
        m: u8,
    },
    Insurance {
        m: u8,
        usdc: u16,
    },
    /// The permissionless repeg crank.
    Repeg {
        m: u8,
    },
    /// A resting order (`kind` 0..5: limit, stop, take-profit, stop-limit, take-profit-limit),
    /// its trigger and limit `bps` away from the true price, expiring in `expiry` s (0 = never).
    PlaceOrder {
        u: u8,
        m: u8,
        kind: u8,
        long: bool,
        milli: u16,
        bps: (i16, i16),
        reduce: bool,
        expiry: u16,
    },
    CancelOrders {
        u: u8,
        all: bool,
    },
    /// A keeper's pass over every open order of a market.
    FillOrders {
        m: u8,
    },
    /// Open and close `milli` in one transaction (the trader has no position there before).
    RoundTrip {
        u: u8,
        m: u8,
        long: bool,
        milli: u16,
    },
    /// Listed collateral (SOL, 9 decimals): deposit or withdraw `centi` hundredths of a SOL.
    SolDeposit {
        u: u8,
        centi: u16,
    },
    SolWithdraw {
        u: u8,
        centi: u16,
    },
    /// SOL's true price moves by `bps` (its oracle publishes it now).
    SolPrice {
        bps: i16,
    },
    /// The liquidator buys the SOL of the `v`-th SOL holder (refreshed in the same transaction).
    SolLiquidate {
        v: u8,
    },
    /// The keeper's crank: SOL's cached price refreshed from its oracle.
    SolRefresh,
}

fn limit() -> impl Strategy<Value = Limit> {
    prop_oneof![6 => Just(Limit::None), 2 => (1u16..500).prop_map(Limit::Through), 1 => (1u16..200).prop_map(Limit::Better)]
}

fn feed() -> impl Strategy<Value = Feed> {
    prop_oneof![
        3 => Just(Feed::Fresh),
        2 => Just(Feed::Stale),
        2 => (-3000i16..3000).prop_map(Feed::Outlier),
        1 => Just(Feed::Missing),
        1 => Just(Feed::WideConf),
    ]
}

fn admin() -> impl Strategy<Value = Admin> {
    prop_oneof![
        Just(Admin::TightenImr),
        Just(Admin::Restore),
        Just(Admin::FundingParams),
        Just(Admin::FlipAdlPolicy),
        (0u8..3).prop_map(Admin::MarketStatus),
        (0u16..32).prop_map(Admin::Pause),
    ]
}

/// One action, weighted so that trades and price moves dominate and liquidations, bankruptcies
/// and ADL rounds happen in a useful share of sequences.
pub fn action() -> impl Strategy<Value = Action> {
    let u = 0u8..USERS;
    let m = 0u8..MARKETS;
    prop_oneof![
        3 => (u.clone(), 1u32..5_000).prop_map(|(u, usdc)| Action::Deposit { u, usdc }),
        2 => (u.clone(), 1u32..20_000).prop_map(|(u, usdc)| Action::Withdraw { u, usdc }),
        16 => (
            (u.clone(), m.clone(), any::<bool>(), 1u16..3_000),
            (prop::bool::weighted(0.3), 0u16..5_000, prop::bool::weighted(0.15), limit(), prop::bool::weighted(0.1)),
        )
            .prop_map(|((u, m, long, milli), (iso, iso_usdc, reduce, limit, delegate))| Action::Order {
                u, m, long, milli, iso, iso_usdc, reduce, limit, delegate
            }),
        2 => (u.clone(), m.clone(), prop::bool::weighted(0.1)).prop_map(|(u, m, delegate)| Action::Close { u, m, delegate }),
        1 => (u.clone(), m.clone(), -3_000i32..3_000).prop_map(|(u, m, usdc)| Action::MoveIsolated { u, m, usdc }),
        1 => (u.clone(), prop::option::of(0u8..USERS)).prop_map(|(u, to)| Action::SetDelegate { u, to }),
        14 => (m.clone(), -1500i16..1500).prop_map(|(m, bps)| Action::Price { m, bps }),
        2 => (m.clone(), 0u8..3, feed()).prop_map(|(m, src, feed)| Action::Feed { m, src, feed }),
        4 => prop_oneof![3 => 1u16..600, 1 => 600u16..4_000].prop_map(|secs| Action::Warp { secs }),
        3 => m.clone().prop_map(|m| Action::Funding { m }),
        1 => u.clone().prop_map(|u| Action::Settle { u }),
        8 => (u.clone(), m.clone(), 0u16..3_000).prop_map(|(v, m, milli)| Action::Liquidate { v, m, milli }),
        2 => (m.clone(), u.clone()).prop_map(|(m, v)| Action::AdlBegin { m, v }),
        2 => m.clone().prop_map(|m| Action::AdlScan { m }),
        3 => (m.clone(), prop::bool::weighted(0.7), 1u8..4).prop_map(|(m, honest, n)| Action::AdlStep { m, honest, n }),
        1 => (m.clone(), u.clone()).prop_map(|(m, v)| Action::Resolve { m, v }),
        4 => (m.clone(), prop::bool::weighted(0.8), 1u8..4).prop_map(|(m, honest, n)| Action::AdlPass { m, honest, n }),
        1 => (m.clone(), admin()).prop_map(|(m, admin)| Action::Admin { m, admin }),
        1 => m.clone().prop_map(|m| Action::Sweep { m }),
        3 => m.clone().prop_map(|m| Action::Repeg { m }),
        1 => (m.clone(), 1u16..5_000).prop_map(|(m, usdc)| Action::Insurance { m, usdc }),
        2 => (u.clone(), m.clone(), any::<bool>(), 1u16..3_000).prop_map(|(u, m, long, milli)| Action::RoundTrip { u, m, long, milli }),
        4 => (
            (u.clone(), m.clone(), 0u8..5, any::<bool>(), 1u16..3_000),
            ((-600i16..600, -300i16..300), prop::bool::weighted(0.6), prop_oneof![3 => Just(0u16), 1 => 1u16..3_000]),
        )
            .prop_map(|((u, m, kind, long, milli), (bps, reduce, expiry))| Action::PlaceOrder {
                u, m, kind, long, milli, bps, reduce, expiry
            }),
        1 => (u, any::<bool>()).prop_map(|(u, all)| Action::CancelOrders { u, all }),
        4 => m.prop_map(|m| Action::FillOrders { m }),
        4 => (0u8..USERS, 1u16..3_000).prop_map(|(u, centi)| Action::SolDeposit { u, centi }),
        2 => (0u8..USERS, 1u16..3_000).prop_map(|(u, centi)| Action::SolWithdraw { u, centi }),
        4 => (-2500i16..1500).prop_map(|bps| Action::SolPrice { bps }),
        3 => (0u8..USERS).prop_map(|v| Action::SolLiquidate { v }),
        3 => Just(Action::SolRefresh),
    ]
}

/// A sequence of `1..=max` actions.
pub fn sequence(max: usize) -> impl Strategy<Value = Vec<Action>> {
    prop::collection::vec(action(), 1..=max)
}
