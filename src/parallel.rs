//! Bulk calls split their per-session work that needs no lock (parsing and rendering the sessions of
//! an import) across the machine's cores: scoped threads over contiguous chunks, results in input
//! order, so that the caller sees what a sequential map would give.

use crate::error::Result;

/// Below this many items per thread a call keeps to its own thread: starting one costs tens of
/// microseconds, what a few hundred sessions take to parse.
const MIN_PER_THREAD: usize = 1024;

/// Threads at most, the caller's included: a bulk call should not take over a large machine.
const MAX_THREADS: usize = 4;

/// `items` mapped by `f` (which also gets each item's index), in order. Large inputs are cut into
/// contiguous chunks, the first mapped on the calling thread and the others on helper threads (on the
/// calling thread too if one cannot be started). Every chunk is mapped to its end; the error returned
/// is the first in input order, as a sequential map would return. A panic in a helper is resumed on
/// the calling thread.
pub fn map_in_order<'a, T, R, F>(items: &'a [T], f: F) -> Result<Vec<R>>
where
    T: Sync,
    R: Send,
    F: Fn(usize, &'a T) -> Result<R> + Sync,
{
    let map = |start: usize, part: &'a [T]| -> Result<Vec<R>> {
        part.iter().enumerate().map(|(i, item)| f(start + i, item)).collect()
    };
    let most = (items.len() / MIN_PER_THREAD).min(MAX_THREADS);
    if most < 2 {
        return map(0, items); // before asking for the cores: that reads cgroup files
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(most);
    if threads < 2 {
        return map(0, items);
    }
    let chunk = items.len().div_ceil(threads);
    let parts = std::thread::scope(|scope| {
        let helpers: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .skip(1)
            .map(|(k, part)| {
                let spawned = std::thread::Builder::new()
                    .name("sessionstore-bulk".into())
                    .spawn_scoped(scope, move || map(k * chunk, part));
                (k, part, spawned)
            })
            .collect();
        let mut parts = vec![map(0, &items[..chunk])];
        for (k, part, spawned) in helpers {
            parts.push(match spawned {
                Ok(helper) => helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(_) => map(k * chunk, part),
            });
        }
        parts
    });
    let mut parts = parts.into_iter();
    let mut all = parts.next().expect("the calling thread's chunk")?;
    all.reserve_exact(items.len() - all.len());
    for part in parts {
        all.append(&mut part?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn maps_in_order_on_every_size() {
        for n in [0, 1, MIN_PER_THREAD - 1, 2 * MIN_PER_THREAD, 5 * MIN_PER_THREAD + 3] {
            let items: Vec<usize> = (0..n).collect();
            let mapped = map_in_order(&items, |i, &x| {
                assert_eq!(i, x, "the index given is the item's");
                Ok(x * 2)
            })
            .unwrap();
            assert_eq!(mapped, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_first_error_in_input_order_wins() {
        let items: Vec<usize> = (0..4 * MIN_PER_THREAD).collect();
        // Errors in the last chunk and in the first: the first chunk's is returned.
        let bad = [4 * MIN_PER_THREAD - 2, MIN_PER_THREAD / 2, MIN_PER_THREAD / 2 + 1];
        let err = map_in_order(&items, |_, &x| {
            if bad.contains(&x) {
                Err(Error::invalid_argument(format!("item {x}")))
            } else {
                Ok(x)
            }
        })
        .unwrap_err();
        assert_eq!(err.message, format!("item {}", MIN_PER_THREAD / 2));
    }
}
