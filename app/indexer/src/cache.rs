//! A cache of the API's answers. History changes only when the indexer writes a batch, so an
//! answer stays valid until then: each entry is keyed by the request's path and query and kept
//! while no batch was written since (the hub's generation) and for at most `TTL` (a database
//! written by another process, e.g. `perp simulate --db`, is seen within that). A chart polled by
//! many clients between two finalized batches is then served from memory, and concurrent misses
//! of one key wait for a single database query (no stampede when an entry expires).

use axum::body::{to_bytes, Body, Bytes, HttpBody};
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
/// Entries and bytes kept at most (the whole cache is dropped when either is reached: simple, and
/// bounded whatever the keys asked for).
pub const MAX_ENTRIES: usize = 1_024;
pub const MAX_BYTES: usize = 64 << 20;
/// Answers larger than this are passed on, not kept.
pub const MAX_BODY: usize = 4 << 20;

type Entry = (u64, Instant, Bytes);
type Filling = Arc<tokio::sync::Mutex<()>>;

pub struct Cache {
    /// The entries and their total size in bytes.
    entries: Mutex<(HashMap<String, Entry>, usize)>,
    /// One lock per key being computed: the first miss computes, the others wait for it.
    filling: Mutex<HashMap<String, Filling>>,
    generation: Arc<AtomicU64>,
}

impl Cache {
    pub fn new(generation: Arc<AtomicU64>) -> Cache {
        Cache { entries: Mutex::new((HashMap::new(), 0)), filling: Mutex::new(HashMap::new()), generation }
    }

    fn fresh(&self, key: &str) -> Option<Bytes> {
        let generation = self.generation.load(Ordering::Acquire);
        match self.entries.lock().unwrap().0.get(key) {
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
    // the key leaves the in-flight map when this request ends, answered or dropped, unless a newer
    // request put its own lock there
    let _done = Done { cache: &cache, key: &key, lock: &lock };
    let _filling = lock.lock().await;
    // another request may have filled it while this one waited
    if let Some(body) = cache.fresh(&key) {
        return json(body, true);
    }
    let generation = cache.generation.load(Ordering::Acquire);
    let resp = next.run(req).await;
    if resp.status() != StatusCode::OK {
        return resp;
    }
    if resp.body().size_hint().lower() as usize > MAX_BODY {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "the answer could not be read").into_response();
    };
    if bytes.len() <= MAX_BODY {
        let mut e = cache.entries.lock().unwrap();
        if e.0.len() >= MAX_ENTRIES || e.1 + bytes.len() > MAX_BYTES {
            *e = (HashMap::new(), 0);
        }
        e.1 += bytes.len();
        if let Some(old) = e.0.insert(key.clone(), (generation, Instant::now(), bytes.clone())) {
            e.1 -= old.2.len();
        }
    }
    let mut r = Response::from_parts(parts, Body::from(bytes));
    r.headers_mut().insert("x-cache", HeaderValue::from_static("miss"));
    r
}

struct Done<'a> {
    cache: &'a Cache,
    key: &'a str,
    lock: &'a Filling,
}

impl Drop for Done<'_> {
    fn drop(&mut self) {
        let mut f = self.cache.filling.lock().unwrap();
        if f.get(self.key).is_some_and(|l| Arc::ptr_eq(l, self.lock)) {
            f.remove(self.key);
        }
    }
}
