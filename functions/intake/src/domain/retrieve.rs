//! Retrieval: the chunks most relevant to a group of fields or a question, ranked by
//! BM25 (the `bm25` crate, English stemming and stop words).

use super::chunk::Chunk;
use bm25::{Document, Language, SearchEngine, SearchEngineBuilder};

/// A document's chunks, indexed once and queried per group and per question.
pub struct Index {
    engine: SearchEngine<u32>,
    count: usize,
}

/// A ranked chunk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub chunk: u32,
    pub score: f32,
}

impl Index {
    pub fn new(chunks: &[Chunk]) -> Self {
        Self::of(chunks.iter().map(|c| (c.id, c.text.clone())))
    }

    /// Any passages, by id.
    pub fn of(passages: impl Iterator<Item = (u32, String)>) -> Self {
        let docs: Vec<Document<u32>> = passages.map(|(id, text)| Document::new(id, text)).collect();
        let count = docs.len();
        Self {
            engine: SearchEngineBuilder::<u32>::with_documents(Language::English, docs).build(),
            count,
        }
    }

    /// At most `limit` chunks that share a term with `query`, best first (ties by
    /// position in the document, so the order is the same on every run).
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit> {
        let mut hits: Vec<Hit> = self
            .engine
            .search(query, self.count)
            .into_iter()
            .filter(|r| r.score > 0.0)
            .map(|r| Hit {
                chunk: r.document.id,
                score: r.score,
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.chunk.cmp(&b.chunk)));
        hits.truncate(limit);
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chunk::{Text, chunks, lines};

    #[test]
    fn the_section_that_talks_about_the_query_ranks_first() {
        let t = Text::single(
            "SEQUENCING\nPlatform: NovaSeq\nRead length: 150\n\nADMINISTRATIVE\nEmail: a@b.org\nInstitution: UNC\n\nCONTAINER\nVolume: 50 uL\n",
        );
        let c = chunks(&lines(&t));
        let idx = Index::new(&c);
        let hits = idx.search("submitter email institution department", 2);
        assert_eq!(c[hits[0].chunk as usize].text.lines().next(), Some("ADMINISTRATIVE"));
        assert!(hits.len() <= 2);
        assert!(idx.search("zebrafish", 5).is_empty());
    }
}
