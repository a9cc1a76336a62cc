//! A short replay of the real data through the real program: the pipeline runs end to end, the
//! keeper cranks funding on schedule, and conservation holds.

use perp_cli::sim::{simulate, SimConfig};
use perp_client::data::{repo_root, DEFAULT_FILES};
use perp_core::{Base, Quote};

#[tokio::test(flavor = "current_thread")]
async fn three_hours_of_the_depeg_weekend() {
    let root = repo_root();
    let cfg = SimConfig {
        files: DEFAULT_FILES.iter().map(|f| root.join(f)).collect(),
        traders: 8,
        seed: 7,
        funding_interval: 3600,
        insurance: Quote(50_000_000_000),
        depth: Base(10_000_000_000_000),
        minutes: Some(180),
    };
    let mut last = 0;
    let r = simulate(&cfg, |done, total| {
        assert!(done <= total);
        last = done;
    })
    .await
    .unwrap();
    assert_eq!(last, 180);
    let s = &r.summary;
    assert_eq!(s.minutes, 180);
    assert!(s.conservation.unwrap().holds(), "{:?}", s.conservation);
    assert!(s.trades > 10, "{s:?}");
    assert_eq!(s.funding_events, 3, "one funding event per hour");
    assert!(s.volume.0 > 0 && s.fees.0 > 0);
    let dir = std::env::temp_dir().join(format!("perp-sim-test-{}", std::process::id()));
    let files = r.write(&dir).unwrap();
    for name in
        ["prices.svg", "funding.svg", "open_interest.svg", "insurance.svg", "summary.json", "summary.txt", "index.html"]
    {
        let p = dir.join(name);
        assert!(files.contains(&p), "{name}");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.is_empty());
    }
    let svg = std::fs::read_to_string(dir.join("prices.svg")).unwrap();
    assert!(svg.contains(">index<") && svg.contains(">mark<") && svg.contains(">vAMM<"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["conservation"], "ok");
    std::fs::remove_dir_all(&dir).ok();
}
