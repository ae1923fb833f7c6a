//! How a submission's samples (a list, or a finished import's rows) are cut into the
//! saga's chunks (its status and timeline are
//! the platform's: `tracseq_core::saga::timeline`).

use serde::Serialize;
use serde_json::Value;

/// One Map item of the saga's register step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chunk {
    pub index: u32,
    /// The position of its first sample in the submission.
    pub offset: usize,
    pub samples: Vec<Value>,
}

/// The samples cut into chunks of at most `size`, in order.
pub fn chunks(samples: &[Value], size: usize) -> Vec<Chunk> {
    samples
        .chunks(size.max(1))
        .enumerate()
        .map(|(i, c)| Chunk {
            index: i as u32,
            offset: i * size.max(1),
            samples: c.to_vec(),
        })
        .collect()
}

/// One Map item of the register step for a finished import: rows `offset..offset +
/// count`, whose samples the import made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportChunk {
    pub index: u32,
    pub offset: usize,
    pub count: usize,
    pub import_id: String,
}

/// An import's `rows` cut into chunks of at most `size`, in order.
pub fn import_chunks(import_id: &str, rows: usize, size: usize) -> Vec<ImportChunk> {
    let size = size.max(1);
    (0..rows.div_ceil(size))
        .map(|i| ImportChunk {
            index: i as u32,
            offset: i * size,
            count: size.min(rows - i * size),
            import_id: import_id.to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn samples_are_cut_into_ordered_chunks() {
        let samples: Vec<Value> = (0..50).map(|i| json!({"n": i})).collect();
        let c = chunks(&samples, 24);
        assert_eq!(c.len(), 3);
        assert_eq!((c[1].index, c[1].offset, c[1].samples.len()), (1, 24, 24));
        assert_eq!((c[2].offset, c[2].samples.len()), (48, 2));
        assert_eq!(c[2].samples[1], json!({"n": 49}));
    }

    #[test]
    fn an_import_is_cut_into_row_ranges() {
        let c = import_chunks("I", 50, 24);
        assert_eq!(
            c.iter().map(|c| (c.index, c.offset, c.count)).collect::<Vec<_>>(),
            vec![(0, 0, 24), (1, 24, 24), (2, 48, 2)]
        );
        assert!(import_chunks("I", 0, 24).is_empty());
        assert_eq!(import_chunks("I", 24, 24).len(), 1);
    }
}
