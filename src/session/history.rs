//! The sliding window of a conversation: how many tokens the history may take, which of the
//! oldest messages to fold into a summary when it takes more, and the summarising request.
//!
//! Invariant: the messages sent always fit the model's context window: the history is held to
//! its share, and the context budget of a turn shrinks to what is left (see [`context_room`]).

use crate::llm::{Message, Request};

/// Tokens the history (the summary and the messages still in the window) may take:
/// `history_share` of the context window after the context budget and the answer's
/// `max_tokens`.
pub fn history_budget(
    window: usize,
    context_budget: usize,
    max_tokens: usize,
    share: f64,
) -> usize {
    (window.saturating_sub(context_budget + max_tokens) as f64 * share) as usize
}

/// How many of the oldest messages to fold away (an even number: whole user/assistant pairs) so
/// that the rest take at most half of `budget`, or 0 if everything (with the summary's
/// `summary_tokens`) fits in `budget`. Folding to half rather than to the limit means a long
/// session summarises now and then, not at every turn.
pub fn to_fold(tokens: &[usize], summary_tokens: usize, budget: usize) -> usize {
    let total: usize = tokens.iter().sum::<usize>() + summary_tokens;
    if total <= budget {
        return 0;
    }
    let target = budget / 2;
    let mut rest: usize = tokens.iter().sum();
    let mut n = 0;
    while n < tokens.len() && (rest > target || n % 2 == 1) {
        rest -= tokens[n];
        n += 1;
    }
    n
}

/// Context tokens a turn may pack: the configured budget, or less when the window leaves less
/// after the system prompt, the history, the message and the answer (with a margin for the
/// wire format's own tokens).
pub fn context_room(window: usize, budget: usize, fixed: usize, max_tokens: usize) -> usize {
    const MARGIN: usize = 64;
    budget.min(window.saturating_sub(fixed + max_tokens + MARGIN))
}

const SUMMARY_SYSTEM: &str = "You summarise a conversation between a developer and a coding \
assistant so that it can go on without the full text. Keep what later messages may need: the \
goals, decisions, file and function names, edits made or refused, open questions. Write plain \
prose or terse bullets, no preamble.";

/// The request that folds `earlier` (the summary so far, if any) and `messages` (oldest first,
/// `(role, text)`) into one summary of at most `max_tokens`; the transcript is cut from its
/// start to `room` characters so that the request itself fits the window.
pub fn summary_request(
    model: &str,
    earlier: &str,
    messages: &[(&str, &str)],
    room: usize,
    max_tokens: u32,
) -> Request {
    let mut t = String::new();
    if !earlier.is_empty() {
        t.push_str("Summary of the conversation before:\n");
        t.push_str(earlier);
        t.push_str("\n\n");
    }
    for (role, text) in messages {
        t.push_str(&format!("{role}: {text}\n\n"));
    }
    if t.len() > room {
        let mut cut = t.len() - room;
        while !t.is_char_boundary(cut) {
            cut += 1;
        }
        t = format!("[…]{}", &t[cut..]);
    }
    Request {
        model: model.to_string(),
        system: Some(SUMMARY_SYSTEM.to_string()),
        messages: vec![Message::user(format!(
            "Summarise this conversation:\n\n{t}"
        ))],
        tools: vec![],
        max_tokens,
        temperature: None,
        stream: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_budget_is_a_share_of_what_is_left() {
        assert_eq!(history_budget(10_000, 2_000, 1_000, 0.5), 3_500);
        assert_eq!(history_budget(1_000, 2_000, 1_000, 0.5), 0);
    }

    #[test]
    fn folding_keeps_whole_pairs_and_goes_to_half() {
        assert_eq!(to_fold(&[10, 10, 10, 10], 0, 40), 0);
        assert_eq!(to_fold(&[10, 10, 10, 10], 5, 40), 2, "the summary counts");
        // Half of 30 is 15: fold until at most 15 remain, in pairs.
        assert_eq!(to_fold(&[10, 10, 10, 10], 0, 30), 4);
        assert_eq!(to_fold(&[5, 50, 5, 5], 0, 40), 2);
        assert_eq!(to_fold(&[100, 100], 0, 10), 2);
    }

    #[test]
    fn context_room_shrinks_to_the_window() {
        assert_eq!(context_room(100_000, 6_000, 1_000, 2_000), 6_000);
        assert_eq!(context_room(4_000, 6_000, 1_000, 2_000), 936);
        assert_eq!(context_room(1_000, 6_000, 1_000, 2_000), 0);
    }

    #[test]
    fn the_summary_request_is_cut_from_its_start() {
        let r = summary_request(
            "m",
            "before",
            &[("user", "hello"), ("assistant", "héllo")],
            30,
            50,
        );
        let text = r.messages[0].text();
        assert!(text.contains("assistant: héllo"), "{text}");
        assert!(text.contains("[…]"), "{text}");
        assert!(!text.contains("before"), "{text}");
    }
}
