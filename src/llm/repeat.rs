//! Answers that go round in circles. Small models at a low temperature often write the same
//! block again and again until `max_tokens` (the 0.5B model of the end-to-end tests wrote one
//! 18-line SEARCH block 3½ times in 600 tokens, 42 s on two cores): everything after the second
//! copy is paid for and waited for, and says nothing new. [`looping`] tells when the text read so
//! far ends with the same block of lines several times in a row, so that the client can stop
//! reading (`llm.stop_repeats`, docs/llm.md).

use crate::text::line_start;

/// The tail of an answer that repeats one block of lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loop {
    /// Bytes of the answer up to the end of the block's second copy. The loop is seen at the
    /// first line end where the copies are complete, which need not be where the model meant a
    /// copy to end (an edit's `>>>>>>> REPLACE` before the loop makes that line the first of
    /// the block seen): two copies hold one whole copy however they are aligned. Edit parsing
    /// counts identical blocks once and drops a block cut short at the end of such an answer.
    pub keep: usize,
    /// Lines in the block.
    pub lines: usize,
    /// Copies of the block in a row at the end of the answer.
    pub copies: usize,
}

/// The longest block looked for (bytes): a loop of longer blocks costs little next to them.
const MAX_BLOCK: usize = 16 * 1024;
/// A block that repeats must have at least this many bytes and non-blank lines, and two
/// different lines: code and data have runs of the same lines (`<tr>` / `</tr>`, rows of
/// zeros, closing braces).
const MIN_BYTES: usize = 40;
const MIN_LINES: usize = 3;
/// And the copies together at least this many bytes: files have a short block a few times
/// over (unrolled loops, list items, fixtures of equal records), seldom a kilobyte of them.
const MIN_RUN: usize = 1024;
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
    // Called at every line end of an answer: a short one cannot hold a kilobyte of copies.
    if copies < 2 || text.len() < MIN_RUN {
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
                // The shortest block that repeats: if it does not count, no longer one does.
                if block.len() < MIN_BYTES || !substantial(block) {
                    return None;
                }
                let n = (copies..).find(|&k| !same(k)).unwrap_or(copies);
                if n * period < MIN_RUN {
                    return None;
                }
                return Some(Loop {
                    keep: end - (n - 2) * period,
                    lines: block.iter().filter(|&&b| b == b'\n').count(),
                    copies: n,
                });
            }
        }
        line_end = start;
    }
    None
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

    /// 18 lines, 384 bytes: the 0.5B model's looping block on curl's lib/altsvc.c.
    const BLOCK: &str = "lib/altsvc.c\n<<<<<<< SEARCH\n    | ...\n288 | /*\n289 |  * Curl_altsvc_ctrl() passes on the external bitmask.\n290 |  */\n291 | CURLcode Curl_altsvc_ctrl(struct altsvcinfo *asi, const long ctrl)\n292 | {\n293 |   DEBUGASSERT(asi);\n294 |   if(!ctrl)\n295 |     /* unexpected */\n296 |     return CURLE_BAD_FUNCTION_ARGUMENT;\n297 |   asi->flags = ctrl\n298 |   return CURLE_OK;\n299 | }\n    | ...\n```\n\n";

    /// The first loop seen when `text` arrives a line at a time, as the client checks it.
    fn streamed(text: &str, copies: usize) -> Option<(Loop, usize)> {
        text.match_indices('\n')
            .find_map(|(i, _)| looping(&text[..=i], copies).map(|l| (l, i + 1)))
    }

    #[test]
    fn a_block_written_again_and_again_is_a_loop() {
        let head = "Here is the fix:\n";
        let text = format!("{head}{}", BLOCK.repeat(3));
        let keep = head.len() + 2 * BLOCK.len();
        let seen = Loop {
            keep,
            lines: 18,
            copies: 3,
        };
        assert_eq!(looping(&text, 3), Some(seen));
        assert_eq!(streamed(&text, 3), Some((seen, text.len())));
        // More copies are counted; two are kept. A partial copy after the last newline is
        // another alignment of the same run.
        let text = format!("{}{}", BLOCK.repeat(5), &BLOCK[..20]);
        let l = looping(&text, 3).map(|l| (l.copies, l.lines));
        assert_eq!(l, Some((5, 18)));
        // Two copies are not three; 0 and 1 never stop anything.
        assert_eq!(looping(&BLOCK.repeat(2), 3), None);
        assert_eq!(looping(&BLOCK.repeat(3), 2).map(|l| l.copies), Some(3));
        assert_eq!(looping(&BLOCK.repeat(9), 1), None);
        assert_eq!(looping(&BLOCK.repeat(9), 0), None);
        // The copies must follow each other: something between them breaks the run.
        let text = format!("{BLOCK}{BLOCK}x\n{BLOCK}");
        assert_eq!(looping(&text, 3), None);
        // CRLF answers loop the same way.
        let crlf = BLOCK.replace('\n', "\r\n");
        assert_eq!(looping(&crlf.repeat(3), 3).map(|l| l.lines), Some(18));
    }

    #[test]
    fn what_is_kept_holds_a_whole_copy_however_the_loop_is_seen() {
        // An edit before the loop ends with the line the looping edit ends with: seen a line at
        // a time, the copies line up with `>>>>>>> REPLACE` as their first line, and the loop
        // is seen before a copy's own end. The kept text still holds the looping edit whole.
        let edit1 =
            "a.py\n<<<<<<< SEARCH\n    return x +\n=======\n    return x + 1\n>>>>>>> REPLACE\n";
        let edit2 = "b.py\n<<<<<<< SEARCH\ndef handler(request, response, config, logger, metrics):\n    y = compute(request.body, config.limits, logger\n=======\ndef handler(request, response, config, logger, metrics):\n    y = compute(request.body, config.limits, logger)\n>>>>>>> REPLACE\n";
        let head = format!("Two fixes:\n\n{edit1}");
        let text = format!("{head}{}", edit2.repeat(6));
        let (l, at) = streamed(&text, 3).unwrap_or_else(|| panic!("no loop seen"));
        assert!(
            at < head.len() + 5 * edit2.len(),
            "seen inside a copy: {at}"
        );
        let kept = &text[..l.keep];
        assert!(kept.starts_with(&format!("{head}{edit2}")), "{kept}");
        let (edits, _) = crate::edit::parse_answer(kept, true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(edits.len(), 2, "{edits:?}");
    }

    #[test]
    fn short_runs_of_the_same_lines_are_not_loops() {
        // A table of the same row, closing braces, short pairs of lines: data and code do that.
        let row = "    0, 0, 0, 0, 0, 0, 0, 0,\n";
        assert_eq!(streamed(&row.repeat(400), 3), None);
        assert_eq!(streamed(&"}\n\n".repeat(400), 3), None);
        assert_eq!(streamed(&"<tr>\n</tr>\n".repeat(400), 3), None);
        assert_eq!(streamed(&"a = 1\n\n\n\nb = 2\n\n\n\n".repeat(100), 3), None);
        assert_eq!(streamed(&"x = f(a, b)\ny = g(x)\n".repeat(100), 3), None);
        // Short blocks a few times over, as files have them: list items, an unrolled loop,
        // records of a fixture.
        let star =
            "      <span class=\"star\">\n        <img src=\"star.svg\" alt=\"\">\n      </span>\n";
        let step =
            "        c = *in++;\n        *out++ = hex[c >> 4];\n        *out++ = hex[c & 15];\n";
        let record = "  {\n    \"id\": 7,\n    \"email\": \"a@example.com\"\n  },\n";
        for (block, times) in [(star, 5), (step, 8), (record, 6)] {
            let file = format!(
                "<<<<<<< FILE\n<top>\n{}</top>\n>>>>>>> FILE\n",
                block.repeat(times)
            );
            assert_eq!(streamed(&file, 3), None, "{block}");
            // Written on and on, they are loops.
            assert!(streamed(&block.repeat(40), 3).is_some(), "{block}");
        }
        // Nothing but text without a newline, or no text.
        assert_eq!(looping("", 3), None);
        assert_eq!(looping(&"abc ".repeat(1000), 3), None);
    }

    #[test]
    fn a_varied_answer_is_not_a_loop() {
        let text: String = (0..2000)
            .map(|i| format!("fn f{i}() {{\n    g({i});\n}}\n\n"))
            .collect();
        assert_eq!(streamed(&text, 3), None);
    }
}
