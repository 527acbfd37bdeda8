//! Typed row indices. The engine works on the rows of several tables at once — each
//! instance's AD users and groups, the IIJ ID users and groups, the drafts of the plan, the
//! in-scope users and groups of an instance — and a bare integer does not say which table it
//! points into. Each of these is a `u32` underneath (tables stay below 2^32 rows), so vectors
//! of them are as compact as before.

macro_rules! row_index {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(transparent)]
        pub(crate) struct $name(u32);

        // Not every table's index needs every conversion.
        #[allow(dead_code)]
        impl $name {
            /// The row at position `index` of its table.
            pub(crate) fn new(index: usize) -> Self {
                Self(index as u32)
            }

            /// The row an index structure (`IidIndex`, `KeyIndex`, `Lists`) returned.
            pub(crate) fn from_raw(row: u32) -> Self {
                Self(row)
            }

            /// The row as index structures take it.
            pub(crate) fn raw(self) -> u32 {
                self.0
            }

            /// The position in its table, to index a vector with.
            pub(crate) fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

row_index!(
    /// A Directory Sync instance: position in `Inputs::instances` (and in the prepared
    /// per-instance states, which follow the same order).
    InstanceIdx
);
row_index!(
    /// A row of one instance's AD snapshot users (tombstones included).
    AdUserRow
);
row_index!(
    /// A row of one instance's AD snapshot groups.
    AdGroupRow
);
row_index!(
    /// A row of the base IIJ ID snapshot's users (the state requests are computed against).
    IidUserRow
);
row_index!(
    /// A row of the base IIJ ID snapshot's groups.
    IidGroupRow
);
row_index!(
    /// A draft action: its position in the plan under construction, in push order.
    DraftId
);
row_index!(
    /// A position among one instance's in-scope AD users (`InstanceState::users_in_scope`,
    /// and the desired keys computed for each).
    InScopeUser
);
row_index!(
    /// A position among one instance's in-scope AD groups (`InstanceState::groups_in_scope`,
    /// and their names).
    InScopeGroup
);

/// An in-scope AD user of one instance. Ordered by instance, then position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ScopedUser {
    pub instance: InstanceIdx,
    pub user: InScopeUser,
}

/// An in-scope AD group of one instance. Ordered by instance, then position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ScopedGroup {
    pub instance: InstanceIdx,
    pub group: InScopeGroup,
}

/// One number per in-scope AD user of every instance (its instance's offset + its
/// position), for the passes that look at all instances' users as one list: duplicate keys
/// and claims on one IIJ ID user.
pub(crate) struct UserNumbers {
    offsets: Vec<usize>,
    total: usize,
}

impl UserNumbers {
    /// `in_scope` is the number of in-scope users of each instance, in instance order.
    pub(crate) fn new(in_scope: impl Iterator<Item = usize>) -> UserNumbers {
        let mut offsets = Vec::new();
        let mut total = 0usize;
        for count in in_scope {
            offsets.push(total);
            total += count;
        }
        UserNumbers { offsets, total }
    }

    /// How many in-scope users all instances have.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    pub(crate) fn number(&self, user: ScopedUser) -> u32 {
        (self.offsets[user.instance.index()] + user.user.index()) as u32
    }

    pub(crate) fn locate(&self, number: u32) -> ScopedUser {
        let number = number as usize;
        // An instance without in-scope users shares its offset with the next one: the last
        // instance starting at or before the number is the one holding it.
        let instance = self
            .offsets
            .partition_point(|&offset| offset <= number)
            .saturating_sub(1);
        ScopedUser {
            instance: InstanceIdx::new(instance),
            user: InScopeUser::new(number - self.offsets.get(instance).copied().unwrap_or(0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_numbers_skip_instances_without_users() {
        let numbers = UserNumbers::new([2usize, 0, 3].into_iter());
        assert_eq!(numbers.total(), 5);
        let located: Vec<(usize, usize)> = (0..5)
            .map(|n| numbers.locate(n))
            .map(|u| (u.instance.index(), u.user.index()))
            .collect();
        assert_eq!(located, vec![(0, 0), (0, 1), (2, 0), (2, 1), (2, 2)]);
        for n in 0..5 {
            assert_eq!(numbers.number(numbers.locate(n)), n);
        }
    }
}
