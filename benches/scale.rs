//! Scale benchmark: a synthetic organisation (see `behorig::synth`) audited
//! from CSV beside the bare parse of the same files, from its LDIF export
//! beside a bare read of the file line by line, and over LDAP from a local
//! slapd holding the same directory beside `ldapsearch`'s paged dump of the
//! same entries and attributes; each with the audit's peak memory and a
//! check that the findings are exactly the planted ones.
//!
//! Beside the 100k-account CSV audit it times the same audit reading an
//! access log of 10 million rows (about 1 GB, written to the target's temp
//! folder) against the bare parse of the log, and compares the two
//! audits' peak memory: what reading the log adds.
//!
//! `cargo bench --bench scale -- --outputs` instead times every output
//! format (JSON, CSV, SARIF, Markdown, HTML) on an organisation where a
//! share of the accounts has a finding (`--rate PERCENT`, default 30) and
//! memberships come as their own export, account by account (`--shape
//! by-group` lists them group by group, `--shape cell` puts them in a cell
//! of the account row), beside the bare parse of the same files, with each
//! audit's peak memory and its report's size; `--accounts N` sets the
//! size, `--cap SECONDS` (default 120) stops an audit that runs longer.
//!
//! `cargo bench --bench scale` runs 100k accounts; `-- --full` adds 1M;
//! `-- --runs N` sets the runs per measurement (default 5); `-- --csv-only`
//! leaves out LDAP (the LDIF file is still read); `-- --log-rows N` sets
//! the log's rows (0 leaves the log out). Needs slapd and ldap-utils
//! (`scripts/test` installs them). `BEHORIG_BASELINE=PATH` measures an
//! earlier build beside this one in the same runs: each row then has a
//! `baseline` line with that build's time and memory and how much this
//! build differs from it (in %).

use std::collections::HashSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A finished child: how long it ran, its own peak resident memory and
/// its exit status.
struct Measured {
    elapsed: Duration,
    peak_rss: u64,
    success: bool,
}

/// Starts `cmd` with stdout and stderr to files in `dir` named after
/// `name`; its pid, and when it started.
fn spawn_to_files(cmd: &mut Command, dir: &Path, name: &str) -> (libc::pid_t, Instant) {
    let stdout = std::fs::File::create(dir.join(format!("{name}.out"))).expect("stdout file");
    let stderr = std::fs::File::create(dir.join(format!("{name}.err"))).expect("stderr file");
    let start = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let pid = child.id() as libc::pid_t;
    // Reaped with wait4 by the caller, for the child's own rusage.
    std::mem::forget(child);
    (pid, start)
}

/// What wait4 gave for a child that ended.
fn ended(elapsed: Duration, status: libc::c_int, usage: &libc::rusage) -> Measured {
    Measured {
        elapsed,
        peak_rss: (usage.ru_maxrss as u64) * 1024,
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) <= 1,
    }
}

/// Runs `cmd` with stdout and stderr to files in `dir`, measuring the
/// child alone (wait4 gives its own rusage, not the sum of all children).
fn measure(cmd: &mut Command, dir: &Path, name: &str) -> Measured {
    let (pid, start) = spawn_to_files(cmd, dir, name);
    let mut status: libc::c_int = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; writes into values we own.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    assert_eq!(rc, pid, "wait4 failed for {name}");
    ended(elapsed, status, &usage)
}

/// [`measure`], but a child still running after `cap` is killed and
/// `None` returned. Its end is looked for every millisecond.
fn measure_capped(cmd: &mut Command, dir: &Path, name: &str, cap: Duration) -> Option<Measured> {
    let (pid, start) = spawn_to_files(cmd, dir, name);
    let mut status: libc::c_int = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: polls our own child; writes into values we own.
        let rc = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if rc == pid {
            return Some(ended(start.elapsed(), status, &usage));
        }
        assert_eq!(rc, 0, "wait4 failed for {name}");
        if start.elapsed() > cap {
            // SAFETY: our own child, then reaped.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::wait4(pid, &mut status, 0, &mut usage);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn bare_parse(files: &[PathBuf]) -> usize {
    let mut fields = 0;
    for f in files {
        let file = std::fs::File::open(f).expect("open");
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(std::io::BufReader::with_capacity(1 << 16, file));
        let mut rec = csv::ByteRecord::new();
        while rdr.read_byte_record(&mut rec).expect("parse") {
            fields += rec.len();
        }
    }
    fields
}

/// Reads a file line by line into one reused buffer: the least any LDIF
/// reader does.
fn bare_lines(file: &Path) -> usize {
    let file = std::fs::File::open(file).expect("open");
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    let mut lines = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).expect("read") == 0 {
            return lines;
        }
        lines += 1;
    }
}

fn dataset(accounts: usize) -> (PathBuf, behorig::synth::Written) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("synth-{accounts}"));
    let written =
        behorig::synth::write(&behorig::synth::Spec::new(accounts), &dir).expect("generate");
    (dir, written)
}

fn finding_keys(report: &Path) -> Vec<String> {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).expect("report")).expect("json");
    let mut keys: Vec<String> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("-").to_string();
            format!(
                "{} {} {} {} {} {}",
                s("rule"),
                s("data_source"),
                s("account"),
                s("group"),
                s("role"),
                s("scope")
            )
        })
        .collect();
    keys.sort();
    keys
}

/// The use on `p-mover`'s planted unauthorized access in a report.
fn planted_use(report: &Path) -> Option<(u64, u64)> {
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(report).ok()?).ok()?;
    let f = json["findings"].as_array()?.iter().find(|f| {
        f["rule"] == "unauthorized-access"
            && f["account"] == "p-mover"
            && f["data_source"] == "sys01"
    })?;
    Some((f["use"]["events"].as_u64()?, f["use"]["records"].as_u64()?))
}

/// The program measured: this build's `behorig`, or the one named by
/// `BEHORIG_BIN` (to measure an earlier build with the same benchmark).
fn behorig_bin() -> PathBuf {
    std::env::var_os("BEHORIG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_behorig")))
}

/// An earlier build to measure beside this one, run for run
/// (`BEHORIG_BASELINE`): the CSV, LDIF and LDAP rows, and each format of
/// `--outputs`, then also say how the two compare.
fn baseline_bin() -> Option<PathBuf> {
    std::env::var_os("BEHORIG_BASELINE").map(PathBuf::from)
}

fn audit_command(w: &behorig::synth::Written, report: &Path) -> Command {
    audit_command_as(w, report, "json")
}

fn audit_command_as(w: &behorig::synth::Written, report: &Path, format: &str) -> Command {
    audit_command_of(&behorig_bin(), w, report, format)
}

fn audit_command_of(
    bin: &Path,
    w: &behorig::synth::Written,
    report: &Path,
    format: &str,
) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("audit")
        .arg("--policies")
        .arg(&w.policies)
        .args([
            "--as-of",
            behorig::synth::AS_OF,
            "--format",
            format,
            "--fail-on",
            "never",
        ])
        .arg("--output")
        .arg(report);
    cmd
}

/// The output formats, timed side by side.
const FORMATS: [&str; 5] = ["json", "csv", "sarif", "md", "html"];

fn median_u64(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Every output format's audit of the CSV exports of one organisation,
/// timed alternately with the bare parse of the same files: wall time,
/// peak memory and report size, medians of `runs`. The JSON report's
/// findings are checked against the planted ones. Returns whether they
/// were right.
fn outputs(spec: &behorig::synth::Spec, runs: usize, cap: Duration) -> bool {
    let shape = match spec.memberships {
        behorig::synth::Memberships::Export => "export",
        behorig::synth::Memberships::ExportByGroup => "by-group",
        behorig::synth::Memberships::InCell => "cell",
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "synth-{}-{}ppm-{shape}",
        spec.accounts, spec.finding_ppm
    ));
    let w = generate(spec, &dir);
    let mut bare = Vec::new();
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); FORMATS.len()];
    let mut peaks: Vec<Vec<u64>> = vec![Vec::new(); FORMATS.len()];
    let mut sizes = vec![0u64; FORMATS.len()];
    // With `BEHORIG_BASELINE`: the earlier build, run for run beside this
    // one (time, peak memory).
    let baseline = baseline_bin();
    let mut base_times: Vec<Vec<Duration>> = vec![Vec::new(); FORMATS.len()];
    let mut base_peaks: Vec<Vec<u64>> = vec![Vec::new(); FORMATS.len()];
    let mut correct = true;
    // A format whose audit ran past the cap is not run again.
    let mut capped = [false; FORMATS.len()];
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(bare_parse(&w.csv));
        bare.push(t.elapsed());
        for (k, format) in FORMATS.iter().enumerate() {
            let report = dir.join(format!("report.{format}"));
            let _ = std::fs::remove_file(&report);
            let mut cmd = audit_command_as(&w, &report, format);
            for f in &w.csv {
                cmd.arg("--csv").arg(f);
            }
            let name = format!("audit-{format}");
            if capped[k] {
                continue;
            }
            let Some(m) = measure_capped(&mut cmd, &dir, &name, cap) else {
                capped[k] = true;
                continue;
            };
            assert!(
                m.success,
                "the {format} audit failed: {}",
                std::fs::read_to_string(dir.join(format!("{name}.err"))).unwrap_or_default()
            );
            times[k].push(m.elapsed);
            peaks[k].push(m.peak_rss);
            sizes[k] = std::fs::metadata(&report).map_or(0, |m| m.len());
            if let Some(bin) = &baseline {
                let report = dir.join(format!("baseline.{format}"));
                let mut cmd = audit_command_of(bin, &w, &report, format);
                for f in &w.csv {
                    cmd.arg("--csv").arg(f);
                }
                let name = format!("baseline-{format}");
                if let Some(m) = measure_capped(&mut cmd, &dir, &name, cap) {
                    base_times[k].push(m.elapsed);
                    base_peaks[k].push(m.peak_rss);
                }
            }
        }
    }
    // Checked after the runs: a child's peak memory as `wait4` reports it
    // starts from this process's own peak, which reading the report raises.
    if !capped[0] {
        let found = finding_keys(&dir.join("report.json"));
        if found != w.expected {
            let (f, e): (HashSet<&String>, HashSet<&String>) =
                (found.iter().collect(), w.expected.iter().collect());
            let missing: Vec<&&String> = e.difference(&f).take(5).collect();
            let extra: Vec<&&String> = f.difference(&e).take(5).collect();
            println!(
                "  WRONG findings: {} found, {} planted; missing e.g. {missing:?}, extra e.g. {extra:?}",
                found.len(),
                w.expected.len()
            );
            correct = false;
        }
    }
    let bare = median(bare);
    println!();
    println!(
        "{} accounts, {} memberships ({}), {:.2} % of accounts with a planted finding: \
         {} findings; CSV {:.1} MB; bare parse {:.3} s",
        spec.accounts,
        w.memberships,
        match shape {
            "export" => "their own export",
            "by-group" => "their own export, group by group",
            _ => "a cell on each account row",
        },
        f64::from(spec.finding_ppm) / 10_000.0,
        w.expected.len(),
        w.bytes as f64 / 1e6,
        bare.as_secs_f64()
    );
    println!(
        "  {:<8} {:>9} {:>7} {:>12} {:>9} {:>12}",
        "format", "audit", "ratio", "peak memory", "/ input", "report"
    );
    for (k, format) in FORMATS.iter().enumerate() {
        if capped[k] {
            println!("  {:<8} more than {} s (stopped)", format, cap.as_secs());
            continue;
        }
        let audit = median(times[k].clone());
        let peak = median_u64(peaks[k].clone());
        println!(
            "  {:<8} {:>7.3} s {:>6.2}x {:>9.1} MB {:>8.2}x {:>9.1} MB",
            format,
            audit.as_secs_f64(),
            audit.as_secs_f64() / bare.as_secs_f64(),
            peak as f64 / 1e6,
            peak as f64 / w.bytes as f64,
            sizes[k] as f64 / 1e6
        );
        if !base_times[k].is_empty() {
            let (b, bp) = (
                median(base_times[k].clone()),
                median_u64(base_peaks[k].clone()),
            );
            println!(
                "  {:<8} {:>7.3} s {:>6.2}x {:>9.1} MB {:>8.2}x   baseline: this build {:+.1} % time, {:+.1} % memory",
                "",
                b.as_secs_f64(),
                b.as_secs_f64() / bare.as_secs_f64(),
                bp as f64 / 1e6,
                bp as f64 / w.bytes as f64,
                (audit.as_secs_f64() / b.as_secs_f64() - 1.0) * 100.0,
                (peak as f64 / bp as f64 - 1.0) * 100.0,
            );
        }
    }
    println!(
        "  findings: {}",
        if correct {
            format!("exactly the {} planted", w.expected.len())
        } else {
            "WRONG (see above)".to_string()
        }
    );
    let _ = std::fs::remove_dir_all(&dir);
    correct
}

const SVC_DN: &str = "cn=svc-behorig,ou=service,dc=synth,dc=se";
const SVC_PASSWORD: &str = "bench-only-password";

/// A slapd on loopback holding the synthetic directory, stopped when
/// dropped.
struct Slapd {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_slapd(dir: &Path, ldif: &Path) -> Slapd {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("db")).expect("slapd dir");
    let base = behorig::synth::BASE_DN;
    let conf = format!(
        "include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
moduleload lastbind
pidfile {d}/slapd.pid
argsfile {d}/slapd.args
database mdb
suffix \"{base}\"
rootdn \"cn=admin,{base}\"
directory {d}/db
maxsize 17179869184
limits users size=unlimited time=unlimited
sortvals member
overlay ppolicy
overlay lastbind
access to attrs=userPassword by anonymous auth by * none
access to * by * read
",
        d = dir.display()
    );
    std::fs::write(dir.join("slapd.conf"), conf).expect("slapd.conf");
    std::fs::write(
        dir.join("service.ldif"),
        format!(
            "dn: ou=service,{base}\nobjectClass: organizationalUnit\nou: service\n\n\
             dn: {SVC_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
             cn: svc-behorig\nuserPassword: {SVC_PASSWORD}\n"
        ),
    )
    .expect("service.ldif");
    for file in [ldif.to_path_buf(), dir.join("service.ldif")] {
        let out = Command::new("/usr/sbin/slapadd")
            .arg("-q")
            .arg("-f")
            .arg(dir.join("slapd.conf"))
            .arg("-l")
            .arg(&file)
            .output()
            .expect("slapadd runs (is the slapd package installed? scripts/test installs it)");
        assert!(
            out.status.success(),
            "slapadd {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        l.local_addr().expect("port").port()
    };
    let child = Command::new("/usr/sbin/slapd")
        .arg("-f")
        .arg(dir.join("slapd.conf"))
        .arg("-h")
        .arg(format!("ldap://127.0.0.1:{port}/"))
        .args(["-d", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("slapd starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "slapd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pw = dir.join("password");
    std::fs::write(&pw, SVC_PASSWORD).expect("password file");
    std::fs::set_permissions(&pw, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("password file mode");
    std::fs::write(
        dir.join("behorig.toml"),
        format!(
            "[ldap]\nbind_dn = \"{SVC_DN}\"\npassword_file = \"{}\"\nbase_dn = \"{base}\"\n\
             page_size = 1000\ntimeout_s = 600\n",
            pw.display()
        ),
    )
    .expect("behorig.toml");
    Slapd {
        child,
        url: format!("ldap://127.0.0.1:{port}"),
        dir: dir.to_path_buf(),
    }
}

/// One row of the side-by-side table.
/// An audit timed against its limit: medians of alternating runs, the
/// audit's peak memory and the findings of its report.
struct SideBySide {
    limit: Duration,
    audit: Duration,
    peak: u64,
    found: Vec<String>,
    /// With `BEHORIG_BASELINE`: the earlier build's time and peak memory,
    /// measured in the same runs.
    baseline: Option<(Duration, u64)>,
}

/// Runs `limit` and the audit (`audit_command` with `args` added)
/// alternately, `runs` times each, and the baseline build's audit after
/// each when there is one; `name` names the report and the audit's output
/// files in `dir`.
fn side_by_side(
    w: &behorig::synth::Written,
    dir: &Path,
    name: &str,
    runs: usize,
    mut limit: impl FnMut() -> Duration,
    args: impl Fn(&mut Command),
) -> SideBySide {
    let report = dir.join(format!("report-{name}.json"));
    let output = format!("audit-{name}");
    let mut limit_times = Vec::new();
    let mut audit_times = Vec::new();
    let mut peak = 0;
    let baseline = baseline_bin();
    let mut baseline_times = Vec::new();
    let mut baseline_peak = 0;
    for _ in 0..runs {
        limit_times.push(limit());
        let _ = std::fs::remove_file(&report);
        let mut cmd = audit_command(w, &report);
        args(&mut cmd);
        let m = measure(&mut cmd, dir, &output);
        assert!(
            m.success,
            "the {name} audit failed: {}",
            std::fs::read_to_string(dir.join(format!("{output}.err"))).unwrap_or_default()
        );
        audit_times.push(m.elapsed);
        peak = peak.max(m.peak_rss);
        if let Some(bin) = &baseline {
            let report = dir.join(format!("report-{name}-baseline.json"));
            let mut cmd = audit_command_of(bin, w, &report, "json");
            args(&mut cmd);
            let m = measure(&mut cmd, dir, &format!("{output}-baseline"));
            assert!(m.success, "the baseline's {name} audit failed");
            baseline_times.push(m.elapsed);
            baseline_peak = baseline_peak.max(m.peak_rss);
        }
    }
    SideBySide {
        limit: median(limit_times),
        audit: median(audit_times),
        peak,
        found: finding_keys(&report),
        baseline: baseline.map(|_| (median(baseline_times), baseline_peak)),
    }
}

impl SideBySide {
    fn row(self, what: String, limit_name: &'static str, input: u64, expected: &[String]) -> Row {
        Row {
            what,
            limit_name,
            limit: self.limit,
            audit: self.audit,
            peak: self.peak,
            input,
            correct: self.found == expected,
            found: self.found,
            baseline: self.baseline,
        }
    }
}

struct Row {
    what: String,
    limit_name: &'static str,
    limit: Duration,
    audit: Duration,
    peak: u64,
    input: u64,
    correct: bool,
    found: Vec<String>,
    baseline: Option<(Duration, u64)>,
}

fn print_rows(rows: &[Row], expected: usize) {
    println!(
        "  {:<22} {:>22} {:>13} {:>7} {:>13} {:>9}   findings",
        "", "limit", "behorig audit", "ratio", "peak memory", "/ input"
    );
    for r in rows {
        println!(
            "  {:<22} {:>10} {:>9.3} s {:>11.3} s {:>6.2}x {:>10.1} MB {:>8.2}x   {}",
            r.what,
            r.limit_name,
            r.limit.as_secs_f64(),
            r.audit.as_secs_f64(),
            r.audit.as_secs_f64() / r.limit.as_secs_f64(),
            r.peak as f64 / 1e6,
            r.peak as f64 / r.input as f64,
            if r.correct {
                format!("exactly the {expected} planted")
            } else {
                format!("WRONG: {:?}", r.found)
            }
        );
        if let Some((time, peak)) = r.baseline {
            println!(
                "  {:<22} {:>10} {:>11} {:>11.3} s {:>+6.1}% {:>10.1} MB {:>+8.1}%",
                "",
                "baseline",
                "",
                time.as_secs_f64(),
                (r.audit.as_secs_f64() / time.as_secs_f64() - 1.0) * 100.0,
                peak as f64 / 1e6,
                (r.peak as f64 / peak as f64 - 1.0) * 100.0,
            );
        }
    }
}

/// The variable that makes this program write an organisation and
/// nothing else: `ACCOUNTS PPM SHAPE DIR`.
const GENERATE: &str = "BEHORIG_SCALE_GENERATE";

/// Writes the organisation in a process of its own and returns what it
/// wrote. A child's peak memory as `wait4` gives it starts from this
/// process's peak, and generating holds much (rewriting a membership
/// export group by group holds all of it).
fn generate(spec: &behorig::synth::Spec, dir: &Path) -> behorig::synth::Written {
    let shape = match spec.memberships {
        behorig::synth::Memberships::Export => "export",
        behorig::synth::Memberships::ExportByGroup => "by-group",
        behorig::synth::Memberships::InCell => "cell",
    };
    let out = Command::new(std::env::current_exe().expect("this program"))
        .env(
            GENERATE,
            format!(
                "{} {} {shape} {}",
                spec.accounts,
                spec.finding_ppm,
                dir.display()
            ),
        )
        .stderr(Stdio::inherit())
        .output()
        .expect("generate");
    assert!(out.status.success(), "generating failed");
    serde_json::from_slice(&out.stdout).expect("what was written")
}

/// With [`GENERATE`] set: writes the organisation it names and prints
/// what was written as JSON.
fn generate_here(what: &str) {
    let parts: Vec<&str> = what.splitn(4, ' ').collect();
    let [accounts, ppm, shape, dir] = parts[..] else {
        panic!("{GENERATE}: ACCOUNTS PPM SHAPE DIR, not {what}");
    };
    let spec = behorig::synth::Spec {
        finding_ppm: ppm.parse().expect("PPM"),
        memberships: match shape {
            "cell" => behorig::synth::Memberships::InCell,
            "by-group" => behorig::synth::Memberships::ExportByGroup,
            _ => behorig::synth::Memberships::Export,
        },
        ..behorig::synth::Spec::new(accounts.parse().expect("ACCOUNTS"))
    };
    let w = behorig::synth::write(&spec, Path::new(dir)).expect("generate");
    println!("{}", serde_json::to_string(&w).expect("JSON"));
}

fn main() {
    if let Ok(what) = std::env::var(GENERATE) {
        generate_here(&what);
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--full");
    let with_ldap = !args.iter().any(|a| a == "--csv-only");
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    // `cargo test --all-targets` runs this file without `--bench`: then it
    // is a quick check that the planted findings come out of both CSV and
    // LDAP, not a measurement.
    let measuring = args.iter().any(|a| a == "--bench");
    let runs = if measuring { runs } else { 1 };
    let log_rows: usize = args
        .iter()
        .position(|a| a == "--log-rows")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if measuring { 10_000_000 } else { 20_000 });
    // `--outputs`: every output format on a findings-heavy organisation
    // (`--rate PERCENT`, default 30; `--shape export|by-group|cell`,
    // default export; `--accounts N`, default 100,000), and nothing else.
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    if args.iter().any(|a| a == "--outputs") || !measuring {
        let rate: f64 = value("--rate").and_then(|r| r.parse().ok()).unwrap_or(30.0);
        let spec = behorig::synth::Spec {
            finding_ppm: (rate * 10_000.0).round() as u32,
            memberships: match value("--shape").map(String::as_str) {
                Some("cell") => behorig::synth::Memberships::InCell,
                Some("by-group") => behorig::synth::Memberships::ExportByGroup,
                _ => behorig::synth::Memberships::Export,
            },
            ..behorig::synth::Spec::new(
                value("--accounts")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(if measuring { 100_000 } else { 5_000 }),
            )
        };
        let cap = Duration::from_secs(value("--cap").and_then(|c| c.parse().ok()).unwrap_or(120));
        let correct = outputs(&spec, runs, cap);
        if !correct {
            std::process::exit(1);
        }
        if measuring {
            return;
        }
    }
    let mut sizes = vec![if measuring { 100_000 } else { 5_000 }];
    if full {
        sizes.push(1_000_000);
    }
    println!(
        "machine: {} cores; runs per measurement: {runs}; medians",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut expected: Vec<String> = behorig::synth::PLANTED
        .iter()
        .map(|s| s.to_string())
        .collect();
    expected.sort();
    let mut failed = false;
    let sizes_first = sizes[0];
    for accounts in sizes {
        let (dir, w) = dataset(accounts);
        let mut rows = Vec::new();

        let csv = side_by_side(
            &w,
            &dir,
            "csv",
            runs,
            || {
                let t = Instant::now();
                std::hint::black_box(bare_parse(&w.csv));
                t.elapsed()
            },
            |cmd| {
                for f in &w.csv {
                    cmd.arg("--csv").arg(f);
                }
            },
        );
        let (csv_audit, csv_peak) = (csv.audit, csv.peak);
        rows.push(csv.row(
            format!("CSV ({:.1} MB)", w.bytes as f64 / 1e6),
            "csv crate",
            w.bytes,
            &expected,
        ));

        // The same audit with an access log, once, at the first size.
        let mut log_note = None;
        if log_rows > 0 && accounts == sizes_first {
            let spec = behorig::synth::Spec::new(accounts);
            let log = behorig::synth::write_access_log(&spec, log_rows, &dir).expect("log");
            let with_log = side_by_side(
                &w,
                &dir,
                "csv-log",
                runs,
                || {
                    let t = Instant::now();
                    std::hint::black_box(bare_parse(std::slice::from_ref(&log.path)));
                    t.elapsed()
                },
                |cmd| {
                    for f in &w.csv {
                        cmd.arg("--csv").arg(f);
                    }
                    cmd.arg("--access-log").arg(&log.path);
                },
            );
            let planted_use = planted_use(&dir.join("report-csv-log.json"));
            let read = with_log.audit.saturating_sub(csv_audit);
            log_note = Some(format!(
                "access log: {} rows, {:.1} MB; bare parse {:.3} s; audit with the log {:.3} s, \
                 without {:.3} s: the log read {:.3} s = {:.2}x the bare parse; peak memory \
                 {:.1} MB with, {:.1} MB without (+{:.1} MB); planted use {:?} (expected {:?})",
                log.rows,
                log.bytes as f64 / 1e6,
                with_log.limit.as_secs_f64(),
                with_log.audit.as_secs_f64(),
                csv_audit.as_secs_f64(),
                read.as_secs_f64(),
                read.as_secs_f64() / with_log.limit.as_secs_f64(),
                with_log.peak as f64 / 1e6,
                csv_peak as f64 / 1e6,
                (with_log.peak as f64 - csv_peak as f64) / 1e6,
                planted_use,
                behorig::synth::PLANTED_USE,
            ));
            failed |= planted_use != Some(behorig::synth::PLANTED_USE);
            rows.push(with_log.row(
                format!("CSV + log ({:.0} MB)", (w.bytes + log.bytes) as f64 / 1e6),
                "log parse",
                w.bytes + log.bytes,
                &expected,
            ));
            let _ = std::fs::remove_file(&log.path);
        }

        let ldif = side_by_side(
            &w,
            &dir,
            "ldif",
            runs,
            || {
                let t = Instant::now();
                std::hint::black_box(bare_lines(&w.ldif));
                t.elapsed()
            },
            |cmd| {
                cmd.arg("--ldif").arg(&w.ldif).arg("--csv").arg(&w.roles);
            },
        );
        rows.push(ldif.row(
            format!("LDIF ({:.1} MB)", w.ldif_bytes as f64 / 1e6),
            "read_until",
            w.ldif_bytes,
            &expected,
        ));

        if with_ldap {
            let slapd = start_slapd(&dir.join("slapd"), &w.ldif);
            // The entries and attributes the audit asks for.
            let policies = behorig::policy::load_dir(&w.policies).expect("policies");
            let keep = behorig::policy::attributes_read(&policies);
            let (filter, attrs) = behorig::sources::ldap::search_request(
                &behorig::sources::directory::Mapping::default(),
                Some(&keep),
            );
            let ldap = side_by_side(
                &w,
                &dir,
                "ldap",
                runs,
                || {
                    let mut dump = Command::new("ldapsearch");
                    dump.args(["-x", "-LLL", "-H", &slapd.url, "-D", SVC_DN, "-y"])
                        .arg(slapd.dir.join("password"))
                        .args([
                            "-b",
                            behorig::synth::BASE_DN,
                            "-E",
                            "pr=1000/noprompt",
                            &filter,
                        ])
                        .args(&attrs);
                    let m = measure(&mut dump, &dir, "ldapsearch");
                    assert!(m.success, "ldapsearch failed");
                    m.elapsed
                },
                |cmd| {
                    cmd.arg("--config")
                        .arg(slapd.dir.join("behorig.toml"))
                        .args(["--ldap", &slapd.url])
                        .arg("--csv")
                        .arg(&w.roles);
                },
            );
            let entries = std::fs::read_to_string(dir.join("ldapsearch.out"))
                .map(|s| s.matches("\ndn:").count() + usize::from(s.starts_with("dn:")))
                .unwrap_or(0);
            rows.push(ldap.row(
                format!("LDAP ({entries} entries)"),
                "ldapsearch",
                w.ldif_bytes,
                &expected,
            ));
        }

        println!();
        println!(
            "{accounts} accounts, {} memberships, {} groups, 30 policies; CSV {:.1} MB, LDIF {:.1} MB",
            w.memberships,
            w.groups,
            w.bytes as f64 / 1e6,
            w.ldif_bytes as f64 / 1e6
        );
        print_rows(&rows, expected.len());
        if let Some(note) = log_note {
            println!("  {note}");
        }
        failed |= rows.iter().any(|r| !r.correct);
    }
    if failed {
        std::process::exit(1);
    }
}
