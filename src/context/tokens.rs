//! Exact token counts with tiktoken-rs. Loading an encoding costs ~0.25 s, so each is built at
//! most once per process and only when something is actually counted.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    O200kBase,
    Cl100kBase,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::O200kBase => "o200k_base",
            Encoding::Cl100kBase => "cl100k_base",
        }
    }

    fn bpe(self) -> &'static CoreBPE {
        static O200K: OnceLock<CoreBPE> = OnceLock::new();
        static CL100K: OnceLock<CoreBPE> = OnceLock::new();
        // The BPE tables are embedded in tiktoken-rs; building them cannot fail at run time.
        #[allow(clippy::expect_used)]
        match self {
            Encoding::O200kBase => {
                O200K.get_or_init(|| tiktoken_rs::o200k_base().expect("embedded o200k_base"))
            }
            Encoding::Cl100kBase => {
                CL100K.get_or_init(|| tiktoken_rs::cl100k_base().expect("embedded cl100k_base"))
            }
        }
    }

    /// Tokens in `text`, special-token markers counted as ordinary text.
    pub fn count(self, text: &str) -> usize {
        self.bpe().encode_ordinary(text).len()
    }
}
