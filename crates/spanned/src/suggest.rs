//! "Did you mean" for names a user mistyped: keys of a configuration file, IAM actions.

/// The candidate closest to `wanted` by edit distance (case-insensitive), if it is within
/// three edits: close enough to be a typo rather than a different name.
pub fn closest<'a>(candidates: impl IntoIterator<Item = &'a str>, wanted: &str) -> Option<&'a str> {
    let wanted = wanted.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (distance(&c.to_lowercase(), &wanted), c))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, c)| c)
}

/// Levenshtein distance, counted in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (current + 1)
                .min(row[j] + 1)
                .min(previous + usize::from(ca != *cb));
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn a_typo_finds_its_name_and_a_stranger_finds_none() {
        let keys = ["StackSetName", "TemplatePath", "Regions"];
        assert_eq!(closest(keys, "StackSetNmae"), Some("StackSetName"));
        assert_eq!(closest(keys, "regions"), Some("Regions"));
        assert_eq!(closest(keys, "Completely"), None);
    }
}
