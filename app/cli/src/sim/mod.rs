//! `perp simulate`: replays real market data through the real program in an in-process bank.
//!
//! Every price series drives its own Pyth account (legacy push and pull `PriceUpdateV2`
//! alternating), updated as its bars close. A deterministic population of traders (trend
//! followers at 2-50x, mean reverters, noise traders and an arbitrageur who trades the vAMM toward
//! the index) trades through the program; the keeper code cranks funding, liquidates and
//! deleverages. A third of the traders protect each position with a stop-loss and a take-profit,
//! and some noise traders keep resting limit orders; the keeper fills them. At the end: a summary,
//! charts, and the conservation check.

//!
//! `--scenario collateral` replays the USDC de-peg with USDC- and wBTC-backed traders (`collateral`).
//!
//! Modules: `config` (arguments, named scenarios, the market), `world` (the bank, oracles and
//! population), `traders` (strategies), `orders` (stops, take-profits and resting limits), `run` (the minute loop), `stats` (vAMM gap distribution,
//! ADL queue vs pro rata), `adl_policy` (what the market's ADL policy cost the winners), `report` (summary and charts), `cli` (`perp simulate`).

mod adl_policy;
mod cli;
mod collateral;
mod config;
mod index;
mod orders;
mod report;
mod run;
mod stats;
mod traders;
mod world;

pub use adl_policy::{policies_chart, policy_passes, summarize, PolicyPass, PolicySummary};
pub use cli::run_cli;
pub use collateral::CollateralSummary;
pub use config::{sim_market_params, Scenario, SimArgs, SimConfig};
pub use report::{summary_table, EventKind, SimEvent, SimResult, SimSummary};
pub use run::simulate;
pub use stats::{adl_fairness_line, adl_rounds, gap_stats, AdlRoundStats, GapStats};
