//! `perp`: the command traders, keepers and integrators run.

use clap::{Parser, Subcommand};
use perp_cli::output::{CliError, Output};
use perp_cli::{keeper, math, trader};
use perp_client::rpc::{commitment, Retry, RpcChain};
use perp_client::SendOptions;
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "perp",
    version,
    about = "Perpetual swaps on Solana: calculator, trader CLI, keeper and replay simulator"
)]
struct Cli {
    /// Print one JSON object (numbers as decimal strings) instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// JSON-RPC endpoint of the cluster.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8899")]
    rpc: String,
    /// Keypair file in the Solana CLI JSON format (default: ~/.config/solana/id.json).
    #[arg(long, global = true)]
    keypair: Option<PathBuf>,
    /// processed, confirmed or finalized.
    #[arg(long, global = true, default_value = "confirmed")]
    commitment: String,
    /// Compute-unit limit for transactions.
    #[arg(long, global = true)]
    cu_limit: Option<u32>,
    /// Priority fee, micro-lamports per compute unit.
    #[arg(long, global = true)]
    priority_fee: Option<u64>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Replay real market data through the real program in an in-process bank (the main job).
    Simulate(perp_cli::sim::SimArgs),
    /// Risk calculator: index, premium, funding, mark, margin, liquidation price, ADL score, vAMM.
    #[command(subcommand)]
    Math(math::MathCmd),
    /// Margin accounts: create, deposit, withdraw, show.
    #[command(subcommand)]
    Account(trader::AccountCmd),
    /// Market orders against the vAMM (with a preview of fill, fee, margin ratio, liquidation price).
    #[command(subcommand)]
    Trade(trader::TradeCmd),
    /// Resting orders: limit, stop-loss, take-profit (place, list, cancel); keepers fill them.
    #[command(subcommand)]
    Order(perp_cli::orders::OrderCmd),
    /// Positions: close.
    #[command(subcommand)]
    Position(trader::PositionCmd),
    /// Listed collateral (SOL, wBTC, ...): list the registry, refresh prices.
    #[command(subcommand)]
    Collateral(perp_cli::collateral::CollateralCmd),
    /// Markets: list, show.
    #[command(subcommand)]
    Market(trader::MarketCmd),
    /// Run the keeper: funding crank, liquidations, ADL, bankruptcies.
    Keeper(KeeperArgs),
    /// History: backfill and tail the program's events into PostgreSQL or SQLite, serve them over HTTP.
    Indexer(perp_cli::history::IndexerArgs),
    /// Read the indexer: an account's fills, funding, liquidations, transfers, orders; trades, candles.
    #[command(subcommand)]
    History(perp_cli::history::HistoryCmd),
    /// Deployment: initialise the exchange and its markets from a config (see migrations/).
    #[command(subcommand)]
    Admin(perp_cli::admin::AdminCmd),
    /// A local cluster: validator with the programs, mint, test oracles, exchange, price feeder, faucet.
    #[command(subcommand)]
    Localnet(perp_cli::localnet::LocalnetCmd),
    /// Serve the trading page (app/web) for a cluster (--rpc, --cluster) and an indexer; wallets sign in the browser.
    Web(perp_cli::web::WebArgs),
}

#[derive(clap::Args, Debug)]
struct KeeperArgs {
    /// Markets to keep (default: all).
    #[arg(long, value_delimiter = ',')]
    markets: Option<Vec<u16>>,
    /// Seconds between passes.
    #[arg(long, default_value_t = 5)]
    interval: u64,
    /// Log as JSON lines.
    #[arg(long)]
    log_json: bool,
    /// Keep an account cache fed by websocket subscriptions (`auto`: the JSON-RPC port + 1) and
    /// run a pass as soon as a market or oracle account changes; without it the keeper polls.
    #[arg(long)]
    ws: Option<String>,
    /// Seconds between full resyncs of the websocket cache over JSON-RPC.
    #[arg(long, default_value_t = 30)]
    resync_s: u64,
    /// An independent JSON-RPC node (another provider) whose current slot bounds the slots the
    /// websocket cache accepts, so a lying node cannot pin a fake account in it; without it the
    /// websocket node's own slot stream does.
    #[arg(long)]
    slot_rpc: Option<String>,
}

/// `ws://host:(port+1)` of an `http://host:port` JSON-RPC URL (a validator's websocket).
fn ws_url(rpc: &str, arg: &str) -> Result<String, CliError> {
    if arg != "auto" {
        return Ok(arg.to_string());
    }
    let rest = rpc
        .strip_prefix("http://")
        .map(|r| ("ws://", r))
        .or_else(|| rpc.strip_prefix("https://").map(|r| ("wss://", r)));
    let (scheme, rest) = rest.ok_or_else(|| CliError::input(format!("--ws auto: cannot derive from --rpc {rpc}")))?;
    let host_port = rest.split('/').next().unwrap_or(rest);
    match host_port.rsplit_once(':') {
        Some((host, port)) => {
            let p: u16 = port.parse().map_err(|_| CliError::input(format!("--ws auto: bad port in {rpc}")))?;
            let ws = p.checked_add(1).ok_or_else(|| CliError::input(format!("--ws auto: no port after {p}")))?;
            let path = &rest[host_port.len()..];
            Ok(format!("{scheme}{host}:{ws}{path}"))
        }
        None => Err(CliError::input(format!("--ws auto: --rpc {rpc} has no port; give --ws URL"))),
    }
}

/// Creates the keeper, retrying with back-off while the node is unreachable or the keeper's
/// margin account cannot be created yet (fee payer without SOL): 1 s doubling to 30 s.
async fn start_keeper<C: perp_client::Chain>(chain: C, kp: Keypair, cfg: keeper::KeeperConfig) -> keeper::Keeper<C> {
    let mut wait = std::time::Duration::from_secs(1);
    let mut chain = Some(chain);
    loop {
        let c = chain.take().expect("chain");
        // a raise needed to create the account is for that transaction only
        let mut once = cfg.send;
        match keeper::ensure_keeper_account(&c, &kp, &mut once).await {
            Ok(account) => return keeper::Keeper::with_account(c, kp, account, cfg),
            Err(e) => {
                let hint = match e.reason() {
                    "AccountNotFound" | "InsufficientFundsForFee" | "InsufficientFundsForRent" => {
                        format!("fund the keeper's fee payer {} with SOL", kp.pubkey())
                    }
                    "Transport" => "is the node up? (--rpc)".to_string(),
                    _ => String::new(),
                };
                tracing::warn!(target: "keeper", error = %e.reason(), detail = %e, %hint, retry_in_ms = wait.as_millis() as u64, "cannot start yet; backing off");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(30));
                chain = Some(c);
            }
        }
    }
}

fn load_keypair(path: &Option<PathBuf>, required: bool) -> Result<Option<Keypair>, CliError> {
    let p = match path {
        Some(p) => p.clone(),
        None => match std::env::var_os("HOME") {
            Some(h) => PathBuf::from(h).join(".config/solana/id.json"),
            None => return if required { Err(CliError::input("no --keypair and no HOME".into())) } else { Ok(None) },
        },
    };
    if !p.exists() {
        return if required || path.is_some() {
            Err(CliError::input(format!(
                "keypair file {} not found: pass --keypair FILE (the Solana CLI's JSON format), or create one \
                 with `solana-keygen new -o {}`; then fund it (on a local cluster: `perp localnet faucet`)",
                p.display(),
                p.display()
            )))
        } else {
            Ok(None)
        };
    }
    let kp = solana_keypair::read_keypair_file(&p).map_err(|e| {
        CliError::input(format!(
            "keypair file {}: {e} (a keypair file is a JSON array of 64 bytes, as `solana-keygen new` writes)",
            p.display()
        ))
    })?;
    perp_cli::hints::set_payer(kp.pubkey());
    Ok(Some(kp))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

fn run(cli: &Cli) -> Result<Option<Output>, CliError> {
    perp_cli::hints::set_rpc(&cli.rpc);
    let opts = SendOptions { compute_unit_limit: cli.cu_limit, priority_fee_micro_lamports: cli.priority_fee };
    let chain = || -> Result<RpcChain, CliError> {
        let c = commitment(&cli.commitment).ok_or_else(|| {
            CliError::input(format!("--commitment '{}': use processed, confirmed or finalized", cli.commitment))
        })?;
        Ok(RpcChain::new(&cli.rpc, c, Retry::default()))
    };
    match &cli.cmd {
        Cmd::Math(m) => math::run(m).map(Some),
        Cmd::Simulate(a) => perp_cli::sim::run_cli(a).map(Some),
        Cmd::Account(a) => {
            let needs_key = !matches!(a, trader::AccountCmd::Show(s) if s.owner.is_some());
            let kp = load_keypair(&cli.keypair, needs_key)?;
            let c = chain()?;
            runtime().block_on(trader::account(&c, kp.as_ref(), a, &opts)).map(Some)
        }
        Cmd::Trade(t) => {
            let kp = load_keypair(&cli.keypair, true)?;
            let c = chain()?;
            runtime().block_on(trader::trade(&c, kp.as_ref(), t, &opts)).map(Some)
        }
        Cmd::Position(p) => {
            let needs_key = !matches!(p, trader::PositionCmd::List(s) if s.owner.is_some());
            let kp = load_keypair(&cli.keypair, needs_key)?;
            let c = chain()?;
            runtime().block_on(trader::position(&c, kp.as_ref(), p, &opts)).map(Some)
        }
        Cmd::Order(o) => {
            let needs_key = !matches!(o, perp_cli::orders::OrderCmd::List(s) if s.owner.is_some());
            let kp = load_keypair(&cli.keypair, needs_key)?;
            let c = chain()?;
            runtime().block_on(perp_cli::orders::order(&c, kp.as_ref(), o, &opts)).map(Some)
        }
        Cmd::Collateral(x) => {
            let needs_key = matches!(x, perp_cli::collateral::CollateralCmd::Refresh { .. });
            let kp = load_keypair(&cli.keypair, needs_key)?;
            let c = chain()?;
            runtime().block_on(perp_cli::collateral::run(&c, kp.as_ref(), x, &opts)).map(Some)
        }
        Cmd::Web(a) => {
            let ws = ws_url(&cli.rpc, &a.ws)?;
            perp_cli::web::run(a, &cli.rpc, ws).map(Some)
        }
        Cmd::Indexer(a) => {
            init_tracing(a.log_json);
            let listen = match a.listen.as_str() {
                "off" => None,
                l => Some(l.parse().map_err(|_| CliError::input(format!("--listen {l}: use host:port or off")))?),
            };
            let ws = match a.ws.as_str() {
                "off" => None,
                w => Some(ws_url(&cli.rpc, w)?),
            };
            let cfg = perp_indexer::Config {
                rpc: cli.rpc.clone(),
                ws,
                db: a.db.clone(),
                listen,
                poll: std::time::Duration::from_secs(a.poll.max(1)),
                once: a.once,
            };
            let stats = runtime()
                .block_on(perp_indexer::run(cfg))
                .map_err(|message| CliError::Failed { message, details: None })?;
            Ok(Some(Output::new(
                "transactions",
                serde_json::json!({
                    "transactions": stats.transactions,
                    "events": stats.events,
                    "undecoded_events": stats.undecoded,
                    "truncated_logs": stats.truncated,
                    "already_stored": stats.duplicates,
                }),
            )))
        }
        Cmd::History(h) => {
            let kp = load_keypair(&cli.keypair, false)?;
            let me = kp.as_ref().map(|k| k.pubkey());
            runtime().block_on(perp_cli::history::run(h, me.as_ref())).map(Some)
        }
        Cmd::Market(m) => {
            let c = chain()?;
            runtime().block_on(trader::market(&c, m)).map(Some)
        }
        Cmd::Admin(perp_cli::admin::AdminCmd::Init { config, dry_run }) => {
            let text = std::fs::read_to_string(config)
                .map_err(|e| CliError::input(format!("--config {}: {e}", config.display())))?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| CliError::input(format!("--config {}: {e}", config.display())))?;
            let kp = load_keypair(&cli.keypair, true)?.expect("required");
            let c = chain()?;
            runtime()
                .block_on(async {
                    perp_cli::localnet::guard::refuse_localnet_material(&c, &v, &kp.pubkey()).await?;
                    perp_cli::admin::init(&c, &kp, &v, *dry_run, &opts).await
                })
                .map(Some)
        }
        Cmd::Admin(perp_cli::admin::AdminCmd::Execute { proposal }) => {
            let kp = load_keypair(&cli.keypair, true)?.expect("required");
            let c = chain()?;
            runtime().block_on(perp_cli::admin::execute(&c, &kp, *proposal, &opts)).map(Some)
        }
        Cmd::Localnet(l) => {
            use perp_cli::localnet::{self, LocalnetCmd};
            match l {
                LocalnetCmd::Start(a) => {
                    let admin = load_keypair(&cli.keypair, false)?;
                    localnet::start(a, admin.as_ref(), cli.json)
                }
                LocalnetCmd::Faucet(a) => {
                    let me = load_keypair(&cli.keypair, a.to.is_none())?;
                    runtime().block_on(localnet::faucet(&cli.rpc, a, me.as_ref())).map(Some)
                }
                LocalnetCmd::Price(a) => runtime().block_on(localnet::price(&cli.rpc, a)).map(Some),
                LocalnetCmd::Keygen { out } => localnet::keygen(out).map(Some),
            }
        }
        Cmd::Keeper(k) => {
            let kp = load_keypair(&cli.keypair, true)?.expect("required");
            let c = chain()?;
            init_tracing(k.log_json);
            let cfg = keeper::KeeperConfig { markets: k.markets.clone(), send: opts, ..Default::default() };
            let interval = std::time::Duration::from_secs(k.interval.max(1));
            let ws = k.ws.as_deref().map(|w| ws_url(&cli.rpc, w)).transpose()?;
            if let Some(u) = &ws {
                perp_client::ws::check_ws_url(u).map_err(CliError::input)?;
            }
            runtime().block_on(async {
                match ws {
                    None => {
                        let mut keeper = start_keeper(c, kp, cfg).await;
                        tracing::info!(target: "keeper", rpc = %cli.rpc, keeper = %keeper.account, "keeper running (polling)");
                        keeper.run(interval).await;
                    }
                    Some(url) => {
                        let mut wc = perp_client::ws::WsConfig::new(&url);
                        wc.resync = std::time::Duration::from_secs(k.resync_s.max(1));
                        if let Some(u) = &k.slot_rpc {
                            let r = perp_client::rpc::RpcChain::new(u, c.client().commitment(), Default::default());
                            wc.slot_source = Some(std::sync::Arc::new(r));
                        } else {
                            tracing::warn!(target: "keeper", "no --slot-rpc: the websocket node's own slot stream bounds the cache");
                        }
                        let cached = perp_client::ws::WsChain::start(c, wc);
                        let wake = cached.wake();
                        let mut keeper = start_keeper(cached, kp, cfg).await;
                        tracing::info!(target: "keeper", rpc = %cli.rpc, ws = %url, keeper = %keeper.account, "keeper running (websocket cache)");
                        keeper.run_until(interval, Some(wake), std::future::pending()).await;
                    }
                }
                Ok::<_, CliError>(None)
            })
        }
    }
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if json {
        tracing_subscriber::fmt().with_env_filter(filter).json().init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                std::process::exit(if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand { 2 } else { 0 });
            }
            // one line: clap's first line without its "error: " prefix
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("error: {}", first.trim_start_matches("error: "));
            std::process::exit(2);
        }
    };
    match run(&cli) {
        Ok(Some(out)) => out.print(cli.json),
        Ok(None) => {}
        Err(e) => {
            e.report(cli.json);
            std::process::exit(e.exit_code());
        }
    }
}
