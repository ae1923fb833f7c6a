//! Document intake's pure parts: text out of files, chunks, retrieval, extraction,
//! confidence and scoring. No AWS code; the handlers and the worker call these.

pub mod chunk;
pub mod eval;
pub mod extraction;
pub mod fields;
pub mod formats;
#[cfg(test)]
mod golden;
pub mod llm;
pub mod mapping;
pub mod offline;
pub mod retrieve;

use chunk::{Chunk, Line, Text};
use extraction::Extraction;
use fields::Group;
use retrieve::Index;
use std::collections::BTreeMap;

/// Passages handed to the extractor per group; sample details take every passage that
/// mentions them (a 384-sample form has one block per sample).
fn limit(group: Group) -> usize {
    match group {
        Group::SampleDetails => 2000,
        _ => 4,
    }
}

/// A document ready to extract from or ask about: its lines, chunks and index.
pub struct Prepared {
    pub lines: Vec<Line>,
    pub chunks: Vec<Chunk>,
    pub index: Index,
}

impl Prepared {
    pub fn new(text: &Text) -> Self {
        let lines = chunk::lines(text);
        let chunks = chunk::chunks(&lines);
        let index = Index::new(&chunks);
        Self { lines, chunks, index }
    }

    /// The lines that answer `question` best, each with the heading of its section so a
    /// bare value ("GRCm39") is found by the words around it: an extractive answer.
    pub fn answer_lines(&self, question: &str, n: usize) -> Vec<usize> {
        let mut heading = vec![String::new(); self.lines.len()];
        for c in &self.chunks {
            let head = c.text.lines().next().unwrap_or_default().to_owned();
            for i in c.lines.clone() {
                heading[i] = head.clone();
            }
        }
        // A heading alone answers nothing; its words count on the lines under it.
        let passages = self
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| !chunk::is_heading(&l.text) && !chunk::is_rule(&l.text))
            .map(|(i, l)| (i as u32, format!("{} {}", heading[i], l.text)));
        Index::of(passages)
            .search(question, n)
            .into_iter()
            .map(|h| h.chunk as usize)
            .collect()
    }

    /// Each group's chunks, best first.
    pub fn retrieve(&self) -> BTreeMap<Group, Vec<u32>> {
        Group::ALL
            .iter()
            .map(|g| {
                (
                    *g,
                    self.index
                        .search(g.query(), limit(*g))
                        .into_iter()
                        .map(|h| h.chunk)
                        .collect(),
                )
            })
            .collect()
    }

    /// The offline extractor over the retrieved passages.
    pub fn extract_offline(&self) -> Extraction {
        let retrieved = self.retrieve();
        offline::extract(&offline::Context {
            lines: &self.lines,
            chunks: &self.chunks,
            retrieved: &retrieved,
        })
    }
}
