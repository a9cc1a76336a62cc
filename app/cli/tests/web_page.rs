//! `perp web`: the page builds (npm ci when needed, tsc, vite) within its size budget, and the
//! server serves it with the config.json of its flags, and nothing outside its folder.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn web() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web")
}

/// A raw HTTP/1.1 GET (the path exactly as given, no normalisation): (status, headers, body).
fn get(addr: &str, path: &str) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), buf[split + 4..].to_vec())
}

#[test]
fn the_page_builds_within_budget_and_is_served_safely() {
    let st = Command::new(env!("CARGO_BIN_EXE_perp")).args(["web", "--build-only"]).status().expect("perp web");
    assert!(st.success(), "perp web --build-only failed (Node 20.18+ and npm are needed)");
    // the JavaScript shipped, gzipped (the budget is 250 KB)
    let mut total = 0usize;
    for e in std::fs::read_dir(web().join("dist/assets")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "js") {
            let out = Command::new("gzip").args(["-9", "-c"]).arg(&p).output().expect("gzip");
            total += out.stdout.len();
        }
    }
    eprintln!("[web] JavaScript shipped: {total} bytes gzipped (budget 250,000)");
    assert!(total > 10_000 && total < 250_000, "{total} bytes gzipped");

    let mut child = Command::new(env!("CARGO_BIN_EXE_perp"))
        .args([
            "--rpc",
            "http://10.1.2.3:7000",
            "web",
            "--listen",
            "127.0.0.1:0",
            "--cluster",
            "devnet",
            "--indexer",
            "off",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let addr = ready["web"].as_str().unwrap().trim_start_matches("http://").to_string();

    let (code, head, body) = get(&addr, "/");
    assert_eq!(code, 200);
    assert!(head.contains("content-type: text/html") && String::from_utf8_lossy(&body).contains("<div id=\"app\">"));
    assert!(
        head.contains("x-frame-options: deny") && head.contains("frame-ancestors 'none'") && head.contains("nosniff"),
        "{head}"
    );
    let (code, head, body) = get(&addr, "/config.json");
    assert_eq!(code, 200);
    assert!(head.contains("cache-control: no-store"));
    let cfg: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        cfg,
        serde_json::json!({"cluster": "devnet", "rpc": "http://10.1.2.3:7000", "ws": "ws://10.1.2.3:7001", "indexer": null})
    );
    let asset = std::fs::read_dir(web().join("dist/assets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .find(|n| n.ends_with(".js"))
        .unwrap();
    let (code, head, _) = get(&addr, &format!("/assets/{asset}"));
    assert_eq!(code, 200);
    assert!(head.contains("text/javascript") && head.contains("immutable"), "{head}");
    // nothing outside the folder, however the path is spelled
    for p in [
        "/../Cargo.toml",
        "/..%2fCargo.toml",
        "/assets/../../package.json",
        "/%2e%2e/%2e%2e/Cargo.toml",
        "//etc/passwd",
        "/nope.js",
    ] {
        let (code, _, body) = get(&addr, p);
        assert!(code == 400 || code == 404, "{p}: {code} {}", String::from_utf8_lossy(&body));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "Ctrl-C stops it cleanly: {rest}");

    // bad flags are refused with the reason
    for (args, needle) in [
        (vec!["web", "--listen", "localhost"], "--listen localhost"),
        (vec!["web", "--cluster", "moon"], "--cluster moon"),
        (vec!["web", "--dir", "/nonexistent-page"], "no built page in /nonexistent-page"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_perp")).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(needle),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
