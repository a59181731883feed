//! Answers that go round in circles. Small models at a low temperature often write the same
//! block again and again until `max_tokens` (the 0.5B model of the end-to-end tests wrote one
//! 18-line SEARCH block 3½ times in 600 tokens, 80 s on two cores): everything after the second
//! copy is paid for and waited for, and says nothing new. [`looping`] tells when the text read so
//! far ends with the same block of lines several times in a row, so that the client can stop
//! reading (`llm.stop_repeats`, docs/llm.md).

/// The tail of an answer that repeats one block of lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loop {
    /// Bytes of the answer up to the end of the block's first copy.
    pub keep: usize,
    /// Lines in the block.
    pub lines: usize,
    /// Copies of the block in a row at the end of the answer.
    pub copies: usize,
}

/// The longest block looked for (bytes): a loop of longer blocks costs little next to them.
const MAX_BLOCK: usize = 16 * 1024;
/// A block that repeats must have at least this many bytes and non-blank lines, and two
/// different lines: code and data have short runs of the same lines (`<tr>` / `</tr>`, rows of
/// zeros, closing braces), seldom the same paragraph three times over.
const MIN_BYTES: usize = 40;
const MIN_LINES: usize = 3;
/// Earlier lines equal to the last one tried as the end of a copy. After the third copy every
/// line end is a chance to see the loop (three copies of the block started at another line),
/// so a last line too common to find the copy behind it is soon followed by a rarer one; the
/// bound keeps a long run of one line (a table of zeros) from costing a scan of every period.
const TRIES: usize = 16;

/// Whether `text`, up to its last newline, ends with `copies` or more copies in a row of one
/// block of whole lines. The block is the shortest that repeats; when that one is too small to
/// count (a run of one short line or pair of lines), nothing does. `copies` below 2 never
/// matches.
pub fn looping(text: &str, copies: usize) -> Option<Loop> {
    if copies < 2 {
        return None;
    }
    let s = &text.as_bytes()[..text.rfind('\n')? + 1];
    let end = s.len();
    let last_start = line_start(s, end - 1);
    let last = &s[last_start..];
    let longest = (end / copies).min(MAX_BLOCK);
    // Each earlier line equal to the last one ends a candidate copy before it, nearest first.
    let (mut line_end, mut tries) = (last_start, 0);
    while line_end > 0 && end - line_end <= longest && tries < TRIES {
        let start = line_start(s, line_end - 1);
        if &s[start..line_end] == last {
            tries += 1;
            let period = end - line_end;
            let block = &s[line_end..];
            // Copy `k` from the end: the same bytes, starting a line.
            let same = |k: usize| {
                let Some(a) = end.checked_sub((k + 1) * period) else {
                    return false;
                };
                (a == 0 || s[a - 1] == b'\n') && &s[a..a + period] == block
            };
            if (1..copies).all(same) {
                if block.len() < MIN_BYTES || !substantial(block) {
                    return None;
                }
                let n = (copies..).find(|&k| !same(k)).unwrap_or(copies);
                // The run may have started lines before its first whole copy (three copies
                // seen from another line): keep the first copy as the run began it.
                let mut first = end - n * period;
                while first > 0 {
                    let above = line_start(s, first - 1);
                    if s[above..first] != s[above + period..first + period] {
                        break;
                    }
                    first = above;
                }
                return Some(Loop {
                    keep: first + period,
                    lines: block.iter().filter(|&&b| b == b'\n').count(),
                    copies: n,
                });
            }
        }
        line_end = start;
    }
    None
}

/// Where the line holding byte `at` starts.
fn line_start(s: &[u8], at: usize) -> usize {
    s[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
}

/// At least [`MIN_LINES`] non-blank lines, two of them different.
fn substantial(block: &[u8]) -> bool {
    let mut lines = block
        .split(|&b| b == b'\n')
        .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()));
    let Some(first) = lines.next() else {
        return false;
    };
    let (mut count, mut differs) = (1, false);
    for l in lines {
        count += 1;
        differs |= l != first;
    }
    count >= MIN_LINES && differs
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str =
        "lib/a.c\n<<<<<<< SEARCH\n297 |   asi->flags = ctrl\n298 |   return CURLE_OK;\n```\n\n";

    #[test]
    fn a_block_written_again_and_again_is_a_loop() {
        let head = "Here is the fix:\n";
        let text = format!("{head}{}", BLOCK.repeat(3));
        let l = looping(&text, 3);
        let keep = head.len() + BLOCK.len();
        assert_eq!(
            l,
            Some(Loop {
                keep,
                lines: 6,
                copies: 3
            })
        );
        assert_eq!(text[..keep], format!("{head}{BLOCK}"));
        // More copies are counted. Seen from a line inside a copy, the run is the same: the
        // first copy is kept as it began.
        let text = format!("{}{}", BLOCK.repeat(5), &BLOCK[..10]);
        let l = looping(&text, 3).map(|l| (l.keep, l.copies));
        assert_eq!(l, Some((BLOCK.len(), 5)));
        let text = format!("{head}{}{}", BLOCK.repeat(3), &BLOCK[..40]);
        assert_eq!(
            looping(&text, 3).map(|l| l.keep),
            Some(head.len() + BLOCK.len())
        );
        // Copies start lines: the newline that ends the line before the first copy is not a
        // blank line that a copy ending in one would begin with, seen from its last line.
        let block = "x = compute(a, b, c)\ny = compute(x, b, c)\nz = compute(x, y, c)\n\n";
        let text = format!("{head}{}", block.repeat(3));
        assert_eq!(looping(&text[..text.len() - 1], 3), None);
        assert_eq!(
            looping(&text, 3).map(|l| l.keep),
            Some(head.len() + block.len())
        );
        // Two copies are not three; 0 and 1 never stop anything.
        assert_eq!(looping(&BLOCK.repeat(2), 3), None);
        assert_eq!(looping(&BLOCK.repeat(2), 2).map(|l| l.copies), Some(2));
        assert_eq!(looping(&BLOCK.repeat(9), 1), None);
        assert_eq!(looping(&BLOCK.repeat(9), 0), None);
        // The copies must follow each other: something between them breaks the run.
        let text = format!("{BLOCK}{BLOCK}x\n{BLOCK}");
        assert_eq!(looping(&text, 3), None);
    }

    #[test]
    fn short_runs_of_the_same_lines_are_not_loops() {
        // A table of the same row, closing braces, short pairs of lines: data and code do that.
        assert_eq!(
            looping(&"    0, 0, 0, 0, 0, 0, 0, 0,\n".repeat(40), 3),
            None
        );
        assert_eq!(looping(&"}\n\n".repeat(40), 3), None);
        assert_eq!(looping(&"<tr>\n</tr>\n".repeat(40), 3), None);
        // Nor does a short block repeated often enough to make a long one.
        assert_eq!(looping(&"a = 1\n\n\n\nb = 2\n\n\n\n".repeat(10), 3), None);
        assert_eq!(looping(&"x = f(a, b)\ny = g(x)\n".repeat(30), 3), None);
        // Nothing but text without a newline, or no text.
        assert_eq!(looping("", 3), None);
        assert_eq!(looping(&"abc ".repeat(100), 3), None);
        // A longer paragraph three times is a loop, even with a line that repeats inside it.
        let para = "    assert x == 1\n    assert y == 2\n    assert x == 1\n    assert z == 3\n";
        assert_eq!(looping(&para.repeat(3), 3).map(|l| l.lines), Some(4));
    }

    #[test]
    fn a_varied_answer_is_not_a_loop() {
        let text: String = (0..200)
            .map(|i| format!("fn f{i}() {{\n    g({i});\n}}\n\n"))
            .collect();
        assert_eq!(looping(&text, 3), None);
    }
}
