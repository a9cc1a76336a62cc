//! The trading page in headless Chromium against `perp localnet`, the keeper, the indexer and
//! `perp web`, as a trader uses it (app/web/test/trader.mjs drives the browser): a Wallet Standard
//! test wallet signing in the test process; connect, deposit, open a position through the ticket
//! (the liquidation price the preview showed equals the one the program's accounts give), a
//! rejected signature, a stop-loss filled by the keeper after the feed falls, the history from the
//! indexer, close, withdraw, stale feeds, and the node stopped. Screenshots of every step go to
//! `$CARGO_TARGET_DIR/web-shots/` (printed at the end).

use super::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

#[test]
#[ignore = "needs the SBF build, perp-validator and Debian's chromium (scripts/web --packages; run with --include-ignored)"]
fn e2e_web_trader_in_chromium() {
    let _g = serial();
    let t_start = Instant::now();
    let chromium = std::env::var("PERP_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "Chromium is not installed at {chromium}: run `scripts/web --packages` (installs Debian's chromium)"
    );
    // the page, built from this checkout (npm ci when needed, then tsc and vite)
    let web = repo().join("app/web");
    let st = perp().args(["web", "--build-only"]).status().expect("perp web --build-only");
    assert!(st.success(), "perp web --build-only failed");
    assert!(web.join("dist/index.html").exists());

    let dir = tempdir();
    let ports = Ports { base: 33_000 };
    let (mut localnet, ready) = start_localnet(ports, &dir.join("ledger"), true, true);
    let rpc = ready["rpc"].as_str().unwrap().to_string();
    let (t_path, _) = keypair(&dir, "trader");
    let (k_path, _) = keypair(&dir, "keeper");
    cli(&rpc, Some(&t_path), &["localnet", "faucet", "--usdc", "5000", "--collateral", "SOL=10"]);
    cli(&rpc, Some(&k_path), &["localnet", "faucet", "--usdc", "1000"]);
    cli(&rpc, Some(&k_path), &["account", "create"]);
    cli(&rpc, Some(&k_path), &["account", "deposit", "--amount", "500"]);

    let mut keeper = start_keeper(&rpc, &k_path, "auto");

    let api = format!("127.0.0.1:{}", ports.base + 71);
    let mut indexer_cmd = perp();
    indexer_cmd
        .args(["--rpc", &rpc, "indexer", "--db"])
        .arg(dir.join("history.db"))
        .args(["--listen", &api, "--poll", "2"]);
    let mut indexer = Proc::spawn(indexer_cmd, "indexer", libc::SIGINT);

    let page = format!("127.0.0.1:{}", ports.base + 80);
    let mut web_cmd = perp();
    web_cmd.args(["--rpc", &rpc, "web", "--listen", &page, "--indexer", &format!("http://{api}")]);
    let mut server = Proc::spawn(web_cmd, "web", libc::SIGINT);
    assert!(server.out.wait_for(&["\"web\""], Duration::from_secs(30)).is_some(), "{}", server.err.dump());

    let shots = std::path::PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
        .join("web-shots");
    let _ = std::fs::remove_dir_all(&shots);
    let mut node = Command::new("node")
        .arg("test/trader.mjs")
        .current_dir(&web)
        .env("PERP_WEB_URL", format!("http://{page}"))
        .env("PERP_RPC", &rpc)
        .env("PERP_BIN", env!("CARGO_BIN_EXE_perp"))
        .env("PERP_KEYPAIR", &t_path)
        .env("PERP_SHOTS", &shots)
        .env("PERP_PRICE", "20360610000")
        .env("PERP_CHROMIUM", &chromium)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node (Node 20.18+ is needed)");
    let mut stdin = node.stdin.take().unwrap();
    let mut last = String::new();
    for line in BufReader::new(node.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        eprintln!("[web-test] {line}");
        if line.contains("\"stop_node\":true") {
            // the node goes away under the page: its next request must say so
            assert!(localnet.stop().expect("localnet stopped").success());
            writeln!(stdin, "stopped").unwrap();
        }
        last = line;
    }
    let status = node.wait().unwrap();
    let summary: Value = serde_json::from_str(&last).unwrap_or(Value::Null);
    let _ = server.stop();
    let _ = indexer.stop();
    let _ = keeper.stop();
    assert!(
        status.success() && summary["ok"] == json!(true),
        "the browser test failed: {summary:#}\nscreenshots: {}",
        shots.display()
    );
    assert_eq!(summary["previewLiquidation"], summary["programLiquidation"]);
    assert_eq!(summary["chains"], json!(["solana:localnet"]), "{summary}");
    eprintln!(
        "[e2e] web: first render {} ms, JS transferred {} bytes (uncompressed; served without compression), \
         price on screen {} ms after the oracle accounts changed, {} transactions signed; screenshots in {}; total {:.1} s",
        summary["firstRenderMs"],
        summary["jsTransferBytes"],
        summary["priceUpdateMs"],
        summary["signed"],
        shots.display(),
        t_start.elapsed().as_secs_f64()
    );
}
