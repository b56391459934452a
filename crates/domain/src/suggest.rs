//! "Did you mean" suggestions for unknown ids, so a NOT_FOUND error can name
//! the closest valid values instead of leaving the caller to guess.

/// Levenshtein edit distance between two strings, case-insensitive.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Longest input for which suggestions are worked out: no name is longer,
/// and the edit distance costs time in proportion to the input's length.
pub const MAX_SUGGESTED_INPUT: usize = 64;

/// The up to `n` candidates closest to `input`, as (id, distance) pairs keyed
/// by any of their names; ties keep catalog order. An input longer than
/// [`MAX_SUGGESTED_INPUT`] is no typo of a name and gets none.
pub fn closest<'a, I>(input: &str, candidates: I, n: usize) -> Vec<String>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    if input.len() > MAX_SUGGESTED_INPUT {
        return Vec::new();
    }
    let mut scored: Vec<(usize, usize, String)> = Vec::new();
    for (order, (id, name)) in candidates.into_iter().enumerate() {
        let d = edit_distance(input, name);
        match scored.iter_mut().find(|(_, _, existing)| existing == id) {
            Some(entry) if d < entry.0 => entry.0 = d,
            Some(_) => {}
            None => scored.push((d, order, id.to_string())),
        }
    }
    scored.sort_by_key(|(d, order, _)| (*d, *order));
    scored.into_iter().take(n).map(|(_, _, id)| id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("JPN", "jpn"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert!(
            closest(&"J".repeat(65), [("JPN", "JPN")], 3).is_empty(),
            "no suggestion for a very long input"
        );
    }

    #[test]
    fn closest_prefers_smallest_distance() {
        let c = [("JPN", "JPN"), ("JAM", "JAM"), ("USA", "USA"), ("JPN", "Japan")];
        assert_eq!(closest("JAP", c, 2), vec!["JAM", "JPN"]);
        assert_eq!(closest("japan", c, 1), vec!["JPN"]);
    }
}
