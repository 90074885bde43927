//! The README works when copied: every shell command in its code blocks is
//! run against the example organisation, in a copy of the repository's
//! example files, and must exit as the README says. The README marks each
//! `sh` block with the exit code of each of its commands
//! (`<!-- readme-test: exit 1 0 -->`) or the reason it is not run here
//! (`<!-- readme-test: skip (...) -->`). Its links point into the
//! repository, and its list of the JSON report's fields is complete.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).expect("README.md")
}

/// What the README says about a block.
#[derive(Debug)]
enum Expect {
    Exits(Vec<i32>),
    Skip,
}

#[derive(Debug)]
struct Block {
    /// The README's line of the opening fence.
    line: usize,
    expect: Expect,
    /// The commands, continuation lines joined.
    commands: Vec<String>,
}

fn sh_blocks(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != "```sh" {
            i += 1;
            continue;
        }
        let line = i + 1;
        let marker = lines[..i]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .copied()
            .unwrap_or("");
        let expect = match marker
            .trim()
            .strip_prefix("<!-- readme-test: ")
            .and_then(|m| m.strip_suffix("-->"))
        {
            Some(m) if m.starts_with("skip (") => Expect::Skip,
            Some(m) if m.starts_with("exit ") => Expect::Exits(
                m["exit ".len()..]
                    .split_whitespace()
                    .map(|c| {
                        c.parse()
                            .unwrap_or_else(|_| panic!("README.md:{line}: bad exit code {c}"))
                    })
                    .collect(),
            ),
            _ => panic!(
                "README.md:{line}: the sh block has no `<!-- readme-test: exit N -->` or \
                 `<!-- readme-test: skip (reason) -->` line before it"
            ),
        };
        let mut commands = Vec::new();
        let mut current = String::new();
        i += 1;
        while i < lines.len() && lines[i].trim() != "```" {
            let l = lines[i];
            if let Some(head) = l.strip_suffix('\\') {
                current.push_str(head);
                current.push(' ');
            } else {
                current.push_str(l);
                if !current.trim().is_empty() && !current.trim_start().starts_with('#') {
                    commands.push(std::mem::take(&mut current));
                }
                current.clear();
            }
            i += 1;
        }
        blocks.push(Block {
            line,
            expect,
            commands,
        });
        i += 1;
    }
    blocks
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn every_command_exits_as_the_readme_says() {
    let dir = tempfile::tempdir().expect("temp dir");
    let work = dir.path();
    std::fs::copy(repo().join("behorig.toml"), work.join("behorig.toml")).expect("copy");
    copy_dir(&repo().join("policies"), &work.join("policies"));
    copy_dir(
        &repo().join("fixtures/norrvik"),
        &work.join("fixtures/norrvik"),
    );
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_behorig"));
    let bin_dir = bin.parent().expect("binary folder");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let blocks = sh_blocks(&readme());
    let mut ran = 0;
    for block in &blocks {
        let Expect::Exits(codes) = &block.expect else {
            continue;
        };
        assert_eq!(
            codes.len(),
            block.commands.len(),
            "README.md:{}: {} exit codes for {} commands",
            block.line,
            codes.len(),
            block.commands.len()
        );
        for (command, code) in block.commands.iter().zip(codes) {
            // `cargo run --release --` is the binary this test was built with.
            let shell = command.replacen("cargo run --release --", "behorig", 1);
            let out = Command::new("sh")
                .args(["-c", &shell])
                .current_dir(work)
                .env("PATH", &path)
                .env_remove("BEHORIG_CONFIG")
                .output()
                .expect("sh runs");
            assert_eq!(
                out.status.code(),
                Some(*code),
                "README.md:{}: `{command}` exited {:?}, the README says {code}\n{}",
                block.line,
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            );
            ran += 1;
        }
    }
    assert!(ran >= 10, "only {ran} commands ran");
    // What the commands wrote is there.
    for file in [
        "granskning.json",
        "lex-sarah.html",
        "state.db",
        "granskning.html",
    ] {
        assert!(work.join(file).is_file(), "{file} was not written");
    }
}

#[test]
fn the_two_set_up_commands_come_first() {
    let blocks = sh_blocks(&readme());
    assert_eq!(blocks[0].commands, ["cargo run --release -- audit"]);
    assert_eq!(blocks[1].commands, ["scripts/test"]);
}

#[test]
fn links_point_into_the_repository() {
    let text = readme();
    assert!(
        !text.contains("SPEC.md"),
        "the README names SPEC.md, which users do not have"
    );
    let mut rest = text.as_str();
    let mut links = 0;
    while let Some(start) = rest.find("](") {
        rest = &rest[start + 2..];
        let end = rest.find(')').expect("a closed link");
        let target = rest[..end].split('#').next().unwrap_or("");
        if !target.is_empty() && !target.contains("://") {
            assert!(
                repo().join(target).exists(),
                "the README links to {target}, which is not in the repository"
            );
            links += 1;
        }
    }
    assert!(links >= 3, "{links} links found");
}

/// Every field a report can have (with history and exceptions) is named in
/// the README's section on the JSON report.
#[test]
fn the_readme_lists_the_reports_fields() {
    let text = readme();
    let section = text
        .split("## The JSON report")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a section `## The JSON report`");
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_behorig"))
        .current_dir(repo())
        .env_remove("BEHORIG_CONFIG")
        .args(["audit", "--as-of", "2026-11-22", "--format", "json", "-q"])
        .args(["--exceptions", "fixtures/norrvik/undantag.toml", "--state"])
        .arg(dir.path().join("state.db"))
        .output()
        .expect("behorig runs");
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut fields: Vec<String> = Vec::new();
    let object = report.as_object().expect("an object");
    for (key, value) in object {
        fields.push(key.clone());
        if matches!(key.as_str(), "run" | "summary" | "tool") {
            fields.extend(value.as_object().expect("an object").keys().cloned());
        }
    }
    let finding = report["findings"][0].as_object().expect("a finding");
    fields.extend(finding.keys().cloned());
    for field in ["allow", "roles", "grant"] {
        fields.push(field.into());
    }
    for field in fields {
        assert!(
            section.contains(&format!("`{field}`")),
            "the README's JSON section does not name `{field}`"
        );
    }
}
