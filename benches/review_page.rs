//! Review page benchmark: the HTML page of a findings-heavy synthetic
//! organisation (see `behorig::synth`) opened in headless Chromium, with
//! the times the page itself measures (`window.behorigTiming`, the
//! navigation timing): from the start of its script to its first rows,
//! and from a click or a keystroke to the next frame for opening the
//! largest cause, typing a filter and sorting by account. Each is the
//! median of `--runs` page loads (default 3).
//!
//! `cargo bench --bench review_page` runs 100,000 accounts with findings on
//! 30 % of them and memberships as their own export; `-- --accounts N`
//! and `-- --rate PERCENT` change that. Needs Debian's chromium
//! (`scripts/test` installs it).

#[path = "../tests/browser/mod.rs"]
#[allow(dead_code)]
mod browser;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Waits for the page's next frame (and what it does on it).
const NEXT_FRAME: &str =
    "new Promise(r => requestAnimationFrame(() => setTimeout(() => r(true), 0)))";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The page's measure of its last update, once the update is done.
fn update(b: &mut browser::Browser, before: u64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        b.eval(NEXT_FRAME);
        let t = b.eval("window.behorigTiming");
        if t["updates"].as_u64() > Some(before) {
            return t["update"].as_f64().unwrap_or(f64::NAN);
        }
        assert!(Instant::now() < deadline, "the page did not update");
    }
}

fn updates(b: &mut browser::Browser) -> u64 {
    b.eval("window.behorigTiming.updates").as_u64().unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let measuring = args.iter().any(|a| a == "--bench");
    let accounts: usize = value("--accounts")
        .and_then(|n| n.parse().ok())
        .unwrap_or(if measuring { 100_000 } else { 3_000 });
    let rate: f64 = value("--rate").and_then(|r| r.parse().ok()).unwrap_or(30.0);
    let runs: usize = value("--runs")
        .and_then(|n| n.parse().ok())
        .unwrap_or(3)
        .max(1);
    let runs = if measuring { runs } else { 1 };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("review-{accounts}"));
    let spec = behorig::synth::Spec {
        finding_ppm: (rate * 10_000.0).round() as u32,
        memberships: behorig::synth::Memberships::Export,
        ..behorig::synth::Spec::new(accounts)
    };
    let w = behorig::synth::write(&spec, &dir).expect("generate");
    let page = dir.join("granskning.html");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_behorig"));
    cmd.arg("audit")
        .arg("--policies")
        .arg(&w.policies)
        .args(["--as-of", behorig::synth::AS_OF, "--format", "html"])
        .args(["--fail-on", "never", "--output"])
        .arg(&page);
    for f in &w.csv {
        cmd.arg("--csv").arg(f);
    }
    let t = Instant::now();
    let out = cmd.output().expect("run behorig");
    let audit = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = std::fs::metadata(&page).map_or(0, |m| m.len());

    let (mut loaded, mut ready, mut content, mut cause, mut filter, mut sort) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let mut rows = 0;
    let mut largest = 0;
    for _ in 0..runs {
        let mut b = browser::Browser::start(1366, 900);
        let t = Instant::now();
        b.open(&page);
        loaded.push(t.elapsed().as_secs_f64() * 1000.0);
        let timing = b.eval(
            "(() => { const n = performance.getEntriesByType('navigation')[0]; \
             return [window.behorigTiming.ready, n.domContentLoadedEventEnd, \
             document.querySelectorAll('tr[data-finding]').length, \
             document.querySelectorAll('.aggregates li').length]; })()",
        );
        ready.push(timing[0].as_f64().unwrap_or(f64::NAN));
        content.push(timing[1].as_f64().unwrap_or(f64::NAN));
        rows = timing[2].as_u64().unwrap_or(0);
        assert!(timing[3].as_u64() > Some(0), "no causes on the page");

        // The largest cause.
        let before = updates(&mut b);
        let n = b.eval(
            "(() => { const b = Array.from(document.querySelectorAll('[data-show-aggregate]')); \
             const n = x => Number(x.textContent.match(/\\d+/)[0]); \
             const big = b.reduce((m, x) => n(x) > n(m) ? x : m); big.click(); return n(big); })()",
        );
        largest = n.as_u64().unwrap_or(0);
        cause.push(update(&mut b, before));

        // A filter typed into the search box.
        b.eval("document.getElementById('f-rensa').click(); true");
        b.eval(NEXT_FRAME);
        let before = updates(&mut b);
        b.click("#f-text");
        b.type_text("u0099");
        filter.push(update(&mut b, before));

        // Sorted by account.
        b.eval("document.getElementById('f-rensa').click(); true");
        b.eval(NEXT_FRAME);
        let before = updates(&mut b);
        b.eval("document.querySelector(\"button[data-sort='3']\").click(); true");
        sort.push(update(&mut b, before));
        let shown: Value = b.eval("document.getElementById('antal').textContent");
        assert_eq!(
            shown,
            format!("Visar alla {} fynd", w.expected.len()),
            "the sorted table lost findings"
        );
    }
    println!(
        "{accounts} accounts, {rate} % with a planted finding: {} findings; audit --format html {:.3} s; page {:.1} MB; {rows} rows rendered at first; largest cause {largest} findings",
        w.expected.len(),
        audit.as_secs_f64(),
        size as f64 / 1e6
    );
    println!(
        "  medians of {runs} loads: page loaded (navigation to complete, outside) {:.0} ms; \
         DOMContentLoaded {:.0} ms; script to first rows {:.0} ms; \
         opening the largest cause {:.0} ms; typing a filter {:.0} ms; sorting by account {:.0} ms",
        median(loaded),
        median(content),
        median(ready),
        median(cause),
        median(filter),
        median(sort)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
