//! Counting positions of a growing sequence (a Fenwick tree), so a page of "the k-th entry
//! that is still there" is found in O(log n) without moving the entries: a resource deleted
//! from the middle of a million leaves a hole instead of shifting everything after it.

/// Counts per position (0 or 1 here, any `u32` in general), appendable, with prefix sums and
/// the position of the k-th counted element.
#[derive(Debug, Clone, Default)]
pub struct RankTree {
    /// 1-based Fenwick array: `tree[i]` sums the counts of positions `(i - lowbit(i), i]`.
    tree: Vec<u32>,
}

fn lowbit(i: usize) -> usize {
    i & i.wrapping_neg()
}

impl RankTree {
    pub fn new() -> RankTree {
        RankTree { tree: vec![0] }
    }

    /// Number of positions (counted or not).
    pub fn len(&self) -> usize {
        self.tree.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reserve(&mut self, additional: usize) {
        self.tree.reserve(additional);
    }

    /// Appends a position holding `count`.
    pub fn push(&mut self, count: u32) {
        let i = self.tree.len();
        // The new node covers (i - lowbit(i), i]: its own count plus the sums of the
        // positions before it in that range, which the tree already holds.
        let from = i - lowbit(i);
        let covered = self.prefix(i - 1) - self.prefix(from);
        self.tree.push(count + covered);
    }

    /// Adds `delta` (which may be negative) to the count at `pos` (0-based).
    pub fn add(&mut self, pos: usize, delta: i64) {
        let mut i = pos + 1;
        while i < self.tree.len() {
            // Counts never go below zero: the callers only undo what they added.
            self.tree[i] = u32::try_from(i64::from(self.tree[i]) + delta).unwrap_or(0);
            i += lowbit(i);
        }
    }

    /// Sum of the counts of positions `0..end`.
    pub fn prefix(&self, end: usize) -> u32 {
        let mut i = end.min(self.len());
        let mut sum = 0;
        while i > 0 {
            sum += self.tree[i];
            i -= lowbit(i);
        }
        sum
    }

    /// Sum of every count.
    pub fn total(&self) -> u32 {
        self.prefix(self.len())
    }

    /// The position of the element of rank `rank` (0-based: the first counted position is rank
    /// 0); `None` when fewer elements are counted.
    pub fn position_of_rank(&self, rank: usize) -> Option<usize> {
        let mut remaining = u32::try_from(rank).ok()?;
        let mut pos = 0;
        let mut step = self.len().checked_next_power_of_two()?;
        if step > self.len() {
            step /= 2;
        }
        // Descend: take each power-of-two block whose sum still fits before the wanted rank.
        while step > 0 {
            let next = pos + step;
            if next <= self.len() && self.tree[next] <= remaining {
                remaining -= self.tree[next];
                pos = next;
            }
            step /= 2;
        }
        (pos < self.len()).then_some(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ranks_match_a_plain_scan(
            counts in prop::collection::vec(0u32..2, 0..200),
            flips in prop::collection::vec(any::<prop::sample::Index>(), 0..50),
        ) {
            let mut tree = RankTree::new();
            let mut plain = Vec::new();
            for c in &counts {
                tree.push(*c);
                plain.push(*c);
            }
            for f in &flips {
                if plain.is_empty() {
                    break;
                }
                let i = f.index(plain.len());
                let delta = if plain[i] == 1 { -1 } else { 1 };
                tree.add(i, delta);
                plain[i] = u32::try_from(i64::from(plain[i]) + delta).unwrap();
                // Appends after updates keep working.
                tree.push(1);
                plain.push(1);
            }
            for end in 0..=plain.len() {
                prop_assert_eq!(tree.prefix(end), plain[..end].iter().sum::<u32>());
            }
            let counted: Vec<usize> = (0..plain.len()).filter(|i| plain[*i] == 1).collect();
            for (rank, pos) in counted.iter().enumerate() {
                prop_assert_eq!(tree.position_of_rank(rank), Some(*pos));
            }
            prop_assert_eq!(tree.position_of_rank(counted.len()), None);
        }
    }
}
