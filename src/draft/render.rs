//! Rendering: one template per kind of draft, written once, with the macros
//! of one format (`fmt`) imported into it. Markdown escapes what would be
//! read as markup; HTML is auto-escaped and wrapped in a self-contained page
//! that prints to A4.

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use super::{number_sv, DraftError, Facts, Legal};
use crate::cli::{DraftFormat, DraftKind};

const COMMON: &str = include_str!("templates/common.j2");
const IMY: &str = include_str!("templates/imy.j2");
const LEX_SARAH: &str = include_str!("templates/lex_sarah.j2");
const FMT_MD: &str = include_str!("templates/fmt_md.j2");
const FMT_HTML: &str = include_str!("templates/fmt_html.j2");
const PAGE_HTML: &str = include_str!("templates/page_html.j2");

/// Characters that Markdown would read as markup inside text.
const MD_SPECIAL: &[char] = &['\\', '`', '*', '_', '[', ']', '<', '>', '|', '#'];

fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        // A value is one piece of text: a line end in a name must not
        // start a paragraph, a heading or a list item of its own.
        if c.is_control() {
            out.push(' ');
            continue;
        }
        if MD_SPECIAL.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn environment(format: DraftFormat) -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    match format {
        DraftFormat::Md => {
            env.set_auto_escape_callback(|_| AutoEscape::Custom("markdown"));
            env.set_formatter(|out, state, value| {
                if value.is_safe() || matches!(state.auto_escape(), AutoEscape::None) {
                    write!(out, "{value}").map_err(minijinja::Error::from)
                } else if value.is_none() || value.is_undefined() {
                    Ok(())
                } else {
                    out.write_str(&md_escape(&value.to_string()))
                        .map_err(minijinja::Error::from)
                }
            });
            env.add_template("fmt", FMT_MD)?;
        }
        DraftFormat::Html => {
            env.set_auto_escape_callback(|_| AutoEscape::Html);
            env.add_template("fmt", FMT_HTML)?;
            env.add_template("page", PAGE_HTML)?;
        }
    }
    env.add_global("FILL", super::FILL_MARKER);
    env.add_template("common", COMMON)?;
    env.add_template("imy", IMY)?;
    env.add_template("lex_sarah", LEX_SARAH)?;
    // "22 konton", "1 konto".
    env.add_function("plural", |n: u64, one: &str, many: &str| {
        format!("{} {}", number_sv(n), if n == 1 { one } else { many })
    });
    env.add_function("num", |n: u64| number_sv(n));
    // "21 konton"; with names left out, "färre än 3 konton" below three.
    env.add_function(
        "count",
        |n: usize, hide: bool, one: Option<String>, many: Option<String>| {
            super::facts::count_text(
                n,
                hide,
                one.as_deref().unwrap_or("konto"),
                many.as_deref().unwrap_or("konton"),
            )
        },
    );
    env.add_filter("join_sv", |items: Vec<String>| super::join_sv(&items));
    // A label of the form that the source's policy ticks.
    env.add_filter("ticked", |label: String| {
        minijinja::context! { label => label, ticked => true }
    });
    // An object as a table row: its values for `keys`, in order.
    env.add_filter(
        "row",
        |value: Value, keys: Vec<String>| -> Result<Vec<Value>, minijinja::Error> {
            keys.iter().map(|k| value.get_attr(k)).collect()
        },
    );
    Ok(env)
}

/// Collapses runs of blank lines and trailing spaces that the macros leave.
fn tidy_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() && blank > 0 {
            out.push('\n');
        }
        blank = 0;
        out.push_str(line);
        out.push('\n');
    }
    out
}

pub fn render(
    kind: DraftKind,
    format: DraftFormat,
    facts: &Facts,
    specific: &serde_json::Value,
    legal: &Legal,
) -> Result<String, DraftError> {
    let failed =
        |e: minijinja::Error| DraftError::Render(format!("cannot render the draft: {e:#}"));
    let env = environment(format).map_err(failed)?;
    let name = match kind {
        DraftKind::Imy => "imy",
        DraftKind::LexSarah => "lex_sarah",
    };
    // Legal references are the organisation's own text: in Markdown their
    // `[KONTROLLERA: …]` marks stay as written, like `[FYLL I: …]`; HTML
    // escapes them as any other value.
    let legal = match format {
        DraftFormat::Md => Value::from_iter(legal.0.iter().map(|(section, keys)| {
            (
                section.clone(),
                Value::from_iter(
                    keys.iter()
                        .map(|(k, v)| (k.clone(), Value::from_safe_string(v.clone()))),
                ),
            )
        })),
        DraftFormat::Html => Value::from_serialize(legal),
    };
    let ctx = minijinja::context! {
        facts => Value::from_serialize(facts),
        draft => Value::from_serialize(specific),
        legal => legal,
    };
    let template = env.get_template(name).map_err(failed)?;
    let body = template.render(&ctx).map_err(failed)?;
    match format {
        DraftFormat::Md => Ok(tidy_markdown(&body)),
        DraftFormat::Html => {
            let title = match kind {
                DraftKind::Imy => "Anmälan av personuppgiftsincident (utkast)",
                DraftKind::LexSarah => "Anmälan enligt lex Sarah (utkast)",
            };
            let page = env.get_template("page").map_err(failed)?;
            page.render(minijinja::context! {
                title => title,
                facts => Value::from_serialize(facts),
                body => Value::from_safe_string(body),
            })
            .map_err(failed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_markup_in_data_is_escaped() {
        assert_eq!(md_escape("a|b *c* [d]"), "a\\|b \\*c\\* \\[d\\]");
        assert_eq!(md_escape("Anna\n\n# Rubrik"), "Anna  \\# Rubrik");
    }

    #[test]
    fn markdown_blank_lines_collapse() {
        assert_eq!(tidy_markdown("# A  \n\n\n\ntext\n\n"), "# A\n\ntext\n");
    }
}
