//! Runs the real `perp` binary: every `perp math` command, its JSON keys and its exit codes.

use serde_json::Value;
use std::process::Command;

fn perp(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_perp")).args(args).output().expect("run perp");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let (code, out, err) = perp(&a);
    assert_eq!(code, 0, "perp {args:?} failed: {err}");
    serde_json::from_str(out.trim()).expect("one JSON object")
}

fn bad(args: &[&str]) -> String {
    let (code, _, err) = perp(args);
    assert_eq!(code, 2, "perp {args:?} should be rejected as bad input, stderr: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one-line error, got: {err}");
    err
}

#[test]
fn index_seed_vwap_example() {
    let v = json(&[
        "math",
        "index",
        "--source",
        "60100:0:0:20000",
        "--source",
        "60150:0:0:30000",
        "--source",
        "60050:0:0:15000",
        "--method",
        "vwap",
        "--min-sources",
        "3",
    ]);
    assert_eq!(v["index"], "60111.538461");
    assert_eq!(v["valid_sources"], 3);
}

#[test]
fn index_drops_outlier_stale_and_low_confidence() {
    // the 2023-03-11 07:17Z minute: Kraken BTC/USDC printed 26,127.17 while BTC/USD was ~20.5k
    let v = json(&[
        "math",
        "index",
        "--source",
        "20510.5",
        "--source",
        "20498.2",
        "--source",
        "20530.9",
        "--source",
        "26127.17",
        "--source",
        "20500:0:120",
        "--source",
        "20500:900",
        "--max-deviation",
        "0.05",
        "--max-age",
        "60",
        "--max-conf",
        "0.02",
        "--min-sources",
        "3",
    ]);
    assert_eq!(v["index"], "20510.5");
    let s = v["sources"].as_array().unwrap();
    assert!(s[3]["dropped"].as_str().unwrap().starts_with("outlier"));
    assert!(s[4]["dropped"].as_str().unwrap().starts_with("stale: age 120 s > max 60 s"));
    assert!(s[5]["dropped"].as_str().unwrap().starts_with("low confidence"));
    assert_eq!(s[0]["used"], true);
}

#[test]
fn index_too_few_sources_fails_with_reasons() {
    let (code, out, err) =
        perp(&["--json", "math", "index", "--source", "100:0:500", "--source", "100", "--min-sources", "2"]);
    assert_eq!(code, 1);
    assert!(err.contains("1 valid < 2 required"), "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["sources"][0]["dropped"].as_str().unwrap().starts_with("stale"));
}

#[test]
fn premium_funding_mark() {
    let v = json(&["math", "premium", "--index", "20000", "--impact-bid", "20020", "--impact-ask", "20040"]);
    assert_eq!(v["premium"], "0.001");
    let v = json(&["math", "funding", "--premium", "0.001", "--interest", "0.0001", "--clamp", "0.0005"]);
    assert_eq!(v["funding_rate"], "0.0005");
    let v = json(&[
        "math",
        "funding",
        "--premium",
        "-0.002",
        "--interest",
        "0.0001",
        "--clamp",
        "0.0005",
        "--cap",
        "0.001",
    ]);
    assert_eq!(v["funding_rate"], "-0.001");
    let v = json(&[
        "math",
        "mark",
        "--index",
        "60000",
        "--funding-rate",
        "0.0001",
        "--time-to-funding",
        "7200",
        "--interval",
        "28800",
    ]);
    assert_eq!(v["mark_price"], "60001.5");
    let v = json(&[
        "math",
        "mark",
        "--index",
        "60000",
        "--method",
        "impact-median",
        "--impact-bid",
        "60010",
        "--impact-ask",
        "60030",
    ]);
    assert_eq!(v["mark_price"], "60010");
}

#[test]
fn funding_from_sample_file() {
    let dir = std::env::temp_dir().join(format!("perp-samples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("samples.csv");
    std::fs::write(&f, "duration_s,premium\n3600,0.001\n7200,-0.0002\n").unwrap();
    let v = json(&[
        "math",
        "funding",
        "--premium-samples",
        f.to_str().unwrap(),
        "--interest",
        "0.0001",
        "--clamp",
        "0.0005",
    ]);
    // P = (0.001 x 1 - 0.0002 x 2) / 3 = 0.0002; I - P = -0.0001 inside the clamp -> F = I
    assert_eq!(v["premium_index"], "0.0002");
    assert_eq!(v["funding_rate"], "0.0001");
}

#[test]
fn margin_and_liquidation_price() {
    let tiers = [
        "--tier",
        "50000:0.01:0.005",
        "--tier",
        "250000:0.02:0.01",
        "--tier",
        "1000000:0.05:0.025",
        "--tier",
        "inf:0.1:0.05",
    ];
    let mut a = vec!["math", "maint-margin", "--notional", "300000"];
    a.extend_from_slice(&tiers);
    let v = json(&a);
    assert_eq!(v["maintenance_margin"], "3500");
    assert_eq!(v["initial_margin"], "7000");
    assert_eq!(v["tier"], 3);
    assert_eq!(v["maintenance_amount"], "4000");

    let v = json(&[
        "math",
        "liq-price",
        "--side",
        "long",
        "--size",
        "1",
        "--entry",
        "60000",
        "--collateral",
        "6000",
        "--tier",
        "inf:0.01:0.005",
    ]);
    assert_eq!(v["liquidation_price"], "54271.356783");
    assert_eq!(v["bankruptcy_price"], "54000");
    let mut a =
        vec!["math", "liq-price", "--side", "long", "--size", "10", "--entry", "30000", "--collateral", "60000"];
    a.extend_from_slice(&tiers);
    let v = json(&a);
    assert_eq!(v["liquidation_price"], "24217.171717");
    assert_eq!(v["tier"], 2);
    let v = json(&[
        "math",
        "liq-price",
        "--side",
        "short",
        "--size",
        "1",
        "--entry",
        "60000",
        "--collateral",
        "6000",
        "--tier",
        "inf:0.01:0.005",
    ]);
    assert_eq!(v["liquidation_price"], "65671.641792");
}

#[test]
fn adl_score_and_vamm() {
    let v = json(&[
        "math",
        "adl-score",
        "--upnl",
        "2000",
        "--entry-value",
        "20000",
        "--maint-margin",
        "110",
        "--position-value",
        "22000",
    ]);
    assert_eq!(v["adl_score"], "20");
    let v = json(&[
        "math",
        "vamm",
        "--base-reserve",
        "1000",
        "--peg",
        "20000",
        "--side",
        "long",
        "--size",
        "1",
        "--impact-notional",
        "100000",
    ]);
    assert_eq!(v["quote"], "-20020.02004");
    assert_eq!(v["mid_price"], "20000");
}

#[test]
fn human_output_names_the_result() {
    let (code, out, _) = perp(&["math", "premium", "--index", "100", "--impact-bid", "99", "--impact-ask", "101"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("premium: 0"), "{out}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    bad(&[
        "math",
        "liq-price",
        "--side",
        "long",
        "--size",
        "-1",
        "--entry",
        "60000",
        "--collateral",
        "6000",
        "--tier",
        "inf:0.01:0.005",
    ]);
    bad(&["math", "maint-margin", "--notional", "1000"]); // no tiers
    let e =
        bad(&["math", "maint-margin", "--notional", "1000", "--tier", "5000:0.02:0.01", "--tier", "4000:0.05:0.02"]);
    assert!(e.contains("not above the previous cap"), "{e}");
    bad(&["math", "maint-margin", "--notional", "1000", "--tier", "5000:0.01:0.02"]);
    let e = bad(&["math", "index", "--source", "100", "--max-deviation", "1.5"]);
    assert!(e.contains("--max-deviation"), "{e}");
    let e = bad(&["math", "premium", "--index", "abc", "--impact-bid", "1", "--impact-ask", "2"]);
    assert!(e.contains("not a decimal number"), "{e}");
    bad(&["math", "premium", "--index", "100"]);
    bad(&["math", "mark", "--index", "100", "--time-to-funding", "-5"]);
    bad(&["math", "index", "--source", "100:1:2:3:4"]);
    bad(&["math", "nonsense"]);
}

/// A long backed by its own asset (wBTC for BTC) liquidates nearer its entry than the same
/// account would if the holding did not move: 1 BTC long at 20,000 on 10,000 borrowed, 0.6 wBTC
/// at a 0.9 weight (by hand: 30,000 / 1.53 and 19,200 / 0.99).
#[test]
fn liq_price_with_a_holding_that_moves_with_the_market() {
    let args = [
        "math",
        "liq-price",
        "--side",
        "long",
        "--size",
        "1",
        "--entry",
        "20000",
        "--collateral",
        "-10000",
        "--tier",
        "1000000000:0.02:0.01",
        "--asset-amount",
        "0.6",
        "--asset-tracks",
    ];
    let v = json(&args);
    assert_eq!(v["liquidation_price"], "19607.843138");
    assert_eq!(v["liquidation_price_if_the_holding_did_not_move"], "19393.939393");
    let err = bad(&[
        "math",
        "liq-price",
        "--side",
        "long",
        "--size",
        "1",
        "--entry",
        "20000",
        "--collateral",
        "0",
        "--tier",
        "1000000000:0.02:0.01",
        "--asset-amount",
        "0.6",
    ]);
    assert!(err.contains("--asset-price"), "{err}");
}
