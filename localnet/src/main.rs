//! `perp-validator`: a local Solana validator built from agave's own crates (the
//! `solana-test-validator` crate's `TestValidatorGenesis`, agave 3.1.12 like solana-program-test
//! in the main workspace) with the given SBF programs and a SOL faucet. `perp localnet` starts it,
//! then creates the USDC-like mint, the oracle accounts and the exchange over JSON-RPC.
//!
//! The ledger directory keeps the chain between runs: started again on the same directory, the
//! validator goes on from its last slot (programs and accounts as they were: a rebuilt `.so` is
//! loaded only into a new chain); `--reset` starts a new chain. The programs' upgrade authority is
//! `--upgrade-authority` (perp's `initialize_exchange` requires it), else the faucet. The faucet's keypair (`faucet-keypair.json` in the ledger directory) receives the
//! genesis SOL and answers `requestAirdrop`. Prints one JSON line with its addresses once the RPC
//! answers, then runs until SIGINT or SIGTERM and shuts the validator down.

#[allow(deprecated)]
use solana_faucet::faucet::run_local_faucet_with_port;
use solana_keypair::{read_keypair_file, write_keypair_file, Keypair};
use solana_pubkey::Pubkey;
use solana_signer::Signer;
use solana_streamer::socket::SocketAddrSpace;
use solana_test_validator::{TestValidatorGenesis, UpgradeableProgramInfo};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const USAGE: &str = "usage: perp-validator --ledger DIR [--reset] [--rpc-port 8899] [--faucet-port 9900] \
[--port-range 8000-8100] [--upgrade-authority PUBKEY] [--bpf-program PROGRAM_ID=PATH.so]...";

struct Args {
    ledger: PathBuf,
    reset: bool,
    rpc_port: u16,
    faucet_port: u16,
    port_range: (u16, u16),
    programs: Vec<(Pubkey, PathBuf)>,
    upgrade_authority: Option<Pubkey>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        ledger: PathBuf::new(),
        reset: false,
        rpc_port: 8899,
        faucet_port: 9900,
        port_range: (8000, 8100),
        programs: vec![],
        upgrade_authority: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--ledger" => a.ledger = PathBuf::from(value()?),
            "--reset" => a.reset = true,
            "--rpc-port" => a.rpc_port = value()?.parse().map_err(|e| format!("--rpc-port: {e}"))?,
            "--faucet-port" => a.faucet_port = value()?.parse().map_err(|e| format!("--faucet-port: {e}"))?,
            "--port-range" => {
                let v = value()?;
                let (lo, hi) = v.split_once('-').ok_or("--port-range: use LOW-HIGH")?;
                let lo: u16 = lo.parse().map_err(|e| format!("--port-range: {e}"))?;
                let hi: u16 = hi.parse().map_err(|e| format!("--port-range: {e}"))?;
                if hi < lo.saturating_add(solana_net_utils::MINIMUM_VALIDATOR_PORT_RANGE_WIDTH) {
                    return Err(format!(
                        "--port-range: at least {} ports",
                        solana_net_utils::MINIMUM_VALIDATOR_PORT_RANGE_WIDTH
                    ));
                }
                a.port_range = (lo, hi);
            }
            "--upgrade-authority" => {
                let v = value()?;
                a.upgrade_authority = Some(Pubkey::from_str(&v).map_err(|e| format!("--upgrade-authority {v}: {e}"))?);
            }
            "--bpf-program" => {
                let v = value()?;
                let (id, path) = v.split_once('=').ok_or("--bpf-program: use PROGRAM_ID=PATH")?;
                let id = Pubkey::from_str(id).map_err(|e| format!("--bpf-program {id}: {e}"))?;
                let path = PathBuf::from(path);
                if !path.is_file() {
                    return Err(format!(
                        "--bpf-program: {} not found (build it with scripts/build-sbf)",
                        path.display()
                    ));
                }
                a.programs.push((id, path));
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if a.ledger.as_os_str().is_empty() {
        return Err(format!("--ledger is required\n{USAGE}"));
    }
    Ok(a)
}

fn faucet_keypair(ledger: &std::path::Path) -> Result<Keypair, String> {
    let path = ledger.join("faucet-keypair.json");
    if path.exists() {
        return read_keypair_file(&path).map_err(|e| format!("{}: {e}", path.display()));
    }
    let kp = Keypair::new();
    write_keypair_file(&kp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(kp)
}

fn run(a: Args) -> Result<(), String> {
    if a.reset && a.ledger.exists() {
        std::fs::remove_dir_all(&a.ledger).map_err(|e| format!("--reset {}: {e}", a.ledger.display()))?;
    }
    std::fs::create_dir_all(&a.ledger).map_err(|e| format!("{}: {e}", a.ledger.display()))?;
    let fresh = !TestValidatorGenesis::ledger_exists(&a.ledger);
    let faucet = faucet_keypair(&a.ledger)?;
    let faucet_pubkey = faucet.pubkey();

    // the faucet: 1,000 SOL per request at most, for test keypairs
    let (tx, rx) = crossbeam_channel::unbounded();
    #[allow(deprecated)]
    run_local_faucet_with_port(faucet.insecure_clone(), tx, None, None, Some(1_000_000_000_000), a.faucet_port);
    let faucet_addr = rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|e| format!("faucet: {e}"))?
        .map_err(|e| format!("faucet on port {}: {e}", a.faucet_port))?;
    let faucet_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), faucet_addr.port());

    let mut genesis = TestValidatorGenesis::default();
    genesis
        .ledger_path(&a.ledger)
        .rpc_port(a.rpc_port)
        .faucet_addr(Some(faucet_addr))
        // transaction history (getSignaturesForAddress, getTransaction), as solana-test-validator keeps it
        .rpc_config(solana_rpc::rpc::JsonRpcConfig {
            enable_rpc_transaction_history: true,
            enable_extended_tx_metadata_storage: true,
            faucet_addr: Some(faucet_addr),
            ..solana_rpc::rpc::JsonRpcConfig::default_for_test()
        })
        .port_range(a.port_range)
        .gossip_port(a.port_range.0)
        .bind_ip_addr(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .gossip_host(IpAddr::V4(Ipv4Addr::LOCALHOST));
    if fresh {
        let programs: Vec<UpgradeableProgramInfo> = a
            .programs
            .iter()
            .map(|(id, path)| UpgradeableProgramInfo {
                program_id: *id,
                loader: solana_sdk_ids::bpf_loader_upgradeable::id(),
                upgrade_authority: a.upgrade_authority.unwrap_or(faucet_pubkey),
                program_path: path.clone(),
            })
            .collect();
        genesis.add_upgradeable_programs_with_path(&programs);
    }
    let validator = genesis
        .start_with_mint_address(faucet_pubkey, SocketAddrSpace::new(true))
        .map_err(|e| format!("validator: {e}"))?;

    let line = format!(
        "{{\"rpc\":\"{}\",\"websocket\":\"{}\",\"faucet\":\"{}\",\"faucet_keypair\":\"{}\",\"ledger\":\"{}\",\"new_chain\":{}}}",
        validator.rpc_url(),
        validator.rpc_pubsub_url().trim_end_matches('/'),
        faucet_addr,
        a.ledger.join("faucet-keypair.json").display(),
        a.ledger.display(),
        fresh
    );
    println!("{line}");

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).map_err(|e| format!("signal handler: {e}"))?;
    }
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("perp-validator: stopping");
    drop(validator);
    eprintln!("perp-validator: stopped");
    Ok(())
}

fn main() {
    let code = match parse_args().and_then(run) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("perp-validator: {e}");
            2
        }
    };
    std::process::exit(code);
}
