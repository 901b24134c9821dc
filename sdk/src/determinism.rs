//! Compile-time check, inserted by `#[workflow]`, that workflow code does not iterate over a
//! `HashMap` or `HashSet`: their iteration order is seeded per process, so a replay on another
//! worker could visit the entries in another order and take different decisions.
//!
//! The macro cannot see types, so it wraps every `for` loop's iterable and every
//! `.iter()`/`.values()`/.. call in a probe whose type decides, by autoref specialisation,
//! whether the value is ordered:
//!
//! ```
//! # let value = vec![3, 1, 2];
//! use ::chronicle::__private::{OrderedProbe as _, UnorderedProbe as _};
//! ::chronicle::__private::require_ordered((&::chronicle::__private::Probe(&value)).probe());
//! ```
//!
//! The same probe on a `HashMap` does not compile:
//!
//! ```compile_fail
//! # let value = std::collections::HashMap::<u8, u8>::new();
//! use ::chronicle::__private::{OrderedProbe as _, UnorderedProbe as _};
//! ::chronicle::__private::require_ordered((&::chronicle::__private::Probe(&value)).probe());
//! ```
//!
//! Method lookup on `&Probe<&T>` first tries the receiver as is, which only
//! [`UnorderedProbe`] matches (for hash collections and their iterators); otherwise it borrows
//! once more and finds [`OrderedProbe`], implemented for every `&Probe<T>`. Only [`Ordered`]
//! satisfies [`require_ordered`]'s bound, whose diagnostic names the alternatives.

use std::collections::{hash_map, hash_set, HashMap, HashSet};

/// Wraps a reference to the value being checked.
#[derive(Debug)]
pub struct Probe<T>(pub T);

/// What [`OrderedProbe::probe`] returns: iterating this value is deterministic.
#[derive(Debug)]
pub struct Ordered;

/// What [`UnorderedProbe::probe`] returns: iterating this value is not deterministic.
#[derive(Debug)]
pub struct Unordered;

/// Implemented, for every type, on `&Probe<T>`: the fallback when [`UnorderedProbe`] does not
/// apply.
pub trait OrderedProbe {
    /// Says that the probed value iterates in a fixed order.
    fn probe(&self) -> Ordered {
        Ordered
    }
}

impl<T> OrderedProbe for &Probe<T> {}

/// Implemented on `Probe<&X>` where `X` iterates in a per-process order.
pub trait UnorderedProbe {
    /// Says that the probed value iterates in a per-process order.
    fn probe(&self) -> Unordered {
        Unordered
    }
}

/// `Probe<&X>` for `X`, `&X` and `&mut X`: a `for` loop may iterate over any of them.
macro_rules! unordered {
    ($(<$($param:tt),*> $ty:ty;)*) => {
        $(
            impl<$($param),*> UnorderedProbe for Probe<&$ty> {}
            impl<$($param),*> UnorderedProbe for Probe<&&$ty> {}
            impl<$($param),*> UnorderedProbe for Probe<&&mut $ty> {}
        )*
    };
}

unordered! {
    <K, V, S> HashMap<K, V, S>;
    <T, S> HashSet<T, S>;
    <'a, K, V> hash_map::Iter<'a, K, V>;
    <'a, K, V> hash_map::IterMut<'a, K, V>;
    <'a, K, V> hash_map::Keys<'a, K, V>;
    <'a, K, V> hash_map::Values<'a, K, V>;
    <'a, K, V> hash_map::ValuesMut<'a, K, V>;
    <K, V> hash_map::IntoIter<K, V>;
    <'a, K, V> hash_map::Drain<'a, K, V>;
    <K, V> hash_map::IntoKeys<K, V>;
    <K, V> hash_map::IntoValues<K, V>;
    <'a, T> hash_set::Iter<'a, T>;
    <T> hash_set::IntoIter<T>;
    <'a, T> hash_set::Drain<'a, T>;
    <'a, T, S> hash_set::Union<'a, T, S>;
    <'a, T, S> hash_set::Intersection<'a, T, S>;
    <'a, T, S> hash_set::Difference<'a, T, S>;
    <'a, T, S> hash_set::SymmetricDifference<'a, T, S>;
}

/// Satisfied by [`Ordered`] only.
#[diagnostic::on_unimplemented(
    message = "iteration order of HashMap/HashSet differs between processes, so a replay of \
               this workflow could take different decisions",
    label = "iterates over a HashMap or HashSet",
    note = "use `BTreeMap`/`BTreeSet`, or collect into a `Vec` and sort it in the next \
            statement: `let mut v: Vec<_> = map.iter().collect(); v.sort();`",
    note = "if the order cannot change the outcome (a count, a sum of integers), mark the \
            statement `#[nondeterministic(reason = \"...\")]`"
)]
pub trait IsOrdered {}

#[diagnostic::do_not_recommend]
impl IsOrdered for Ordered {}

/// Fails to compile unless the probe found an ordered value.
#[inline(always)]
pub fn require_ordered<T: IsOrdered>(_: T) {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn is_ordered(_: Ordered) -> bool {
        true
    }

    fn is_unordered(_: Unordered) -> bool {
        true
    }

    #[test]
    // The explicit borrow is the one generated code writes, whatever the probed type.
    #[allow(clippy::needless_borrow)]
    fn probes_pick_by_type() {
        let mut map: HashMap<u8, u8> = HashMap::new();
        let set: HashSet<u8> = HashSet::new();
        let tree: BTreeMap<u8, u8> = BTreeMap::new();
        let vec = vec![1u8];
        assert!(is_unordered((&Probe(&map)).probe()));
        assert!(is_unordered((&Probe(&&map)).probe()));
        assert!(is_unordered((&Probe(&map.values())).probe()));
        assert!(is_unordered((&Probe(&set.iter())).probe()));
        assert!(is_unordered((&Probe(&&mut map)).probe()));
        assert!(is_ordered((&Probe(&tree)).probe()));
        assert!(is_ordered((&Probe(&tree.values())).probe()));
        assert!(is_ordered((&Probe(&vec)).probe()));
        assert!(is_ordered((&Probe(&vec.iter())).probe()));
        assert!(is_ordered((&Probe(&(0..3))).probe()));
        require_ordered((&Probe(&vec)).probe());
    }
}
