//! A document's text as lines and chunks, each knowing its page and character offset, so
//! every value extracted from them can be cited.

use serde::{Deserialize, Serialize};

/// Text out of a file: one string per page (a format without pages has one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub pages: Vec<String>,
}

impl Text {
    pub fn single(text: impl Into<String>) -> Self {
        Self {
            pages: vec![text.into()],
        }
    }

    pub fn chars(&self) -> usize {
        self.pages.iter().map(|p| p.chars().count()).sum()
    }

    /// Whether there is anything to read (a scanned PDF has pages but no letters).
    pub fn has_words(&self) -> bool {
        self.pages
            .iter()
            .any(|p| p.chars().filter(|c| c.is_alphanumeric()).nth(20).is_some())
    }
}

/// Where a passage is: 1-based page, character offset in that page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Position {
    pub page: u32,
    pub offset: u32,
}

/// One non-empty line, trimmed of its line break.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub at: Position,
    pub text: String,
}

/// A passage retrieval ranks: a section of consecutive lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub id: u32,
    pub at: Position,
    /// Indices into the document's lines.
    pub lines: std::ops::Range<usize>,
    pub text: String,
}

/// Longest chunk, in characters: a section longer than this is split.
const MAX_CHUNK: usize = 1200;

pub fn lines(text: &Text) -> Vec<Line> {
    let mut out = Vec::new();
    for (p, page) in text.pages.iter().enumerate() {
        let mut offset = 0u32;
        for raw in page.split('\n') {
            let len = raw.chars().count() as u32 + 1;
            let trimmed = raw.trim_end_matches('\r');
            if !trimmed.trim().is_empty() {
                out.push(Line {
                    at: Position {
                        page: p as u32 + 1,
                        offset,
                    },
                    text: trimmed.to_owned(),
                });
            }
            offset += len;
        }
    }
    out
}

/// A line of only rule characters (`=====`, `-----`).
pub fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 3 && t.chars().all(|c| "=-_*#~".contains(c))
}

/// A section heading: an upper-case line ("ADMINISTRATIVE INFORMATION"), a Markdown
/// heading, or a short line ending in a colon with nothing after it ("Sample 1:").
pub fn is_heading(line: &str) -> bool {
    let t = line.trim();
    if t.starts_with('#') {
        return true;
    }
    let letters: Vec<char> = t.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() >= 4 && letters.iter().all(|c| c.is_uppercase()) && !t.contains(':') {
        return true;
    }
    let bullet = t.starts_with(['-', '*', '•', '☑', '☐']);
    !bullet && t.ends_with(':') && t.len() <= 60 && !t[..t.len() - 1].contains(':')
}

/// Sections split at headings, rules, pages and [`MAX_CHUNK`].
pub fn chunks(lines: &[Line]) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::new();
    let mut start: Option<usize> = None;
    let mut size = 0usize;
    let close = |out: &mut Vec<Chunk>, from: usize, to: usize| {
        let text: Vec<&str> = lines[from..to]
            .iter()
            .filter(|l| !is_rule(&l.text))
            .map(|l| l.text.trim())
            .collect();
        if text.is_empty() {
            return;
        }
        out.push(Chunk {
            id: out.len() as u32,
            at: lines[from].at,
            lines: from..to,
            text: text.join("\n"),
        });
    };
    // Content lines in the open chunk, and whether its first is a heading: a rule or a
    // sub-heading under a lone heading belongs to it.
    let mut count = 0usize;
    let mut heading_only = false;
    for (i, l) in lines.iter().enumerate() {
        let rule = is_rule(&l.text);
        let boundary = start.is_some_and(|s| {
            let lone_heading = count == 1 && heading_only;
            (!lone_heading && (rule || is_heading(&l.text)))
                || l.at.page != lines[s].at.page
                || size + l.text.len() > MAX_CHUNK
        });
        if boundary && let Some(s) = start.take() {
            close(&mut out, s, i);
            size = 0;
            count = 0;
        }
        if rule {
            continue;
        }
        if start.is_none() {
            start = Some(i);
            heading_only = is_heading(&l.text);
        }
        count += 1;
        size += l.text.len() + 1;
    }
    if let Some(s) = start {
        close(&mut out, s, lines.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_know_their_page_and_offset() {
        let t = Text {
            pages: vec!["a line\n\nsecond: 2\n".into(), "page two".into()],
        };
        let l = lines(&t);
        assert_eq!(l.len(), 3);
        assert_eq!(l[1].at, Position { page: 1, offset: 8 });
        assert_eq!(&t.pages[0][8..17], "second: 2");
        assert_eq!(l[2].at, Position { page: 2, offset: 0 });
    }

    #[test]
    fn sections_split_at_headings_and_rules() {
        let t = Text::single(
            "Form\n=====\nADMIN INFO\n=====\nEmail: a@b.org\nPhone: 1\n\nSample 1:\n- Sample ID: X1\nSample 2:\n- Sample ID: X2\n",
        );
        let c = chunks(&lines(&t));
        let texts: Vec<&str> = c.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Form",
                "ADMIN INFO\nEmail: a@b.org\nPhone: 1",
                "Sample 1:\n- Sample ID: X1",
                "Sample 2:\n- Sample ID: X2"
            ]
        );
        assert!(c.windows(2).all(|w| w[0].id + 1 == w[1].id));
    }

    #[test]
    fn a_long_section_is_split() {
        let body: String = (0..100).map(|i| format!("Line {i}: some value here\n")).collect();
        let c = chunks(&lines(&Text::single(body)));
        assert!(c.len() >= 2, "{}", c.len());
        assert!(c.iter().all(|c| c.text.len() <= MAX_CHUNK));
    }
}
