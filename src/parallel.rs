//! Work cut into chunks, made on every core and taken in order: the
//! account checks of evaluation, the people of a CSV report's findings,
//! and the findings the outputs render.
//! Only the chunks on their way are held at once, whatever the count.

use std::ops::Range;

/// Makes the chunks of `0..count` (`chunk` items each, the last one
/// shorter) with `make` on `threads` threads, thread `t` making chunks
/// `t`, `t + threads`, …, and gives them to `take` on this thread in
/// order. Each thread has at most two chunks waiting.
///
/// What `take` gives back goes to the thread that made the chunk, which
/// passes it to `make` for its next one (a buffer to fill again). When
/// `take` fails, no further chunk is taken and its error is returned.
/// With one thread, or one chunk, everything runs on this thread.
pub fn in_order<T: Send, E>(
    count: usize,
    chunk: usize,
    threads: usize,
    make: impl Fn(Range<usize>, Option<T>) -> T + Sync,
    mut take: impl FnMut(T) -> Result<Option<T>, E>,
) -> Result<(), E> {
    let chunk = chunk.max(1);
    let chunks = count.div_ceil(chunk);
    let span = |c: usize| c * chunk..((c + 1) * chunk).min(count);
    let threads = threads.min(chunks);
    if threads <= 1 {
        let mut spare = None;
        for c in 0..chunks {
            spare = take(make(span(c), spare.take()))?;
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        let mut made = Vec::with_capacity(threads);
        let mut spent = Vec::with_capacity(threads);
        for t in 0..threads {
            let (send, receive) = std::sync::mpsc::sync_channel::<T>(2);
            let (give_back, take_back) = std::sync::mpsc::channel::<T>();
            made.push(receive);
            spent.push(give_back);
            let make = &make;
            scope.spawn(move || {
                for c in (t..chunks).step_by(threads) {
                    // Once this side stops taking, the thread stops too.
                    if send.send(make(span(c), take_back.try_recv().ok())).is_err() {
                        return;
                    }
                }
            });
        }
        for c in 0..chunks {
            let t = c % threads;
            // A thread stops before its last chunk only by panicking, and
            // the scope raises that panic as this closure returns.
            let Ok(made) = made[t].recv() else {
                break;
            };
            if let Some(back) = take(made)? {
                let _ = spent[t].send(back);
            }
        }
        Ok(())
    })
}

/// [`in_order`] with a `take` that cannot fail.
pub fn each_in_order<T: Send>(
    count: usize,
    chunk: usize,
    threads: usize,
    make: impl Fn(Range<usize>, Option<T>) -> T + Sync,
    mut take: impl FnMut(T) -> Option<T>,
) {
    let done = in_order(count, chunk, threads, make, |made| {
        Ok::<_, std::convert::Infallible>(take(made))
    });
    if let Err(never) = done {
        match never {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks reach `take` in order whichever thread made them, on one
    /// thread or several, and every item is in exactly one chunk.
    #[test]
    fn chunks_are_taken_in_order() {
        for threads in [1, 2, 3] {
            for count in [0, 1, 6, 7, 8, 1000] {
                let mut seen = Vec::new();
                let done: Result<(), ()> = in_order(
                    count,
                    7,
                    threads,
                    |range, _| range.collect::<Vec<usize>>(),
                    |items| {
                        seen.extend(items);
                        Ok(None)
                    },
                );
                assert_eq!(done, Ok(()));
                assert_eq!(
                    seen,
                    (0..count).collect::<Vec<_>>(),
                    "{threads} threads, {count}"
                );
            }
        }
    }

    /// What `take` gives back is handed to the thread that made the chunk.
    #[test]
    fn given_back_values_return_to_their_thread() {
        let mut reused = 0;
        let done: Result<(), ()> = in_order(
            1000,
            10,
            2,
            |range, spare: Option<(Vec<usize>, bool)>| {
                let mut buf = spare.map(|(b, _)| b).unwrap_or_default();
                let was_reused = buf.capacity() > 0;
                buf.clear();
                buf.extend(range);
                (buf, was_reused)
            },
            |(buf, was_reused)| {
                reused += usize::from(was_reused);
                Ok(Some((buf, false)))
            },
        );
        assert_eq!(done, Ok(()));
        assert!(reused > 0, "no buffer came back");
    }

    /// A panic in `make` is the caller's panic, not a shorter result.
    #[test]
    fn a_panicking_thread_is_not_a_short_result() {
        let outcome = std::panic::catch_unwind(|| {
            let mut taken = 0;
            let _: Result<(), ()> = in_order(
                1000,
                10,
                2,
                |range, _| {
                    assert!(!range.contains(&500), "chunk 50 fails");
                    range.len()
                },
                |n| {
                    taken += n;
                    Ok(None)
                },
            );
            taken
        });
        assert!(outcome.is_err(), "the panic was lost: {outcome:?}");
    }
}
