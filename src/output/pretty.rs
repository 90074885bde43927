//! Pretty JSON written piece by piece, for the JSON and SARIF outputs: the
//! same bytes as `serde_json`'s pretty printer (two spaces), but an object
//! can be written key by key and a list of findings rendered on every
//! core, chunk by chunk, and written in order. Tens of thousands of
//! findings then take a fraction of the time one thread takes, and only
//! the chunks on their way are in memory.

use std::io::{self, Write};
use std::ops::Range;

use serde::Serialize;
use serde_json::ser::Formatter;

/// Findings per chunk a thread renders at a time: a few hundred
/// kilobytes of JSON.
const CHUNK: usize = 256;

/// `serde_json`'s pretty layout, starting at a depth of `level`: what a
/// value nested that deep in a pretty document looks like.
#[derive(Debug, Clone, Copy)]
pub struct Pretty {
    level: usize,
    has_value: bool,
}

impl Pretty {
    pub fn at(level: usize) -> Self {
        Pretty {
            level,
            has_value: false,
        }
    }
}

/// Two spaces per level.
pub fn indent<W: Write + ?Sized>(out: &mut W, level: usize) -> io::Result<()> {
    const SPACES: &[u8; 64] = &[b' '; 64];
    let mut n = level * 2;
    while n > 0 {
        let now = n.min(SPACES.len());
        out.write_all(&SPACES[..now])?;
        n -= now;
    }
    Ok(())
}

impl Pretty {
    /// An array or object opens: one level deeper, nothing in it yet.
    fn open<W: Write + ?Sized>(&mut self, out: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        out.write_all(bracket)
    }

    /// It closes: on a line of its own unless it was empty.
    fn close<W: Write + ?Sized>(&mut self, out: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            out.write_all(b"\n")?;
            indent(out, self.level)?;
        }
        out.write_all(bracket)
    }

    /// An element or key starts a line of its own.
    fn next_line<W: Write + ?Sized>(&self, out: &mut W, first: bool) -> io::Result<()> {
        out.write_all(if first { b"\n" } else { b",\n" })?;
        indent(out, self.level)
    }
}

impl Formatter for Pretty {
    fn begin_array<W: Write + ?Sized>(&mut self, out: &mut W) -> io::Result<()> {
        self.open(out, b"[")
    }

    fn end_array<W: Write + ?Sized>(&mut self, out: &mut W) -> io::Result<()> {
        self.close(out, b"]")
    }

    fn begin_array_value<W: Write + ?Sized>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        self.next_line(out, first)
    }

    fn end_array_value<W: Write + ?Sized>(&mut self, _out: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: Write + ?Sized>(&mut self, out: &mut W) -> io::Result<()> {
        self.open(out, b"{")
    }

    fn end_object<W: Write + ?Sized>(&mut self, out: &mut W) -> io::Result<()> {
        self.close(out, b"}")
    }

    fn begin_object_key<W: Write + ?Sized>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        self.next_line(out, first)
    }

    fn begin_object_value<W: Write + ?Sized>(&mut self, out: &mut W) -> io::Result<()> {
        out.write_all(b": ")
    }

    fn end_object_value<W: Write + ?Sized>(&mut self, _out: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Writes `value` as it looks `level` deep in a pretty document.
pub fn value_at<W: Write + ?Sized>(
    out: &mut W,
    level: usize,
    value: &impl Serialize,
) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, Pretty::at(level));
    value.serialize(&mut ser).map_err(io::Error::from)
}

/// A pretty JSON document and a final newline, through a buffer of its
/// own (the serialiser writes a few bytes at a time; each is then a copy,
/// not a call through `dyn Write`): its top object, whose keys `fill`
/// writes.
pub fn document<'w>(
    out: &'w mut dyn Write,
    fill: impl FnOnce(&mut Object<'_, io::BufWriter<&'w mut dyn Write>>) -> io::Result<()>,
) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    let mut doc = Object::begin(&mut out, 0)?;
    fill(&mut doc)?;
    doc.end()?;
    out.write_all(b"\n")?;
    out.flush()
}

/// An object `level` deep, written key by key.
pub struct Object<'w, W: Write + ?Sized> {
    out: &'w mut W,
    level: usize,
    first: bool,
}

impl<'w, W: Write + ?Sized> Object<'w, W> {
    pub fn begin(out: &'w mut W, level: usize) -> io::Result<Self> {
        out.write_all(b"{")?;
        Ok(Object {
            out,
            level,
            first: true,
        })
    }

    /// One key and its value.
    pub fn entry(&mut self, key: &str, value: &impl Serialize) -> io::Result<()> {
        self.entry_with(key, |out, level| value_at(out, level, value))
    }

    /// One key, its value written by `write` at the depth it is given.
    pub fn entry_with(
        &mut self,
        key: &str,
        write: impl FnOnce(&mut W, usize) -> io::Result<()>,
    ) -> io::Result<()> {
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        indent(self.out, self.level + 1)?;
        serde_json::to_writer(&mut *self.out, key).map_err(io::Error::from)?;
        self.out.write_all(b": ")?;
        write(self.out, self.level + 1)
    }

    pub fn end(self) -> io::Result<()> {
        if !self.first {
            self.out.write_all(b"\n")?;
            indent(self.out, self.level)?;
        }
        self.out.write_all(b"}")
    }
}

/// A list `level` deep of one element, which `write` writes at the depth
/// it is given.
pub fn list_of_one<W: Write + ?Sized>(
    out: &mut W,
    level: usize,
    write: impl FnOnce(&mut W, usize) -> io::Result<()>,
) -> io::Result<()> {
    out.write_all(b"[\n")?;
    indent(out, level + 1)?;
    write(out, level + 1)?;
    out.write_all(b"\n")?;
    indent(out, level)?;
    out.write_all(b"]")
}

/// A list `level` deep of `items`, rendered on every core and written in
/// order.
pub fn list<W, T>(out: &mut W, level: usize, items: &[T]) -> io::Result<()>
where
    W: Write + ?Sized,
    T: Serialize + Sync,
{
    list_with(out, level, items, |item, buf, level| {
        value_at(buf, level, item)
    })
}

/// A list `level` deep of what `element` makes of each of `items`.
pub fn list_of<W, T, E>(
    out: &mut W,
    level: usize,
    items: &[T],
    element: impl Fn(&T) -> E + Sync,
) -> io::Result<()>
where
    W: Write + ?Sized,
    T: Sync,
    E: Serialize,
{
    list_with(out, level, items, |item, buf, level| {
        value_at(buf, level, &element(item))
    })
}

/// A list `level` deep whose elements `write` writes, each at the depth
/// it is given, rendered on every core and written in order.
pub fn list_with<W, T>(
    out: &mut W,
    level: usize,
    items: &[T],
    write: impl Fn(&T, &mut Vec<u8>, usize) -> io::Result<()> + Sync,
) -> io::Result<()>
where
    W: Write + ?Sized,
    T: Sync,
{
    if items.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[")?;
    in_order(items.len(), CHUNK, out, |range, buf| {
        for i in range {
            buf.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
            indent(buf, level + 1)?;
            write(&items[i], buf, level + 1)?;
        }
        Ok(())
    })?;
    out.write_all(b"\n")?;
    indent(out, level)?;
    out.write_all(b"]")
}

/// Renders `count` items in chunks of `chunk` with `render`, on every
/// core (see [`crate::parallel::in_order`]), and writes the chunks to
/// `out` in order; each written buffer goes back to be filled again.
pub fn in_order<W: Write + ?Sized>(
    count: usize,
    chunk: usize,
    out: &mut W,
    render: impl Fn(Range<usize>, &mut Vec<u8>) -> io::Result<()> + Sync,
) -> io::Result<()> {
    crate::parallel::in_order(
        count,
        chunk,
        crate::cores(),
        |range, spare: Option<io::Result<Vec<u8>>>| {
            let mut buf = spare.and_then(Result::ok).unwrap_or_default();
            buf.clear();
            render(range, &mut buf).map(|()| buf)
        },
        |rendered| {
            let buf = rendered?;
            out.write_all(&buf)?;
            Ok(Some(Ok(buf)))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pretty(value: &serde_json::Value) -> String {
        serde_json::to_string_pretty(value).expect("JSON")
    }

    fn sample(n: usize) -> Vec<serde_json::Value> {
        (0..n)
            .map(|i| {
                json!({
                    "id": format!("f{i}"),
                    "via": (0..i % 4).map(|g| format!("G\"{g}\"")).collect::<Vec<_>>(),
                    "empty": [],
                    "nested": {"a": {"b": [1, {"c": null}]}, "none": {}},
                    "text": "åäö\n\t\u{1}",
                })
            })
            .collect()
    }

    /// A document written key by key, its list on every core, is byte for
    /// byte what `serde_json`'s pretty printer writes for the same value,
    /// for lists shorter than a chunk, of exactly a chunk, and of many.
    #[test]
    fn pieces_write_what_serde_json_writes_whole() {
        for n in [0, 1, 2, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 17] {
            let items = sample(n);
            let whole = json!({
                "schema_version": 1,
                "findings": items,
                "runs": [{"results": items, "after": {"x": []}}],
                "last": "slut",
            });
            let mut out = Vec::new();
            let mut doc = Object::begin(&mut out, 0).expect("write");
            doc.entry("schema_version", &1).expect("write");
            doc.entry_with("findings", |out, level| list(out, level, &items))
                .expect("write");
            doc.entry_with("runs", |out, level| {
                list_of_one(out, level, |out, level| {
                    let mut run = Object::begin(out, level)?;
                    run.entry_with("results", |out, level| list(out, level, &items))?;
                    run.entry("after", &json!({"x": []}))?;
                    run.end()
                })
            })
            .expect("write");
            doc.entry("last", &"slut").expect("write");
            doc.end().expect("write");
            assert_eq!(
                String::from_utf8(out).expect("UTF-8"),
                pretty(&whole),
                "{n} items"
            );
        }
    }

    #[test]
    fn an_empty_object_is_two_braces() {
        let mut out = Vec::new();
        Object::begin(&mut out, 3)
            .expect("write")
            .end()
            .expect("write");
        assert_eq!(out, b"{}");
    }

    /// Chunks come out in order whichever thread rendered them, and a
    /// chunk that fails stops the output with its error.
    #[test]
    fn chunks_are_written_in_order_and_a_failure_stops_them() {
        let mut out = Vec::new();
        in_order(10_000, 7, &mut out, |range, buf| {
            for i in range {
                writeln!(buf, "{i}")?;
            }
            Ok(())
        })
        .expect("write");
        let expected: String = (0..10_000).map(|i| format!("{i}\n")).collect();
        assert_eq!(String::from_utf8(out).expect("UTF-8"), expected);

        let mut out = Vec::new();
        let e = in_order(10_000, 7, &mut out, |range, buf| {
            if range.contains(&5000) {
                return Err(io::Error::other("row 5000"));
            }
            writeln!(buf, "{}", range.start)
        })
        .expect_err("the failure");
        assert_eq!(e.to_string(), "row 5000");
        let written = String::from_utf8(out).expect("UTF-8");
        assert!(written
            .lines()
            .all(|l| l.parse::<usize>().is_ok_and(|i| i < 5000)));
    }

    /// A writer that fails ends the rendering threads instead of leaving
    /// them blocked.
    #[test]
    fn a_failing_writer_stops_the_threads() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let e = in_order(100_000, 3, &mut Full, |range, buf| {
            writeln!(buf, "{}", range.start)
        })
        .expect_err("the failure");
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
    }
}
