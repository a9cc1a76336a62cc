//! A cache of the API's answers. History changes only when the indexer writes a batch, so an
//! answer stays valid until then: each entry is keyed by the request's path and query and kept
//! while no batch was written since (the hub's generation) and for at most `TTL` (a database
//! written by another process, e.g. `perp simulate --db`, is seen within that). A chart polled by
//! many clients between two finalized batches is then served from memory, and concurrent misses
//! of one key wait for a single database query (no stampede when an entry expires).

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an answer is kept at most.
pub const TTL: Duration = Duration::from_secs(2);
/// Entries kept at most (the whole cache is dropped when full: simple, and bounded).
pub const MAX_ENTRIES: usize = 1_024;
/// Answers larger than this are not kept.
pub const MAX_BODY: usize = 4 << 20;

type Entry = (u64, Instant, Bytes);
type Filling = Arc<tokio::sync::Mutex<()>>;

pub struct Cache {
    entries: Mutex<HashMap<String, Entry>>,
    /// One lock per key being computed: the first miss computes, the others wait for it.
    filling: Mutex<HashMap<String, Filling>>,
    generation: Arc<AtomicU64>,
}

impl Cache {
    pub fn new(generation: Arc<AtomicU64>) -> Cache {
        Cache { entries: Mutex::new(HashMap::new()), filling: Mutex::new(HashMap::new()), generation }
    }

    fn fresh(&self, key: &str) -> Option<Bytes> {
        let generation = self.generation.load(Ordering::Acquire);
        match self.entries.lock().unwrap().get(key) {
            Some((g, at, body)) if *g == generation && at.elapsed() < TTL => Some(body.clone()),
            _ => None,
        }
    }
}

fn json(body: Bytes, hit: bool) -> Response {
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert("x-cache", HeaderValue::from_static(if hit { "hit" } else { "miss" }));
    r
}

/// The middleware: GET answers of 200 are cached; `/v1/status` and the websocket are not.
pub async fn layer(State(cache): State<Arc<Cache>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if req.method() != axum::http::Method::GET || path == "/v1/stream" || path == "/v1/status" {
        return next.run(req).await;
    }
    let key = req.uri().to_string();
    if let Some(body) = cache.fresh(&key) {
        return json(body, true);
    }
    let lock = cache.filling.lock().unwrap().entry(key.clone()).or_default().clone();
    let _filling = lock.lock().await;
    // another request may have filled it while this one waited
    if let Some(body) = cache.fresh(&key) {
        return json(body, true);
    }
    let generation = cache.generation.load(Ordering::Acquire);
    let resp = next.run(req).await;
    // the key's lock is dropped once computed (whatever the answer): the map holds only keys in flight
    cache.filling.lock().unwrap().remove(&key);
    if resp.status() != StatusCode::OK {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "answer too large").into_response();
    };
    {
        let mut e = cache.entries.lock().unwrap();
        if e.len() >= MAX_ENTRIES {
            e.clear();
        }
        e.insert(key, (generation, Instant::now(), bytes.clone()));
    }
    let mut r = Response::from_parts(parts, Body::from(bytes));
    r.headers_mut().insert("x-cache", HeaderValue::from_static("miss"));
    r
}
