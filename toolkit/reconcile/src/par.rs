//! Data parallelism for the engine's per-row passes. Results keep the input order, so a
//! plan is the same whatever the number of threads (and byte-identical to a serial run).

/// Below this many items a pass runs on the calling thread: spawning costs more.
const MIN_PARALLEL: usize = 20_000;

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// `items.iter().enumerate().map(f).collect()`, split into contiguous chunks over the
/// machine's cores.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    let mut chunks = map_chunks(items, f);
    if chunks.len() == 1 {
        return chunks.pop().unwrap_or_default();
    }
    let mut out = Vec::with_capacity(items.len());
    for c in chunks {
        out.extend(c);
    }
    out
}

/// [`map`] without the final concatenation: the results of each thread's chunk, in order
/// (for large results that are only iterated once).
pub fn map_chunks<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &T) -> R + Sync) -> Vec<Vec<R>> {
    let n = threads();
    if n < 2 || items.len() < MIN_PARALLEL {
        return vec![items.iter().enumerate().map(|(i, t)| f(i, t)).collect()];
    }
    let per = items.len().div_ceil(n);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(per)
            .enumerate()
            .map(|(c, chunk)| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(i, t)| f(c * per + i, t))
                        .collect::<Vec<R>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// `f(i, &mut items[i])` for every item, in contiguous chunks over the machine's cores.
pub fn for_each_mut<T: Send>(items: &mut [T], f: impl Fn(usize, &mut T) + Sync) {
    let n = threads();
    if n < 2 || items.len() < MIN_PARALLEL {
        for (i, t) in items.iter_mut().enumerate() {
            f(i, t);
        }
        return;
    }
    let per = items.len().div_ceil(n);
    let f = &f;
    std::thread::scope(|s| {
        for (c, chunk) in items.chunks_mut(per).enumerate() {
            s.spawn(move || {
                for (i, t) in chunk.iter_mut().enumerate() {
                    f(c * per + i, t);
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn map_keeps_order_and_indexes() {
        let v: Vec<u64> = (0..100_003).collect();
        let out = super::map(&v, |i, x| (i as u64) * 1000 + x);
        assert_eq!(out.len(), v.len());
        assert!(out.iter().enumerate().all(|(i, y)| *y == (i as u64) * 1001));
        let mut m = v.clone();
        super::for_each_mut(&mut m, |i, x| *x += i as u64);
        assert!(m.iter().enumerate().all(|(i, y)| *y == 2 * i as u64));
    }
}
