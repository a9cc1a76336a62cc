//! `perp web`: serves the trading page (app/web, built by Vite into static files) for a chosen
//! cluster and indexer. The page reads `config.json` next to it; this server writes that file from
//! its flags, so one build serves localnet, devnet or any RPC. Any static host can serve the same
//! files with its own `config.json`.

use crate::output::{CliError, Output};
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct WebArgs {
    /// Address to serve the page on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The cluster the page trades on: localnet, devnet, mainnet, or custom (with --rpc). Sets the
    /// Wallet Standard chain the wallet is asked to sign for (`solana:<cluster>`).
    #[arg(long, default_value = "localnet")]
    pub cluster: String,
    /// The websocket endpoint the page subscribes to (`auto`: the JSON-RPC port + 1).
    #[arg(long, default_value = "auto")]
    pub ws: String,
    /// The history indexer's API (`perp indexer`), or `off`.
    #[arg(long, default_value = "http://127.0.0.1:8910")]
    pub indexer: String,
    /// The built page (default: app/web/dist of this checkout).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Build the page first (`npm ci` when needed, then `npm run build` in app/web).
    #[arg(long)]
    pub build: bool,
    /// Build the page and exit (nothing served).
    #[arg(long)]
    pub build_only: bool,
}

pub fn web_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web")
}

/// `npm ci` (when node_modules is missing) and `npm run build` in app/web.
pub fn build_page() -> Result<(), CliError> {
    let dir = web_dir();
    let npm = |args: &[&str]| -> Result<(), CliError> {
        let st = std::process::Command::new("npm").args(args).current_dir(&dir).status().map_err(|e| {
            CliError::input(format!("npm {}: {e} (Node 20.18+ with npm is needed to build the page)", args.join(" ")))
        })?;
        if st.success() {
            Ok(())
        } else {
            Err(CliError::Failed {
                message: format!("npm {} failed in {}", args.join(" "), dir.display()),
                details: None,
            })
        }
    };
    if !dir.join("node_modules/.package-lock.json").exists() {
        npm(&["ci", "--no-audit", "--no-fund"])?;
    }
    npm(&["run", "build"])
}

struct Site {
    dir: PathBuf,
    config: String,
}

fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

async fn file(State(s): State<Arc<Site>>, path: Option<UrlPath<String>>) -> Response {
    let rel = path.map(|p| p.0).unwrap_or_default();
    let rel = if rel.is_empty() { "index.html".to_string() } else { rel };
    if rel == "config.json" {
        return ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], s.config.clone())
            .into_response();
    }
    let p = Path::new(&rel);
    // no way out of the directory
    if p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return (StatusCode::BAD_REQUEST, "bad path").into_response();
    }
    let full = s.dir.join(p);
    match tokio::fs::read(&full).await {
        Ok(bytes) => {
            // hashed assets never change; the page itself is re-read
            let cache = if rel.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
            ([(header::CONTENT_TYPE, content_type(&full)), (header::CACHE_CONTROL, cache)], bytes).into_response()
        }
        Err(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// A page that signs transactions is never framed by another site (clickjacking), and its files
/// are taken as the types they are served as.
async fn guard_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("DENY"));
    h.insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static("frame-ancestors 'none'"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
    r
}

/// The page's `config.json` for these flags.
pub fn page_config(cluster: &str, rpc: &str, ws: &str, indexer: &str) -> serde_json::Value {
    json!({ "cluster": cluster, "rpc": rpc, "ws": ws, "indexer": if indexer == "off" { serde_json::Value::Null } else { json!(indexer) } })
}

pub fn run(a: &WebArgs, rpc: &str, ws: String) -> Result<Output, CliError> {
    if a.build || a.build_only {
        build_page()?;
    }
    if a.build_only {
        return Ok(Output::new("built", json!({ "built": web_dir().join("dist").display().to_string() })));
    }
    let dir = a.dir.clone().unwrap_or_else(|| web_dir().join("dist"));
    if !dir.join("index.html").exists() {
        return Err(CliError::input(format!(
            "no built page in {}: run `perp web --build` (or `npm ci && npm run build` in app/web)",
            dir.display()
        )));
    }
    let addr: SocketAddr = a
        .listen
        .parse()
        .map_err(|_| CliError::input(format!("--listen {}: use an address like 127.0.0.1:8080", a.listen)))?;
    if !["localnet", "devnet", "mainnet", "testnet", "custom"].contains(&a.cluster.as_str()) {
        return Err(CliError::input(format!(
            "--cluster {}: use localnet, devnet, testnet, mainnet or custom",
            a.cluster
        )));
    }
    let config = page_config(&a.cluster, rpc, &ws, &a.indexer).to_string();
    let site = Arc::new(Site { dir, config });
    let app = Router::new()
        .route("/", get(file))
        .route("/{*path}", get(file))
        .with_state(site)
        .layer(axum::middleware::map_response(guard_headers));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(async move {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| CliError::input(format!("--listen {addr}: {e} (is another server on that port?)")))?;
        let url = format!("http://{}", l.local_addr().map_err(|e| CliError::input(e.to_string()))?);
        // the ready line (the tests wait for it)
        println!("{}", json!({ "web": url, "rpc": rpc, "ws": ws, "cluster": a.cluster, "indexer": a.indexer }));
        eprintln!("serving the trading page on {url} (cluster {} at {rpc}); Ctrl-C stops", a.cluster);
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        axum::serve(l, app)
            .with_graceful_shutdown(stop)
            .await
            .map_err(|e| CliError::Failed { message: format!("serving the page: {e}"), details: None })?;
        Ok(Output::new("web", json!({ "stopped": url })))
    })
}
