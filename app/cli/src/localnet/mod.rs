//! `perp localnet`: a local cluster in one command. `start` runs `perp-validator` (agave's
//! `TestValidatorGenesis` with perp.so, perp_vault.so and the localnet-only test oracle), creates
//! the USDC-like mint and the oracle accounts of `migrations/localnet.json`, initialises the
//! exchange from that config (unless `--no-init`), then replays the bundled prices into the
//! oracles until Ctrl-C, and stops the validator. `faucet` gives a keypair SOL and USDC; `price`
//! writes one price into a market's oracles (the feeder must be off, `--feed off`, or it writes
//! over it within a second).
//!
//! The localnet keys under `migrations/localnet/` are published on purpose (the mint and the
//! oracle authority of a throwaway chain); the test oracle is never deployed to a public cluster.

pub mod feeder;
pub mod guard;
pub mod oracles;
pub mod setup;

use crate::output::{CliError, Output};
use perp_client::data::repo_root;
use perp_client::rpc::{Retry, RpcChain};
use perp_client::Pubkey;
use perp_core::{Price, Quote};
use serde_json::{json, Value};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[derive(clap::Subcommand, Debug)]
pub enum LocalnetCmd {
    /// Start a local validator with the programs, mint, oracles and exchange; feed prices until Ctrl-C.
    Start(StartArgs),
    /// Give a keypair SOL (from the node's faucet) and USDC (minted by the localnet authority).
    Faucet(FaucetArgs),
    /// Write one price (with the cluster's clock as publish time) into every oracle of a market.
    Price(PriceArgs),
    /// Write a new keypair file (Solana CLI format) for a test wallet; never overwrites.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
pub struct StartArgs {
    /// Ledger directory (kept between runs; the chain goes on where it stopped).
    #[arg(long, default_value = ".localnet/ledger")]
    pub ledger: PathBuf,
    /// Start a new chain (deletes the ledger directory first).
    #[arg(long)]
    pub reset: bool,
    /// JSON-RPC port (the websocket is the next port).
    #[arg(long, default_value_t = 8899)]
    pub rpc_port: u16,
    /// Faucet port (`requestAirdrop`).
    #[arg(long, default_value_t = 9900)]
    pub faucet_port: u16,
    /// Ports for the validator's other sockets (gossip, TPU, ...), at least 25.
    #[arg(long, default_value = "8000-8100")]
    pub port_range: String,
    /// Directory with perp.so, perp_vault.so and perp_test_oracle.so (scripts/build-sbf).
    #[arg(long)]
    pub programs: Option<PathBuf>,
    /// The perp-validator binary (default: $PERP_VALIDATOR, else what scripts/localnet builds).
    #[arg(long)]
    pub validator: Option<PathBuf>,
    /// Exchange config.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Do not initialise the exchange (run `perp admin init --config migrations/localnet.json` yourself,
    /// with the same --keypair: it is the programs' upgrade authority on a new chain).
    #[arg(long)]
    pub no_init: bool,
    /// `replay` (the bundled prices) or `off` (write prices with `perp localnet price`).
    #[arg(long, default_value = "replay")]
    pub feed: String,
    /// Replay speed: data seconds per second of wall time.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Milliseconds between oracle writes.
    #[arg(long, default_value_t = 1000)]
    pub feed_interval_ms: u64,
}

#[derive(clap::Args, Debug)]
pub struct FaucetArgs {
    /// Who receives (default: the --keypair's public key).
    #[arg(long)]
    pub to: Option<String>,
    /// SOL to top the owner up to.
    #[arg(long, default_value_t = 10)]
    pub sol: u64,
    /// USDC to mint into the owner's associated token account.
    #[arg(long, default_value = "10000")]
    pub usdc: String,
    /// Listed collateral to mint too, as NAME=AMOUNT in whole tokens (e.g. SOL=10); repeatable.
    #[arg(long)]
    pub collateral: Vec<String>,
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct PriceArgs {
    /// Market index.
    #[arg(long, default_value_t = 0)]
    pub market: u16,
    /// A listed collateral's own oracle instead of a market's (its symbol, e.g. SOL).
    #[arg(long)]
    pub collateral: Option<String>,
    /// Price in USDC (e.g. 19500.25).
    #[arg(long)]
    pub price: String,
    /// Confidence in USDC (default: 0.01 % of the price).
    #[arg(long)]
    pub conf: Option<String>,
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Localnet paths and keys.
pub struct Local {
    pub config: Value,
    pub authority: Keypair,
    pub mint: Keypair,
    pub feeds: Vec<oracles::Feed>,
    /// The listed collateral mints of the config: `(symbol, mint key, decimals)`, each key
    /// published as `migrations/localnet/<symbol in lower case>-mint.json`.
    pub collateral: Vec<(String, Keypair, u8)>,
}

fn read_key(p: &Path) -> Result<Keypair, CliError> {
    solana_keypair::read_keypair_file(p).map_err(|e| CliError::input(format!("keypair {}: {e}", p.display())))
}

impl Local {
    pub fn load(config: Option<&Path>) -> Result<Local, CliError> {
        let root = repo_root();
        let path = config.map(Path::to_path_buf).unwrap_or_else(|| root.join("migrations/localnet.json"));
        let text =
            std::fs::read_to_string(&path).map_err(|e| CliError::input(format!("--config {}: {e}", path.display())))?;
        let config: Value =
            serde_json::from_str(&text).map_err(|e| CliError::input(format!("--config {}: {e}", path.display())))?;
        let authority = read_key(&root.join("migrations/localnet/authority.json"))?;
        let mint = read_key(&root.join("migrations/localnet/usdc-mint.json"))?;
        if config.get("collateral_mint").and_then(Value::as_str) != Some(mint.pubkey().to_string().as_str()) {
            return Err(CliError::input(format!(
                "config: collateral_mint must be the localnet mint {}",
                mint.pubkey()
            )));
        }
        let feeds = oracles::feeds(&config, &authority.pubkey())?;
        let mut collateral = Vec::new();
        for (i, e) in config.get("collateral").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let name = e.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
            let kp = read_key(&root.join(format!("migrations/localnet/{}-mint.json", name.to_lowercase())))?;
            if e.get("mint").and_then(Value::as_str) != Some(kp.pubkey().to_string().as_str()) {
                return Err(CliError::input(format!("config: collateral {i} ({name}): mint must be {}", kp.pubkey())));
            }
            let decimals = e.get("decimals").and_then(Value::as_u64).unwrap_or(0) as u8;
            collateral.push((name, kp, decimals));
        }
        Ok(Local { config, authority, mint, feeds, collateral })
    }

    /// The collateral index (1, 2, ...) of a symbol.
    pub fn collateral_index(&self, name: &str) -> Result<u16, CliError> {
        self.collateral.iter().position(|(n, _, _)| n.eq_ignore_ascii_case(name)).map(|i| i as u16 + 1).ok_or_else(
            || {
                let names: Vec<&str> = self.collateral.iter().map(|(n, _, _)| n.as_str()).collect();
                CliError::input(format!("collateral '{name}': not in the config (listed: {})", names.join(", ")))
            },
        )
    }
}

fn chain(rpc: &str) -> RpcChain {
    RpcChain::new(rpc, CommitmentConfig::confirmed(), Retry::default())
}

fn validator_binary(arg: &Option<PathBuf>) -> Result<PathBuf, CliError> {
    let p = match arg {
        Some(p) => p.clone(),
        None => match std::env::var_os("PERP_VALIDATOR") {
            Some(p) => PathBuf::from(p),
            None => {
                let target = std::env::var_os("CARGO_TARGET_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| repo_root().join("target"));
                target.join("localnet/debug/perp-validator")
            }
        },
    };
    if !p.is_file() {
        return Err(CliError::input(format!(
            "validator binary {} not found: build it with scripts/localnet --build (or pass --validator)",
            p.display()
        )));
    }
    Ok(p)
}

/// The running validator process: stopped (SIGTERM, then SIGKILL after 30 s) when dropped.
pub struct Validator {
    child: Child,
    pub info: Value,
}

impl Validator {
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        for _ in 0..300 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Validator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts perp-validator and waits for its address line.
/// `upgrade_authority`: the programs' upgrade authority on a new chain (perp's
/// `initialize_exchange` accepts only it as the first admin).
pub fn spawn_validator(a: &StartArgs, upgrade_authority: &Pubkey) -> Result<Validator, CliError> {
    let bin = validator_binary(&a.validator)?;
    let dir = a.programs.clone().unwrap_or_else(|| repo_root().join("target/deploy"));
    let programs =
        [(perp::ID, "perp.so"), (perp_vault::ID, "perp_vault.so"), (perp_test_oracle::ID, "perp_test_oracle.so")];
    let mut cmd = Command::new(&bin);
    cmd.arg("--ledger")
        .arg(&a.ledger)
        .args(["--rpc-port", &a.rpc_port.to_string(), "--faucet-port", &a.faucet_port.to_string()])
        .args(["--port-range", &a.port_range])
        .args(["--upgrade-authority", &upgrade_authority.to_string()]);
    if a.reset {
        cmd.arg("--reset");
    }
    for (id, file) in programs {
        let so = dir.join(file);
        if !so.is_file() {
            return Err(CliError::input(format!(
                "{} not found: build the programs with scripts/build-sbf",
                so.display()
            )));
        }
        cmd.arg("--bpf-program").arg(format!("{id}={}", so.display()));
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).stdin(Stdio::null());
    // the validator dies with this process, whatever ends it
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| CliError::input(format!("{}: {e}", bin.display())))?;
    let out = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // the validator prints progress ("Waiting for fees to stabilize 1...") before its JSON line
        let mut sent = false;
        for line in std::io::BufReader::new(out).lines() {
            match line {
                Ok(l) if !sent && l.starts_with('{') => {
                    sent = true;
                    let _ = tx.send(Ok(l));
                }
                Ok(l) => eprintln!("perp-validator: {l}"),
                Err(e) => {
                    let _ = tx.send(Err(e));
                    break;
                }
            }
        }
    });
    let line = match rx.recv_timeout(Duration::from_secs(180)) {
        Ok(Ok(l)) => l,
        other => {
            let exited = child.try_wait().ok().flatten();
            let _ = child.kill();
            let _ = child.wait();
            let why = match (other, exited) {
                (Ok(Err(e)), _) => format!("reading its output: {e}"),
                (_, Some(status)) => format!("it exited with {status}"),
                _ => "no address line within 180 s".to_string(),
            };
            return Err(CliError::Failed {
                message: format!("perp-validator did not start ({why}); see its messages above"),
                details: None,
            });
        }
    };
    let info: Value = serde_json::from_str(&line)
        .map_err(|e| CliError::Failed { message: format!("perp-validator said '{line}': {e}"), details: None })?;
    Ok(Validator { child, info })
}

/// Sets a new or restarted chain up: programs usable, authority funded, mint, oracles, exchange.
pub async fn prepare(
    c: &RpcChain,
    local: &Local,
    admin: Option<&Keypair>,
    first_price: Price,
) -> Result<Value, CliError> {
    setup::wait_for_node(c, Duration::from_secs(120)).await?;
    setup::ensure_sol(c, &local.authority.pubkey(), 100).await?;
    setup::wait_for_programs(c, &local.authority, &[perp::ID, perp_vault::ID, perp_test_oracle::ID]).await?;
    let mint_created = setup::ensure_mint(c, &local.authority, &local.mint, setup::USDC_DECIMALS).await?;
    for (_, kp, decimals) in &local.collateral {
        setup::ensure_mint(c, &local.authority, kp, *decimals).await?;
    }
    let oracles_created = setup::ensure_oracles(c, &local.authority, &local.feeds, first_price).await?;
    let mut v = json!({
        "mint": local.mint.pubkey().to_string(),
        "mint_created": mint_created,
        "oracles": local.feeds.iter().map(|f| f.key.to_string()).collect::<Vec<_>>(),
        "oracles_created": oracles_created,
        "collateral_mints": local.collateral.iter().map(|(n, k, _)| json!({ "name": n, "mint": k.pubkey().to_string() })).collect::<Vec<_>>(),
    });
    if let Some(admin) = admin {
        setup::ensure_sol(c, &admin.pubkey(), 10).await?;
        // the markets' insurance seeds come from the admin's token account: mint them first
        let mut seeds = 0u64;
        for (i, m) in local.config.get("markets").and_then(Value::as_array).into_iter().flatten().enumerate() {
            seeds += crate::admin::insurance_seed(m, &format!("market {i}"))?.unwrap_or(0);
        }
        if seeds > 0 && perp_client::chain::fetch_market(c, 0).await.is_err() {
            setup::mint_usdc(c, &local.authority, &local.mint.pubkey(), &admin.pubkey(), seeds).await?;
        }
        let init = crate::admin::init(c, admin, &local.config, false, &Default::default()).await?;
        v["admin"] = json!(admin.pubkey().to_string());
        v["init"] = init.value;
    }
    Ok(v)
}

async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// `perp localnet start`: prints the cluster's addresses once it is ready (one JSON line with
/// `--json`), feeds prices until Ctrl-C or SIGTERM, stops the validator.
pub fn start(a: &StartArgs, admin: Option<&Keypair>, json_out: bool) -> Result<Option<Output>, CliError> {
    let local = Local::load(a.config.as_deref())?;
    let replay = match a.feed.as_str() {
        "replay" | "off" => feeder::Replay::bundled(a.speed)?,
        f => return Err(CliError::input(format!("--feed {f}: use replay or off"))),
    };
    // the admin (--keypair, else the localnet authority) is the programs' upgrade authority, so
    // it may initialise the exchange, now or later with `perp admin init` (--no-init)
    let admin_key = admin.unwrap_or(&local.authority);
    let mut validator = spawn_validator(a, &admin_key.pubkey())?;
    let rpc = validator.info["rpc"].as_str().unwrap_or_default().to_string();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let c = chain(&rpc);
    let admin = if a.no_init { None } else { Some(admin_key) };
    let ready = rt.block_on(prepare(&c, &local, admin, replay.first_price()));
    let ready = match ready {
        Ok(v) => v,
        Err(e) => {
            validator.stop();
            return Err(e);
        }
    };
    let mut info = validator.info.clone();
    for (k, v) in ready.as_object().cloned().unwrap_or_default() {
        info[k] = v;
    }
    info["upgrade_authority"] = json!(admin_key.pubkey().to_string());
    info["feed"] = json!(a.feed);
    info["speed"] = json!(a.speed);
    info["programs"] = json!({
        "perp": perp::ID.to_string(),
        "perp_vault": perp_vault::ID.to_string(),
        "test_oracle": perp_test_oracle::ID.to_string(),
    });
    Output::new("rpc", info).print(json_out);
    use std::io::Write;
    let _ = std::io::stdout().flush();
    if a.feed == "replay" {
        let interval = Duration::from_millis(a.feed_interval_ms.max(100));
        rt.block_on(feeder::run(&c, &local.authority, &local.feeds, &replay, interval, stop_signal()));
    } else {
        rt.block_on(stop_signal());
    }
    eprintln!("localnet: stopping the validator");
    validator.stop();
    Ok(None)
}

/// `perp localnet faucet`.
pub async fn faucet(rpc: &str, a: &FaucetArgs, me: Option<&Keypair>) -> Result<Output, CliError> {
    let local = Local::load(a.config.as_deref())?;
    let to: Pubkey = match (&a.to, me) {
        (Some(t), _) => t.parse().map_err(|_| CliError::input(format!("--to '{t}' is not a public key")))?,
        (None, Some(k)) => k.pubkey(),
        (None, None) => return Err(CliError::input("--to or --keypair is needed".into())),
    };
    let usdc = Quote::parse(&a.usdc).map_err(|e| CliError::input(format!("--usdc: {e}")))?;
    if usdc.0 < 0 {
        return Err(CliError::input("--usdc must not be negative".into()));
    }
    let c = chain(rpc);
    let sol = setup::ensure_sol(&c, &to, a.sol).await?;
    setup::ensure_sol(&c, &local.authority.pubkey(), 10).await?;
    let mut minted = Vec::new();
    for spec in &a.collateral {
        let (name, amount) = spec
            .split_once('=')
            .ok_or_else(|| CliError::input(format!("--collateral '{spec}': use NAME=AMOUNT, e.g. SOL=10")))?;
        let i = local.collateral_index(name)? as usize - 1;
        let (n, kp, decimals) = &local.collateral[i];
        let raw = perp_core::units::parse_decimal(amount, *decimals as u32)
            .ok()
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| CliError::input(format!("--collateral '{spec}': {amount} is not an amount of {n}")))?;
        let ata = setup::mint_usdc(&c, &local.authority, &kp.pubkey(), &to, raw).await?;
        minted.push(json!({ "collateral": n, "token_account": ata.to_string(), "minted": amount }));
    }
    let ata = setup::mint_usdc(&c, &local.authority, &local.mint.pubkey(), &to, usdc.0 as u64).await?;
    let balance = perp_client::chain::token_balance(&c, &ata).await.map_err(setup::failed)?;
    Ok(Output::new(
        "owner",
        json!({
            "owner": to.to_string(),
            "lamports": sol.to_string(),
            "token_account": ata.to_string(),
            "usdc_minted": usdc.to_string(),
            "usdc_balance": Quote(balance as i64).to_string(),
            "collateral": minted,
        }),
    ))
}

/// `perp localnet price`.
pub async fn price(rpc: &str, a: &PriceArgs) -> Result<Output, CliError> {
    let local = Local::load(a.config.as_deref())?;
    let p = Price::parse(&a.price).map_err(|e| CliError::input(format!("--price: {e}")))?;
    if p.0 == 0 {
        return Err(CliError::input("--price must be positive".into()));
    }
    let conf = match &a.conf {
        Some(cf) => Price::parse(cf).map_err(|e| CliError::input(format!("--conf: {e}")))?,
        None => Price(p.0 / 10_000),
    };
    let feeds: Vec<oracles::Feed> = match &a.collateral {
        Some(name) => {
            let ci = local.collateral_index(name)?;
            let f: Vec<oracles::Feed> = local.feeds.iter().filter(|f| f.collateral == ci).cloned().collect();
            if f.is_empty() {
                return Err(CliError::input(format!(
                    "--collateral {name}: it has no oracle of its own (it moves with a market's): use --market"
                )));
            }
            f
        }
        None => local.feeds.iter().filter(|f| f.market == a.market).cloned().collect(),
    };
    if feeds.is_empty() {
        return Err(CliError::input(format!("--market {}: no such market in the config", a.market)));
    }
    let c = chain(rpc);
    let quotes = vec![(p, conf); feeds.len()];
    let now = feeder::push(&c, &local.authority, &feeds, &quotes).await?;
    Ok(Output::new(
        "price",
        json!({
            "price": p.to_string(),
            "conf": conf.to_string(),
            "market": a.market,
            "collateral": a.collateral,
            "publish_time": now,
            "oracles": feeds.iter().map(|f| f.key.to_string()).collect::<Vec<_>>(),
        }),
    ))
}

/// `perp localnet keygen --out FILE`.
pub fn keygen(out: &Path) -> Result<Output, CliError> {
    if out.exists() {
        return Err(CliError::input(format!("{} exists: not overwritten", out.display())));
    }
    let kp = Keypair::new();
    solana_keypair::write_keypair_file(&kp, out).map_err(|e| CliError::input(format!("{}: {e}", out.display())))?;
    Ok(Output::new("pubkey", json!({ "pubkey": kp.pubkey().to_string(), "file": out.display().to_string() })))
}
