//! `perp indexer`: the program's history in a database. Backfills the program's transactions
//! from `getSignaturesForAddress` + `getTransaction` (resuming from the newest one stored), tails
//! new ones as a websocket subscription announces them, decodes every event with the SDK's types
//! (`perp_client::events`), writes them idempotently (keyed by signature and event index) into
//! PostgreSQL or SQLite, and serves them read-only over HTTP and a websocket (`api`).

pub mod api;
pub mod cache;
pub mod candles;
pub mod db;
pub mod ingest;
pub mod source;

use std::net::SocketAddr;
use std::time::Duration;

/// `perp indexer`'s settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// JSON-RPC endpoint.
    pub rpc: String,
    /// Websocket endpoint for `logsSubscribe` (`None`: poll only).
    pub ws: Option<String>,
    /// `postgres://...`, `sqlite://file` or a file path.
    pub db: String,
    /// Where the API listens (`None`: no API).
    pub listen: Option<SocketAddr>,
    /// Sync at least this often, websocket or not.
    pub poll: Duration,
    /// Backfill once and exit.
    pub once: bool,
}

/// Runs the indexer until Ctrl-C (or once, with `once`).
pub async fn run(cfg: Config) -> Result<ingest::IngestStats, String> {
    let db = db::Db::connect(&cfg.db).await.map_err(|e| e.to_string())?;
    let hub = api::Hub::default();
    if let Some(addr) = cfg.listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e} (another indexer? pass --listen with a free port)"))?;
        let app = api::router(db.clone(), hub.clone());
        tracing::info!("API on http://{addr}/v1 (openapi.json in app/indexer)");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("API server stopped: {e}");
            }
        });
    }
    let src = source::Source::new(&cfg.rpc, perp::ID);
    if cfg.once {
        return source::sync(&db, &src, |s, c, f| hub.publish(&db, s, c, f)).await.map_err(|e| e.to_string());
    }
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    source::run(&db, &src, cfg.ws, cfg.poll, hub, stop).await.map_err(|e| e.to_string())
}
