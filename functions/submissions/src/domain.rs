//! How a submission's samples are cut into the saga's chunks (its status and timeline are
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
}
