//! Colours of the TUI. With `NO_COLOR` set every style keeps only its modifiers (bold,
//! italic, reversed, ...), so the screen stays readable without a single colour.

use ratatui::style::{Color, Modifier, Style};

/// The styles the views use; built once, copied freely.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colours unless `NO_COLOR` is set (to anything non-empty, per no-color.org).
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self { color: !no_color }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn plain(&self) -> Style {
        Style::new()
    }
    pub fn dim(&self) -> Style {
        self.fg(Color::DarkGray).add_modifier(if self.color {
            Modifier::empty()
        } else {
            Modifier::DIM
        })
    }
    pub fn user(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn assistant(&self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::BOLD)
    }
    pub fn heading(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    pub fn inline_code(&self) -> Style {
        self.fg(Color::LightYellow)
    }
    pub fn code(&self) -> Style {
        self.fg(Color::Gray)
    }
    pub fn keyword(&self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::BOLD)
    }
    pub fn string(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn number(&self) -> Style {
        self.fg(Color::LightBlue)
    }
    pub fn comment(&self) -> Style {
        self.fg(Color::DarkGray).add_modifier(Modifier::ITALIC)
    }
    pub fn type_name(&self) -> Style {
        self.fg(Color::LightCyan)
    }
    pub fn link(&self) -> Style {
        self.fg(Color::Blue).add_modifier(Modifier::UNDERLINED)
    }
    pub fn info(&self) -> Style {
        self.fg(Color::Blue)
    }
    pub fn warning(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    pub fn good(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn bad(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn added(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn removed(&self) -> Style {
        self.fg(Color::Red)
    }
    pub fn hunk(&self) -> Style {
        self.fg(Color::Cyan)
    }
    pub fn banner(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }
    pub fn selected(&self) -> Style {
        if self.color {
            Style::new()
                .bg(Color::DarkGray)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }
    pub fn status(&self) -> Style {
        if self.color {
            Style::new().bg(Color::Rgb(40, 40, 48)).fg(Color::Gray)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }
    pub fn border(&self) -> Style {
        self.fg(Color::DarkGray)
    }
    pub fn gauge(&self, ratio: f64) -> Style {
        let c = if ratio >= 0.9 {
            Color::Red
        } else if ratio >= 0.7 {
            Color::Yellow
        } else {
            Color::Green
        };
        self.fg(c)
    }
}
