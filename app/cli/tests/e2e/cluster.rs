//! A local cluster and the `perp` processes of an end-to-end test: `perp localnet start` (which
//! runs perp-validator), CLI commands with `--json`, the keeper with its log lines timestamped,
//! and a websocket proxy the test can cut.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The end-to-end tests run one at a time (each runs a validator; the machine has 2 cores).
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// perp-validator: $PERP_VALIDATOR, else built here (its own workspace and target directory).
pub fn validator_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("PERP_VALIDATOR") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo().join("target"));
    let dir = target.join("localnet");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(repo())
        .args(["build", "--locked", "--manifest-path", "localnet/Cargo.toml", "--target-dir"])
        .arg(&dir)
        .status()
        .expect("cargo build perp-validator");
    assert!(status.success(), "building perp-validator failed (scripts/localnet --build shows why)");
    dir.join("debug/perp-validator")
}

pub fn programs_dir() -> PathBuf {
    let d = repo().join("target/deploy");
    for so in ["perp.so", "perp_vault.so", "perp_test_oracle.so"] {
        assert!(d.join(so).is_file(), "{} missing: run scripts/build-sbf first", d.join(so).display());
    }
    d
}

/// Ports of one test's cluster: RPC `base`, websocket `base + 1`, faucet `base + 2`, the
/// validator's other sockets in `base + 10 ..= base + 60`.
#[derive(Clone, Copy)]
pub struct Ports {
    pub base: u16,
}

impl Ports {
    pub fn rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.base)
    }
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.base + 1)
    }
}

pub fn perp() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_perp"));
    c.env("RUST_LOG", "info");
    c
}

/// Lines a child prints, with the time each arrived.
#[derive(Clone, Default)]
pub struct Lines(Arc<Mutex<Vec<(Instant, String)>>>);

impl Lines {
    pub fn follow(&self, r: impl Read + Send + 'static, echo: &'static str) {
        let me = self.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(r).lines() {
                let Ok(line) = line else { break };
                if std::env::var_os("PERP_E2E_ECHO").is_some() {
                    eprintln!("[{echo}] {line}");
                }
                me.0.lock().unwrap().push((Instant::now(), line));
            }
        });
    }
    pub fn snapshot(&self) -> Vec<(Instant, String)> {
        self.0.lock().unwrap().clone()
    }
    pub fn count(&self, needle: &str) -> usize {
        self.0.lock().unwrap().iter().filter(|(_, l)| l.contains(needle)).count()
    }
    /// The first line containing every needle, waiting up to `timeout`.
    pub fn wait_for(&self, needles: &[&str], timeout: Duration) -> Option<(Instant, String)> {
        let start = Instant::now();
        loop {
            if let Some(l) = self.0.lock().unwrap().iter().find(|(_, l)| needles.iter().all(|n| l.contains(n))) {
                return Some(l.clone());
            }
            if start.elapsed() > timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    pub fn wait_count(&self, needle: &str, n: usize, timeout: Duration) -> bool {
        let start = Instant::now();
        while self.count(needle) < n {
            if start.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        true
    }
    pub fn dump(&self) -> String {
        self.snapshot().iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>().join("\n")
    }
}

/// A child process stopped with `signal` (then killed) when dropped.
pub struct Proc {
    pub child: Child,
    pub out: Lines,
    pub err: Lines,
    signal: i32,
}

impl Proc {
    pub fn spawn(mut cmd: Command, name: &'static str, signal: i32) -> Proc {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(Stdio::null());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let (out, err) = (Lines::default(), Lines::default());
        out.follow(child.stdout.take().unwrap(), name);
        err.follow(child.stderr.take().unwrap(), name);
        Proc { child, out, err, signal }
    }

    /// Sends the stop signal and waits (up to 60 s); the exit status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        if let Ok(Some(s)) = self.child.try_wait() {
            return Some(s);
        }
        unsafe { libc::kill(self.child.id() as i32, self.signal) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        self.child.wait().ok();
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `perp keeper` process (`--interval 2 --log-json --ws WS`) signing with `keypair`; returns
/// once its websocket cache is live.
pub fn start_keeper(rpc: &str, keypair: &Path, ws: &str) -> Proc {
    let mut cmd = perp();
    cmd.args(["--rpc", rpc, "--keypair"]).arg(keypair).args(["keeper", "--interval", "2", "--log-json", "--ws", ws]);
    let keeper = Proc::spawn(cmd, "keeper", libc::SIGINT);
    assert!(keeper.out.wait_for(&["cache live"], Duration::from_secs(60)).is_some(), "{}", keeper.out.dump());
    keeper
}

/// `perp localnet start` on `ledger`; returns once it printed its ready line.
/// With `init`, the exchange is initialised from migrations/localnet.json by the localnet
/// authority; without, the test runs `perp admin init` itself.
pub fn start_localnet(ports: Ports, ledger: &Path, reset: bool, init: bool) -> (Proc, Value) {
    start_localnet_as(ports, ledger, reset, init, None)
}

/// [`start_localnet`] with `admin` as the programs' upgrade authority (and the exchange's admin).
pub fn start_localnet_as(ports: Ports, ledger: &Path, reset: bool, init: bool, admin: Option<&Path>) -> (Proc, Value) {
    let mut cmd = perp();
    cmd.args(["--json", "localnet", "start", "--feed", "off"]);
    if let Some(k) = admin {
        cmd.arg("--keypair").arg(k);
    }
    if !init {
        cmd.arg("--no-init");
    }
    cmd.arg("--ledger")
        .arg(ledger)
        .args(["--rpc-port", &ports.base.to_string(), "--faucet-port", &(ports.base + 2).to_string()])
        .args(["--port-range", &format!("{}-{}", ports.base + 10, ports.base + 60)])
        .arg("--validator")
        .arg(validator_bin())
        .arg("--programs")
        .arg(programs_dir());
    if reset {
        cmd.arg("--reset");
    }
    let p = Proc::spawn(cmd, "localnet", libc::SIGTERM);
    let ready = p.out.wait_for(&["\"rpc\""], Duration::from_secs(240));
    let Some((_, line)) = ready else {
        panic!("perp localnet start did not get ready:\n{}\n{}", p.out.dump(), p.err.dump());
    };
    let v: Value = serde_json::from_str(&line).unwrap();
    (p, v)
}

/// Runs `perp --rpc URL --json ARGS` and returns its JSON (asserting success).
pub fn cli(rpc: &str, keypair: Option<&Path>, args: &[&str]) -> Value {
    let (code, v, err) = cli_raw(rpc, keypair, args);
    assert_eq!(code, 0, "perp {args:?} failed: {err}\n{v}");
    v
}

pub fn cli_raw(rpc: &str, keypair: Option<&Path>, args: &[&str]) -> (i32, Value, String) {
    let mut c = perp();
    c.args(["--rpc", rpc, "--json"]);
    if let Some(k) = keypair {
        c.arg("--keypair").arg(k);
    }
    let out = c.args(args).output().expect("run perp");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let last = stdout.lines().last().unwrap_or("null").to_string();
    let v: Value = serde_json::from_str(&last).unwrap_or(Value::String(stdout));
    (out.status.code().unwrap_or(-1), v, String::from_utf8_lossy(&out.stderr).to_string())
}

/// A new keypair file.
pub fn keypair(dir: &Path, name: &str) -> (PathBuf, solana_keypair::Keypair) {
    let kp = solana_keypair::Keypair::new();
    let p = dir.join(format!("{name}.json"));
    solana_keypair::write_keypair_file(&kp, &p).unwrap();
    (p, kp)
}

/// Decimal string of a JSON field as f64 (for comparisons with a tolerance).
pub fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("not a number: {s}")),
        Value::Number(n) => n.as_f64().unwrap(),
        other => panic!("not a number: {other}"),
    }
}

/// A TCP proxy in front of the node's websocket; `cut` closes every open connection (what a
/// dropped connection looks like to the client), new connections are accepted as before.
pub struct Proxy {
    pub port: u16,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(target: u16) -> Proxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        l.set_nonblocking(true).unwrap();
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (c2, s2) = (conns.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s2.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { continue };
                        c2.lock().unwrap().push(client.try_clone().unwrap());
                        c2.lock().unwrap().push(server.try_clone().unwrap());
                        for (mut a, mut b) in
                            [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)]
                        {
                            std::thread::spawn(move || {
                                let mut buf = [0u8; 16384];
                                while let Ok(n) = a.read(&mut buf) {
                                    if n == 0 || b.write_all(&buf[..n]).is_err() {
                                        break;
                                    }
                                }
                                let _ = b.shutdown(std::net::Shutdown::Both);
                            });
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Proxy { port, conns, stop }
    }

    pub fn cut(&self) -> usize {
        let mut c = self.conns.lock().unwrap();
        let n = c.len() / 2;
        for s in c.drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        n
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.cut();
    }
}

/// Keeps every oracle of market 0 fresh at the price in `price` (micro-USDC), writing it through
/// `perp localnet price` every `every`, until dropped. `writes` counts the writes that landed
/// and records when the last one returned.
pub struct Pusher {
    pub price: Arc<std::sync::atomic::AtomicU64>,
    pub last_write: Arc<Mutex<Option<(u64, Instant)>>>,
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Pusher {
    pub fn start(rpc: String, micro: u64, every: Duration) -> Pusher {
        Pusher::start_on(rpc, &["--market", "0"], micro, every)
    }

    /// A pusher of `perp localnet price` with `target` (e.g. `--collateral SOL`).
    pub fn start_on(rpc: String, target: &[&str], micro: u64, every: Duration) -> Pusher {
        let target: Vec<String> = target.iter().map(|s| s.to_string()).collect();
        let price = Arc::new(std::sync::atomic::AtomicU64::new(micro));
        let stop = Arc::new(AtomicBool::new(false));
        let last_write: Arc<Mutex<Option<(u64, Instant)>>> = Arc::default();
        let (p2, s2, w2) = (price.clone(), stop.clone(), last_write.clone());
        let handle = std::thread::spawn(move || {
            while !s2.load(Ordering::Relaxed) {
                let m = p2.load(Ordering::Relaxed);
                let text = format!("{}.{:06}", m / 1_000_000, m % 1_000_000);
                let mut args: Vec<&str> = vec!["localnet", "price"];
                args.extend(target.iter().map(String::as_str));
                args.extend(["--price", text.as_str()]);
                let (code, _, _) = cli_raw(&rpc, None, &args);
                if code == 0 {
                    *w2.lock().unwrap() = Some((m, Instant::now()));
                }
                std::thread::sleep(every);
            }
        });
        Pusher { price, last_write, stop, handle: Some(handle) }
    }

    pub fn set(&self, micro: u64) {
        self.price.store(micro, Ordering::Relaxed);
    }

    /// Waits until a write of the current price has landed; when it returned.
    pub fn written(&self, timeout: Duration) -> Instant {
        let want = self.price.load(Ordering::Relaxed);
        let start = Instant::now();
        loop {
            if let Some((m, t)) = *self.last_write.lock().unwrap() {
                if m == want {
                    return t;
                }
            }
            assert!(start.elapsed() < timeout, "the price {want} was not written within {timeout:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Pusher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
