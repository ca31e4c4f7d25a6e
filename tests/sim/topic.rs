//! Topic filter matching, as a broker does it (MQTT 4.7).

/// True when `topic` matches `filter` (`+` one level, `#` the rest,
/// including the parent level; wildcards at the start do not match `$`
/// topics).
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn filters() {
        assert!(matches("a/b", "a/b"));
        assert!(!matches("a/b", "a/c"));
        assert!(matches("a/+", "a/c"));
        assert!(!matches("a/+", "a/c/d"));
        assert!(matches("a/#", "a/c/d"));
        assert!(matches("a/#", "a"));
        assert!(matches("#", "x/y"));
        assert!(matches("+/+", "/x"));
        assert!(!matches("#", "$SYS/x"));
        assert!(!matches("a/b/c", "a/b"));
    }
}
