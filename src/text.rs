//! Small byte-text helpers more than one capability needs.

/// Where the line holding byte `at` starts.
pub(crate) fn line_start(s: &[u8], at: usize) -> usize {
    s[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::line_start;

    #[test]
    fn line_start_finds_the_line_of_a_byte() {
        let s = b"ab\ncd\n";
        assert_eq!(line_start(s, 0), 0);
        assert_eq!(line_start(s, 2), 0);
        assert_eq!(line_start(s, 3), 3);
        assert_eq!(line_start(s, 5), 3);
        assert_eq!(line_start(s, 6), 6);
    }
}
